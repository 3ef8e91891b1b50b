//! Any bytes as SQL (the first byte picks the dialect): never panics, the Findings
//! respect the combine rule, the answer is deterministic, and a `DROP TABLE` run
//! first is never lost (`DROP TABLE x; <input>` is at least `delete`, or `unknown`).
#![no_main]
use airlock_classify::sql::{self, Dialect};
use airlock_model::Effect;
use libfuzzer_sys::fuzz_target;

mod common;

const DIALECTS: [Dialect; 4] = [
    Dialect::Postgres,
    Dialect::MySql,
    Dialect::Sqlite,
    Dialect::Generic,
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let dialect = DIALECTS[usize::from(first) % DIALECTS.len()];
    let f = sql::classify(text, dialect);
    common::check(&f);
    assert_eq!(f, sql::classify(text, dialect), "not deterministic");

    let prefixed = format!("DROP TABLE x; {text}");
    let g = sql::classify(&prefixed, dialect);
    common::check(&g);
    assert!(
        g.effect() >= Effect::Delete,
        "{dialect:?} {prefixed:?} is {:?}: {g:?}",
        g.effect()
    );
});
