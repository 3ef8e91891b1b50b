//! The ledger's speed on this machine's disk (issue 6 targets in brackets):
//!
//! - `append/1KiB_64_tasks`: durable appends of 1 KiB entries from 64 concurrent
//!   tokio tasks, each awaiting its append before the next (closed loop);
//!   `append/1KiB_64x16_in_flight`: the same 64 tasks with 16 appends in flight
//!   each [≥ 100,000 appends/s, p99 append → durable ≤ 5 ms]. Before the
//!   criterion runs, one timed run of each prints appends/s and the latency
//!   percentiles (criterion has no percentiles).
//! - `verify/small_entries`: offline verification of a ledger of small entries,
//!   one thread [≥ 1,000,000 entries/s per core].
//!
//!     CARGO_TARGET_DIR=/tmp/target-ledger cargo bench -p airlock-ledger --bench append
//!
//! Knobs: `LEDGER_BENCH_TOTAL` (appends in the timed 64×16 run, default 300,000),
//! `LEDGER_BENCH_QUICK` (timed runs only, no criterion), `LEDGER_BENCH_NO_BUNDLES`
//! (`entry_bundles: false`), `LEDGER_BENCH_SIGN_AFTER`, `LEDGER_BENCH_VERIFY_ENTRIES`,
//! `LEDGER_BENCH_COMPARE` (only the side-by-side of a ledger that grows its file
//! with each batch and one that fills ahead, `LedgerOptions::preallocate`).
//!
//! The ledger lives in cargo's bench temporary directory (`CARGO_TARGET_TMPDIR`,
//! under the target directory: the real disk, not a tmpfs), or in
//! `LEDGER_BENCH_DIR`. Signing runs as configured by default (every second or
//! every 65,536 entries), concurrently with the appends.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmarks: a panic is a failure

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_ledger::{Ledger, LedgerOptions, verify};
use airlock_tlog::SignerKey;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ORIGIN: &str = "bench.airlock.example/ledger";

fn bench_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("LEDGER_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let dir = base.join(format!("ledger-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options() -> LedgerOptions {
    let mut o = LedgerOptions::new(ORIGIN, SignerKey::from_seed(ORIGIN, &[9; 32]).unwrap());
    if let Some(n) = std::env::var("LEDGER_BENCH_SIGN_AFTER")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        o.sign_after = Some(n);
    }
    o.entry_bundles = std::env::var_os("LEDGER_BENCH_NO_BUNDLES").is_none();
    o
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `tasks` tasks append `total` 1 KiB entries, `in_flight` at a time each;
/// returns the elapsed time and every append's latency (queue → durable).
fn run(
    rt: &tokio::runtime::Runtime,
    ledger: &Arc<Ledger>,
    tasks: usize,
    in_flight: usize,
    total: u64,
) -> (Duration, Vec<Duration>) {
    let per_task = (total as usize).div_ceil(tasks);
    let started = Instant::now();
    let latencies = rt.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let ledger = ledger.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(per_task);
                    let mut entry = vec![b'a' + (t % 26) as u8; 1024];
                    let mut done = 0;
                    while done < per_task {
                        let k = in_flight.min(per_task - done);
                        let mut waiting = Vec::with_capacity(k);
                        for j in 0..k {
                            entry[..8].copy_from_slice(&((done + j) as u64).to_be_bytes());
                            waiting.push((Instant::now(), ledger.append(entry.clone())));
                        }
                        for (t0, p) in waiting {
                            p.await.unwrap();
                            lat.push(t0.elapsed());
                        }
                        done += k;
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::with_capacity(total as usize);
        for h in handles {
            all.extend(h.await.unwrap());
        }
        all
    });
    (started.elapsed(), latencies)
}

fn report(label: &str, elapsed: Duration, mut lat: Vec<Duration>) {
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    eprintln!(
        "{label}: {} appends in {:.2?} = {:.0} appends/s; latency p50 {:.2?}, p99 {:.2?}, p99.9 {:.2?}, max {:.2?}",
        lat.len(),
        elapsed,
        lat.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        pct(0.999),
        lat[lat.len() - 1],
    );
}

/// The ledger with and without preallocation, side by side: each shape runs on
/// both, alternating, three times (`LEDGER_BENCH_COMPARE=1`).
fn compare_preallocation(rt: &tokio::runtime::Runtime) {
    let mut ledgers = Vec::new();
    for (label, bytes) in [("grow", 0), ("preallocated", 1 << 20)] {
        let dir = bench_dir(label);
        let mut o = options();
        o.preallocate = bytes;
        let ledger = Arc::new(Ledger::open(&dir, o).unwrap());
        run(rt, &ledger, 64, 1, 20_000);
        ledgers.push((label, dir, ledger));
    }
    for round in 1..=3 {
        for in_flight in [1, 2] {
            for (label, _, ledger) in &ledgers {
                let (e, lat) = run(rt, ledger, 64, in_flight, 100_000);
                report(
                    &format!("round {round}, {label}, 64 tasks, {in_flight} in flight each"),
                    e,
                    lat,
                );
            }
        }
    }
    for (_, dir, ledger) in ledgers {
        drop(ledger);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn appends(c: &mut Criterion) {
    let rt = runtime();
    if std::env::var_os("LEDGER_BENCH_COMPARE").is_some() {
        compare_preallocation(&rt);
        return;
    }
    let dir = bench_dir("append");
    eprintln!("ledger directory: {}", dir.display());
    let ledger = Arc::new(Ledger::open(&dir, options()).unwrap());
    // Warm up, then one timed run of each shape with percentiles.
    run(&rt, &ledger, 64, 1, 20_000);
    let (e, lat) = run(&rt, &ledger, 64, 1, 100_000);
    report("64 tasks, 1 in flight each", e, lat);
    let total: u64 = std::env::var("LEDGER_BENCH_TOTAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let (e, lat) = run(&rt, &ledger, 64, 16, total);
    report("64 tasks, 16 in flight each", e, lat);
    let (e, lat) = run(&rt, &ledger, 64, 1, total / 3);
    report("64 tasks, 1 in flight each", e, lat);
    // Between the two: the shape where both goals (throughput and p99) can hold,
    // since one fsync takes about 0.6 ms here and each batch waits for one.
    let (e, lat) = run(&rt, &ledger, 64, 2, total);
    report("64 tasks, 2 in flight each", e, lat);
    let (e, lat) = run(&rt, &ledger, 64, 4, total);
    report("64 tasks, 4 in flight each", e, lat);
    if std::env::var_os("LEDGER_BENCH_QUICK").is_some() {
        drop(ledger);
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(15));
    g.bench_function("1KiB_64_tasks", |b| {
        b.iter_custom(|iters| run(&rt, &ledger, 64, 1, iters.max(64)).0)
    });
    g.bench_function("1KiB_64x16_in_flight", |b| {
        b.iter_custom(|iters| run(&rt, &ledger, 64, 16, iters.max(1024)).0)
    });
    g.finish();
    let signed = ledger.sign_checkpoint().wait().unwrap();
    eprintln!("signed {} entries", signed.checkpoint.size());
    drop(ledger);
    let _ = std::fs::remove_dir_all(&dir);
}

fn verification(c: &mut Criterion) {
    let dir = bench_dir("verify");
    let n: u64 = std::env::var("LEDGER_BENCH_VERIFY_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let opts = options();
    let trust = opts.trust();
    {
        let ledger = Ledger::open(&dir, opts).unwrap();
        let started = Instant::now();
        let mut i = 0u64;
        while i < n {
            let k = (n - i).min(65_536);
            let pending: Vec<_> = (i..i + k)
                .map(|j| ledger.append(format!("{{\"entry\":{j},\"ok\":true}}").into_bytes()))
                .collect();
            for p in pending {
                p.wait().unwrap();
            }
            i += k;
        }
        ledger.sign_checkpoint().wait().unwrap();
        eprintln!(
            "wrote and signed {n} small entries (one appending thread) in {:.2?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    let report = verify(&dir, &trust);
    let e = started.elapsed();
    assert!(report.is_ok(), "{report}");
    eprintln!(
        "verify: {n} entries in {e:.2?} = {:.0} entries/s (one thread)",
        n as f64 / e.as_secs_f64()
    );
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.bench_function("small_entries", |b| {
        b.iter(|| assert!(verify(&dir, &trust).is_ok()))
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, appends, verification);
criterion_main!(benches);
