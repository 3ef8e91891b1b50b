//! What the service holds while it runs: the store, the policy in force, the active
//! halts (refreshed from the store on every replica), and the agents waiting on
//! their approvals.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use airlock_policy::Policy;
use airlock_store::{Credential, Halt, Millis, Principal, Scope, Store};
use tokio::sync::Notify;

use crate::auth::{hash_token, new_token};
use crate::ledger::Recorder;

/// Where approval events go.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    pub slack: bool,
}

pub struct AppState {
    pub store: Store,
    /// The tamper-evident ledger every decision and human act is appended to.
    pub ledger: Recorder,
    pub webhook: Option<Webhook>,
    policy: RwLock<Arc<Policy>>,
    halts: RwLock<Vec<Halt>>,
    /// Bumped by every local change to `halts`: a refresh that read the store
    /// before the change must not overwrite it with what it read (the kill switch
    /// holds from the very next request).
    halts_changed: std::sync::atomic::AtomicU64,
    /// The last checkpoint size whose missing witness quorum was reported.
    witness_reported: std::sync::atomic::AtomicU64,
    waiters: Mutex<HashMap<String, Arc<Notify>>>,
    /// The policy file, when there is one, and its modification time when loaded.
    policy_file: Option<std::path::PathBuf>,
    policy_mtime: Mutex<Option<std::time::SystemTime>>,
    /// Counters for `/metrics`, by metric name and label value.
    counters: Mutex<std::collections::BTreeMap<(&'static str, String), u64>>,
    /// How long resolved approvals waited for their humans, by outcome.
    approval_times: Mutex<std::collections::BTreeMap<String, Histogram>>,
    /// Live credentials by token hash, each kept at most [`CREDENTIAL_TTL`]: every
    /// request authenticates, and the store need not be asked every time.
    credentials: Mutex<HashMap<String, (Credential, std::time::Instant)>>,
}

/// How stale a cached credential may be. Issuing, rotating or revoking on this
/// replica clears the cache at once, and on PostgreSQL the others hear of it at
/// once too; this bounds the wait when such an event is lost.
const CREDENTIAL_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// Cached credentials at most (a flood of distinct valid tokens cannot grow memory).
const CREDENTIAL_CACHE_MAX: usize = 100_000;

/// Upper bounds (seconds) of the approval-time buckets: from a click within
/// seconds to a request that waited out an hour.
const APPROVAL_BUCKETS: [f64; 10] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0,
];

/// A Prometheus histogram: cumulative counts per bucket, the sum and the count.
#[derive(Default)]
struct Histogram {
    buckets: [u64; APPROVAL_BUCKETS.len()],
    sum_ms: u64,
    count: u64,
}

pub fn now_ms() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}

impl AppState {
    pub fn new(
        store: Store,
        ledger: Recorder,
        policy: Policy,
        policy_file: Option<std::path::PathBuf>,
    ) -> AppState {
        let mtime = policy_file
            .as_deref()
            .and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        AppState {
            webhook: None,
            policy_file,
            policy_mtime: Mutex::new(mtime),
            store,
            ledger,
            policy: RwLock::new(Arc::new(policy)),
            halts: RwLock::new(Vec::new()),
            halts_changed: std::sync::atomic::AtomicU64::new(0),
            witness_reported: std::sync::atomic::AtomicU64::new(0),
            waiters: Mutex::new(HashMap::new()),
            counters: Mutex::new(std::collections::BTreeMap::new()),
            approval_times: Mutex::new(std::collections::BTreeMap::new()),
            credentials: Mutex::new(HashMap::new()),
        }
    }

    /// The policy in force. A reload swaps the whole policy at once: a request sees
    /// the old one or the new one, never a mix.
    pub fn policy(&self) -> Arc<Policy> {
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the policy file. A policy that does not load changes nothing: the
    /// one in force stays, and the errors are returned. Returns the versions of the
    /// policy replaced and of the one now in force.
    pub fn reload_policy(&self) -> Result<(String, String), String> {
        let Some(path) = &self.policy_file else {
            return Err("the service runs on the built-in default policy; start it with --policy FILE to reload one".into());
        };
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let src = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let name = path.display().to_string();
        let loaded = Policy::load(&name, &src, jiff::Timestamp::now()).map_err(|e| {
            e.diagnostics
                .iter()
                .map(|d| d.render(&name))
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        let version = loaded.policy.version().to_owned();
        let previous = self.policy().version().to_owned();
        if let Ok(mut p) = self.policy.write() {
            *p = Arc::new(loaded.policy);
        }
        if let Ok(mut m) = self.policy_mtime.lock() {
            *m = mtime;
        }
        Ok((previous, version))
    }

    /// Appends a service-wide entry (tenant `*`) or a tenant's entry to the ledger,
    /// stamped now; `Ok(index)` once durable.
    pub async fn record(&self, tenant: &str, event: airlock_audit::Event) -> Result<u64, String> {
        self.ledger.record(now_ms(), tenant, event).await
    }

    /// A policy change, in the ledger. A change the ledger cannot record is said on
    /// stderr: the ledger has stopped, and every decision is denied anyway.
    pub async fn record_policy_change(&self, previous: String, version: String, by: &str) {
        if previous == version {
            return;
        }
        let event = airlock_audit::Event::Policy {
            version,
            previous,
            by: by.to_owned(),
        };
        if let Err(e) = self.record("*", event).await {
            eprintln!("airlock: the ledger could not record a policy change: {e}");
        }
    }

    /// Reloads the policy file when it has changed since it was loaded.
    async fn reload_if_changed(&self) {
        let Some(path) = &self.policy_file else {
            return;
        };
        let now = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let changed = self.policy_mtime.lock().is_ok_and(|m| *m != now);
        if changed {
            match self.reload_policy() {
                Ok((previous, version)) => {
                    self.record_policy_change(previous, version, "file").await
                }
                // A bad edit keeps the policy in force; the next change is tried again.
                Err(_) => {
                    if let Ok(mut m) = self.policy_mtime.lock() {
                        *m = now;
                    }
                }
            }
        }
    }

    /// The active halt covering this agent, if any.
    pub fn halted(&self, tenant: &str, agent: &str, zone: Option<&str>) -> Option<Halt> {
        let halts = match self.halts.read() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        halts
            .iter()
            .find(|h| match &h.scope {
                Scope::All => true,
                Scope::Tenant => h.tenant == tenant,
                Scope::Agent(a) => h.tenant == tenant && a == agent,
                Scope::Zone(z) => h.tenant == tenant && Some(z.as_str()) == zone,
            })
            .cloned()
    }

    /// Makes a halt effective on this replica at once (the others see it on their next
    /// refresh, within 100 ms).
    pub fn add_halt(&self, h: Halt) {
        let mut halts = match self.halts.write() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        halts.retain(|x| !(x.tenant == h.tenant && x.scope == h.scope));
        halts.push(h);
        self.halts_changed
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn remove_halt(&self, tenant: &str, scope: &Scope) {
        let mut halts = match self.halts.write() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        halts.retain(|x| !(x.tenant == tenant && &x.scope == scope));
        self.halts_changed
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Adds one to a counter of `/metrics`.
    pub fn count(&self, metric: &'static str, label: &str) {
        let mut c = match self.counters.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        *c.entry((metric, label.to_owned())).or_default() += 1;
    }

    /// The counters, for `/metrics`.
    pub fn counters(&self) -> Vec<((&'static str, String), u64)> {
        let c = match self.counters.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        c.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// The live credential with this token hash: from the cache when fresh, else
    /// from the store. Revoked and unknown tokens are never cached.
    pub async fn credential(
        &self,
        token_hash: &str,
    ) -> Result<Option<Credential>, airlock_store::StoreError> {
        {
            let cache = match self.credentials.lock() {
                Ok(c) => c,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some((c, at)) = cache.get(token_hash)
                && at.elapsed() < CREDENTIAL_TTL
            {
                return Ok(Some(c.clone()));
            }
        }
        let found = self.store.credential(token_hash).await?;
        let mut cache = match self.credentials.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        match &found {
            Some(c) if !c.revoked => {
                if cache.len() >= CREDENTIAL_CACHE_MAX {
                    cache.clear();
                }
                cache.insert(
                    token_hash.to_owned(),
                    (c.clone(), std::time::Instant::now()),
                );
            }
            _ => {
                cache.remove(token_hash);
            }
        }
        Ok(found)
    }

    /// Forgets every cached credential (one was issued, rotated or revoked).
    pub fn forget_credentials(&self) {
        match self.credentials.lock() {
            Ok(mut c) => c.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }

    /// Records how long a request waited until approvers resolved it.
    pub fn observe_approval(&self, outcome: &str, waited_ms: i64) {
        let mut h = match self.approval_times.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        let h = h.entry(outcome.to_owned()).or_default();
        let ms = u64::try_from(waited_ms).unwrap_or(0);
        let secs = ms as f64 / 1000.0;
        for (bound, n) in APPROVAL_BUCKETS.iter().zip(h.buckets.iter_mut()) {
            if secs <= *bound {
                *n += 1;
            }
        }
        h.sum_ms = h.sum_ms.saturating_add(ms);
        h.count += 1;
    }

    /// `airlock_approval_seconds` in the Prometheus text format.
    pub fn approval_histogram(&self) -> String {
        let h = match self.approval_times.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        let name = "airlock_approval_seconds";
        let mut out = format!(
            "# HELP {name} How long requests waited for approvers, by outcome.\n# TYPE {name} histogram\n"
        );
        for (outcome, h) in h.iter() {
            for (bound, n) in APPROVAL_BUCKETS.iter().zip(h.buckets.iter()) {
                out.push_str(&format!(
                    "{name}_bucket{{outcome=\"{outcome}\",le=\"{bound}\"}} {n}\n"
                ));
            }
            out.push_str(&format!(
                "{name}_bucket{{outcome=\"{outcome}\",le=\"+Inf\"}} {}\n{name}_sum{{outcome=\"{outcome}\"}} {}\n{name}_count{{outcome=\"{outcome}\"}} {}\n",
                h.count,
                h.sum_ms as f64 / 1000.0,
                h.count
            ));
        }
        out
    }

    pub fn active_halts(&self) -> usize {
        self.halts.read().map_or(0, |h| h.len())
    }

    /// Sends an approval event to the webhook, if one is configured, in the
    /// background: retried with backoff (0.5 s, 1 s, 2 s, 4 s) until it is accepted
    /// with a 2xx. The URL may hold a secret: it is never logged.
    pub fn notify(&self, event: serde_json::Value) {
        let Some(hook) = self.webhook.clone() else {
            return;
        };
        let body = if hook.slack {
            serde_json::json!({ "text": event["text"] })
        } else {
            event
        };
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(std::time::Duration::from_secs(10)))
                .build()
                .into();
            let mut delay = std::time::Duration::from_millis(500);
            for _ in 0..5 {
                let ok = agent
                    .post(&hook.url)
                    .send_json(&body)
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    return;
                }
                std::thread::sleep(delay);
                delay *= 2;
            }
        });
    }

    /// The notifier agents waiting on `id` sleep on.
    pub fn waiter(&self, id: &str) -> Arc<Notify> {
        let mut w = match self.waiters.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        w.entry(id.to_owned()).or_default().clone()
    }

    /// Drops the notifier of `id` when nobody waits on it any more (a request
    /// resolved on another replica is never woken here, and must not stay in memory).
    pub fn forget(&self, id: &str) {
        let mut w = match self.waiters.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        if w.get(id).is_some_and(|n| Arc::strong_count(n) == 1) {
            w.remove(id);
        }
    }

    /// Wakes everyone waiting on `id`.
    pub fn wake(&self, id: &str) {
        let n = match self.waiters.lock() {
            Ok(mut w) => w.remove(id),
            Err(poisoned) => poisoned.into_inner().remove(id),
        };
        if let Some(n) = n {
            n.notify_waiters();
        }
    }

    /// Expires overdue approval requests (into denials) and refreshes the halt cache.
    /// Runs every 100 ms on every replica; a failure leaves the last known halts in
    /// place (a halt is never lifted by an error).
    pub async fn background_tick(&self) {
        self.reload_if_changed().await;
        if let Ok(expired) = self.store.expire_due(now_ms()).await {
            for (tenant, id) in expired {
                let event = airlock_audit::Event::Expiry { id: id.clone() };
                if let Err(e) = self.record(&tenant, event).await {
                    eprintln!("airlock: the ledger could not record the expiry of {id}: {e}");
                }
                self.wake(&id);
                self.notify(serde_json::json!({
                    "event": "approval.resolved", "tenant": tenant, "id": id, "status": "expired",
                    "text": format!("airlock: request {id} expired (not approved, or not used, in time), so it is denied"),
                }));
            }
        }
        // A failure leaves the last known halts in place.
        let _ = self.refresh_halts().await;
        self.report_witnesses();
    }

    /// Says once per checkpoint, on stderr, when its witnesses did not cosign it.
    fn report_witnesses(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        let Some(signed) = self.ledger.ledger().signed() else {
            return;
        };
        let size = signed.checkpoint.size();
        if signed.quorum_met || self.witness_reported.swap(size, SeqCst) == size {
            return;
        }
        eprintln!(
            "airlock: alert: the ledger's checkpoint at {size} entries has {} witness cosignatures, short of the quorum: {}",
            signed.cosigned,
            signed.witness_errors.join("; ")
        );
    }

    /// Reads the active halts from the store into the cache every request checks.
    /// Run once before serving: a halted agent is denied from the first request.
    pub async fn refresh_halts(&self) -> Result<(), airlock_store::StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        let before = self.halts_changed.load(SeqCst);
        let halts = self.store.halts().await?;
        let mut cache = match self.halts.write() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        // A halt or resume made here while the store was read is newer than what
        // was read; the next refresh reads it from the store.
        if self.halts_changed.load(SeqCst) == before {
            *cache = halts;
        }
        Ok(())
    }

    /// Makes sure an administrator exists. With `given` (an operator-provided token,
    /// from `AIRLOCK_ADMIN_TOKEN` or a secret), the `admin` human of `tenant` holds
    /// exactly that token. Without it, on a tenant with no credential at all, a new
    /// token is created and returned (to be shown once).
    pub async fn bootstrap_admin(
        &self,
        tenant: &str,
        given: Option<&str>,
    ) -> anyhow::Result<Option<String>> {
        let token = match given {
            Some(t) => {
                if self.store.credential(&hash_token(t)).await?.is_some() {
                    return Ok(None);
                }
                t.to_owned()
            }
            None => {
                if !self.store.credentials(tenant).await?.is_empty() {
                    return Ok(None);
                }
                new_token()?
            }
        };
        self.store
            .put_credential(&Credential {
                tenant: tenant.into(),
                name: "admin".into(),
                principal: Principal::Human,
                roles: vec![
                    "admin".into(),
                    "service-admin".into(),
                    "approver".into(),
                    "viewer".into(),
                    "group:approvers".into(),
                ],
                token_hash: hash_token(&token),
                created_ms: now_ms(),
                revoked: false,
            })
            .await?;
        Ok(given.is_none().then_some(token))
    }
}
