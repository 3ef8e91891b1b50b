//! How long `Policy::load` takes on the generated policies (parse, compile, lint).
//!
//!     cargo run --release -p airlock-bench --example load -- 10000 5
//!
//! Arguments: rule count (default 10000), repetitions (default 5).

use std::time::Instant;

use airlock_bench::{now, rules, yaml};
use airlock_policy::Policy;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let reps: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let y = yaml::policy_yaml(&rules::generate(n));
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            let loaded = Policy::load("bench.yaml", &y, now());
            let ms = t.elapsed().as_secs_f64() * 1e3;
            assert!(loaded.is_ok(), "{:?}", loaded.err());
            ms
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{n} rules ({} KiB of YAML): Policy::load min {:.1} ms, median {:.1} ms, max {:.1} ms over {reps}",
        y.len() / 1024,
        times[0],
        times[reps / 2],
        times[reps - 1]
    );
}
