//! Criterion benchmark of one decision, per rule count (10, 100, 1,000, 10,000):
//! airlock's `Policy::evaluate` on the raw Action (and `Policy::decide`, which also
//! renders the explanation), and with `--features peers`
//! Cedar and regorus on inputs prepared ahead of time. Each iteration decides the
//! next Action of the mix, so a reported time is the mean over the mix.
//!
//!     cargo bench -p airlock-bench --features peers --bench decide
//!
//! Before anything is timed, the engines must agree on every Action of the mix
//! (a disagreement panics). Run without `--bench` (as `cargo test --benches`
//! does) only the two smallest rule counts are set up.

use std::hint::black_box;

use airlock_bench::{RULE_COUNTS, Scenario, now};
use criterion::{Criterion, Throughput};

fn decide(c: &mut Criterion, full: bool) {
    let counts: &[usize] = if full {
        &RULE_COUNTS
    } else {
        &RULE_COUNTS[..2]
    };
    let at = now();
    for &n in counts {
        let s = Scenario::new(n).unwrap_or_else(|e| panic!("{n} rules: {e}"));
        s.check_against_reference();
        let actions = &s.actions;
        let mut group = c.benchmark_group(format!("decide/{n}"));
        group.throughput(Throughput::Elements(1));

        let mut i = 0usize;
        group.bench_function("airlock", |b| {
            b.iter(|| {
                let a = &actions[i % actions.len()];
                i += 1;
                black_box(s.policy.evaluate(black_box(a), at))
            })
        });

        // The full decision, with rule ids, approvals and the explanation rendered:
        // what a gateway returns to the agent. For information; `evaluate` is the
        // decision itself.
        let mut i = 0usize;
        group.bench_function("airlock-decide", |b| {
            b.iter(|| {
                let a = &actions[i % actions.len()];
                i += 1;
                black_box(s.policy.decide(black_box(a), at))
            })
        });

        #[cfg(feature = "peers")]
        {
            let mut p = airlock_bench::Peers::new(&s).unwrap_or_else(|e| panic!("{n} rules: {e}"));
            airlock_bench::check_agreement(&s, &mut p);

            let mut i = 0usize;
            let inputs = &p.rego_inputs;
            let rego = &mut p.rego;
            group.bench_function("regorus", |b| {
                b.iter(|| {
                    let input = &inputs[i % inputs.len()];
                    i += 1;
                    black_box(rego.decide(black_box(input)).ok())
                })
            });

            // Cedar evaluates every policy: milliseconds per decision at 10,000
            // rules, so fewer samples there.
            if n >= 1_000 {
                group
                    .sample_size(10)
                    .measurement_time(std::time::Duration::from_secs(if n >= 10_000 {
                        20
                    } else {
                        8
                    }));
            }
            let mut i = 0usize;
            let inputs = &p.cedar_inputs;
            let cedar = &p.cedar;
            group.bench_function("cedar", |b| {
                b.iter(|| {
                    let input = &inputs[i % inputs.len()];
                    i += 1;
                    black_box(cedar.decide(black_box(input)))
                })
            });
        }
        group.finish();
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    decide(&mut c, full);
    c.final_summary();
}
