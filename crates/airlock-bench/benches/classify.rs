//! The classifiers (airlock-classify): how long one shell command line, one SQL
//! script and one 1,000-resource Terraform plan take to classify.
//!
//!     cargo bench -p airlock-bench --bench classify
//!
//! First each call is timed on its own with `Instant` (the median cost of reading the
//! clock is subtracted), cycling through the cases of a class, and p50 / p99 / max
//! per class and per case are printed as Markdown; then criterion measures each case.
//! Before anything is timed, every case must classify to its expected effect. Run
//! without `--bench` (as `cargo test --benches` does) it only smoke-tests the cases.

use std::hint::black_box;
use std::time::{Duration, Instant};

use airlock_bench::latency::{Stats, human, measure, timer_overhead_ns};
use airlock_bench::plans;
use airlock_classify::sql::Dialect;
use airlock_classify::{Findings, plan, shell, sql};
use airlock_model::Effect;
use criterion::Criterion;

/// One-line shell commands agents run, with the effect they classify to.
const SHELL: &[(&str, Effect)] = &[
    ("git status", Effect::Read),
    ("kubectl get pods -n prod -o wide", Effect::Read),
    ("rm -rf build/ && npm run build", Effect::Delete),
    ("find . -name '*.pyc' -delete", Effect::Delete),
    (
        "psql -h db.prod -c \"DELETE FROM sessions WHERE expires < now()\"",
        Effect::Delete,
    ),
    (
        "aws cloudformation delete-stack --stack-name cost-explorer-prod",
        Effect::Delete,
    ),
    (
        "curl -s -X POST https://api.example.com/v1/deploys -H 'Content-Type: application/json' -d '{\"ref\":\"main\"}' | jq -r .id",
        Effect::Write,
    ),
    ("grep -rn \"TODO\" src/ | head -20", Effect::Read),
    (
        "docker compose -f docker-compose.prod.yml up -d --build",
        Effect::Write,
    ),
    (
        "git add -A && git commit -m 'fix: handle empty input' && git push origin HEAD",
        Effect::Write,
    ),
    ("ls -la /var/log/app/ 2>/dev/null | tail -n 5", Effect::Read),
];

/// SQL statements, with their dialect and effect.
const SQL: &[(&str, Dialect, Effect)] = &[
    (
        "SELECT id, email FROM users WHERE created_at > now() - interval '7 days' ORDER BY created_at DESC LIMIT 50",
        Dialect::Postgres,
        Effect::Read,
    ),
    (
        "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > (SELECT avg(total) FROM orders WHERE status = 'paid') AND c.country IN ('DE', 'FR')",
        Dialect::Postgres,
        Effect::Read,
    ),
    // Without WHERE every row is overwritten: the classifier says delete (bulk).
    (
        "UPDATE accounts SET plan = 'free'",
        Dialect::MySql,
        Effect::Delete,
    ),
    (
        "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO analyst",
        Dialect::Postgres,
        Effect::Permissions,
    ),
    (
        "BEGIN;\nALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nUPDATE orders SET shipped_at = updated_at WHERE status = 'shipped';\nCREATE INDEX orders_shipped_at_idx ON orders (shipped_at);\nALTER TABLE orders DROP COLUMN legacy_flag;\nCOMMIT;",
        Dialect::Postgres,
        Effect::Delete,
    ),
];

/// Resources in the generated plan.
const PLAN_RESOURCES: usize = 1_000;

struct Case {
    class: &'static str,
    name: String,
    run: Box<dyn Fn() -> Findings>,
}

fn short(s: &str) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() <= 48 {
        s
    } else {
        format!("{}…", s.chars().take(47).collect::<String>())
    }
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for &(cmd, expect) in SHELL {
        let f = shell::classify(cmd);
        assert_eq!(f.effect(), expect, "{cmd}: {f:?}");
        cases.push(Case {
            class: "shell",
            name: short(cmd),
            run: Box::new(move || shell::classify(black_box(cmd))),
        });
    }
    for &(text, dialect, expect) in SQL {
        let f = sql::classify(text, dialect);
        assert_eq!(f.effect(), expect, "{text}: {f:?}");
        cases.push(Case {
            class: "sql",
            name: short(text),
            run: Box::new(move || sql::classify(black_box(text), dialect)),
        });
    }
    let (json, counts) = plans::plan_json(PLAN_RESOURCES);
    let f = plan::classify_plan(&json);
    assert_eq!(
        f.resources,
        Some(counts.changed() as u64),
        "{:?}",
        f.parts.first()
    );
    assert!(f.effect() >= Effect::Delete && f.effect() != Effect::Unknown);
    println!(
        "plan-1000: {} KiB of JSON; {counts:?}; classified {} ({} parts)\n",
        json.len() / 1024,
        f.effect(),
        f.parts.len()
    );
    cases.push(Case {
        class: "plan-1000",
        name: format!("{PLAN_RESOURCES} resources"),
        run: Box::new(move || plan::classify_plan(black_box(&json))),
    });
    cases
}

/// How many calls to time: enough for a stable p99, within a time budget.
fn samples_for(case: &Case, full: bool) -> usize {
    if !full {
        return 20;
    }
    let t = Instant::now();
    let mut n = 0;
    while n < 5 || t.elapsed() < Duration::from_millis(50) {
        black_box((case.run)());
        n += 1;
    }
    let per = t.elapsed() / n;
    let budget = Duration::from_secs(3);
    ((budget.as_nanos() / per.as_nanos().max(1)) as usize).clamp(200, 200_000)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let cases = cases();
    let overhead = timer_overhead_ns();
    println!("timer overhead (median Instant pair, subtracted): {overhead:.0} ns\n");

    // Each case on its own, then each class cycling through its cases.
    println!("| class | case | p50 | p99 | max | mean | samples |");
    println!("|---|---|----:|----:|----:|-----:|--------:|");
    let row = |class: &str, name: &str, s: &Stats| {
        println!(
            "| {class} | {name} | {} | {} | {} | {} | {} |",
            human(s.p50),
            human(s.p99),
            human(s.max),
            human(s.mean),
            s.samples
        );
    };
    for case in &cases {
        let n = samples_for(case, full);
        let s = measure(1, n, overhead, |_| {
            black_box((case.run)());
        });
        row(
            case.class,
            &format!("`{}`", case.name.replace('|', "\\|")),
            &s,
        );
    }
    println!();
    println!("| class | cases | p50 | p99 | max | mean | samples |");
    println!("|---|--:|----:|----:|----:|-----:|--------:|");
    for class in ["shell", "sql", "plan-1000"] {
        let members: Vec<&Case> = cases.iter().filter(|c| c.class == class).collect();
        let n = members
            .iter()
            .map(|c| samples_for(c, full))
            .min()
            .unwrap_or(20)
            .max(members.len());
        let s = measure(members.len(), n, overhead, |i| {
            black_box((members[i].run)());
        });
        println!(
            "| {class} | {} | {} | {} | {} | {} | {} |",
            members.len(),
            human(s.p50),
            human(s.p99),
            human(s.max),
            human(s.mean),
            s.samples
        );
    }
    println!();

    let mut c = Criterion::default().configure_from_args();
    for class in ["shell", "sql", "plan-1000"] {
        let mut group = c.benchmark_group(format!("classify/{class}"));
        if class == "plan-1000" {
            group.sample_size(20);
        }
        for case in cases.iter().filter(|c| c.class == class) {
            group.bench_function(case.name.as_str(), |b| b.iter(|| (case.run)()));
        }
        group.finish();
    }
    c.final_summary();
}
