//! The decision load: N connections, each a closed loop of `POST /v1/actions`
//! (send, wait for the answer, send the next), cycling through the mix.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use airlock_model::Tier;
use anyhow::Result;
use hyper::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{Conn, Server};
use crate::hist::Hist;
use crate::procfs;
use crate::workload::Item;

/// The part of `POST /v1/actions`'s answer the load generator reads.
#[derive(Deserialize)]
struct Answer {
    id: Option<String>,
    status: String,
    /// Set when the service could not record the decision (it failed closed).
    error: Option<String>,
}

/// Everything counted over a run, or over one reporting interval.
#[derive(Default, Clone)]
pub struct Tally {
    pub latency: Hist,
    /// Answers by HTTP status.
    pub http: BTreeMap<u16, u64>,
    /// 2xx answers by the decision's status (`allowed`, `denied`, `pending`).
    pub statuses: BTreeMap<String, u64>,
    /// Connection failures, timeouts, unreadable answers.
    pub transport_errors: u64,
    /// 200 answers without a stored record: the store failed and the service denied
    /// (`airlock:store-unavailable`). Not durably stored, so they count as failures.
    pub unrecorded: u64,
    /// Answers whose status differs from what the policy, loaded here, decides (a
    /// sanity check that the service runs the generated policy).
    pub unexpected: u64,
    /// The first few error messages.
    pub samples: Vec<String>,
    /// Some stored ids with the item they answered (checked afterwards).
    pub ids: Vec<(usize, String)>,
}

/// Stored ids a worker keeps for the check at the end.
const IDS_KEPT: usize = 4;

/// One answer, as counted.
#[derive(Default)]
struct Sample {
    took: Duration,
    http: Option<u16>,
    status: Option<String>,
    transport: bool,
    unrecorded: bool,
    unexpected: bool,
    note: Option<String>,
    id: Option<(usize, String)>,
}

impl Tally {
    fn add(&mut self, x: &Sample) {
        self.latency.record(x.took);
        if let Some(h) = x.http {
            *self.http.entry(h).or_default() += 1;
        }
        if let Some(s) = &x.status {
            match self.statuses.get_mut(s.as_str()) {
                Some(n) => *n += 1,
                None => {
                    self.statuses.insert(s.clone(), 1);
                }
            }
        }
        self.transport_errors += u64::from(x.transport);
        self.unrecorded += u64::from(x.unrecorded);
        self.unexpected += u64::from(x.unexpected);
        if let Some(n) = &x.note
            && self.samples.len() < 5
        {
            self.samples.push(n.clone());
        }
        if let Some(id) = &x.id {
            // The latest few: the ones most recently committed.
            if self.ids.len() >= IDS_KEPT {
                self.ids.remove(0);
            }
            self.ids.push(id.clone());
        }
    }

    pub fn merge(&mut self, o: &Tally) {
        self.latency.merge(&o.latency);
        for (k, v) in &o.http {
            *self.http.entry(*k).or_default() += v;
        }
        for (k, v) in &o.statuses {
            *self.statuses.entry(k.clone()).or_default() += v;
        }
        self.transport_errors += o.transport_errors;
        self.unrecorded += o.unrecorded;
        self.unexpected += o.unexpected;
        for s in &o.samples {
            if self.samples.len() < 5 {
                self.samples.push(s.clone());
            }
        }
        self.ids.extend(o.ids.iter().cloned());
    }

    pub fn server_errors(&self) -> u64 {
        self.http
            .iter()
            .filter(|(k, _)| **k >= 500)
            .map(|(_, v)| v)
            .sum()
    }

    pub fn client_errors(&self) -> u64 {
        self.http
            .iter()
            .filter(|(k, _)| (400..500).contains(*k))
            .map(|(_, v)| v)
            .sum()
    }

    /// Whether the run counts as failed: any 5xx, transport error, 4xx, or decision
    /// that was not durably stored.
    pub fn failed(&self) -> bool {
        self.server_errors() > 0
            || self.transport_errors > 0
            || self.client_errors() > 0
            || self.unrecorded > 0
    }
}

/// How a load runs.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub connections: usize,
    /// Sent but not counted, first.
    pub warmup: Duration,
    /// Counted, after the warm-up. `None`: until [`Load::stop`].
    pub duration: Option<Duration>,
}

#[derive(Default)]
struct Slot {
    total: Tally,
    interval: Tally,
}

/// A running load.
pub struct Load {
    stop: Arc<AtomicBool>,
    slots: Vec<Arc<Mutex<Slot>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub started: Instant,
    pub measure_from: Instant,
}

fn lock(s: &Mutex<Slot>) -> std::sync::MutexGuard<'_, Slot> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

fn status_of(tier: Tier) -> &'static str {
    match tier {
        Tier::Allow | Tier::Log => "allowed",
        Tier::Approve => "pending",
        Tier::Deny => "denied",
    }
}

impl Load {
    /// Starts `cfg.connections` workers.
    pub fn start(server: &Server, items: Arc<Vec<Item>>, cfg: &LoadConfig) -> Load {
        let started = Instant::now();
        let measure_from = started + cfg.warmup;
        let end = cfg.duration.map(|d| measure_from + d);
        let stop = Arc::new(AtomicBool::new(false));
        let mut slots = Vec::new();
        let mut tasks = Vec::new();
        let conns = cfg.connections.max(1);
        for w in 0..conns {
            let slot = Arc::new(Mutex::new(Slot::default()));
            slots.push(Arc::clone(&slot));
            let items = Arc::clone(&items);
            let stop = Arc::clone(&stop);
            let server = server.clone();
            tasks.push(tokio::spawn(async move {
                worker(w, conns, &server, &items, &stop, &slot, measure_from, end).await;
            }));
        }
        Load {
            stop,
            slots,
            tasks,
            started,
            measure_from,
        }
    }

    /// What was counted since the last call (warm-up included).
    pub fn take_interval(&self) -> Tally {
        let mut t = Tally::default();
        for s in &self.slots {
            let mut s = lock(s);
            t.merge(&std::mem::take(&mut s.interval));
        }
        t
    }

    pub fn finished(&self) -> bool {
        self.tasks.iter().all(|t| t.is_finished())
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Waits for every worker; returns the counted total and the time it covers.
    pub async fn join(self) -> (Tally, Duration) {
        for t in self.tasks {
            let _ = t.await;
        }
        let window = self.measure_from.elapsed();
        let mut total = Tally::default();
        for s in &self.slots {
            total.merge(&lock(s).total);
        }
        (total, window)
    }
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    w: usize,
    conns: usize,
    server: &Server,
    items: &[Item],
    stop: &AtomicBool,
    slot: &Mutex<Slot>,
    measure_from: Instant,
    end: Option<Instant>,
) {
    let mut conn = Conn::new(server);
    let n = items.len();
    if n == 0 {
        return;
    }
    let mut k = 0usize;
    loop {
        let started = Instant::now();
        if stop.load(Ordering::Relaxed) || end.is_some_and(|e| started >= e) {
            return;
        }
        // Worker w sends items w, w + conns, w + 2 conns, …: together the workers
        // cycle through the whole mix.
        let i = (w + k * conns) % n;
        k += 1;
        let item = &items[i];
        let r = conn
            .send(Method::POST, "/v1/actions", &item.auth, item.body.clone())
            .await;
        let took = started.elapsed();
        let mut x = Sample {
            took,
            ..Sample::default()
        };
        let mut backoff = false;
        match r {
            Err(e) => {
                x.transport = true;
                x.note = Some(format!("transport: {e:#}"));
                backoff = true;
            }
            Ok((status, body)) => {
                x.http = Some(status.as_u16());
                if status.is_success() {
                    match serde_json::from_slice::<Answer>(&body) {
                        Ok(a) => {
                            x.unexpected = item.tier.is_some_and(|t| status_of(t) != a.status);
                            match (&a.id, &a.error) {
                                (Some(id), None) => {
                                    // Keep some ids to check they were stored.
                                    if k.is_multiple_of(97) {
                                        x.id = Some((i, id.clone()));
                                    }
                                }
                                _ => {
                                    x.unrecorded = true;
                                    x.note = Some(format!(
                                        "not recorded: {}",
                                        a.error.as_deref().unwrap_or("no id")
                                    ));
                                }
                            }
                            x.status = Some(a.status);
                        }
                        Err(e) => {
                            x.transport = true;
                            x.note = Some(format!("unreadable answer: {e}"));
                        }
                    }
                } else {
                    x.note = Some(format!(
                        "HTTP {status}: {}",
                        String::from_utf8_lossy(&body)
                            .chars()
                            .take(300)
                            .collect::<String>()
                    ));
                    backoff = status.is_server_error();
                }
            }
        }
        {
            let mut s = lock(slot);
            if started >= measure_from {
                s.total.add(&x);
            }
            s.interval.add(&x);
        }
        if backoff {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Checks that stored decisions can be read back (`GET /v1/actions/{id}` by their
/// agent). Returns (found, checked).
pub async fn verify_stored(
    server: &Server,
    items: &[Item],
    ids: &[(usize, String)],
    max: usize,
) -> Result<(usize, usize)> {
    let mut conn = Conn::new(server);
    let mut found = 0;
    let mut checked = 0;
    for (i, id) in ids.iter().take(max) {
        let Some(item) = items.get(*i) else { continue };
        checked += 1;
        let (status, _) = conn
            .send(
                Method::GET,
                &format!("/v1/actions/{id}"),
                &item.auth,
                hyper::body::Bytes::new(),
            )
            .await?;
        if status.is_success() {
            found += 1;
        }
    }
    Ok((found, checked))
}

/// CPU readings of the service (when its pid is known), of this process, and of
/// the processes named `comm` (the database's, when asked).
pub struct Cpu {
    at: Instant,
    server: Option<(u32, (f64, f64))>,
    me: (f64, f64),
    comm: Option<(String, (f64, f64))>,
    machine: (f64, f64, f64),
    io: Option<(u64, u64, u64)>,
}

/// Cores used over a stretch of time.
#[derive(Debug, Clone, Default)]
pub struct Used {
    pub service: Option<f64>,
    pub loadgen: f64,
    /// The processes named by `--watch-comm`, and how many cores they used.
    pub watched: Option<(String, f64)>,
    /// The whole machine: busy cores (all processes) and cores stolen by the
    /// hypervisor.
    pub machine_busy: f64,
    pub machine_steal: f64,
    /// What the service wrote meanwhile: bytes to write calls, write calls, bytes
    /// to storage.
    pub io: Option<(u64, u64, u64)>,
}

impl Cpu {
    pub fn read(pid: Option<u32>, comm: Option<&str>) -> Cpu {
        Cpu {
            at: Instant::now(),
            server: pid.and_then(|p| procfs::cpu_seconds(Some(p)).ok().map(|c| (p, c))),
            me: procfs::cpu_seconds(None).unwrap_or((0.0, 0.0)),
            comm: comm.map(|c| (c.to_owned(), procfs::cpu_seconds_of(c))),
            machine: procfs::machine_cpu(),
            io: pid.and_then(procfs::io),
        }
    }

    /// Cores used since `self` by the service, the load generator and the watched
    /// processes.
    pub fn since(&self) -> Used {
        let wall = self.at.elapsed().as_secs_f64();
        let service = self.server.and_then(|(p, before)| {
            procfs::cpu_seconds(Some(p))
                .ok()
                .map(|now| procfs::cores(before, now, wall))
        });
        let loadgen = procfs::cpu_seconds(None)
            .map(|now| procfs::cores(self.me, now, wall))
            .unwrap_or(0.0);
        let watched = self.comm.as_ref().map(|(c, before)| {
            (
                c.clone(),
                procfs::cores(*before, procfs::cpu_seconds_of(c), wall),
            )
        });
        let m = procfs::machine_cpu();
        Used {
            service,
            loadgen,
            watched,
            machine_busy: (m.0 - self.machine.0) / wall.max(1e-9),
            machine_steal: (m.2 - self.machine.2) / wall.max(1e-9),
            io: self.io.and_then(|before| {
                let pid = self.server.map(|s| s.0)?;
                let now = procfs::io(pid)?;
                Some((
                    now.0.saturating_sub(before.0),
                    now.1.saturating_sub(before.1),
                    now.2.saturating_sub(before.2),
                ))
            }),
        }
    }
}

impl Used {
    /// One line: who used how many cores.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.service {
            parts.push(format!("service {c:.2}"));
        }
        if let Some((name, c)) = &self.watched {
            parts.push(format!("`{name}` processes {c:.2}"));
        }
        parts.push(format!("load generator {:.2}", self.loadgen));
        let ours =
            self.service.unwrap_or(0.0) + self.loadgen + self.watched.as_ref().map_or(0.0, |w| w.1);
        parts.push(format!(
            "everything else {:.2}",
            (self.machine_busy - ours).max(0.0)
        ));
        format!(
            "{} cores (of {}), steal {:.2}{}",
            parts.join(", "),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            self.machine_steal,
            if self.service.is_none() {
                "; pass --pid for the service's"
            } else {
                ""
            }
        )
    }

    pub fn json(&self) -> Value {
        json!({
            "service_cores": self.service,
            "loadgen_cores": self.loadgen,
            "watched": self.watched.as_ref().map(|(n, c)| json!({ "comm": n, "cores": c })),
            "machine_busy_cores": self.machine_busy,
            "machine_steal_cores": self.machine_steal,
        })
    }
}

/// Prints the report of a decision run and returns it as JSON.
pub fn report(t: &Tally, window: Duration, cpu: &Used, connections: usize) -> Value {
    let secs = window.as_secs_f64().max(1e-9);
    let n = t.latency.count();
    let rate = n as f64 / secs;
    println!("decisions: {n} in {secs:.1} s = {rate:.0}/s over {connections} connections");
    println!("latency:   {}", t.latency.summary());
    let fmt = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let http: BTreeMap<String, u64> = t.http.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    println!("HTTP:      {}", fmt(&http));
    println!("decided:   {}", fmt(&t.statuses));
    println!(
        "errors:    transport {}, 5xx {}, 4xx {}, not recorded {}; status differing from the local decision: {}",
        t.transport_errors,
        t.server_errors(),
        t.client_errors(),
        t.unrecorded,
        t.unexpected
    );
    for s in &t.samples {
        println!("  e.g. {s}");
    }
    println!("CPU:       {}", cpu.line());
    let per = |x: u64| x as f64 / n.max(1) as f64;
    if let Some((wchar, syscw, storage)) = cpu.io {
        println!(
            "service writes per decision: {:.1} KiB to write calls ({:.1} calls; HTTP answers included), {:.1} KiB to storage",
            per(wchar) / 1024.0,
            per(syscw),
            per(storage) / 1024.0
        );
    }
    json!({
        "decisions": n,
        "seconds": secs,
        "per_second": rate,
        "connections": connections,
        "latency": t.latency.json(),
        "http": http,
        "statuses": t.statuses,
        "transport_errors": t.transport_errors,
        "unrecorded": t.unrecorded,
        "unexpected_status": t.unexpected,
        "cpu": cpu.json(),
        "service_io_per_decision": cpu.io.map(|(w, c, b)| json!({
            "write_call_bytes": per(w), "write_calls": per(c), "storage_bytes": per(b),
        })),
    })
}
