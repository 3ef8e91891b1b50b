//! Where airlock's decision time goes: how many candidate rules the index hands the
//! engine per action (mirroring the engine's index: literal operation, else agent
//! id, else agent label, else tool, else a general list per effect), and a hot loop
//! to run under `perf record`.
//!
//!     cargo run --release -p airlock-bench --example profile -- 10000 write 10
//!
//! Arguments: rule count (default 1000), effect to keep (`all`, `read`, `write`,
//! ...; default all), seconds of hot loop (default 0: statistics only).

use std::hint::black_box;
use std::time::{Duration, Instant};

use airlock_bench::rules::{GenRule, Generated};
use airlock_bench::{Scenario, now};
use airlock_model::Action;

/// The bucket the engine's index puts a rule in (see `build_index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Bucket {
    Op,
    Agent,
    Label,
    Tool,
    General,
}

fn bucket(r: &GenRule) -> Bucket {
    if r.literal_ops().is_some() {
        Bucket::Op
    } else if r.agent.is_some() {
        Bucket::Agent
    } else if r.team.is_some() {
        Bucket::Label
    } else if r.tool.is_some() {
        Bucket::Tool
    } else {
        Bucket::General
    }
}

/// The candidates the engine visits for `a`, by bucket.
fn candidates(g: &Generated, a: &Action) -> [usize; 5] {
    let op = a.what.operation.to_ascii_lowercase();
    let team = a.who.labels.get("team");
    let mut n = [0usize; 5];
    for r in &g.rules {
        let b = bucket(r);
        let hit = match b {
            Bucket::Op => r.literal_ops().is_some_and(|ops| ops.contains(&op)),
            Bucket::Agent => r.agent.as_deref() == Some(a.who.agent.as_str()),
            Bucket::Label => r.team.as_ref() == team,
            Bucket::Tool => r.tool.as_deref() == Some(a.what.tool.as_str()),
            Bucket::General => r.effects.contains(&a.what.effect),
        };
        if hit {
            n[b as usize] += 1;
        }
    }
    n
}

fn pct(v: &mut [usize], q: f64) -> usize {
    v.sort_unstable();
    v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let effect = args.get(1).cloned().unwrap_or_else(|| "all".into());
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let s = Scenario::new(n).unwrap_or_else(|e| panic!("{e}"));
    let actions: Vec<&Action> = s
        .actions
        .iter()
        .filter(|a| effect == "all" || a.what.effect.as_str() == effect)
        .collect();

    let per: Vec<[usize; 5]> = actions
        .iter()
        .map(|a| candidates(&s.generated, a))
        .collect();
    println!("{n} rules, {} actions ({effect})", actions.len());
    println!("candidates per decision: bucket  mean  p50  p99  max");
    for (i, name) in ["operation", "agent id", "agent label", "tool", "general"]
        .iter()
        .enumerate()
    {
        let mut v: Vec<usize> = per.iter().map(|c| c[i]).collect();
        let mean = v.iter().sum::<usize>() as f64 / v.len() as f64;
        println!(
            "  {name:<12} {mean:>6.1} {:>4} {:>4} {:>4}",
            pct(&mut v, 0.5),
            pct(&mut v, 0.99),
            pct(&mut v, 1.0)
        );
    }
    let mut total: Vec<usize> = per.iter().map(|c| c.iter().sum()).collect();
    let mean = total.iter().sum::<usize>() as f64 / total.len() as f64;
    println!(
        "  {:<12} {mean:>6.1} {:>4} {:>4} {:>4}",
        "total",
        pct(&mut total, 0.5),
        pct(&mut total, 0.99),
        pct(&mut total, 1.0)
    );

    if secs > 0 {
        let at = now();
        let end = Instant::now() + Duration::from_secs(secs);
        let mut count = 0u64;
        let start = Instant::now();
        while Instant::now() < end {
            for a in &actions {
                black_box(s.policy.evaluate(black_box(a), at));
            }
            count += actions.len() as u64;
        }
        println!(
            "hot loop: {count} decisions, mean {:.0} ns",
            start.elapsed().as_nanos() as f64 / count as f64
        );
    }
}
