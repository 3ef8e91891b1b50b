//! `airlock serve --mcp NAME=URL`: the service in front of Streamable HTTP MCP
//! servers, at `/mcp/NAME`.
//!
//! An agent's MCP client points at `https://airlock…/mcp/NAME` with its airlock
//! key (`Authorization: Bearer …`) instead of the server's URL. Messages are
//! relayed both ways untouched (the server's answers stream back as the server
//! sends them), except:
//!
//! - a `tools/call` is decided first, in process, exactly as `POST /v1/actions`
//!   decides it for that agent (and recorded in the service's ledger): allowed,
//!   it is relayed; denied, the client gets a tool result saying why
//!   (`isError: true`) and the server never sees it; held, the answer becomes an
//!   event stream that tells the client while it waits (`notifications/progress`
//!   when the call has a progress token, and a URL-mode `elicitation/create`
//!   pointing at the approval when the client declared it can open URLs), then
//!   carries the server's answer once approved, or the denial;
//! - `tools/list` and `server/discover` answers are pinned (each tool definition
//!   hashed on first sight, a changed one quarantined) and filtered (tools the
//!   policy denies this agent whatever the arguments are not listed);
//! - the agent's airlock key is never passed on; a session the server opened for
//!   one agent cannot be used by another.
//!
//! `/mcp` puts every fronted server behind one endpoint, tool names prefixed with
//! the server's (`aggregate`).
//!
//! Edge module: the network and the pin files. The deciding is the service's.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use airlock_server::{AppState, CallOutcome, HoldNotice};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::decide::{ToolCall, raw_call};
use crate::sse;

mod aggregate;

/// JSON-RPC error codes (as the stdio gateway uses them).
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;
const UPSTREAM_GONE: i64 = -32000;
const UPSTREAM_TIMEOUT: i64 = -32001;

/// The largest tool list read back to be screened.
const MAX_LISTING: u64 = 16 << 20;

/// Request headers passed to the server: the transport's own. Never
/// `Authorization` (the agent's airlock key) nor cookies.
const TO_UPSTREAM: &[&str] = &[
    "content-type",
    "accept",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];
/// Answer headers passed back to the client.
const FROM_UPSTREAM: &[&str] = &["content-type", "mcp-session-id", "cache-control"];

const SESSION: &str = "mcp-session-id";
/// Ids of the requests airlock itself sends a client (elicitations): the client's
/// answers to them stop here.
const OWN_ID_PREFIX: &str = "airlock-";

/// One upstream MCP server.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// As the policy's `mcp_servers` and `/mcp/NAME` know it.
    pub name: String,
    /// Its Streamable HTTP endpoint.
    pub url: String,
}

impl std::str::FromStr for Upstream {
    type Err = String;

    /// `NAME=URL`.
    fn from_str(s: &str) -> Result<Upstream, String> {
        let (name, url) = s.split_once('=').ok_or_else(|| {
            format!("`{s}`: expected NAME=URL, e.g. fs=http://127.0.0.1:8000/mcp")
        })?;
        crate::checked_name(name).map_err(|e| e.to_string())?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "`{s}`: the URL must start with http:// or https://"
            ));
        }
        Ok(Upstream {
            name: name.to_owned(),
            url: url.to_owned(),
        })
    }
}

/// How the front runs.
#[derive(Debug, Clone)]
pub struct FrontConfig {
    pub upstreams: Vec<Upstream>,
    /// Where the servers' tool pins are kept (`NAME.json`).
    pub pin_dir: PathBuf,
    /// How long a server has to answer a relayed request.
    pub call_timeout: Duration,
    /// How long a held call waits for approval before it is denied.
    pub hold_timeout: Duration,
}

/// A session the server opened, and whose it is.
#[derive(Debug, Clone)]
struct Session {
    tenant: String,
    agent: String,
    /// The client declared URL-mode elicitation (MCP 2025-11-25).
    url_elicitation: bool,
    /// Last used: sessions idle for a day are forgotten when room is needed.
    used: std::time::Instant,
}

/// Sessions remembered before idle ones are forgotten, and at most.
const SESSIONS_SWEPT_FROM: usize = 10_000;
const MAX_SESSIONS: usize = 100_000;
const SESSION_IDLE: Duration = Duration::from_secs(24 * 3600);

struct Front {
    st: Arc<AppState>,
    config: FrontConfig,
    upstreams: HashMap<String, String>,
    /// By (server, session id).
    sessions: Mutex<HashMap<(String, String), Session>>,
    /// Sessions with the aggregate (`/mcp`), by airlock's session id.
    joined: Mutex<HashMap<String, aggregate::Joined>>,
    /// Held calls answered with a task (the MCP Tasks extension).
    tasks: Arc<crate::tasks::Tasks>,
    /// The latest listed definition of each tool, by (server, tool).
    listings: Mutex<HashMap<(String, String), Value>>,
    /// The pin files are read and written here and by `airlock mcp approve-tool`.
    pins_lock: Mutex<()>,
    next_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section is one insert, remove or lookup: still consistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The routes of the front: `POST`, `GET` and `DELETE /mcp/{server}`, and the
/// aggregate of them all at `/mcp` (none without upstreams).
pub fn router(st: Arc<AppState>, config: FrontConfig) -> anyhow::Result<Router> {
    if config.upstreams.is_empty() {
        return Ok(Router::new());
    }
    let mut upstreams = HashMap::new();
    for u in &config.upstreams {
        if upstreams.insert(u.name.clone(), u.url.clone()).is_some() {
            anyhow::bail!("--mcp {}: the name is given twice", u.name);
        }
    }
    std::fs::create_dir_all(&config.pin_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the MCP pin directory {}: {e}",
            config.pin_dir.display()
        )
    })?;
    let front = Arc::new(Front {
        st,
        config,
        upstreams,
        sessions: Mutex::new(HashMap::new()),
        joined: Mutex::new(HashMap::new()),
        tasks: Arc::new(crate::tasks::Tasks::default()),
        listings: Mutex::new(HashMap::new()),
        pins_lock: Mutex::new(()),
        next_id: AtomicU64::new(1),
    });
    Ok(Router::new()
        .route("/mcp/{server}", post(on_post).get(on_get).delete(on_delete))
        .route(
            "/mcp",
            post(aggregate::on_post)
                .get(aggregate::on_get)
                .delete(aggregate::on_delete),
        )
        .layer(DefaultBodyLimit::max(airlock_server::MAX_BODY))
        .with_state(front))
}

type F = State<Arc<Front>>;

/// An answer with an `error` message, as the rest of the API gives them.
fn http_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// A JSON-RPC error answer to request `id`.
fn rpc_error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn json_answer(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// The tool result a denied call gets: readable by the model, not a protocol error.
fn denial(id: &Value, reason: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {
            "content": [{"type": "text", "text": format!("airlock denied this call: {reason}")}],
            "isError": true,
        },
    })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn accepts_events(headers: &HeaderMap) -> bool {
    header_str(headers, "accept").is_some_and(|a| a.contains("text/event-stream"))
}

impl Front {
    /// The caller, if it is an agent and may use the session it names.
    async fn admit(
        &self,
        server: &str,
        headers: &HeaderMap,
    ) -> Result<(String, String, Option<Session>), Response> {
        let (tenant, agent) = airlock_server::authenticate_agent(&self.st, headers)
            .await
            .map_err(IntoResponse::into_response)?;
        if !self.upstreams.contains_key(server) {
            let mut known: Vec<&str> = self.upstreams.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(http_error(
                StatusCode::NOT_FOUND,
                &format!(
                    "no MCP server `{server}` behind this airlock (known: {}); the operator adds one with `airlock serve --mcp {server}=URL`",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        let session = match header_str(headers, SESSION) {
            None => None,
            Some(sid) => {
                let key = (server.to_owned(), sid.to_owned());
                let mut sessions = lock(&self.sessions);
                match sessions.get(&key) {
                    Some(s) if s.tenant != tenant || s.agent != agent => {
                        // Another agent's session: as unknown as a made-up one.
                        return Err(http_error(
                            StatusCode::NOT_FOUND,
                            "no such MCP session for this agent; start a new one (initialize)",
                        ));
                    }
                    Some(_) => sessions.get_mut(&key).map(|s| {
                        s.used = std::time::Instant::now();
                        s.clone()
                    }),
                    None => {
                        // Opened before this service started: the first agent to use
                        // it owns it from now on.
                        let s = Session {
                            tenant: tenant.clone(),
                            agent: agent.clone(),
                            url_elicitation: false,
                            used: std::time::Instant::now(),
                        };
                        if !remember(&mut sessions, key, s.clone()) {
                            return Err(http_error(
                                StatusCode::SERVICE_UNAVAILABLE,
                                "too many open MCP sessions; try again later",
                            ));
                        }
                        Some(s)
                    }
                }
            }
        };
        Ok((tenant, agent, session))
    }

    fn url(&self, server: &str) -> String {
        self.upstreams.get(server).cloned().unwrap_or_default()
    }

    /// POSTs one message to `server`, within the call timeout.
    async fn post(
        &self,
        server: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Upstreamed, String> {
        upstream(
            "POST",
            self.url(server),
            headers,
            Some(body),
            Some(self.config.call_timeout),
        )
        .await
    }

    fn tool_listing(&self, server: &str, tool: &str) -> Option<Value> {
        lock(&self.listings)
            .get(&(server.to_owned(), tool.to_owned()))
            .cloned()
    }

    fn pin_refusal(&self, server: &str, name: &str, listing: Option<&Value>) -> Option<String> {
        let path = self.config.pin_dir.join(format!("{server}.json"));
        let _guard = lock(&self.pins_lock);
        match crate::pins::Pins::load(&path, server) {
            Ok(p) => p.refusal(server, name, listing),
            Err(e) => Some(format!("{e:#}; until then no tool of `{server}` is called")),
        }
    }
}

/// Remembers a session, forgetting day-idle ones when many are open; false when
/// there is no room even so.
fn remember(
    sessions: &mut HashMap<(String, String), Session>,
    key: (String, String),
    session: Session,
) -> bool {
    if sessions.len() >= SESSIONS_SWEPT_FROM {
        let now = std::time::Instant::now();
        sessions.retain(|_, s| now.duration_since(s.used) < SESSION_IDLE);
    }
    if sessions.len() >= MAX_SESSIONS {
        return false;
    }
    sessions.insert(key, session);
    true
}

/// What the server answered.
struct Upstreamed {
    status: StatusCode,
    headers: HeaderMap,
    body: Chunks,
}

impl Upstreamed {
    /// Passed back to the client as it arrives.
    fn into_response(self) -> Response {
        let mut r = Response::new(Body::from_stream(stream_of(self.body)));
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers;
        r
    }

    /// Passed back to the client as it arrives; when the server's event stream
    /// breaks off (a timeout, a crash) before it ends, the client gets an error
    /// answer to request `id` at its end instead of a stream cut short.
    fn into_answer(self, server: &str, id: &Value) -> Response {
        let is_events = header_str(&self.headers, "content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"));
        if !is_events || id.is_null() {
            return self.into_response();
        }
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let (server, id) = (server.to_owned(), id.clone());
        let mut body = self.body;
        tokio::spawn(async move { pump_events(&mut body, &tx, &server, &id).await });
        let mut r = Response::new(Body::from_stream(stream_of(rx)));
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers;
        r
    }

    /// The whole body, up to `limit` bytes.
    async fn read_all(mut self, limit: u64) -> Result<(StatusCode, HeaderMap, Vec<u8>), String> {
        let mut out = Vec::new();
        while let Some(chunk) = self.body.recv().await {
            let chunk = chunk.map_err(|e| format!("reading the server's answer: {e}"))?;
            if (out.len() + chunk.len()) as u64 > limit {
                return Err(format!("the server's answer is over {limit} bytes"));
            }
            out.extend_from_slice(&chunk);
        }
        Ok((self.status, self.headers, out))
    }
}

type Chunks = tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>;
type ChunkSender = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Copies a server's event stream to the client's; a break in it becomes an
/// error answer to `id`, after a blank line that ends any event cut in half.
async fn pump_events(body: &mut Chunks, tx: &ChunkSender, server: &str, id: &Value) {
    while let Some(chunk) = body.recv().await {
        match chunk {
            Ok(bytes) => {
                if tx.send(Ok(bytes)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                let why = e.to_string();
                let code = if why.contains("imeout") {
                    UPSTREAM_TIMEOUT
                } else {
                    UPSTREAM_GONE
                };
                let answer = rpc_error(
                    id,
                    code,
                    &format!(
                        "airlock: the MCP server `{server}` broke off its answer ({why}); it may still have run"
                    ),
                );
                let text = format!("\n\n{}", sse::message(&answer.to_string()));
                let _ = tx.send(Ok(Bytes::from(text))).await;
                return;
            }
        }
    }
}

fn stream_of(
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) })
}

/// The client of every upstream: one, so that its connections are kept alive and
/// reused (a new connection per relayed message would add a handshake to each).
fn upstream_agent() -> &'static ureq::Agent {
    static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(5)))
            .max_idle_connections_per_host(64)
            .build()
            .into()
    })
}

/// Relayed requests in flight at once, and server streams (`GET`) open at once.
/// Each holds a thread of the blocking pool (512 threads, shared with the
/// store's reads) for as long as it lasts: without a bound, a few agents opening
/// streams could starve the service of the threads it decides with.
const MAX_RELAYS: usize = 256;
const MAX_STREAMS: usize = 64;

fn slots(streams: bool) -> std::sync::Arc<tokio::sync::Semaphore> {
    static RELAYS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    static STREAMS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    let (cell, n) = if streams {
        (&STREAMS, MAX_STREAMS)
    } else {
        (&RELAYS, MAX_RELAYS)
    };
    cell.get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(n)))
        .clone()
}

/// Sends one request to the server (a blocking HTTP client on the blocking pool:
/// no second HTTP stack in the build) and streams its answer back.
async fn upstream(
    method: &'static str,
    url: String,
    headers: &HeaderMap,
    body: Option<Bytes>,
    timeout: Option<Duration>,
) -> Result<Upstreamed, String> {
    let mut request = ureq::http::Request::builder().method(method).uri(&url);
    for name in TO_UPSTREAM {
        for v in headers.get_all(*name) {
            request = request.header(*name, v.as_bytes());
        }
    }
    // A stream (no timeout) is refused when too many are open; a request waits
    // for a slot.
    let permit = if timeout.is_none() {
        slots(true).try_acquire_owned().map_err(|_| {
            format!("{MAX_STREAMS} server streams are open through this airlock; close one (end an idle session) and retry")
        })?
    } else {
        slots(false)
            .acquire_owned()
            .await
            .map_err(|_| "the relay is shutting down".to_owned())?
    };
    let (head_tx, head_rx) = tokio::sync::oneshot::channel();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let target = url.clone();
    tokio::task::spawn_blocking(move || {
        // Held for as long as the request or stream lasts.
        let _permit = permit;
        let url = target;
        let agent = upstream_agent();
        let sent = match request.body(body.map(|b| b.to_vec()).unwrap_or_default()) {
            Ok(r) => agent.run(agent.configure_request(r).timeout_global(timeout).build()),
            Err(e) => {
                let _ = head_tx.send(Err(format!("a request to {url} cannot be made: {e}")));
                return;
            }
        };
        let response = match sent {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => {
                let _ = head_tx.send(Err(format!("timeout: {url} did not answer in time")));
                return;
            }
            Err(e) => {
                let _ = head_tx.send(Err(format!("{url} cannot be reached: {e}")));
                return;
            }
        };
        let (parts, body) = response.into_parts();
        let mut back = HeaderMap::new();
        for name in FROM_UPSTREAM {
            if let (Ok(n), Some(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                parts.headers.get(*name),
            ) && let Ok(v) = HeaderValue::from_bytes(v.as_bytes())
            {
                back.insert(n, v);
            }
        }
        let status = StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        if head_tx.send(Ok((status, back))).is_err() {
            return;
        }
        let mut reader = body.into_with_config().limit(u64::MAX).reader();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    // The client gone: stop reading (the server's connection closes).
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                    return;
                }
            }
        }
    });
    let (status, headers) = head_rx
        .await
        .map_err(|_| format!("the request to {url} was lost"))??;
    Ok(Upstreamed {
        status,
        headers,
        body: rx,
    })
}

/// The JSON-RPC error a request gets when the server cannot be asked.
fn upstream_failure(server: &str, id: &Value, why: &str) -> Response {
    let code = if why.starts_with("timeout") {
        UPSTREAM_TIMEOUT
    } else {
        UPSTREAM_GONE
    };
    json_answer(
        StatusCode::OK,
        &rpc_error(
            id,
            code,
            &format!(
                "airlock: the MCP server `{server}` did not answer ({why}); try again later or ask the operator to check it"
            ),
        ),
    )
}

async fn on_post(
    State(front): F,
    Path(server): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (tenant, agent, session) = match front.admit(&server, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let msg: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_answer(
                StatusCode::BAD_REQUEST,
                &rpc_error(
                    &Value::Null,
                    PARSE_ERROR,
                    &format!("airlock: the message is not JSON ({e}); it was not relayed"),
                ),
            );
        }
    };
    let now = jiff::Timestamp::now().to_string();
    if let Some(answer) = front.tasks.handle(&format!("{tenant}/{agent}"), &msg, &now) {
        return json_answer(StatusCode::OK, &answer);
    }
    let method = msg.get("method").and_then(Value::as_str).map(str::to_owned);
    let id = msg.get("id").filter(|id| !id.is_null()).cloned();
    match (&msg, method.as_deref(), id) {
        (Value::Object(_), Some("tools/call"), Some(id)) => {
            let owner = format!("{tenant}/{agent}");
            front
                .tools_call(&server, &owner, headers, body, &msg, id, session)
                .await
        }
        (Value::Object(_), Some("tools/call"), None) => json_answer(
            StatusCode::BAD_REQUEST,
            &rpc_error(
                &Value::Null,
                INVALID_REQUEST,
                "airlock: a tools/call must be a request (with an id), not a notification",
            ),
        ),
        (Value::Object(_), Some("tools/list" | "server/discover"), Some(id)) => {
            let discover = method.as_deref() == Some("server/discover");
            front.listing(&server, headers, body, id, discover).await
        }
        (Value::Object(_), Some("initialize"), Some(id)) => {
            front
                .initialize(&server, &tenant, &agent, headers, body, &msg, id)
                .await
        }
        // The client's answer to an elicitation airlock sent: nothing to relay.
        (Value::Object(o), None, Some(Value::String(rid)))
            if rid.starts_with(OWN_ID_PREFIX)
                && (o.contains_key("result") || o.contains_key("error")) =>
        {
            StatusCode::ACCEPTED.into_response()
        }
        (Value::Array(batch), _, _)
            if batch.iter().any(|m| {
                matches!(
                    m.get("method").and_then(Value::as_str),
                    Some("tools/call" | "tools/list" | "server/discover" | "initialize")
                )
            }) =>
        {
            json_answer(
                StatusCode::BAD_REQUEST,
                &rpc_error(
                    &Value::Null,
                    INVALID_REQUEST,
                    "airlock: initialize, tools/call, tools/list and server/discover cannot be sent in a batch; send them one message at a time",
                ),
            )
        }
        (Value::Object(_) | Value::Array(_), _, id) => {
            let id = id.unwrap_or(Value::Null);
            match front.post(&server, &headers, body).await {
                Ok(u) => u.into_answer(&server, &id),
                Err(why) if !id.is_null() => upstream_failure(&server, &id, &why),
                Err(why) => http_error(StatusCode::BAD_GATEWAY, &why),
            }
        }
        _ => json_answer(
            StatusCode::BAD_REQUEST,
            &rpc_error(
                &Value::Null,
                INVALID_REQUEST,
                "airlock: a JSON-RPC message must be an object",
            ),
        ),
    }
}

/// `GET`: the server's own stream of requests and notifications, relayed.
async fn on_get(State(front): F, Path(server): Path<String>, headers: HeaderMap) -> Response {
    if let Err(r) = front.admit(&server, &headers).await {
        return r;
    }
    if slots(true).available_permits() == 0 {
        return http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "{MAX_STREAMS} server streams are open through this airlock; close one (end an idle session) and retry"
            ),
        );
    }
    match upstream("GET", front.url(&server), &headers, None, None).await {
        Ok(u) => u.into_response(),
        Err(why) => http_error(StatusCode::BAD_GATEWAY, &why),
    }
}

/// `DELETE`: the client ends its session.
async fn on_delete(State(front): F, Path(server): Path<String>, headers: HeaderMap) -> Response {
    if let Err(r) = front.admit(&server, &headers).await {
        return r;
    }
    let answer = match upstream(
        "DELETE",
        front.url(&server),
        &headers,
        None,
        Some(Duration::from_secs(10)),
    )
    .await
    {
        Ok(u) => u.into_response(),
        Err(why) => http_error(StatusCode::BAD_GATEWAY, &why),
    };
    if let Some(sid) = header_str(&headers, SESSION) {
        lock(&front.sessions).remove(&(server, sid.to_owned()));
    }
    answer
}

impl Front {
    /// Relays `initialize` and remembers the session the server opens: whose it
    /// is, and whether the client can be sent to a URL.
    #[allow(clippy::too_many_arguments)]
    async fn initialize(
        &self,
        server: &str,
        tenant: &str,
        agent: &str,
        headers: HeaderMap,
        body: Bytes,
        msg: &Value,
        id: Value,
    ) -> Response {
        let u = match self.post(server, &headers, body).await {
            Ok(u) => u,
            Err(why) => return upstream_failure(server, &id, &why),
        };
        if let Some(sid) = header_str(&u.headers, SESSION) {
            let elicitation = &msg["params"]["capabilities"]["elicitation"];
            let remembered = remember(
                &mut lock(&self.sessions),
                (server.to_owned(), sid.to_owned()),
                Session {
                    tenant: tenant.to_owned(),
                    agent: agent.to_owned(),
                    url_elicitation: elicitation.get("url").is_some(),
                    used: std::time::Instant::now(),
                },
            );
            if !remembered {
                return http_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many open MCP sessions; try again later",
                );
            }
        }
        u.into_answer(server, &id)
    }

    /// Relays `tools/list` or `server/discover`, then pins and filters the tools
    /// in the answer, whether it came as JSON or as an event stream.
    async fn listing(
        &self,
        server: &str,
        headers: HeaderMap,
        body: Bytes,
        id: Value,
        discover: bool,
    ) -> Response {
        let u = match self.post(server, &headers, body).await {
            Ok(u) => u,
            Err(why) => return upstream_failure(server, &id, &why),
        };
        let (status, back, bytes) = match u.read_all(MAX_LISTING).await {
            Ok(x) => x,
            Err(why) => return upstream_failure(server, &id, &why),
        };
        let text = String::from_utf8_lossy(&bytes);
        let is_events =
            header_str(&back, "content-type").is_some_and(|c| c.starts_with("text/event-stream"));
        let body = if is_events {
            let mut out = String::new();
            for mut event in sse::parse(&text) {
                if let Some(data) = &event.data
                    && let Ok(msg) = serde_json::from_str::<Value>(data)
                    && msg.get("id") == Some(&id)
                    && msg.get("method").is_none()
                {
                    let mut screened = self.screen(server, &headers, msg).await;
                    if discover {
                        declare_tasks(&mut screened);
                    }
                    event.data = Some(screened.to_string());
                }
                out.push_str(&sse::write(&event));
            }
            out
        } else {
            match serde_json::from_str::<Value>(&text) {
                Ok(msg) if msg.get("id") == Some(&id) => {
                    let mut screened = self.screen(server, &headers, msg).await;
                    if discover {
                        declare_tasks(&mut screened);
                    }
                    screened.to_string()
                }
                // Not the answer (an error page, say): passed on as it is.
                _ => text.into_owned(),
            }
        };
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = status;
        *r.headers_mut() = back;
        r
    }

    /// A tool list answer: each tool pinned, changed tools quarantined, tools the
    /// policy always denies this agent left out.
    async fn screen(&self, server: &str, headers: &HeaderMap, mut msg: Value) -> Value {
        let listed = {
            let mut seen = lock(&self.listings);
            crate::pins::listed_tools(&mut msg, |name, tool| {
                seen.insert((server.to_owned(), name.to_owned()), tool.clone());
            })
        };
        let Some(tools) = listed else {
            return msg;
        };
        let path = self.config.pin_dir.join(format!("{server}.json"));
        let now = jiff::Timestamp::now().to_string();
        let told = {
            let _guard = lock(&self.pins_lock);
            crate::pins::screen(&path, server, tools, &now)
        };
        for t in told {
            eprintln!("airlock: MCP server `{server}`: {t}");
        }
        // Which of them the policy never lets this agent call. Failing to find out
        // keeps them listed: their calls are still decided.
        if let Ok(never) = airlock_server::never_listed(&self.st, headers, server, tools).await {
            tools.retain(|t| {
                !never
                    .iter()
                    .any(|n| Some(n.as_str()) == t.get("name").and_then(Value::as_str))
            });
        }
        msg
    }

    /// Decides a `tools/call`, then relays it or answers it.
    #[allow(clippy::too_many_arguments)]
    async fn tools_call(
        self: &Arc<Self>,
        server: &str,
        owner: &str,
        headers: HeaderMap,
        body: Bytes,
        msg: &Value,
        id: Value,
        session: Option<Session>,
    ) -> Response {
        let params = msg.get("params");
        let (name, arguments) = match crate::proxy::call_shape(params) {
            Ok(x) => x,
            Err(why) => {
                return json_answer(
                    StatusCode::OK,
                    &rpc_error(&id, INVALID_PARAMS, &format!("airlock: {why}")),
                );
            }
        };
        let listing = self.tool_listing(server, &name);
        if let Some(refusal) = self.pin_refusal(server, &name, listing.as_ref()) {
            return json_answer(StatusCode::OK, &denial(&id, &refusal));
        }
        let call = raw_call(
            server,
            &ToolCall {
                name: &name,
                arguments: &arguments,
                listing: listing.as_ref(),
            },
        )
        .to_string();
        let deadline = tokio::time::Instant::now() + self.config.hold_timeout;
        let (hold_tx, mut hold_rx) = tokio::sync::mpsc::unbounded_channel::<HoldNotice>();
        let mut decided = {
            let (st, headers) = (self.st.clone(), headers.clone());
            tokio::spawn(async move {
                airlock_server::decide_call(&st, &headers, call, deadline, &mut |n| {
                    let _ = hold_tx.send(n.clone());
                })
                .await
            })
        };
        // Most calls are decided at once: the answer is the server's own.
        let first_hold = tokio::select! {
            outcome = &mut decided => {
                return match verdict(outcome) {
                    Ok(()) => self.forward(server, &headers, body, &id).await,
                    Err(reason) => json_answer(StatusCode::OK, &denial(&id, &reason)),
                };
            }
            notice = hold_rx.recv() => notice,
        };
        let Some(first_hold) = first_hold else {
            // The decision ended without a word: it is in `decided`.
            return match verdict(decided.await) {
                Ok(()) => self.forward(server, &headers, body, &id).await,
                Err(reason) => json_answer(StatusCode::OK, &denial(&id, &reason)),
            };
        };
        if crate::tasks::declared(params) {
            return self.held_as_task(
                server,
                owner,
                headers,
                msg,
                id,
                &first_hold,
                decided,
                hold_rx,
            );
        }
        if !accepts_events(&headers) {
            // A client that takes only JSON waits without news.
            return match verdict(decided.await) {
                Ok(()) => self.forward(server, &headers, body, &id).await,
                Err(reason) => json_answer(StatusCode::OK, &denial(&id, &reason)),
            };
        }
        // Held: the answer becomes an event stream, news first, the verdict last.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
        let front = Arc::clone(self);
        let server = server.to_owned();
        let progress = params
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get("progressToken"))
            .cloned();
        let url_elicitation = session.as_ref().is_some_and(|s| s.url_elicitation);
        let host = header_str(&headers, "host")
            .unwrap_or("localhost")
            .to_owned();
        tokio::spawn(async move {
            let send = |text: String| {
                let tx = tx.clone();
                async move { tx.send(Ok(Bytes::from(text))).await.is_ok() }
            };
            let mut step = 0u64;
            let mut elicited: Option<String> = None;
            let mut notice = Some(first_hold);
            let outcome = loop {
                if let Some(n) = notice.take() {
                    let message = hold_message(&n);
                    if let Some(token) = &progress {
                        step += 1;
                        let p = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                            "params": {"progressToken": token, "progress": step, "message": message}});
                        if !send(sse::message(&p.to_string())).await {
                            break None;
                        }
                    }
                    if url_elicitation && elicited.is_none() {
                        let elicitation = format!("airlock-approval-{}", n.id);
                        let request_id = format!(
                            "{OWN_ID_PREFIX}{}",
                            front.next_id.fetch_add(1, Ordering::Relaxed)
                        );
                        let e = json!({"jsonrpc": "2.0", "id": request_id, "method": "elicitation/create",
                            "params": {"mode": "url", "elicitationId": elicitation,
                                "url": format!("http://{host}/v1/approvals/{}", n.id),
                                "message": message}});
                        if !send(sse::message(&e.to_string())).await {
                            break None;
                        }
                        elicited = Some(elicitation);
                    }
                }
                tokio::select! {
                    outcome = &mut decided => break Some(outcome),
                    n = hold_rx.recv() => notice = n,
                    // The client went away: the call is abandoned, never run.
                    () = tx.closed() => break None,
                }
            };
            let Some(outcome) = outcome else {
                decided.abort();
                return;
            };
            if let Some(e) = elicited {
                let done = json!({"jsonrpc": "2.0", "method": "notifications/elicitation/complete",
                    "params": {"elicitationId": e}});
                if !send(sse::message(&done.to_string())).await {
                    return;
                }
            }
            match verdict(outcome) {
                Err(reason) => {
                    send(sse::message(&denial(&id, &reason).to_string())).await;
                }
                Ok(()) => front.forward_into(&server, &headers, body, &id, &tx).await,
            }
        });
        let mut r = Response::new(Body::from_stream(stream_of(rx)));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        r
    }

    /// Relays an allowed call; the server's answer is the client's.
    async fn forward(
        &self,
        server: &str,
        headers: &HeaderMap,
        body: Bytes,
        id: &Value,
    ) -> Response {
        match self.post(server, headers, body).await {
            Ok(u) => u.into_answer(server, id),
            Err(why) => upstream_failure(server, id, &why),
        }
    }

    /// Relays an approved call into an event stream already open to the client.
    async fn forward_into(
        &self,
        server: &str,
        headers: &HeaderMap,
        body: Bytes,
        id: &Value,
        tx: &ChunkSender,
    ) {
        let u = match self.post(server, headers, body).await {
            Ok(u) => u,
            Err(why) => {
                let e = rpc_error(
                    id,
                    UPSTREAM_GONE,
                    &format!(
                        "airlock: the call was approved, but the MCP server `{server}` did not answer ({why})"
                    ),
                );
                let _ = tx.send(Ok(Bytes::from(sse::message(&e.to_string())))).await;
                return;
            }
        };
        let is_events = header_str(&u.headers, "content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"));
        if is_events {
            // Its events follow ours in the same stream.
            let mut body = u.body;
            pump_events(&mut body, tx, server, id).await;
        } else {
            let answer = match u.read_all(MAX_LISTING).await {
                Ok((_, _, bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(why) => rpc_error(id, UPSTREAM_GONE, &format!("airlock: {why}")).to_string(),
            };
            let _ = tx.send(Ok(Bytes::from(sse::message(answer.trim())))).await;
        }
    }
}

/// A `server/discover` answer says the front serves the tasks extension.
fn declare_tasks(msg: &mut Value) {
    if let Some(result) = msg.get_mut("result") {
        crate::tasks::declare_in(result);
    }
}

/// How long a held call's task is kept.
const TASK_TTL_MS: u64 = 3_600_000;

type Decided = tokio::task::JoinHandle<airlock_server::ApiResult<CallOutcome>>;

impl Front {
    /// A held call of a client that takes tasks: answered at once with a task;
    /// the wait goes on here, and the server's answer (or the denial) becomes
    /// the task's result. A task cancelled meanwhile is never relayed.
    #[allow(clippy::too_many_arguments)]
    fn held_as_task(
        self: &Arc<Self>,
        server: &str,
        owner: &str,
        headers: HeaderMap,
        msg: &Value,
        id: Value,
        first: &HoldNotice,
        mut decided: Decided,
        mut hold_rx: tokio::sync::mpsc::UnboundedReceiver<HoldNotice>,
    ) -> Response {
        let now = || jiff::Timestamp::now().to_string();
        let task = self
            .tasks
            .create(owner, &hold_message(first), TASK_TTL_MS, &now());
        let created = self.tasks.created(&id, &task);
        let front = Arc::clone(self);
        let server = server.to_owned();
        let call = crate::tasks::without_extension(msg);
        tokio::spawn(async move {
            let outcome = loop {
                tokio::select! {
                    outcome = &mut decided => break outcome,
                    n = hold_rx.recv() => if let Some(n) = n {
                        front.tasks.tell(&task, &hold_message(&n), &now());
                    },
                }
                if front.tasks.cancelled(&task) {
                    decided.abort();
                    return;
                }
            };
            match verdict(outcome) {
                Err(reason) => {
                    let denied = denial(&id, &reason);
                    front.tasks.deny(&task, denied["result"].clone(), &now());
                }
                Ok(()) if front.tasks.cancelled(&task) => {}
                Ok(()) => {
                    let answer = front.ask_upstream(&server, &headers, &call, &id).await;
                    front.tasks.answer(&task, &answer, &now());
                }
            }
        });
        json_answer(StatusCode::OK, &created)
    }

    /// Sends one request to `server` and reads its answer to it (JSON or an event
    /// stream); a failure is a JSON-RPC error answer.
    async fn ask_upstream(
        &self,
        server: &str,
        headers: &HeaderMap,
        msg: &Value,
        id: &Value,
    ) -> Value {
        let body = Bytes::from(msg.to_string());
        let read = async {
            let u = self.post(server, headers, body).await?;
            let (_, back, bytes) = u.read_all(MAX_LISTING).await?;
            aggregate::answer_in(
                header_str(&back, "content-type"),
                &String::from_utf8_lossy(&bytes),
                id,
            )
            .ok_or_else(|| format!("`{server}` sent no answer to the call"))
        };
        read.await.unwrap_or_else(|why| {
            rpc_error(
                id,
                UPSTREAM_GONE,
                &format!("airlock: the call was approved, but the MCP server `{server}` did not answer ({why})"),
            )
        })
    }
}

/// The end of a decision: `Ok` to relay the call, or the reason it is denied. An
/// error on the way is a denial (airlock fails closed).
fn verdict(
    outcome: Result<airlock_server::ApiResult<CallOutcome>, tokio::task::JoinError>,
) -> Result<(), String> {
    match outcome {
        Ok(Ok(CallOutcome::Allowed(_))) => Ok(()),
        Ok(Ok(CallOutcome::Denied(reason))) => Err(reason),
        Ok(Err(e)) => Err(format!(
            "airlock could not decide this call ({e}), so it is denied (airlock fails closed); ask a human to check the airlock setup"
        )),
        Err(e) => Err(format!(
            "airlock could not decide this call ({e}), so it is denied (airlock fails closed)"
        )),
    }
}

/// One sentence for the agent (and its user) while the call waits.
fn hold_message(n: &HoldNotice) -> String {
    format!(
        "airlock is holding this call for human approval ({}): needs {}. Approve it with `airlock approvals approve {}`",
        n.reason,
        crate::service::approvers(&n.approval),
        n.id
    )
}
