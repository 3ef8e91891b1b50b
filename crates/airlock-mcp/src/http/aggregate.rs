//! `/mcp`: every fronted server behind one endpoint, for an agent that wants one.
//!
//! Here airlock is the MCP server the client talks to: it answers `initialize`
//! and `ping` itself, opens its own session with each upstream when first needed,
//! lists the tools of all of them with the server's name as a prefix
//! (`fs__read_text_file`), and routes each `tools/call` by that prefix to the
//! per-server path, decided and relayed exactly as at `/mcp/NAME`. Tools only:
//! resources and prompts have no names to prefix safely, so they stay at
//! `/mcp/NAME`.

use super::*;

/// Between a server's name and its tool's: tool names keep to
/// `[A-Za-z0-9_-]`, which many clients require.
const SEPARATOR: &str = "__";

/// Protocol revisions this endpoint speaks (the tools part is the same in all).
const VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];
const METHOD_NOT_FOUND: i64 = -32601;
/// The most tool-list pages read from one upstream.
const MAX_PAGES: usize = 20;

/// A client's session with the aggregate, and airlock's with each upstream.
#[derive(Debug, Clone)]
pub(super) struct Joined {
    owner: Session,
    version: String,
    /// Airlock's session id with each upstream it has opened one with (`None`:
    /// the upstream keeps no sessions).
    upstream: HashMap<String, Option<String>>,
}

fn new_session_id() -> Result<String, String> {
    airlock_server::new_token()
        .map(|t| t.trim_start_matches("al_").to_owned())
        .map_err(|e| e.to_string())
}

pub(super) async fn on_post(State(front): F, headers: HeaderMap, body: Bytes) -> Response {
    let (tenant, agent) = match airlock_server::authenticate_agent(&front.st, &headers).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let msg: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return json_answer(
                StatusCode::BAD_REQUEST,
                &rpc_error(
                    &Value::Null,
                    INVALID_REQUEST,
                    "airlock: the aggregated endpoint takes one JSON-RPC object per request (no batches)",
                ),
            );
        }
        Err(e) => {
            return json_answer(
                StatusCode::BAD_REQUEST,
                &rpc_error(
                    &Value::Null,
                    PARSE_ERROR,
                    &format!("airlock: the message is not JSON ({e})"),
                ),
            );
        }
    };
    let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
    let id = msg.get("id").filter(|id| !id.is_null()).cloned();
    if method == "initialize" {
        return front.join(&tenant, &agent, &msg, id.unwrap_or(Value::Null));
    }
    let sid = header_str(&headers, SESSION).unwrap_or("").to_owned();
    let joined = {
        let mut joined = lock(&front.joined);
        match joined.get_mut(&sid) {
            Some(j) if j.owner.tenant == tenant && j.owner.agent == agent => {
                j.owner.used = std::time::Instant::now();
                j.clone()
            }
            _ => {
                return http_error(
                    StatusCode::NOT_FOUND,
                    "no such MCP session for this agent; start a new one (initialize)",
                );
            }
        }
    };
    let now = jiff::Timestamp::now().to_string();
    if let Some(answer) = front.tasks.handle(&format!("{tenant}/{agent}"), &msg, &now) {
        return json_answer(StatusCode::OK, &answer);
    }
    let Some(id) = id else {
        // Notifications (initialized, cancelled, …) and answers: nothing to do.
        return StatusCode::ACCEPTED.into_response();
    };
    if method.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    match method {
        "ping" => json_answer(
            StatusCode::OK,
            &json!({"jsonrpc": "2.0", "id": id, "result": {}}),
        ),
        "tools/list" => {
            let tools = front.all_tools(&sid, joined, &headers).await;
            json_answer(
                StatusCode::OK,
                &json!({"jsonrpc": "2.0", "id": id, "result": {"tools": tools}}),
            )
        }
        "tools/call" => front.routed_call(&sid, joined, headers, msg, id).await,
        other => json_answer(
            StatusCode::OK,
            &rpc_error(
                &id,
                METHOD_NOT_FOUND,
                &format!(
                    "airlock: `{other}` is not served by the aggregated endpoint /mcp, which carries tools only; use /mcp/SERVER for a server's resources and prompts"
                ),
            ),
        ),
    }
}

pub(super) async fn on_get() -> Response {
    http_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "the aggregated endpoint /mcp has no server-to-client stream; use /mcp/SERVER",
    )
}

pub(super) async fn on_delete(State(front): F, headers: HeaderMap) -> Response {
    let (tenant, agent) = match airlock_server::authenticate_agent(&front.st, &headers).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let sid = header_str(&headers, SESSION).unwrap_or("").to_owned();
    let ended = {
        let mut joined = lock(&front.joined);
        match joined.get(&sid) {
            Some(j) if j.owner.tenant == tenant && j.owner.agent == agent => joined.remove(&sid),
            _ => None,
        }
    };
    let Some(ended) = ended else {
        return http_error(StatusCode::NOT_FOUND, "no such MCP session for this agent");
    };
    for (server, upstream_sid) in ended.upstream {
        if let Some(u) = upstream_sid {
            let h = upstream_headers(&HeaderMap::new(), Some(&u), &ended.version);
            let _ = upstream(
                "DELETE",
                front.url(&server),
                &h,
                None,
                Some(Duration::from_secs(5)),
            )
            .await;
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The headers airlock sends an upstream in its own session: the client's
/// (`Authorization` included, for deciding; it is never relayed) with airlock's
/// session id and protocol version.
fn upstream_headers(client: &HeaderMap, session: Option<&str>, version: &str) -> HeaderMap {
    let mut h = client.clone();
    h.remove(SESSION);
    if let Some(s) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        h.insert(SESSION, s);
    }
    if let Ok(v) = HeaderValue::from_str(version) {
        h.insert("mcp-protocol-version", v);
    }
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h
}

/// The answer to request `id` in an upstream's answer (JSON or an event stream).
pub(super) fn answer_in(content_type: Option<&str>, body: &str, id: &Value) -> Option<Value> {
    let is_events = content_type.is_some_and(|c| c.starts_with("text/event-stream"));
    let candidates: Vec<Value> = if is_events {
        sse::parse(body)
            .into_iter()
            .filter_map(|e| e.data.and_then(|d| serde_json::from_str(&d).ok()))
            .collect()
    } else {
        serde_json::from_str(body).ok().into_iter().collect()
    };
    candidates
        .into_iter()
        .find(|m| m.get("id") == Some(id) && m.get("method").is_none())
}

impl Front {
    /// `initialize`: a new session with the aggregate.
    fn join(&self, tenant: &str, agent: &str, msg: &Value, id: Value) -> Response {
        let asked = msg["params"]["protocolVersion"].as_str().unwrap_or("");
        let version = VERSIONS
            .iter()
            .find(|v| **v == asked)
            .copied()
            .unwrap_or(VERSIONS[0]);
        let sid = match new_session_id() {
            Ok(s) => s,
            Err(e) => return http_error(StatusCode::SERVICE_UNAVAILABLE, &e),
        };
        let elicitation = &msg["params"]["capabilities"]["elicitation"];
        let joined = Joined {
            owner: Session {
                tenant: tenant.to_owned(),
                agent: agent.to_owned(),
                url_elicitation: elicitation.get("url").is_some(),
                used: std::time::Instant::now(),
            },
            version: version.to_owned(),
            upstream: HashMap::new(),
        };
        {
            let mut all = lock(&self.joined);
            if all.len() >= SESSIONS_SWEPT_FROM {
                let now = std::time::Instant::now();
                all.retain(|_, j| now.duration_since(j.owner.used) < SESSION_IDLE);
            }
            if all.len() >= MAX_SESSIONS {
                return http_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many open MCP sessions; try again later",
                );
            }
            all.insert(sid.clone(), joined);
        }
        let mut names: Vec<&str> = self.upstreams.keys().map(String::as_str).collect();
        names.sort_unstable();
        let answer = json!({"jsonrpc": "2.0", "id": id, "result": {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": false},
                "extensions": {crate::tasks::EXTENSION: {}}},
            "serverInfo": {"name": "airlock", "version": env!("CARGO_PKG_VERSION")},
            "instructions": format!(
                "airlock: the tools of the MCP servers {} behind one endpoint, each named SERVER{SEPARATOR}TOOL. Every call is decided by airlock's policy first; a denied call says why and what to do instead.",
                names.join(", ")
            ),
        }});
        let mut r = json_answer(StatusCode::OK, &answer);
        if let Ok(v) = HeaderValue::from_str(&sid) {
            r.headers_mut().insert(SESSION, v);
        }
        r
    }

    /// Airlock's session with `server` for the aggregate session `sid`, opened on
    /// first use: `initialize`, then `notifications/initialized`.
    async fn upstream_session(
        &self,
        sid: &str,
        joined: &Joined,
        server: &str,
    ) -> Result<Option<String>, String> {
        if let Some(s) = joined.upstream.get(server) {
            return Ok(s.clone());
        }
        let h = upstream_headers(&HeaderMap::new(), None, &joined.version);
        let init = json!({"jsonrpc": "2.0", "id": "airlock-init", "method": "initialize", "params": {
            "protocolVersion": joined.version,
            "capabilities": {},
            "clientInfo": {"name": "airlock", "version": env!("CARGO_PKG_VERSION")}}});
        let u = self.post(server, &h, Bytes::from(init.to_string())).await?;
        let (status, back, bytes) = u.read_all(MAX_LISTING).await?;
        let answer = answer_in(
            header_str(&back, "content-type"),
            &String::from_utf8_lossy(&bytes),
            &json!("airlock-init"),
        );
        if !status.is_success() || answer.as_ref().is_none_or(|a| a.get("result").is_none()) {
            return Err(format!(
                "`{server}` refused airlock's initialize (HTTP {status})"
            ));
        }
        let session = header_str(&back, SESSION).map(str::to_owned);
        let h = upstream_headers(&HeaderMap::new(), session.as_deref(), &joined.version);
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        self.post(server, &h, Bytes::from(initialized.to_string()))
            .await?
            .read_all(MAX_LISTING)
            .await?;
        if let Some(j) = lock(&self.joined).get_mut(sid) {
            j.upstream.insert(server.to_owned(), session.clone());
        }
        Ok(session)
    }

    /// Every upstream's tools, screened as at `/mcp/NAME`, names prefixed. An
    /// upstream that cannot be listed is left out (and said so on stderr).
    async fn all_tools(&self, sid: &str, joined: Joined, headers: &HeaderMap) -> Vec<Value> {
        let mut names: Vec<String> = self.upstreams.keys().cloned().collect();
        names.sort_unstable();
        let mut all = Vec::new();
        for server in names {
            match self.tools_of(sid, &joined, &server, headers).await {
                Ok(tools) => {
                    for mut t in tools {
                        if let Some(name) = t.get("name").and_then(Value::as_str) {
                            t["name"] = Value::String(format!("{server}{SEPARATOR}{name}"));
                            all.push(t);
                        }
                    }
                }
                Err(why) => eprintln!("airlock: MCP server `{server}` left out of /mcp: {why}"),
            }
        }
        all
    }

    async fn tools_of(
        &self,
        sid: &str,
        joined: &Joined,
        server: &str,
        headers: &HeaderMap,
    ) -> Result<Vec<Value>, String> {
        let session = self.upstream_session(sid, joined, server).await?;
        let h = upstream_headers(headers, session.as_deref(), &joined.version);
        let mut tools = Vec::new();
        let mut cursor: Option<Value> = None;
        for page in 0..MAX_PAGES {
            let id = json!(format!("airlock-list-{page}"));
            let mut list = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"});
            if let Some(c) = &cursor {
                list["params"] = json!({"cursor": c});
            }
            let (_, back, bytes) = self
                .post(server, &h, Bytes::from(list.to_string()))
                .await?
                .read_all(MAX_LISTING)
                .await?;
            let answer = answer_in(
                header_str(&back, "content-type"),
                &String::from_utf8_lossy(&bytes),
                &id,
            )
            .ok_or_else(|| format!("`{server}` did not answer tools/list"))?;
            let screened = self.screen(server, headers, answer).await;
            let result = &screened["result"];
            tools.extend(result["tools"].as_array().cloned().unwrap_or_default());
            match result.get("nextCursor").filter(|c| !c.is_null()) {
                Some(c) => cursor = Some(c.clone()),
                None => break,
            }
        }
        Ok(tools)
    }

    /// A `tools/call` of `SERVER__TOOL`: the per-server path, in airlock's session
    /// with that server.
    async fn routed_call(
        self: &Arc<Self>,
        sid: &str,
        joined: Joined,
        headers: HeaderMap,
        mut msg: Value,
        id: Value,
    ) -> Response {
        let full = msg["params"]["name"].as_str().unwrap_or("").to_owned();
        let route = self
            .upstreams
            .keys()
            .filter(|s| full.starts_with(&format!("{s}{SEPARATOR}")))
            .max_by_key(|s| s.len())
            .cloned();
        let Some(server) = route else {
            return json_answer(
                StatusCode::OK,
                &rpc_error(
                    &id,
                    INVALID_PARAMS,
                    &format!(
                        "airlock: no tool `{full}` here: tools of /mcp are named SERVER{SEPARATOR}TOOL; list them with tools/list"
                    ),
                ),
            );
        };
        let tool = full[server.len() + SEPARATOR.len()..].to_owned();
        msg["params"]["name"] = Value::String(tool);
        let session = match self.upstream_session(sid, &joined, &server).await {
            Ok(s) => s,
            Err(why) => return upstream_failure(&server, &id, &why),
        };
        let h = upstream_headers(&headers, session.as_deref(), &joined.version);
        let body = Bytes::from(msg.to_string());
        let owner = format!("{}/{}", joined.owner.tenant, joined.owner.agent);
        self.tools_call(&server, &owner, h, body, &msg, id, Some(joined.owner))
            .await
    }
}
