//! Any bytes as a policy test file: parsed or rejected, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    if let Ok(tf) = airlock_policy::testing::TestFile::parse("t.yaml", src) {
        let policy = airlock_policy::Policy::builtin_default().unwrap();
        let _ = tf.run(&policy, jiff::Timestamp::from_second(1_795_000_000).unwrap());
    }
});
