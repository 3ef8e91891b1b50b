//! Any bytes as a Terraform plan (`terraform show -json`): never panics, the Findings
//! respect the combine rule, and the answer is deterministic.
#![no_main]
use airlock_classify::plan;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let f = plan::classify_plan(json);
    common::check(&f);
    assert_eq!(f, plan::classify_plan(json), "not deterministic");
});
