//! Any bytes as a policy: loads whole or is rejected with at least one error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let now = jiff::Timestamp::from_second(1_795_000_000).unwrap();
    if let Err(e) = airlock_policy::Policy::load("fuzz.yaml", src, now) {
        assert!(e.errors().count() > 0);
    }
});
