//! `airlock-loadgen`: load and latency measurements of a running `airlock serve`.
//!
//! ```sh
//! airlock-loadgen policy --rules 1000 > policy.yaml
//! airlock serve --policy policy.yaml --admin-token "$T" &
//! airlock-loadgen decisions --server http://127.0.0.1:8750 --admin-token "$T" --connections 64 --duration 30s
//! airlock-loadgen approvals --count 200 …   # approve sent → waiting agent answered
//! airlock-loadgen list --pending 10000 …    # GET /v1/approvals?status=pending&limit=10000
//! airlock-loadgen soak --duration 10m --pid "$SERVER_PID" …
//! ```
//!
//! `scripts/load.sh` builds, starts a service on the generated policy and runs one
//! of these against it. The Actions are airlock-bench's generated mix for the same
//! rule count; each is sent with the key of the agent it names (keys are issued
//! with `POST /v1/agents` at the start of every run).

mod approvals;
mod client;
mod hist;
mod list;
mod load;
mod procfs;
mod workload;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use hyper::header::HeaderValue;
use serde_json::json;

use crate::client::{Conn, Server, bearer};
use crate::load::{Load, LoadConfig};
use crate::workload::Mix;

#[derive(Parser)]
#[command(name = "airlock-loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes the generated policy of N rules (YAML) to stdout.
    Policy {
        #[arg(long, default_value_t = 1000)]
        rules: usize,
    },
    /// Decisions per second and their latency: POST /v1/actions over N connections.
    Decisions {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        load: LoadArgs,
        /// How long to count, after the warm-up.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        duration: Duration,
        /// Print throughput and latency every so often (e.g. 5s).
        #[arg(long, value_parser = parse_duration)]
        report_every: Option<Duration>,
    },
    /// Approval latency: held actions, one long-polling agent each, one approver.
    Approvals {
        #[command(flatten)]
        target: Target,
        /// Held actions, each with its own waiting agent (one connection each).
        #[arg(long, default_value_t = 200)]
        count: usize,
        /// Time between two approvals.
        #[arg(long, default_value = "20ms", value_parser = parse_duration)]
        interval: Duration,
        /// Time between the waiters' first long poll and the first approval.
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        settle: Duration,
        /// Decision load running meanwhile, in connections (0: none).
        #[arg(long, default_value_t = 0)]
        under_load: usize,
    },
    /// Listing the approval queue: fill it to N pending requests, time the listing.
    List {
        #[command(flatten)]
        target: Target,
        /// Pending requests to have in the queue (at most 10,000 are listed).
        #[arg(long, default_value_t = 10_000)]
        pending: usize,
        /// Timed listings.
        #[arg(long, default_value_t = 30)]
        repeat: usize,
        /// Untimed listings first.
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// Connections used to fill the queue.
        #[arg(long, default_value_t = 32)]
        fill_connections: usize,
        /// Pause between two listings.
        #[arg(long, default_value = "100ms", value_parser = parse_duration)]
        pause: Duration,
    },
    /// Decision load for a long time, sampling the service's memory (VmRSS).
    Soak {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        load: LoadArgs,
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        duration: Duration,
        /// How often to sample memory, throughput and latency.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        sample_every: Duration,
    },
}

/// The service and how to reach it.
#[derive(Args)]
struct Target {
    /// The service, `http://HOST:PORT`.
    #[arg(long, env = "AIRLOCK_SERVER", default_value = "http://127.0.0.1:8750")]
    server: String,
    /// A token of a human with the `admin` role (issues agent and approver keys).
    #[arg(long, env = "AIRLOCK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Rules of the generated policy the service runs (`airlock-loadgen policy`).
    #[arg(long, default_value_t = 1000)]
    rules: usize,
    /// Distinct Actions in the mix, cycled through.
    #[arg(long, default_value_t = 2000)]
    actions: usize,
    /// The service's process id: its CPU use (and, for soak, memory) is reported.
    #[arg(long)]
    pid: Option<u32>,
    /// Threads of the load generator's runtime (it shares the machine with the
    /// service; 1 keeps it to one core at most).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Also report the CPU use of every process with this name (e.g. `postgres`,
    /// whose backends do the PostgreSQL store's work).
    #[arg(long)]
    watch_comm: Option<String>,
    /// Also print the figures as one JSON line at the end.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct LoadArgs {
    /// Concurrent HTTP/1.1 keep-alive connections, each a closed loop.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Sent but not counted, first.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    warmup: Duration,
    /// Percent of requests sent as raw shell calls (hook payloads) to be classified,
    /// instead of Actions.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    raw_percent: u32,
}

/// `30s`, `500ms`, `10m`, `1h`, or a number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration like 500ms, 30s, 10m or 1h");
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(bad()),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Policy { .. } => 1,
        Command::Decisions { target, .. }
        | Command::Approvals { target, .. }
        | Command::List { target, .. }
        | Command::Soak { target, .. } => target.threads.max(1),
    };
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let result = runtime
        .context("cannot start the async runtime")
        .and_then(|rt| rt.block_on(run(cli.command)));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("airlock-loadgen: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs a command; `Ok(false)` when the run saw failures (5xx, transport errors…).
async fn run(command: Command) -> Result<bool> {
    match command {
        Command::Policy { rules } => {
            let y = workload::policy_yaml(rules)?;
            std::io::stdout()
                .write_all(y.as_bytes())
                .context("writing the policy")?;
            Ok(true)
        }
        Command::Decisions {
            target,
            load,
            duration,
            report_every,
        } => decisions(&target, &load, duration, report_every).await,
        Command::Approvals {
            target,
            count,
            interval,
            settle,
            under_load,
        } => approvals(&target, count, interval, settle, under_load).await,
        Command::List {
            target,
            pending,
            repeat,
            warmup,
            fill_connections,
            pause,
        } => list(&target, pending, repeat, warmup, fill_connections, pause).await,
        Command::Soak {
            target,
            load,
            duration,
            sample_every,
        } => soak(&target, &load, duration, sample_every).await,
    }
}

/// What every scenario starts with: the service checked, the mix generated, the
/// agents' keys issued.
struct Setup {
    server: Server,
    admin: HeaderValue,
    mix: Mix,
    keys: std::collections::HashMap<String, HeaderValue>,
}

async fn setup(t: &Target) -> Result<Setup> {
    let server = Server::parse(&t.server)?;
    let admin = bearer(&t.admin_token)?;
    let mut conn = Conn::new(&server);
    workload::check_policy(&mut conn, &admin, t.rules).await?;
    let mix = Mix::new(t.rules, t.actions)?;
    let agents = mix.agents();
    let started = Instant::now();
    let keys = workload::register_agents(&mut conn, &admin, agents).await?;
    eprintln!(
        "airlock-loadgen: {} agents registered in {:.1} s; machine load {}",
        keys.len(),
        started.elapsed().as_secs_f64(),
        procfs::loadavg()
    );
    Ok(Setup {
        server,
        admin,
        mix,
        keys,
    })
}

fn print_json(t: &Target, v: &serde_json::Value) {
    if t.json {
        println!("{v}");
    }
}

async fn decisions(
    t: &Target,
    l: &LoadArgs,
    duration: Duration,
    report_every: Option<Duration>,
) -> Result<bool> {
    let s = setup(t).await?;
    let items = Arc::new(s.mix.items(&s.keys, l.raw_percent)?);
    let cfg = LoadConfig {
        connections: l.connections,
        warmup: l.warmup,
        duration: Some(duration),
    };
    let load_before = procfs::loadavg();
    let run = Load::start(&s.server, Arc::clone(&items), &cfg);
    // CPU is counted over the measured window only.
    tokio::time::sleep_until(run.measure_from.into()).await;
    let cpu = load::Cpu::read(t.pid, t.watch_comm.as_deref());
    if let Some(every) = report_every {
        let mut last = Instant::now();
        while !run.finished() {
            tokio::time::sleep(every).await;
            let i = run.take_interval();
            let secs = last.elapsed().as_secs_f64();
            last = Instant::now();
            eprintln!(
                "  {:>6.0} s: {:.0}/s, p50 {}, p99 {}, errors {}",
                run.started.elapsed().as_secs_f64(),
                i.latency.count() as f64 / secs,
                hist::ms(i.latency.quantile_us(0.5)),
                hist::ms(i.latency.quantile_us(0.99)),
                i.transport_errors + i.server_errors() + i.client_errors() + i.unrecorded
            );
        }
    }
    let (total, window) = run.join().await;
    let used = cpu.since();
    println!(
        "machine load before: {load_before}, after: {}",
        procfs::loadavg()
    );
    let mut v = load::report(&total, window, &used, l.connections);
    let (found, checked) = load::verify_stored(&s.server, &items, &total.ids, 64).await?;
    println!("stored:    {found} of {checked} sampled decisions read back");
    v["stored_check"] = json!({ "found": found, "checked": checked });
    v["load_before"] = json!(load_before);
    v["load_after"] = json!(procfs::loadavg());
    print_json(t, &v);
    Ok(!total.failed() && found == checked)
}

async fn approvals(
    t: &Target,
    count: usize,
    interval: Duration,
    settle: Duration,
    under_load: usize,
) -> Result<bool> {
    if count == 0 {
        bail!("--count must be at least 1");
    }
    let s = setup(t).await?;
    let mut conn = Conn::new(&s.server);
    let approver = workload::register_approver(&mut conn, &s.admin).await?;
    let held = s.mix.held(&s.keys)?;
    let started = Instant::now();
    let ids = approvals::submit_held(&s.server, &held, count, 32).await?;
    eprintln!(
        "airlock-loadgen: {} held actions submitted in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    let background = (under_load > 0).then(|| {
        let items = s.mix.items(&s.keys, 0).map(Arc::new);
        items.map(|items| {
            Load::start(
                &s.server,
                items,
                &LoadConfig {
                    connections: under_load,
                    warmup: Duration::ZERO,
                    duration: None,
                },
            )
        })
    });
    let background = background.transpose()?;
    let load_before = procfs::loadavg();
    let cpu = load::Cpu::read(t.pid, t.watch_comm.as_deref());
    let cfg = approvals::ApprovalConfig {
        count,
        interval,
        settle,
    };
    let r = approvals::run(&s.server, &approver, ids, &cfg).await?;
    let used = cpu.since();
    let mut ok = r.wrong.is_empty();
    let mut bg_json = serde_json::Value::Null;
    if let Some(b) = background {
        b.stop();
        let (total, window) = b.join().await;
        println!("background decision load ({under_load} connections):");
        bg_json = load::report(&total, window, &used, under_load);
        ok &= !total.failed();
    }
    println!(
        "machine load before: {load_before}, after: {}",
        procfs::loadavg()
    );
    println!(
        "approvals: {} (one every {} ms), each with its own long-polling agent",
        cfg.count,
        interval.as_millis()
    );
    println!("approve sent → agent answered: {}", r.delivery.summary());
    println!(
        "approve sent → approver answered: {}",
        r.approve_rtt.summary()
    );
    println!(
        "approver answered → agent answered: {}",
        r.after_approver.summary()
    );
    let late = r.delivery.count_above_us(50_000);
    println!(
        "over 50 ms: {late} of {} (an agent not woken at once waits for its next re-read, up to 100 ms later)",
        r.delivery.count()
    );
    println!("CPU: {}", used.line());
    for w in r.wrong.iter().take(5) {
        println!("  not approved: {w}");
    }
    print_json(
        t,
        &json!({
            "approvals": cfg.count,
            "delivery": r.delivery.json(),
            "approve_rtt": r.approve_rtt.json(),
            "after_approver": r.after_approver.json(),
            "over_50ms": late,
            "not_approved": r.wrong.len(),
            "cpu": used.json(),
            "background": bg_json,
            "load_before": load_before,
            "load_after": procfs::loadavg(),
        }),
    );
    Ok(ok)
}

async fn list(
    t: &Target,
    pending: usize,
    repeat: usize,
    warmup: usize,
    fill_connections: usize,
    pause: Duration,
) -> Result<bool> {
    const LIMIT: usize = 10_000;
    if pending == 0 || pending > LIMIT {
        bail!("--pending must be 1 to {LIMIT} (the most one listing returns)");
    }
    let s = setup(t).await?;
    let mut conn = Conn::new(&s.server);
    let viewer = workload::register_approver(&mut conn, &s.admin).await?;
    let already = list::pending(&mut conn, &viewer, LIMIT).await?;
    if already < pending {
        let held = s.mix.held(&s.keys)?;
        let started = Instant::now();
        let n = pending - already;
        approvals::submit_held(&s.server, &held, n, fill_connections).await?;
        eprintln!(
            "airlock-loadgen: {n} held actions submitted in {:.1} s ({already} were pending)",
            started.elapsed().as_secs_f64()
        );
    }
    let load_before = procfs::loadavg();
    let cpu = load::Cpu::read(t.pid, t.watch_comm.as_deref());
    let r = list::time_listing(&s.server, &viewer, pending, warmup, repeat, pause).await?;
    let used = cpu.since();
    println!(
        "machine load before: {load_before}, after: {}",
        procfs::loadavg()
    );
    println!(
        "listing {} pending requests ({} KiB of JSON), {} times: {}",
        r.items,
        r.bytes / 1024,
        r.latency.count(),
        r.latency.summary()
    );
    println!("  of which until the answer's head: {}", r.head.summary());
    println!("CPU: {}", used.line());
    print_json(
        t,
        &json!({
            "pending": r.items, "bytes": r.bytes, "latency": r.latency.json(), "head": r.head.json(), "cpu": used.json(),
            "load_before": load_before, "load_after": procfs::loadavg(),
        }),
    );
    Ok(r.items == pending)
}

async fn soak(t: &Target, l: &LoadArgs, duration: Duration, every: Duration) -> Result<bool> {
    let Some(pid) = t.pid else {
        bail!("soak needs --pid, the service's process id, to read its memory");
    };
    let s = setup(t).await?;
    let items = Arc::new(s.mix.items(&s.keys, l.raw_percent)?);
    let mut series: Vec<(f64, procfs::Rss)> = vec![(0.0, procfs::rss(pid)?)];
    let load_before = procfs::loadavg();
    let mib = |k: u64| k as f64 / 1024.0;
    println!("machine load before: {load_before}");
    println!(
        "{:>7}  {:>11}  {:>10}  {:>10}  {:>6}  {:>9}  {:>9}  {:>9}  {:>5}  {:>5}",
        "t (s)",
        "decisions/s",
        "p50",
        "p99",
        "errors",
        "RSS MiB",
        "anon MiB",
        "file MiB",
        "cores",
        "other"
    );
    let r0 = series[0].1;
    println!(
        "{:>7.0}  {:>11}  {:>10}  {:>10}  {:>6}  {:>9.1}  {:>9.1}  {:>9.1}  {:>5}  {:>5}",
        0.0,
        "-",
        "-",
        "-",
        "-",
        mib(r0.total),
        mib(r0.anon),
        mib(r0.file),
        "-",
        "-"
    );
    let run = Load::start(
        &s.server,
        Arc::clone(&items),
        &LoadConfig {
            connections: l.connections,
            warmup: l.warmup,
            duration: Some(duration),
        },
    );
    let whole = load::Cpu::read(Some(pid), t.watch_comm.as_deref());
    let mut cpu = load::Cpu::read(Some(pid), None);
    let mut last = Instant::now();
    while !run.finished() {
        tokio::time::sleep(every).await;
        let i = run.take_interval();
        let secs = last.elapsed().as_secs_f64();
        last = Instant::now();
        let rss = procfs::rss(pid)?;
        let at = run.started.elapsed().as_secs_f64();
        let used = cpu.since();
        cpu = load::Cpu::read(Some(pid), None);
        series.push((at, rss));
        let service = used.service.unwrap_or(0.0);
        println!(
            "{at:>7.0}  {:>11.0}  {:>10}  {:>10}  {:>6}  {:>9.1}  {:>9.1}  {:>9.1}  {:>5.2}  {:>5.2}",
            i.latency.count() as f64 / secs,
            hist::ms(i.latency.quantile_us(0.5)),
            hist::ms(i.latency.quantile_us(0.99)),
            i.transport_errors + i.server_errors() + i.client_errors() + i.unrecorded,
            mib(rss.total),
            mib(rss.anon),
            mib(rss.file),
            service,
            (used.machine_busy - service - used.loadgen).max(0.0)
        );
    }
    let (total, window) = run.join().await;
    let used = whole.since();
    println!("machine load after: {}", procfs::loadavg());
    let mut v = load::report(&total, window, &used, l.connections);
    let first = series[0].1;
    // The first sample under load: memory grows from idle to a working set first.
    let loaded = series.get(1).map_or(first, |s| s.1);
    let last_rss = series.last().map_or(first, |s| s.1);
    let max = |f: fn(&procfs::Rss) -> u64| series.iter().map(|s| f(&s.1)).max().unwrap_or(0);
    let half = &series[series.len() / 2..];
    let trend = |f: fn(&procfs::Rss) -> u64| {
        let pts: Vec<(f64, u64)> = half.iter().map(|s| (s.0, f(&s.1))).collect();
        slope_mib_per_min(&pts)
    };
    for (name, f) in [
        (
            "RSS",
            (|r: &procfs::Rss| r.total) as fn(&procfs::Rss) -> u64,
        ),
        ("anon", |r: &procfs::Rss| r.anon),
        ("file", |r: &procfs::Rss| r.file),
    ] {
        println!(
            "{name:>4}: first {:.1} MiB (idle), first under load {:.1} MiB, last {:.1} MiB, max {:.1} MiB; last − first under load {:+.1} MiB; trend over the second half {:+.2} MiB/min",
            mib(f(&first)),
            mib(f(&loaded)),
            mib(f(&last_rss)),
            mib(max(f)),
            mib(f(&last_rss)) - mib(f(&loaded)),
            trend(f)
        );
    }
    v["rss_series_kib"] = json!(series);
    v["rss_first_kib"] = json!(first);
    v["rss_first_loaded_kib"] = json!(loaded);
    v["rss_last_kib"] = json!(last_rss);
    v["rss_max_kib"] = json!(max(|r| r.total));
    v["rss_trend_mib_per_min"] = json!(trend(|r| r.total));
    v["anon_trend_mib_per_min"] = json!(trend(|r| r.anon));
    v["load_before"] = json!(load_before);
    v["load_after"] = json!(procfs::loadavg());
    print_json(t, &v);
    Ok(!total.failed())
}

/// Least-squares slope of RSS over time, in MiB per minute.
fn slope_mib_per_min(points: &[(f64, u64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1 as f64).sum::<f64>() / n;
    let num: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 as f64 - my)).sum();
    let den: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if den == 0.0 {
        0.0
    } else {
        num / den * 60.0 / 1024.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("x").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn the_policy_holds_some_actions_and_names_registrable_agents() -> Result<()> {
        let y = workload::policy_yaml(100)?;
        assert!(y.contains("from: oncall"));
        let mix = Mix::new(100, 300)?;
        let held = mix
            .actions
            .iter()
            .filter(|a| mix.tier(a) == airlock_model::Tier::Approve)
            .count();
        assert!(held > 0);
        for a in mix.agents() {
            assert!(
                a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._@+-".contains(c))
            );
        }
        Ok(())
    }

    #[test]
    fn slope() {
        let pts = [(0.0, 1024), (60.0, 2048), (120.0, 3072)];
        assert!((slope_mib_per_min(&pts) - 1.0).abs() < 1e-9);
    }
}
