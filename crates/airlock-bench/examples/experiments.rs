//! Micro-experiments on airlock's decision path, to attribute its cost: the fixed
//! cost of a decision (placement, agent, index lookups, verdict) and the cost of
//! each candidate rule the index hands the engine.
//!
//!     cargo run --release -p airlock-bench --example experiments

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use airlock_bench::catalog::{ENVS, ZONES};
use airlock_bench::latency::{human, stats};
use airlock_bench::now;
use airlock_model::{Action, Effect, Target, What, Who};
use airlock_policy::Policy;

const HEADER: &str = "airlock: 1\nname: x\ndefaults:\n  unplaced: production\n  unlisted_agents: rules\n  approvals: { from: g, count: 1, timeout: 30m }\ngroups:\n  g: {}\n";

fn places(envs: bool, zones: bool) -> String {
    let mut y = String::from("environments:\n");
    for (i, (name, pats)) in ENVS.iter().enumerate() {
        y.push_str(&format!("  - name: {name}\n"));
        if envs {
            y.push_str("    match:\n");
            if i == 2 {
                y.push_str("      - workdir: true\n");
            }
            let p: Vec<String> = pats.iter().map(|p| format!("\"{p}\"")).collect();
            y.push_str(&format!("      - names: [{}]\n", p.join(", ")));
        }
    }
    if zones {
        y.push_str("zones:\n");
        for (name, _, kinds) in ZONES {
            let k: Vec<String> = kinds.iter().map(|p| format!("\"{p}\"")).collect();
            y.push_str(&format!(
                "  - name: {name}\n    match:\n      - kinds: [{}]\n",
                k.join(", ")
            ));
        }
    }
    y
}

fn load(y: &str) -> Policy {
    Policy::load("x.yaml", y, now())
        .unwrap_or_else(|e| panic!("{e}\n{y}"))
        .policy
}

fn action(team: Option<&str>, op: &str, effect: Effect, targets: Vec<Target>) -> Action {
    let mut labels = BTreeMap::new();
    if let Some(t) = team {
        labels.insert("team".to_owned(), t.to_owned());
        labels.insert("kind".to_owned(), "coding-agent".to_owned());
    }
    Action {
        id: None,
        who: Who {
            agent: "agent-t999-0".into(),
            labels,
            ..Who::default()
        },
        what: What {
            tool: "aws".into(),
            operation: op.into(),
            effect,
            bulk: false,
        },
        targets,
        magnitude: Default::default(),
        why: Default::default(),
    }
}

fn target(name: &str, service: Option<&str>) -> Target {
    let mut labels = BTreeMap::new();
    if let Some(s) = service {
        labels.insert("service".to_owned(), s.to_owned());
    }
    Target {
        kind: "aws:s3:bucket".into(),
        name: name.into(),
        region: Some("eu-west-1".into()),
        labels,
        ..Target::default()
    }
}

/// Median and p99 of `evaluate`, each timed on its own (clock overhead subtracted).
fn time(p: &Policy, a: &Action) -> (f64, f64) {
    let at = now();
    for _ in 0..10_000 {
        black_box(p.evaluate(black_box(a), at));
    }
    let overhead = airlock_bench::latency::timer_overhead_ns();
    let v: Vec<f64> = (0..200_000)
        .map(|_| {
            let t = Instant::now();
            black_box(p.evaluate(black_box(a), at));
            (t.elapsed().as_nanos() as f64 - overhead).max(0.0)
        })
        .collect();
    let s = stats(v);
    (s.p50, s.p99)
}

fn report(label: &str, p: &Policy, a: &Action) -> f64 {
    let (p50, p99) = time(p, a);
    println!("  {label:<72} p50 {:>9}  p99 {:>9}", human(p50), human(p99));
    p50
}

fn main() {
    let reads = "rules:\n  - id: reads\n    when: { effect: read }\n    then: allow\n";
    let read = action(
        Some("t999"),
        "s3:GetObject",
        Effect::Read,
        vec![target("prod-billing-0-bucket3", Some("billing-0"))],
    );

    println!("A. Fixed cost: one rule (`reads: allow`), a read of one target");
    let full = load(&format!("{HEADER}{}{reads}", places(true, true)));
    report(
        "3 environments with name patterns + 5 zones with kind patterns",
        &full,
        &read,
    );
    let no_zones = load(&format!("{HEADER}{}{reads}", places(true, false)));
    report(
        "3 environments with name patterns, no zones",
        &no_zones,
        &read,
    );
    let bare = load(&format!("{HEADER}{}{reads}", places(false, false)));
    report("3 environments without patterns, no zones", &bare, &read);
    let mut no_target = read.clone();
    no_target.targets.clear();
    report("  ... and the action has no target", &bare, &no_target);
    let mut no_labels = no_target.clone();
    no_labels.who.labels.clear();
    report("  ... and the agent has no labels", &bare, &no_labels);
    let mut no_reason = no_labels.clone();
    no_reason.what.operation = "x".into();
    report(
        "  ... and the operation is one character",
        &bare,
        &no_reason,
    );

    println!("\nB. Cost per candidate rule (3 environments with patterns + 5 zones)");
    println!("   B1: N rules `team tNNN: log writes by s3:PutObject in staging`, all in the");
    println!("       index bucket of s3:PutObject; the acting agent's team is none of them");
    let write = action(
        Some("t999"),
        "s3:PutObject",
        Effect::Write,
        vec![target("stg-billing-0-bucket3", Some("billing-0"))],
    );
    let mut base = 0.0;
    for n in [0usize, 10, 100, 1000] {
        let mut y = format!("{HEADER}{}{reads}", places(true, true));
        for t in 0..n {
            y.push_str(&format!(
                "  - id: t{t:03}-put\n    when: {{ agent: {{ labels: {{ team: \"t{t:03}\" }} }}, operation: [\"s3:PutObject\"], effect: [write], environment: [staging] }}\n    then: log\n"
            ));
        }
        let p = load(&y);
        let p50 = report(&format!("N = {n}"), &p, &write);
        if n == 0 {
            base = p50;
        } else {
            println!(
                "  {:<72} {:.1} ns per candidate",
                "",
                (p50 - base) / n as f64
            );
        }
    }
    println!("   B2: N rules `writes to service S in staging need approval` (no indexable");
    println!("       literal: the general list of writes); the target's service is none of them");
    for n in [0usize, 10, 100, 1000] {
        let mut y = format!("{HEADER}{}{reads}", places(true, true));
        for s in 0..n {
            y.push_str(&format!(
                "  - id: svc{s}\n    when: {{ effect: [write], environment: [staging], target: {{ labels: {{ service: \"svc-{s}\" }} }} }}\n    then: approve\n"
            ));
        }
        let p = load(&y);
        let p50 = report(&format!("N = {n}"), &p, &write);
        if n == 0 {
            base = p50;
        } else {
            println!(
                "  {:<72} {:.1} ns per candidate",
                "",
                (p50 - base) / n as f64
            );
        }
    }
    println!("   B3: N rules `writes to service S in production are denied` (general list of");
    println!("       writes); the target is in staging, so the environment check fails");
    for n in [0usize, 100, 1000] {
        let mut y = format!("{HEADER}{}{reads}", places(true, true));
        for s in 0..n {
            y.push_str(&format!(
                "  - id: svc{s}\n    when: {{ effect: [write], environment: [production], target: {{ labels: {{ service: \"svc-{s}\" }} }} }}\n    then: deny\n"
            ));
        }
        let p = load(&y);
        let p50 = report(&format!("N = {n}"), &p, &write);
        if n == 0 {
            base = p50;
        } else {
            println!(
                "  {:<72} {:.1} ns per candidate",
                "",
                (p50 - base) / n as f64
            );
        }
    }
    for (label, cond) in [
        (
            "B4: N rules `bulk writes to service S are denied`; the write is not bulk (second check fails)",
            "effect: [write], bulk: true",
        ),
        (
            "B5: N rules `team tNNN: deletes of service S need approval`, team index; the action writes (first check fails)",
            "effect: [delete]",
        ),
    ] {
        println!("   {label}");
        for n in [0usize, 100, 1000] {
            let mut y = format!("{HEADER}{}{reads}", places(true, true));
            for s in 0..n {
                let agent = if label.starts_with("B5") {
                    ", agent: { labels: { team: \"t999\" } }"
                } else {
                    ""
                };
                y.push_str(&format!(
                    "  - id: r{s}\n    when: {{ {cond}{agent}, target: {{ labels: {{ service: \"svc-{s}\" }} }} }}\n    then: deny\n"
                ));
            }
            let p = load(&y);
            let p50 = report(&format!("N = {n}"), &p, &write);
            if n == 0 {
                base = p50;
            } else {
                println!(
                    "  {:<72} {:.1} ns per candidate",
                    "",
                    (p50 - base) / n as f64
                );
            }
        }
    }
}
