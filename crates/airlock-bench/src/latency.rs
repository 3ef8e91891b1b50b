//! Per-decision latency: each decision timed on its own with `Instant`, for the
//! p50/p99/max that criterion (which times batches) does not give.

use std::hint::black_box;
use std::time::Instant;

/// Percentiles of per-decision times, in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub samples: usize,
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// The median cost of one `Instant::now()` pair, subtracted from every sample.
pub fn timer_overhead_ns() -> f64 {
    let mut v: Vec<u64> = (0..20_000)
        .map(|_| {
            let t = Instant::now();
            black_box(());
            t.elapsed().as_nanos() as u64
        })
        .collect();
    v.sort_unstable();
    v[v.len() / 2] as f64
}

/// Times `decide(i)` for `samples` decisions, cycling through `0..items`, after one
/// untimed pass over every item. `overhead_ns` is subtracted from each sample.
pub fn measure(
    items: usize,
    samples: usize,
    overhead_ns: f64,
    mut decide: impl FnMut(usize),
) -> Stats {
    for i in 0..items {
        decide(i);
    }
    let mut v: Vec<f64> = Vec::with_capacity(samples);
    for s in 0..samples {
        let i = s % items;
        let t = Instant::now();
        decide(i);
        let ns = t.elapsed().as_nanos() as f64;
        v.push((ns - overhead_ns).max(0.0));
    }
    stats(v)
}

pub fn stats(mut v: Vec<f64>) -> Stats {
    v.sort_by(f64::total_cmp);
    let n = v.len().max(1);
    let at = |q: f64| {
        v.get(((n as f64 * q) as usize).min(n - 1))
            .copied()
            .unwrap_or(0.0)
    };
    Stats {
        samples: v.len(),
        mean: v.iter().sum::<f64>() / n as f64,
        p50: at(0.50),
        p99: at(0.99),
        max: v.last().copied().unwrap_or(0.0),
    }
}

/// Nanoseconds as a short human string (`412 ns`, `6.1 µs`, `712 µs`, `7.3 ms`).
pub fn human(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 10_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else if ns < 1_000_000.0 {
        format!("{:.0} µs", ns / 1_000.0)
    } else {
        format!("{:.1} ms", ns / 1_000_000.0)
    }
}
