//! Any bytes as a shell command line: never panics, the Findings respect the combine
//! rule, the answer is deterministic, and a destructive command run first is never
//! lost (`rm -rf /x && <input>` is at least `delete`, or `unknown`).
#![no_main]
use airlock_classify::shell;
use airlock_model::Effect;
use libfuzzer_sys::fuzz_target;

mod common;

/// KNOWN BUG, skipped so that the run can go on: brush-parser 0.4.0 panics on an I/O
/// number over `i32::MAX` (`2147483648>x`; regression test
/// `shell_io_number_overflow_is_not_a_panic` in
/// `crates/airlock-classify/tests/properties.rs`). Remove once that test passes.
fn io_number_overflow(cmd: &str) -> bool {
    let b = cmd.as_bytes();
    let mut run = 0;
    for &c in b {
        if c.is_ascii_digit() {
            run += 1;
        } else {
            if run >= 10 && (c == b'<' || c == b'>') {
                return true;
            }
            run = 0;
        }
    }
    false
}

fuzz_target!(|data: &[u8]| {
    let Ok(cmd) = std::str::from_utf8(data) else {
        return;
    };
    if io_number_overflow(cmd) {
        return;
    }
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
