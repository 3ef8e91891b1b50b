//! Any bytes as an Action for the default policy: a parse error, or a decision that
//! respects the invariants (unknown effects are never below approve; permissive
//! decisions name what allowed them).
#![no_main]
use airlock_model::{Effect, Tier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(action) = serde_json::from_slice::<airlock_model::Action>(data) else { return };
    let policy = airlock_policy::Policy::builtin_default().unwrap();
    let now = jiff::Timestamp::from_second(1_795_000_000).unwrap();
    let v = policy.evaluate(&action, now);
    assert_eq!(v, policy.evaluate_exhaustive(&action, now));
    if action.what.effect == Effect::Unknown {
        assert!(v.tier >= Tier::Approve);
    }
    let d = policy.render(&action, &v);
    assert!(!d.reason.is_empty());
    let _ = policy.trace(&action, now);
});
