//! Any bytes as a shell command line: never panics, the Findings respect the combine
//! rule, the answer is deterministic, and a destructive command run first is never
//! lost (`rm -rf /x && <input>` is at least `delete`, or `unknown`).
#![no_main]
use airlock_classify::shell;
use airlock_model::Effect;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(cmd) = std::str::from_utf8(data) else {
        return;
    };
    let f = shell::classify(cmd);
    common::check(&f);
    assert_eq!(f, shell::classify(cmd), "not deterministic");

    let prefixed = format!("rm -rf /x && {cmd}");
    let g = shell::classify(&prefixed);
    common::check(&g);
    assert!(
        g.effect() >= Effect::Delete,
        "{prefixed:?} is {:?}: {g:?}",
        g.effect()
    );
});
