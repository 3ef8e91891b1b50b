//! Hostile or broken input never panics and never half-loads: it is either a
//! policy that loads whole or a rejection with findings.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use airlock_policy::testing::TestFile;
use airlock_policy::{DEFAULT_POLICY_YAML, Policy, Severity};
use proptest::prelude::*;

fn now() -> jiff::Timestamp {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn check(src: &str) {
    match Policy::load("fuzz.yaml", src, now()) {
        Ok(l) => assert!(l.warnings.iter().all(|w| w.severity == Severity::Warning)),
        Err(e) => assert!(
            e.errors().count() > 0,
            "a rejection must carry at least one error"
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_policy_loader(s in "\\PC{0,400}") {
        check(&s);
    }

    #[test]
    fn mutated_default_policies_never_panic(cut in 0usize..DEFAULT_POLICY_YAML.len(), len in 0usize..40, insert in "[\\[\\]{}:,\\-'\" \\n\\ta-z0-9*]{0,12}") {
        let mut s = DEFAULT_POLICY_YAML.to_owned();
        let cut = (0..=cut).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        let end = (cut + len).min(s.len());
        let end = (end..=s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(s.len());
        s.replace_range(cut..end, &insert);
        check(&s);
    }

    #[test]
    fn arbitrary_test_files_never_panic(s in "\\PC{0,300}") {
        let _ = TestFile::parse("t.yaml", &s);
    }
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    let src = format!("airlock: 1\nname: x\nrules: {}\n", "[".repeat(200_000));
    check(&src);
    let src = format!("airlock: 1\nname: x\nrules: {}\n", "- ".repeat(100_000));
    check(&src);
}

#[test]
fn megabyte_values_are_handled() {
    let src = format!("airlock: 1\nname: {}\n", "x".repeat(2_000_000));
    check(&src);
    let p = Policy::builtin_default().unwrap();
    let action: airlock_model::Action = serde_json::from_str(&format!(
        r#"{{"who":{{"agent":"a"}},"what":{{"tool":"t","operation":"{}","effect":"delete"}},"targets":[{{"name":"{}"}}]}}"#,
        "D".repeat(1_000_000),
        "prod-".repeat(200_000)
    ))
    .unwrap();
    assert!(p.evaluate(&action, now()).tier >= airlock_model::Tier::Approve);
}
