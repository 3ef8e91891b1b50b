//! Per-decision latency (p50 / p99 / max) of airlock, and with `--features peers`
//! of Cedar and regorus, over the action mix at every rule count, plus the time
//! `Policy::load` takes. Prints Markdown tables.
//!
//!     cargo bench -p airlock-bench --features peers --bench latency
//!
//! Each decision is timed on its own with `Instant` (the median cost of reading
//! the clock is measured and subtracted). Run without `--bench` (as `cargo test
//! --benches` does) it only smoke-tests the two smallest rule counts.

use std::hint::black_box;
use std::time::{Duration, Instant};

use airlock_bench::latency::{Stats, human, measure, timer_overhead_ns};
use airlock_bench::rules::Family;
use airlock_bench::{RULE_COUNTS, Scenario, now};
use airlock_model::Effect;

struct Row {
    rules: usize,
    engine: &'static str,
    stats: Stats,
}

/// How many decisions to time: enough for a stable p99, within a time budget.
fn samples_for(per_decision: Duration, items: usize, full: bool) -> usize {
    if !full {
        return items.min(200);
    }
    let budget = Duration::from_secs(8);
    let fit = (budget.as_nanos() / per_decision.as_nanos().max(1)) as usize;
    fit.clamp(items, 400_000)
}

fn probe(mut f: impl FnMut(usize), items: usize) -> Duration {
    let n = items.min(50);
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    t.elapsed() / n as u32
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let counts: &[usize] = if full {
        &RULE_COUNTS
    } else {
        &RULE_COUNTS[..2]
    };
    let overhead = timer_overhead_ns();
    println!("timer overhead (median Instant pair, subtracted): {overhead:.0} ns\n");
    let mut rows: Vec<Row> = Vec::new();
    let at = now();

    for &n in counts {
        let s = Scenario::new(n).unwrap_or_else(|e| panic!("{n} rules: {e}"));
        let items = s.actions.len();
        let mut families: Vec<(Family, usize)> = Vec::new();
        for r in &s.generated.rules {
            match families.iter_mut().find(|(f, _)| *f == r.family) {
                Some((_, c)) => *c += 1,
                None => families.push((r.family, 1)),
            }
        }
        let [allow, log, approve, deny] = s.tier_counts();
        println!(
            "## {n} rules: {} teams, {} services, {} actions; Policy::load {:.1} ms",
            s.generated.teams,
            s.generated.services.len(),
            items,
            s.load_time.as_secs_f64() * 1e3
        );
        println!("families: {families:?}");
        println!(
            "airlock tiers over the mix: allow {allow}, log {log}, approve {approve}, deny {deny}"
        );
        s.check_against_reference();

        // airlock, whole mix and by effect.
        let policy = &s.policy;
        let actions = &s.actions;
        let eval = |i: usize| {
            black_box(policy.evaluate(black_box(&actions[i]), at));
        };
        let per = probe(eval, items);
        let stats = measure(items, samples_for(per, items, full), overhead, eval);
        rows.push(Row {
            rules: n,
            engine: "airlock",
            stats,
        });
        for effect in Effect::ALL {
            let idx: Vec<usize> = (0..items)
                .filter(|&i| actions[i].what.effect == effect)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let st = measure(
                idx.len(),
                samples_for(per, idx.len(), full).min(100_000),
                overhead,
                |j| {
                    black_box(policy.evaluate(black_box(&actions[idx[j]]), at));
                },
            );
            println!(
                "  airlock {effect:<11} ({:>4} actions): p50 {:>9}  p99 {:>9}",
                idx.len(),
                human(st.p50),
                human(st.p99)
            );
        }

        #[cfg(feature = "peers")]
        {
            let mut p = airlock_bench::Peers::new(&s).unwrap_or_else(|e| panic!("{n} rules: {e}"));
            let checked = airlock_bench::check_agreement(&s, &mut p);
            println!(
                "agreement: airlock, Cedar, regorus (RVM and interpreter) agree on all {checked} actions"
            );

            let rego_inputs = &p.rego_inputs;
            let rego = &mut p.rego;
            let per = probe(
                |i| {
                    black_box(rego.decide(&rego_inputs[i]).ok());
                },
                items,
            );
            let stats = measure(items, samples_for(per, items, full), overhead, |i| {
                black_box(rego.decide(&rego_inputs[i]).ok());
            });
            rows.push(Row {
                rules: n,
                engine: "regorus (RVM)",
                stats,
            });

            let per = probe(
                |i| {
                    black_box(rego.decide_interpreted(&rego_inputs[i]).ok());
                },
                items,
            );
            let stats = measure(items, samples_for(per, items, full), overhead, |i| {
                black_box(rego.decide_interpreted(&rego_inputs[i]).ok());
            });
            rows.push(Row {
                rules: n,
                engine: "regorus (interpreter)",
                stats,
            });

            let cedar = &p.cedar;
            let cedar_inputs = &p.cedar_inputs;
            let per = probe(
                |i| {
                    black_box(cedar.decide(&cedar_inputs[i]));
                },
                items,
            );
            let stats = measure(items, samples_for(per, items, full), overhead, |i| {
                black_box(cedar.decide(&cedar_inputs[i]));
            });
            rows.push(Row {
                rules: n,
                engine: "Cedar",
                stats,
            });
        }
        println!();
    }

    println!("| rules | engine | p50 | p99 | max | mean | samples |");
    println!("|------:|--------|----:|----:|----:|-----:|--------:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.rules,
            r.engine,
            human(r.stats.p50),
            human(r.stats.p99),
            human(r.stats.max),
            human(r.stats.mean),
            r.stats.samples
        );
    }
    #[cfg(feature = "peers")]
    {
        println!("\n| rules | airlock p50 | airlock p99 | regorus p50 (×) | Cedar p50 (×) |");
        println!("|------:|----:|----:|----:|----:|");
        for &n in counts {
            let get = |e: &str| {
                rows.iter()
                    .find(|r| r.rules == n && r.engine == e)
                    .map(|r| r.stats)
            };
            if let (Some(a), Some(rg), Some(c)) =
                (get("airlock"), get("regorus (RVM)"), get("Cedar"))
            {
                println!(
                    "| {n} | {} | {} | {} ({:.0}×) | {} ({:.0}×) |",
                    human(a.p50),
                    human(a.p99),
                    human(rg.p50),
                    rg.p50 / a.p50.max(1.0),
                    human(c.p50),
                    c.p50 / a.p50.max(1.0)
                );
            }
        }
    }
}
