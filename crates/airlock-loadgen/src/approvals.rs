//! Approval latency: held actions, one agent long-polling each
//! (`GET /v1/actions/{id}?wait=30s`), an approver approving them one by one; the
//! time from the approver sending `POST /v1/approvals/{id}/approve` to the waiting
//! agent receiving its answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use hyper::Method;
use hyper::header::HeaderValue;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, oneshot};

use crate::client::{Conn, Server};
use crate::hist::Hist;
use crate::workload::Item;

/// Submits `count` held actions over `connections` connections; returns each one's
/// id with its agent's key. Anything but `pending` is an error.
pub async fn submit_held(
    server: &Server,
    held: &[Item],
    count: usize,
    connections: usize,
) -> Result<Vec<(String, HeaderValue)>> {
    if held.is_empty() {
        bail!("no held actions to submit");
    }
    let gate = Arc::new(Semaphore::new(connections.max(1)));
    let conns = Arc::new(std::sync::Mutex::new(Vec::<Conn>::new()));
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let item = held[i % held.len()].clone();
        let gate = Arc::clone(&gate);
        let conns = Arc::clone(&conns);
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await?;
            let taken = conns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop();
            let mut conn = taken.unwrap_or_else(|| Conn::new(&server));
            let (status, body) = conn
                .send(Method::POST, "/v1/actions", &item.auth, item.body.clone())
                .await?;
            conns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(conn);
            if !status.is_success() {
                bail!(
                    "POST /v1/actions: HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            let v: Value = serde_json::from_slice(&body)?;
            match (v["status"].as_str(), v["id"].as_str()) {
                (Some("pending"), Some(id)) => Ok((id.to_owned(), item.auth.clone())),
                _ => bail!("a held action was not held: {v}"),
            }
        }));
    }
    let mut out = Vec::with_capacity(count);
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}

/// How an approval run goes.
pub struct ApprovalConfig {
    pub count: usize,
    /// Between two approvals.
    pub interval: Duration,
    /// After every waiter has sent its first long poll, before the first approval.
    pub settle: Duration,
}

/// The figures of an approval run.
pub struct ApprovalResult {
    /// Approve sent → waiting agent has the answer.
    pub delivery: Hist,
    /// Approve sent → approver has its answer.
    pub approve_rtt: Hist,
    /// Approver has its answer → waiting agent has its answer (0 when the agent
    /// was first). Tens of milliseconds here mean the agent was not woken at once
    /// (it learnt of the approval from a later re-read).
    pub after_approver: Hist,
    /// Answers the waiters got that were not `approved`.
    pub wrong: Vec<String>,
}

/// Runs the waiters and the approver over actions already held.
pub async fn run(
    server: &Server,
    approver: &HeaderValue,
    held: Vec<(String, HeaderValue)>,
    cfg: &ApprovalConfig,
) -> Result<ApprovalResult> {
    // Each waiter: long-poll until resolved, then report when it got the answer.
    let mut ready = Vec::new();
    let mut done = Vec::new();
    for (id, auth) in &held {
        let (ready_tx, ready_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel::<Result<(Instant, String)>>();
        ready.push(ready_rx);
        done.push(done_rx);
        let server = server.clone();
        let (id, auth) = (id.clone(), auth.clone());
        tokio::spawn(async move {
            let r = wait_for(&server, &id, &auth, ready_tx).await;
            let _ = done_tx.send(r);
        });
    }
    for r in ready {
        r.await
            .map_err(|_| anyhow!("a waiter failed before it started"))?;
    }
    tokio::time::sleep(cfg.settle).await;

    let mut conn = Conn::new(server);
    let mut sent = Vec::with_capacity(held.len());
    let mut approve_rtt = Hist::default();
    let mut ticker = tokio::time::interval(cfg.interval.max(Duration::from_millis(1)));
    let body = json!({ "comment": "airlock-loadgen" });
    for (id, _) in &held {
        ticker.tick().await;
        let t0 = Instant::now();
        let v = conn
            .json(
                Method::POST,
                &format!("/v1/approvals/{id}/approve"),
                approver,
                Some(&body),
            )
            .await
            .with_context(|| format!("approving {id}"))?;
        let answered = Instant::now();
        approve_rtt.record(answered.saturating_duration_since(t0));
        if v["status"] != "approved" {
            bail!("approving {id} did not approve it: {v}");
        }
        sent.push((t0, answered));
    }

    let mut delivery = Hist::default();
    let mut after_approver = Hist::default();
    let mut wrong = Vec::new();
    for (((t0, answered), rx), (id, _)) in sent.into_iter().zip(done).zip(&held) {
        let (got, status) = tokio::time::timeout(Duration::from_secs(120), rx)
            .await
            .map_err(|_| anyhow!("the waiter of {id} never got an answer"))?
            .map_err(|_| anyhow!("the waiter of {id} stopped"))??;
        if status != "approved" {
            wrong.push(format!("{id}: {status}"));
        }
        delivery.record(got.saturating_duration_since(t0));
        after_approver.record(got.saturating_duration_since(answered));
    }
    Ok(ApprovalResult {
        delivery,
        approve_rtt,
        after_approver,
        wrong,
    })
}

/// Long-polls one action until it is no longer pending; returns when the final
/// answer arrived and its status.
async fn wait_for(
    server: &Server,
    id: &str,
    auth: &HeaderValue,
    ready: oneshot::Sender<()>,
) -> Result<(Instant, String)> {
    let mut conn = Conn::new(server);
    let path = format!("/v1/actions/{id}?wait=30s");
    let mut ready = Some(ready);
    loop {
        let req = conn.send(Method::GET, &path, auth, hyper::body::Bytes::new());
        // The request is on its way once the future has been polled; signal readiness
        // right after it starts.
        tokio::pin!(req);
        let answer = tokio::select! {
            biased;
            r = &mut req => r,
            () = tokio::time::sleep(Duration::from_millis(20)) => {
                if let Some(tx) = ready.take() { let _ = tx.send(()); }
                req.await
            }
        };
        let got = Instant::now();
        if let Some(tx) = ready.take() {
            let _ = tx.send(());
        }
        let (status, body) = answer?;
        if !status.is_success() {
            bail!(
                "GET {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let v: Value = serde_json::from_slice(&body)?;
        let s = v["status"].as_str().unwrap_or("?");
        if s != "pending" {
            return Ok((got, s.to_owned()));
        }
    }
}
