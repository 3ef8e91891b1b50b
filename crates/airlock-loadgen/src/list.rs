//! Listing the approval queue: fill it to N pending requests, then time
//! `GET /v1/approvals?status=pending&limit=N` (the whole answer read), repeatedly.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use hyper::Method;
use hyper::body::Bytes;
use hyper::header::HeaderValue;
use serde_json::Value;

use crate::client::{Conn, Server};
use crate::hist::Hist;

/// How many requests are pending (as many as one listing of `limit` shows).
pub async fn pending(conn: &mut Conn, viewer: &HeaderValue, limit: usize) -> Result<usize> {
    let v = conn
        .json(
            Method::GET,
            &format!("/v1/approvals?status=pending&limit={limit}"),
            viewer,
            None,
        )
        .await?;
    Ok(v["approvals"].as_array().map_or(0, Vec::len))
}

pub struct ListResult {
    pub latency: Hist,
    /// Until the answer's head arrived: the service's work (it serialises the
    /// whole answer before sending it).
    pub head: Hist,
    pub items: usize,
    pub bytes: usize,
}

/// Times `repeat` listings (after `warmup` untimed ones), one after the other.
pub async fn time_listing(
    server: &Server,
    viewer: &HeaderValue,
    limit: usize,
    warmup: usize,
    repeat: usize,
    pause: Duration,
) -> Result<ListResult> {
    let mut conn = Conn::new(server);
    let path = format!("/v1/approvals?status=pending&limit={limit}");
    let mut latency = Hist::default();
    let mut head_latency = Hist::default();
    let mut items = 0;
    let mut bytes = 0;
    for i in 0..warmup + repeat {
        let t0 = Instant::now();
        let (status, body, head) = conn
            .send_timed(Method::GET, &path, viewer, Bytes::new())
            .await?;
        let took = t0.elapsed();
        if !status.is_success() {
            bail!(
                "GET {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        if std::env::var_os("LOADGEN_TRACE").is_some() {
            eprintln!("listing {i}: {took:?}");
        }
        if i >= warmup {
            latency.record(took);
            head_latency.record(head.saturating_duration_since(t0));
        }
        // Count the items outside the timing.
        let v: Value = serde_json::from_slice(&body)?;
        items = v["approvals"].as_array().map_or(0, Vec::len);
        bytes = body.len();
        tokio::time::sleep(pause).await;
    }
    Ok(ListResult {
        latency,
        head: head_latency,
        items,
        bytes,
    })
}
