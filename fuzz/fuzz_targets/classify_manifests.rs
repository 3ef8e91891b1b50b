//! Any bytes as Kubernetes manifests (the first byte picks the kubectl verb): never
//! panics, the Findings respect the combine rule, and the answer is deterministic.
#![no_main]
use airlock_classify::k8s::{self, Verb};
use libfuzzer_sys::fuzz_target;

mod common;

const VERBS: [Verb; 5] = [
    Verb::Apply,
    Verb::Create,
    Verb::Replace { force: false },
    Verb::Replace { force: true },
    Verb::Delete,
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let verb = VERBS[usize::from(first) % VERBS.len()];
    let f = k8s::classify_manifests(text, verb);
    common::check(&f);
    assert_eq!(f, k8s::classify_manifests(text, verb), "not deterministic");
});
