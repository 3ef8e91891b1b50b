//! The HTTP API under `/v1`.

use std::sync::Arc;
use std::time::Duration;

use airlock_audit::{CredentialChange, DecisionEntry, Event, Recorded, sha256_hex};
use airlock_classify::{RawCall, ToolPolicy};
use airlock_model::{Action, Decision, Effect, Tier, Who};
use airlock_policy::Policy;
use airlock_store::{
    Brief, Credential, Halt, Kind, ListFilter, NewRecord, Principal, Record, Requirement, Review,
    ReviewOutcome, ReviewState, Scope, Status, Summary, Vote, VoteOutcome,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Json;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth::{self, Caller, hash_token, hex, new_token};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, now_ms};

/// The OpenAPI 3.1 description of this API (kept next to the code it describes; a
/// test checks that it covers every route).
pub const OPENAPI: &str = include_str!("../api/openapi.json");

/// Every route of [`router`], as `METHOD path`: the OpenAPI document must describe
/// exactly these.
pub const ROUTES: &[&str] = &[
    "GET /healthz",
    "GET /metrics",
    "GET /v1/openapi.json",
    "POST /v1/actions",
    "GET /v1/actions/{id}",
    "POST /v1/plans",
    "GET /v1/approvals",
    "GET /v1/approvals/{id}",
    "POST /v1/approvals/{id}/approve",
    "POST /v1/approvals/{id}/reject",
    "GET /v1/reviews",
    "POST /v1/reviews/{id}",
    "POST /v1/halt",
    "POST /v1/resume",
    "POST /v1/agents",
    "GET /v1/agents",
    "DELETE /v1/agents/{name}",
    "POST /v1/humans",
    "GET /v1/humans",
    "DELETE /v1/humans/{name}",
    "GET /v1/policy",
    "POST /v1/policy/reload",
    "POST /v1/actions/{id}/outcome",
    "GET /v1/ledger/checkpoint",
    "GET /v1/ledger/receipt",
    "POST /v1/hooks/claude-code",
    "POST /v1/ledger/prune",
    "POST /v1/ledger/erase",
    "POST /v1/tools/never",
];

/// Largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;
/// Longest a client may wait on an approval in one request.
const MAX_WAIT: Duration = Duration::from_secs(60);

type S = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/actions/{id}/outcome", post(outcome))
        .route("/v1/ledger/checkpoint", get(ledger_checkpoint))
        .route("/v1/ledger/receipt", get(ledger_receipt))
        .route("/v1/hooks/claude-code", post(claude_code_hook))
        .route("/v1/ledger/prune", post(ledger_prune))
        .route("/v1/ledger/erase", post(ledger_erase))
        .route("/v1/tools/never", post(tools_never))
        .route("/metrics", get(metrics))
        .route(
            "/v1/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    OPENAPI,
                )
            }),
        )
        .route("/v1/policy", get(policy_info))
        .route("/v1/policy/reload", post(reload_policy))
        .route("/v1/actions", post(submit))
        .route("/v1/actions/{id}", get(action_status))
        .route("/v1/plans", post(check_plan))
        .route("/v1/approvals", get(list_approvals))
        .route("/v1/approvals/{id}", get(show_approval))
        .route("/v1/approvals/{id}/approve", post(approve))
        .route("/v1/approvals/{id}/reject", post(reject))
        .route("/v1/reviews", get(list_reviews))
        .route("/v1/reviews/{id}", post(review))
        .route("/v1/halt", post(halt))
        .route("/v1/resume", post(resume))
        .route("/v1/agents", post(add_agent).get(list_agents))
        .route("/v1/agents/{name}", axum::routing::delete(revoke_agent))
        .route("/v1/humans", post(add_human).get(list_humans))
        .route("/v1/humans/{name}", axum::routing::delete(revoke_human))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(state)
}

/// Every error answer is JSON `{"error": "…"}`, also the ones axum's extractors
/// produce before a handler runs (a bad query string, a body over the limit, an
/// unknown route or method), so that a client reads one error shape.
async fn json_errors(res: axum::response::Response) -> axum::response::Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let status = res.status();
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    // Extractor rejections are one short sentence; anything longer is cut.
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = json!({ "error": message }).to_string();
    axum::response::Response::from_parts(parts, axum::body::Body::from(body))
}

/// Parses a JSON body into `T`, with the position of what was wrong.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    // serde would read a struct from a JSON array too (`["agent", "x"]`): every body
    // of this API is an object, so anything else is refused before it means anything.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object (`{…}`)".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "malformed request body at line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

/// What a loaded policy says about MCP servers, as the classifier asks for it.
pub struct PolicyTools<'a>(pub &'a Policy);

impl ToolPolicy for PolicyTools<'_> {
    fn tool_effect(&self, server: &str, tool: &str) -> Option<(Effect, String)> {
        self.0
            .mcp_tool_effect(server, tool)
            .map(|(e, p)| (e, p.to_owned()))
    }
    fn trusts_annotations(&self, server: &str) -> bool {
        self.0.mcp_trusts(server)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitQuery {
    /// A granted approval this exact call uses (single use).
    approval: Option<String>,
}

/// `POST /v1/actions`: an agent submits a raw call or an Action and gets the decision.
async fn submit(
    State(st): S,
    headers: HeaderMap,
    Query(q): Query<SubmitQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_agent()?;
    let input: Value = parse(&body)?;
    let policy = st.policy();
    // The call as recorded and digested: keys sorted, no whitespace, so that the same
    // call resubmitted with an approval has the same digest.
    let call_json = input.to_string();
    let action = action_of(input, &caller, &policy)?;
    let now = now_ms();
    let at = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let id = record_id(now)?;
    let mut decision = match st.halted(&caller.tenant, &caller.name, action.who.zone.as_deref()) {
        Some(h) => halted_decision(&policy, &action, &h),
        None => policy.decide(&action, at),
    };
    decision.id = action.id.clone();
    let policy_decision = decision.clone();
    if let Some(stopped) = st.ledger.failure() {
        return Ok(Json(ledger_closed(&policy_decision, &stopped)).into_response());
    }
    let counted = count_and_record(
        &st, &policy, &caller, &q, &call_json, &action, decision, id, now, at,
    )
    .await;
    match counted {
        Err(ApiError::Unavailable(e)) => {
            // The outcome the agent gets is recorded too (a later entry for the same
            // call, when the decision's own entry was already written).
            let (decision, status) = fail_closed(&policy_decision, &action, &e);
            let event = decision_event("", &caller, &call_json, &action, &decision, status, None);
            match st.record(&caller.tenant, event).await {
                Ok(index) => Ok(Json(json!({
                    "id": null,
                    "status": status,
                    "allowed": status == Status::Allowed,
                    "decision": decision,
                    "error": e,
                    "ledger": { "index": index },
                }))
                .into_response()),
                Err(le) => Ok(Json(ledger_closed(&policy_decision, &le)).into_response()),
            }
        }
        Err(ApiError::LedgerUnavailable(e)) => {
            Ok(Json(ledger_closed(&policy_decision, &e)).into_response())
        }
        other => other,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolsBody {
    /// The MCP server, as the policy's `mcp_servers` names it.
    server: String,
    /// Its tools, as its `tools/list` describes them.
    tools: Vec<Value>,
}

/// `POST /v1/tools/never`: which of an MCP server's tools the policy denies this
/// agent whatever the arguments (a rule on the agent, tool and operation only), so
/// that a gateway can leave them out of the tool list. A check: nothing is
/// recorded or counted, and every call is still decided when it is made.
async fn tools_never(State(st): S, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    auth::caller(&st, &headers).await?.require_agent()?;
    let b: ToolsBody = parse(&body)?;
    let never = never_listed(&st, &headers, &b.server, &b.tools).await?;
    Ok(Json(json!({ "never": never })))
}

/// Which of `server`'s `tools` (as its `tools/list` describes them) the policy
/// denies the agent whose key is in `headers` whatever the arguments: the tools a
/// gateway leaves out of the list. Nothing is recorded or counted.
pub async fn never_listed(
    st: &Arc<AppState>,
    headers: &HeaderMap,
    server: &str,
    tools: &[Value],
) -> ApiResult<Vec<String>> {
    let caller = auth::caller(st, headers).await?;
    caller.require_agent()?;
    if tools.len() > 1000 {
        return Err(ApiError::BadRequest("at most 1,000 tools at a time".into()));
    }
    let policy = st.policy();
    let at = jiff::Timestamp::now();
    let mut never = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let name = tool["name"]
            .as_str()
            .ok_or_else(|| ApiError::BadRequest(format!("tools[{i}] has no `name` string")))?;
        let call = json!({ "name": name, "arguments": {}, "tool": tool, "server": server });
        let action =
            action_of(call, &caller, &policy).map_err(|e| e.prefixed(&format!("tools[{i}]: ")))?;
        let decision = policy.decide(&action, at);
        let effect_fixed = policy.mcp_tool_effect(server, name).is_some();
        if decision.decision == Tier::Deny
            && decision
                .rules
                .iter()
                .any(|r| policy.rule_is_argument_free(r, effect_fixed))
        {
            never.push(name.to_owned());
        }
    }
    Ok(never)
}

/// `GET /healthz`: `ok`, or 503 naming why the service fails closed (its ledger
/// stopped).
async fn healthz(State(st): S) -> ApiResult<&'static str> {
    match st.ledger.failure() {
        None => Ok("ok"),
        Some(why) => Err(ApiError::LedgerUnavailable(why.to_string())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeBody {
    /// `executed` or `failed`.
    outcome: String,
    #[serde(default)]
    detail: String,
}

/// `POST /v1/actions/{id}/outcome`: the agent (or its proxy) says what became of a
/// call it was allowed to make; the ledger links it to the decision.
async fn outcome(
    State(st): S,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_agent()?;
    let b: OutcomeBody = parse(&body)?;
    if !matches!(b.outcome.as_str(), "executed" | "failed") {
        return Err(ApiError::BadRequest(format!(
            "outcome `{}` is not `executed` or `failed`",
            b.outcome
        )));
    }
    if b.detail.len() > 4096 {
        return Err(ApiError::BadRequest(
            "`detail` is over 4,096 bytes; keep large output outside airlock and give its digest"
                .into(),
        ));
    }
    let r = visible(&st, &caller, &id).await?;
    if !matches!(r.status, Status::Allowed | Status::Consumed) {
        return Err(ApiError::Conflict(format!(
            "action `{id}` is {}; only a call that was let through has an outcome",
            r.status.as_str()
        )));
    }
    let event = Event::Outcome {
        id: id.clone(),
        outcome: b.outcome.clone(),
        detail: b.detail,
    };
    let index = st
        .record(&caller.tenant, event)
        .await
        .map_err(ApiError::LedgerUnavailable)?;
    Ok(Json(
        json!({ "id": id, "outcome": b.outcome, "ledger": { "index": index } }),
    ))
}

/// `GET /v1/ledger/checkpoint`: the latest signed checkpoint (a C2SP signed note)
/// and the key that verifies it. It says how many entries the ledger holds, of
/// every tenant.
async fn ledger_checkpoint(State(st): S, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("viewer")?;
    let signed = st.ledger.ledger().signed();
    Ok(Json(json!({
        "checkpoint": signed.as_ref().map(|s| s.note.clone()),
        "size": signed.as_ref().map(|s| s.checkpoint.size()),
        "verifier_key": st.ledger.verifier_key(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptQuery {
    index: u64,
}

/// `GET /v1/ledger/receipt?index=N`: an offline proof that entry N is in the
/// ledger (the entry, its inclusion proof and a signed checkpoint), which
/// `airlock audit verify-receipt` checks with only the public key. A human viewer
/// of the entry's tenant, or the agent whose call it records, may have it.
async fn ledger_receipt(
    State(st): S,
    headers: HeaderMap,
    Query(q): Query<ReceiptQuery>,
) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    let not_found = || ApiError::NotFound(format!("no ledger entry {} in this tenant", q.index));
    let ledger = st.ledger.ledger();
    if q.index >= ledger.size() {
        return Err(not_found());
    }
    let bytes = ledger.entry(q.index).map_err(|e| match e {
        // Retention removed its bytes: there is nothing to prove it with.
        airlock_ledger::Error::Pruned { .. } => ApiError::NotFound(e.to_string()),
        e => ApiError::Unavailable(e.to_string()),
    })?;
    let entry = airlock_audit::Entry::parse(&bytes).map_err(|_| not_found())?;
    let may = entry.tenant == caller.tenant
        && match caller.principal {
            Principal::Human => caller.require_human("viewer").is_ok(),
            Principal::Agent => {
                matches!(&entry.event, Event::Decision(d) if d.agent == caller.name)
            }
        };
    if !may {
        return Err(not_found());
    }
    if ledger
        .signed()
        .is_none_or(|s| s.checkpoint.size() <= q.index)
    {
        ledger
            .sign_checkpoint()
            .await
            .map_err(|e| ApiError::LedgerUnavailable(e.to_string()))?;
    }
    let receipt = ledger
        .receipt(q.index)
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let receipt: Value = serde_json::from_str(&receipt.to_json())
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(Json(json!({
        "index": q.index,
        "entry": entry,
        "receipt": receipt,
        "verifier_key": st.ledger.verifier_key(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PruneBody {
    /// RFC 3339: prune the leading entries older than this.
    before: String,
}

/// `POST /v1/ledger/prune {"before": RFC3339}`: removes the bytes of the leading
/// entries older than `before` (retention), keeping every hash, so every root and
/// proof still holds; recorded in the ledger. A `before` inside the retention
/// window (`--ledger-retention`) is refused (409). Service admins only.
async fn ledger_prune(State(st): S, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("service-admin")?;
    let b: PruneBody = parse(&body)?;
    let before: jiff::Timestamp = b.before.parse().map_err(|e| {
        ApiError::BadRequest(format!(
            "`before` must be an RFC 3339 time such as 2025-01-31T00:00:00Z: {e}"
        ))
    })?;
    let below = st
        .ledger
        .prune(before.as_millisecond(), now_ms(), &caller.name)
        .await
        .map_err(|e| match e {
            crate::PruneError::InsideWindow(m) => ApiError::Conflict(m),
            crate::PruneError::Ledger(m) => ApiError::Unavailable(m),
        })?;
    Ok(Json(json!({ "pruned_below": below })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    /// Every entry naming this person.
    subject: Option<String>,
    /// These entries.
    indices: Option<Vec<u64>>,
}

/// `POST /v1/ledger/erase {"subject": NAME} | {"indices": [N, …]}`: erases
/// personal data kept apart (`--ledger-personal-data separate`) from the side
/// store; every entry, root and proof stays valid. Recorded in the ledger
/// without the subject's name. A ledger keeping personal data inline is refused
/// (409): erasing it would break the tree. Service admins only.
async fn ledger_erase(State(st): S, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("service-admin")?;
    let b: EraseBody = parse(&body)?;
    let what = match (b.subject, b.indices) {
        (Some(s), None) if !s.trim().is_empty() => crate::personal::Erase::Subject(s),
        (None, Some(i)) if !i.is_empty() => crate::personal::Erase::Indices(i),
        _ => {
            return Err(ApiError::BadRequest(
                "give either `subject` (a non-empty name) or `indices` (a non-empty list of entry indices)".into(),
            ));
        }
    };
    let (erased, index) = st
        .ledger
        .erase(what, now_ms(), &caller.name)
        .await
        .map_err(|e| match e {
            crate::EraseError::Inline(m) => ApiError::Conflict(m),
            crate::EraseError::Ledger(m) => ApiError::Unavailable(m),
        })?;
    let mut answer = json!({
        "erased_fields": erased.fields,
        "entries": erased.indices,
        "inline": erased.inline,
        "missing": erased.missing,
    });
    if let Some(i) = index {
        answer["ledger"] = json!({ "index": i });
    }
    Ok(Json(answer))
}

/// Fail closed: when the store cannot count or record, nothing goes through except a
/// read the policy itself allows.
fn fail_closed(decision: &Decision, action: &Action, error: &str) -> (Decision, Status) {
    let allowed = decision.decision.is_permissive() && action.what.effect == Effect::Read;
    let mut decision = decision.clone();
    if !allowed {
        decision.decision = Tier::Deny;
        decision.rules = vec!["airlock:store-unavailable".into()];
        decision.reason = format!(
            "airlock cannot record or count this action ({error}), so only reads the policy allows proceed; try again shortly or ask a human"
        );
        decision.approval = None;
    }
    let status = if allowed {
        Status::Allowed
    } else {
        Status::Denied
    };
    (decision, status)
}

/// Fail closed when the ledger cannot record: nothing goes through, reads included,
/// because nothing may happen that the ledger does not hold.
fn ledger_closed(decision: &Decision, error: &str) -> Value {
    let mut decision = decision.clone();
    decision.decision = Tier::Deny;
    decision.rules = vec!["airlock:ledger-unavailable".into()];
    decision.reason = format!(
        "airlock's tamper-evident ledger cannot record this ({error}), so nothing proceeds; ask a human"
    );
    decision.approval = None;
    json!({
        "id": null,
        "status": Status::Denied,
        "allowed": false,
        "decision": decision,
        "error": error,
    })
}

/// A decided call, as the ledger records it.
fn decision_event(
    id: &str,
    caller: &Caller,
    call_json: &str,
    action: &Action,
    decision: &Decision,
    status: Status,
    approval: Option<&str>,
) -> Event {
    // The identity is the key's, whatever the Action said.
    let mut action = action.clone();
    action.who.agent = caller.name.clone();
    Event::Decision(Box::new(DecisionEntry::of(
        id,
        call_json,
        action,
        decision,
        status.as_str(),
        approval,
    )))
}

/// Limits, the circuit breaker, first-seen, approvals in use, and the durable record:
/// everything that needs the store. Any store error comes back as `Unavailable`.
#[allow(clippy::too_many_arguments)]
async fn count_and_record(
    st: &AppState,
    policy: &Policy,
    caller: &Caller,
    q: &SubmitQuery,
    call_json: &str,
    action: &Action,
    mut decision: Decision,
    id: String,
    now: i64,
    at: jiff::Timestamp,
) -> ApiResult<Response> {
    if decision.decision != Tier::Deny {
        let mut tripped = false;
        for limit in policy.limits(action, &caller.tenant, at) {
            if !st
                .store
                .take(&limit.key, limit.window_start_ms, limit.amount, limit.max)
                .await?
            {
                over_limit(&mut decision, &limit);
                st.count("airlock_limit_hits_total", &limit.id);
                tripped = true;
            }
        }
        if tripped {
            trip_breaker(st, policy, caller, now).await?;
        }
    }
    let seen_key = first_seen(st, policy, caller, action, &mut decision).await?;
    let digest = digest(call_json, &decision.policy.version);

    // A granted approval for exactly this call, or for the next step of an approved
    // plan, lets it through once. Nothing lets a denied call through.
    let mut plan_step: Option<(String, u32, usize)> = None;
    if let Some(approval) = &q.approval
        && decision.decision != Tier::Deny
    {
        let grant = st
            .store
            .get(&caller.tenant, approval)
            .await?
            .filter(|g| g.agent == caller.name);
        let used = match &grant {
            Some(_) => {
                st.store
                    .consume(&caller.tenant, approval, &digest, now)
                    .await?
            }
            None => None,
        };
        match (grant, used) {
            (Some(grant), Some(step)) => {
                if let Some(key) = &seen_key {
                    st.store.take(key, 0, 1, 1).await?;
                }
                if grant.kind == Kind::Action {
                    let event = decision_event(
                        approval,
                        caller,
                        call_json,
                        action,
                        &decision,
                        Status::Allowed,
                        Some(approval),
                    );
                    let index = st
                        .record(&caller.tenant, event)
                        .await
                        .map_err(ApiError::LedgerUnavailable)?;
                    return Ok(Json(json!({
                        "id": approval, "status": Status::Consumed, "allowed": true, "decision": decision,
                        "ledger": { "index": index },
                    }))
                    .into_response());
                }
                let steps = grant.step_digests().len();
                decision.reason = format!(
                    "approved as step {} of {steps} of plan {approval} ({}); the policy alone says: {}",
                    step + 1,
                    grant.resolution.as_deref().unwrap_or("approved"),
                    decision.reason
                );
                plan_step = Some((approval.clone(), step, steps));
            }
            // A call the policy lets through needs no grant: it goes as decided.
            (_, None) if decision.decision.is_permissive() => {}
            (grant, _) => {
                return Err(ApiError::Conflict(not_covered(
                    approval,
                    grant.as_ref(),
                    &digest,
                    now,
                )));
            }
        }
    }

    if let Some(key) = &seen_key
        && decision.decision.is_permissive()
        && plan_step.is_none()
    {
        // Seen from now on: it went through.
        st.store.take(key, 0, 1, 1).await?;
    }
    if decision.decision == Tier::Approve && decision.approval.is_none() && plan_step.is_none() {
        // Nobody could approve it and it would never expire: deny instead.
        decision.decision = Tier::Deny;
        decision.reason = format!(
            "{} (no approvers are configured for it, so it is denied)",
            decision.reason
        );
    }
    st.count("airlock_decisions_total", decision.decision.as_str());
    for rule in &decision.rules {
        st.count("airlock_decisions_by_rule_total", rule);
    }
    let status = match decision.decision {
        _ if plan_step.is_some() => Status::Allowed,
        Tier::Allow | Tier::Log => Status::Allowed,
        Tier::Approve => Status::Pending,
        Tier::Deny => Status::Denied,
    };
    let (expires_ms, requirements) = match (&decision.approval, status) {
        (Some(a), Status::Pending) => (
            Some(
                now.saturating_add(
                    i64::try_from(a.timeout_seconds)
                        .unwrap_or(i64::MAX / 2)
                        .saturating_mul(1000),
                ),
            ),
            a.requirements
                .iter()
                .map(|r| Requirement {
                    group: r.group.clone(),
                    approvals: r.approvals,
                })
                .collect(),
        ),
        _ => (None, Vec::new()),
    };
    let record = NewRecord {
        id: id.clone(),
        tenant: caller.tenant.clone(),
        agent: caller.name.clone(),
        zone: action.who.zone.clone(),
        received_ms: now,
        call_json: call_json.to_owned(),
        action_json: to_json(action),
        decision_json: to_json(&decision),
        tier: decision.decision.to_string(),
        digest,
        status,
        expires_ms,
        requirements,
        kind: Kind::Action,
        use_within_ms: Some(ACTION_GRANT_MS),
        summary: summary_of(action, &decision),
        review_due: status == Status::Allowed
            && decision.decision == Tier::Log
            && plan_step.is_none()
            && sampled(&id, policy.spot_check_ppm()),
    };
    // Write-ahead: answered only once both the record and the ledger entry are
    // durable, written side by side.
    let event = decision_event(
        &id,
        caller,
        call_json,
        action,
        &decision,
        status,
        plan_step.as_ref().map(|(plan, _, _)| plan.as_str()),
    );
    let (stored, recorded) =
        tokio::join!(st.store.insert(record), st.record(&caller.tenant, event));
    let index = recorded.map_err(ApiError::LedgerUnavailable)?;
    stored?;
    let pending = status == Status::Pending;
    let answer = Answer {
        id: &id,
        status,
        allowed: status == Status::Allowed,
        decision: &decision,
        ledger: LedgerRef { index },
        plan: plan_step.map(|(id, step, steps)| PlanRef {
            id,
            step: step + 1,
            steps,
        }),
        wait: pending.then(|| format!("/v1/actions/{id}?wait=30s")),
        expires_ms: if pending { expires_ms } else { None },
    };
    if pending && st.webhook.is_some() {
        st.notify(json!({
            "event": "approval.requested",
            "tenant": caller.tenant, "id": id, "agent": caller.name,
            "tool": action.what.tool, "operation": action.what.operation, "effect": action.what.effect,
            "reason": decision.reason, "stated_reason": action.why.reason,
            "approval": decision.approval, "url": format!("/v1/approvals/{id}"),
            "text": format!(
                "airlock: {} asks to run {} {} ({}): {} Approve or reject: /v1/approvals/{id}",
                caller.name, action.what.tool, action.what.operation, action.what.effect, decision.reason
            ),
        }));
    }
    Ok(Json(answer).into_response())
}

/// What an agent is answered for a call (the hot path: serialised directly, not
/// through a JSON tree).
#[derive(Serialize)]
struct Answer<'a> {
    id: &'a str,
    status: Status,
    allowed: bool,
    decision: &'a Decision,
    ledger: LedgerRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<PlanRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wait: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_ms: Option<i64>,
}

#[derive(Serialize)]
struct LedgerRef {
    index: u64,
}

#[derive(Serialize)]
struct PlanRef {
    id: String,
    step: u32,
    steps: usize,
}

/// The Action an agent's input stands for: classified from a raw call, or given as
/// an Action naming this very agent. The identity always comes from the key.
fn action_of(input: Value, caller: &Caller, policy: &Policy) -> ApiResult<Action> {
    let call = RawCall::from_value(input).map_err(|e| ApiError::BadRequest(e.0))?;
    let mut action = match call {
        RawCall::Action(a) if a.who.agent != caller.name => {
            return Err(ApiError::Forbidden(format!(
                "the Action says agent `{}` but this key belongs to `{}`",
                a.who.agent, caller.name
            )));
        }
        RawCall::Action(a) => *a,
        raw => {
            let who = Who {
                agent: caller.name.clone(),
                ..Who::default()
            };
            airlock_classify::classify(&raw, &PolicyTools(policy)).into_action(who)
        }
    };
    action.who.tenant = Some(caller.tenant.clone());
    if action.who.zone.is_none() {
        // A listed agent's zone comes from the inventory: zone halts see it too.
        action.who.zone = policy.agent_zone(&caller.name).map(str::to_owned);
    }
    Ok(action)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    /// The calls the agent intends to make, in order (raw calls or Actions).
    steps: Vec<Value>,
    /// Ask for one approval of the whole plan when it needs one.
    #[serde(default)]
    request_approval: bool,
    /// Why the agent wants to run this plan (shown to approvers).
    #[serde(default)]
    reason: Option<String>,
    /// How long the approved plan stays usable (default 1h, at most 24h).
    #[serde(default)]
    valid_for: Option<String>,
}

/// Steps one plan may hold.
const MAX_PLAN_STEPS: usize = 1000;
/// How long an approved plan stays usable unless the agent asks for less.
const PLAN_VALID_DEFAULT: Duration = Duration::from_secs(3600);
const PLAN_VALID_MAX: Duration = Duration::from_secs(24 * 3600);

/// `POST /v1/plans`: each step's decision, and a verdict on the whole that flags
/// what no single step shows (delete-then-recreate, write-then-delete, fan-out).
/// A plan is a question, not an action: nothing is counted. With
/// `request_approval`, a plan that needs a human becomes one approval request
/// covering exactly its steps, in order.
async fn check_plan(State(st): S, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_agent()?;
    let plan: PlanBody = parse(&body)?;
    if plan.steps.is_empty() || plan.steps.len() > MAX_PLAN_STEPS {
        return Err(ApiError::BadRequest(format!(
            "a plan needs 1 to {MAX_PLAN_STEPS} steps, got {}",
            plan.steps.len()
        )));
    }
    let valid_for = match plan.valid_for.as_deref() {
        None => PLAN_VALID_DEFAULT,
        Some(v) => {
            let d = parse_span(v).map_err(|e| e.prefixed("valid_for: "))?;
            if d.is_zero() || d > PLAN_VALID_MAX {
                return Err(ApiError::BadRequest(format!(
                    "valid_for: `{v}` must be more than 0 and at most 24h"
                )));
            }
            d
        }
    };
    let policy = st.policy();
    let at = jiff::Timestamp::now();
    let mut actions = Vec::with_capacity(plan.steps.len());
    for (i, step) in plan.steps.iter().enumerate() {
        let action = action_of(step.clone(), &caller, &policy)
            .map_err(|e| e.prefixed(&format!("step {}: ", i + 1)))?;
        actions.push(action);
    }
    let decisions: Vec<Decision> = actions
        .iter()
        .map(
            |a| match st.halted(&caller.tenant, &caller.name, a.who.zone.as_deref()) {
                Some(h) => halted_decision(&policy, a, &h),
                None => policy.decide(a, at),
            },
        )
        .collect();
    let patterns = crate::plans::patterns(&actions);
    let verdict = crate::plans::verdict(&decisions, &patterns);
    let steps: Vec<Value> = actions
        .iter()
        .zip(&decisions)
        .map(|(a, d)| {
            json!({
                "tool": a.what.tool, "operation": a.what.operation, "effect": a.what.effect,
                "targets": a.targets, "decision": d,
            })
        })
        .collect();
    let reason = if patterns.is_empty() {
        format!("the strictest step decides: {verdict}")
    } else {
        patterns
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut answer =
        json!({ "verdict": verdict, "reason": reason, "patterns": patterns, "steps": steps });
    if plan.request_approval {
        let requirement = crate::plans::plan_approval(
            &decisions,
            &patterns,
            policy.default_approval("airlock:plan"),
        )
        .map_err(|e| ApiError::Conflict(format!("this plan cannot be approved as a whole: {e}")))?;
        let digests: Vec<String> = plan
            .steps
            .iter()
            .zip(&decisions)
            .map(|(step, d)| digest(&step.to_string(), &d.policy.version))
            .collect();
        let mut rules: Vec<String> = Vec::new();
        for r in decisions
            .iter()
            .filter(|d| d.decision == Tier::Approve)
            .flat_map(|d| d.rules.iter().cloned())
            .chain(patterns.iter().map(|p| format!("airlock:plan:{}", p.kind)))
        {
            if !rules.contains(&r) {
                rules.push(r);
            }
        }
        let plan_decision = Decision {
            id: None,
            decision: Tier::Approve,
            rules,
            reason: format!("a plan of {} steps: {reason}", actions.len()),
            observed: Vec::new(),
            alerts: Vec::new(),
            exceptions: Vec::new(),
            approval: Some(requirement.clone()),
            effect: actions
                .iter()
                .map(|a| a.what.effect)
                .max()
                .unwrap_or(Effect::Unknown),
            placements: decisions
                .iter()
                .flat_map(|d| d.placements.iter().cloned())
                .collect(),
            policy: decisions[0].policy.clone(),
        };
        let now = now_ms();
        let id = record_id(now)?;
        let timeout_ms = i64::try_from(requirement.timeout_seconds)
            .unwrap_or(i64::MAX / 2)
            .saturating_mul(1000);
        let expires_ms = now.saturating_add(timeout_ms);
        let use_within_ms = i64::try_from(valid_for.as_millis()).unwrap_or(i64::MAX / 2);
        let record = NewRecord {
            id: id.clone(),
            tenant: caller.tenant.clone(),
            agent: caller.name.clone(),
            zone: actions[0].who.zone.clone(),
            received_ms: now,
            call_json: json!({ "plan": { "steps": plan.steps, "reason": plan.reason } })
                .to_string(),
            action_json: json!({
                "steps": actions.iter().zip(&decisions)
                    .map(|(a, d)| json!({ "action": a, "decision": d }))
                    .collect::<Vec<_>>(),
                "patterns": patterns,
                "reason": plan.reason,
            })
            .to_string(),
            decision_json: to_json(&plan_decision),
            tier: Tier::Approve.to_string(),
            digest: digests.join(" "),
            status: Status::Pending,
            expires_ms: Some(expires_ms),
            requirements: requirement
                .requirements
                .iter()
                .map(|r| Requirement {
                    group: r.group.clone(),
                    approvals: r.approvals,
                })
                .collect(),
            kind: Kind::Plan,
            use_within_ms: Some(use_within_ms),
            review_due: false,
            summary: Summary {
                tool: "plan".into(),
                operation: format!("{} steps", actions.len()),
                effect: plan_decision.effect.as_str().to_owned(),
                reason: plan_decision.reason.clone(),
                rules: plan_decision.rules.clone(),
            },
        };
        let event = Event::Decision(Box::new(DecisionEntry {
            id: id.clone(),
            agent: caller.name.clone(),
            operator: actions.iter().find_map(|a| a.who.operator.clone()),
            call_digest: sha256_hex(record.call_json.as_bytes()),
            action: Recorded::Digest {
                action_sha256: sha256_hex(record.action_json.as_bytes()),
                targets: actions.iter().map(|a| a.targets.len()).sum(),
            },
            policy: plan_decision.policy.version.clone(),
            decision: Tier::Approve,
            rules: plan_decision.rules.clone(),
            reason: plan_decision.reason.clone(),
            status: Status::Pending.as_str().to_owned(),
            approval: None,
        }));
        let (stored, recorded) =
            tokio::join!(st.store.insert(record), st.record(&caller.tenant, event));
        recorded.map_err(ApiError::LedgerUnavailable)?;
        stored?;
        st.count("airlock_decisions_total", "approve");
        st.notify(json!({
            "event": "approval.requested", "kind": "plan",
            "tenant": caller.tenant, "id": id, "agent": caller.name,
            "steps": actions.len(), "patterns": patterns,
            "reason": plan_decision.reason, "stated_reason": plan.reason,
            "approval": requirement, "url": format!("/v1/approvals/{id}"),
            "text": format!(
                "airlock: {} asks to run a plan of {} steps: {} Approve or reject: /v1/approvals/{id}",
                caller.name, actions.len(), plan_decision.reason
            ),
        }));
        answer["approval"] = json!({
            "id": id, "status": Status::Pending, "expires_ms": expires_ms,
            "wait": format!("/v1/actions/{id}?wait=30s"),
            "requirements": requirement.requirements,
            "valid_for_seconds": valid_for.as_secs(),
            "use": format!("submit each step, exactly as planned and in order, to POST /v1/actions?approval={id}"),
        });
    }
    Ok(Json(answer))
}

/// Once approved, a single action must be used within this long.
const ACTION_GRANT_MS: i64 = 10 * 60 * 1000;

/// Why `?approval=ID` does not let this call through, and what to do instead.
fn not_covered(id: &str, grant: Option<&Record>, digest: &str, now: i64) -> String {
    let Some(g) = grant else {
        return format!(
            "approval `{id}` is not a request of this agent: submit without it to request a new one"
        );
    };
    match g.status {
        Status::Pending => {
            return format!(
                "approval `{id}` is still pending: wait with GET /v1/actions/{id}?wait=30s, then submit again"
            );
        }
        Status::Approved if g.expires_ms.is_some_and(|e| e <= now) => {
            return format!(
                "approval `{id}` ran out before it was used: submit without it to request a new one"
            );
        }
        Status::Approved => {}
        other => {
            return format!(
                "approval `{id}` is {} and lets nothing through: submit without it to request a new one",
                other.as_str()
            );
        }
    }
    let steps = g.step_digests();
    let next = usize::try_from(g.steps_used).unwrap_or(usize::MAX);
    if g.kind == Kind::Plan {
        let later = steps.iter().skip(next).position(|d| *d == digest);
        return match later {
            Some(k) => format!(
                "this call is step {} of plan `{id}`, but step {} comes first: run the approved steps in order, each exactly as planned",
                next + k + 1,
                next + 1
            ),
            None => format!(
                "this call is not in plan `{id}` as approved (step {} of {} is next; a step must be submitted exactly as planned, under the same policy version)",
                next + 1,
                steps.len()
            ),
        };
    }
    format!(
        "approval `{id}` is not granted for this exact call (or has been used): submit without it to request a new one"
    )
}

/// Whether this record is in the spot-check sample: a hash of its (random) id, so
/// an agent cannot steer its calls out of review.
fn sampled(id: &str, ppm: u32) -> bool {
    if ppm == 0 {
        return false;
    }
    let h = Sha256::digest(id.as_bytes());
    let n = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    n % 1_000_000 < ppm
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Binds an approval to the exact call and policy version.
fn digest(call_json: &str, policy_version: &str) -> String {
    let mut h = Sha256::new();
    h.update(call_json.as_bytes());
    h.update(b"\n");
    h.update(policy_version.as_bytes());
    hex(&h.finalize())
}

/// A unique, time-ordered id: milliseconds then random bits.
fn record_id(now: i64) -> ApiResult<String> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).map_err(|e| ApiError::Unavailable(format!("no randomness: {e}")))?;
    Ok(format!("act_{now:013x}{}", hex(&r)))
}

/// An agent's first action of an operation in the most sensitive environment is
/// flagged (`airlock:first-seen` in the alerts) and, when the policy says so, held
/// for approval. It counts as seen once one such action has gone through. Returns
/// the key that records it, when the policy asks.
async fn first_seen(
    st: &AppState,
    policy: &Policy,
    caller: &Caller,
    action: &Action,
    decision: &mut Decision,
) -> ApiResult<Option<String>> {
    if decision.decision == Tier::Deny {
        return Ok(None);
    }
    let Some((tier, approval)) = policy.first_seen(decision) else {
        return Ok(None);
    };
    let key = format!(
        "{}/airlock:first-seen/{}/{}/{}",
        caller.tenant, caller.name, action.what.tool, action.what.operation
    );
    // Adding nothing to a counter whose maximum is 0 succeeds only while it is 0.
    let unseen = st.store.take(&key, 0, 0, 0).await?;
    if unseen {
        decision.alerts.push("airlock:first-seen".into());
        if tier == Tier::Approve && decision.decision < Tier::Approve {
            decision.decision = Tier::Approve;
            decision.rules = vec!["airlock:first-seen".into()];
            decision.reason = format!(
                "the first time agent {} runs {} {} in this environment: held for a human, who can see what it would do",
                caller.name, action.what.tool, action.what.operation
            );
            decision.approval = approval;
        }
    }
    Ok(Some(key))
}

/// Counts a limit hit against the policy's circuit breaker; one too many halts the
/// agent (a runaway loop) until a human resumes it.
async fn trip_breaker(st: &AppState, policy: &Policy, caller: &Caller, now: i64) -> ApiResult<()> {
    let Some((trips, window_secs)) = policy.circuit_breaker() else {
        return Ok(());
    };
    let window_ms = i64::try_from(window_secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
        .max(1);
    let key = format!("{}/airlock:breaker/agent:{}", caller.tenant, caller.name);
    if st
        .store
        .take(&key, now - now.rem_euclid(window_ms), 1, trips)
        .await?
    {
        return Ok(());
    }
    let h = Halt {
        tenant: caller.tenant.clone(),
        scope: Scope::Agent(caller.name.clone()),
        reason: format!(
            "circuit breaker: more than {trips} limit hits within {window_secs} s (a runaway loop?)"
        ),
        by: "airlock".into(),
        at_ms: now,
    };
    let rejected = st.store.halt(&h).await?;
    st.add_halt(h.clone());
    st.record(&caller.tenant, halt_event(&h, rejected))
        .await
        .map_err(ApiError::LedgerUnavailable)?;
    Ok(())
}

/// A halt as the ledger records it.
fn halt_event(h: &Halt, rejected: u64) -> Event {
    let (scope, name) = scope_parts(&h.scope);
    Event::Halt {
        scope,
        name,
        reason: h.reason.clone(),
        by: h.by.clone(),
        rejected,
    }
}

fn scope_parts(scope: &Scope) -> (String, String) {
    match scope {
        Scope::All => ("all".into(), String::new()),
        Scope::Tenant => ("tenant".into(), String::new()),
        Scope::Agent(a) => ("agent".into(), a.clone()),
        Scope::Zone(z) => ("zone".into(), z.clone()),
    }
}

/// An action over a limit gets the limit's tier when that is stricter, and the
/// decision names the limit.
fn over_limit(decision: &mut Decision, limit: &airlock_policy::LimitUse) {
    let why = format!(
        "over limit `{}`: at most {} {} per {} s for {}{}",
        limit.id,
        limit.max,
        limit.unit,
        limit.window_ms / 1000,
        limit.per,
        limit
            .message
            .as_deref()
            .map_or(String::new(), |m| format!("; {m}"))
    );
    if limit.tier > decision.decision {
        decision.decision = limit.tier;
        decision.rules = vec![format!("limit:{}", limit.id)];
        decision.reason = why;
        decision.approval = limit.approval.clone();
    } else if limit.tier == decision.decision {
        decision.rules.push(format!("limit:{}", limit.id));
        decision.reason = format!("{}; {why}", decision.reason);
    }
}

fn halted_decision(policy: &Policy, action: &Action, h: &Halt) -> Decision {
    Decision {
        id: None,
        decision: Tier::Deny,
        rules: vec!["airlock:halt".into()],
        reason: format!(
            "airlock is halted for {} by {}: {}; nothing proceeds until a human resumes it",
            match &h.scope {
                Scope::All => "everyone".to_owned(),
                Scope::Tenant => format!("tenant {}", h.tenant),
                Scope::Agent(a) => format!("agent {a}"),
                Scope::Zone(z) => format!("zone {z}"),
            },
            h.by,
            h.reason
        ),
        observed: Vec::new(),
        alerts: Vec::new(),
        exceptions: Vec::new(),
        approval: None,
        effect: action.what.effect,
        placements: Vec::new(),
        policy: airlock_model::PolicyRef {
            name: policy.name().to_owned(),
            version: policy.version().to_owned(),
        },
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitQuery {
    /// `30s`, `500ms`, `1m`: how long to wait for a pending action to be resolved.
    wait: Option<String>,
}

fn parse_wait(s: &str) -> ApiResult<Duration> {
    Ok(parse_span(s)
        .map_err(|e| e.prefixed("wait: "))?
        .min(MAX_WAIT))
}

/// A duration such as `500ms`, `30s`, `10m` or `2h` (a bare number is seconds).
fn parse_span(s: &str) -> ApiResult<Duration> {
    let bad = || {
        ApiError::BadRequest(format!(
            "`{s}` is not a duration like 500ms, 30s, 10m or 2h"
        ))
    };
    let (n, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(bad()),
    };
    Ok(d)
}

/// `GET /v1/actions/{id}?wait=30s`: where an action stands; waits while it is pending.
async fn action_status(
    State(st): S,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    let wait = q
        .wait
        .as_deref()
        .map(parse_wait)
        .transpose()?
        .unwrap_or_default();
    let deadline = tokio::time::Instant::now() + wait;
    wait_while_pending(&st, &caller, &id, deadline)
        .await
        .map(|r| Json(status_view(&r)))
}

/// The record once it is no longer pending, or as it is at `deadline`.
async fn wait_while_pending(
    st: &AppState,
    caller: &Caller,
    id: &str,
    deadline: tokio::time::Instant,
) -> ApiResult<Record> {
    loop {
        let outcome = {
            let notify = st.waiter(id);
            // Registered before the read: a vote landing between the read and the
            // wait still wakes us (Notify only wakes waiters already enabled).
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match visible(st, caller, id).await {
                Ok(r) if r.status == Status::Pending && tokio::time::Instant::now() < deadline => {
                    // Woken by a vote or an expiry (on any replica, through the
                    // store's events where it has them); re-read every 100 ms anyway.
                    let slice = deadline
                        .saturating_duration_since(tokio::time::Instant::now())
                        .min(Duration::from_millis(100));
                    let _ = tokio::time::timeout(slice, notified).await;
                    continue;
                }
                other => other,
            }
        };
        // Nobody else waits on it here: the waiter entry goes.
        st.forget(id);
        return outcome;
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HookQuery {
    /// How long a held call is waited on (default 50 s, at most 60 s): below
    /// Claude Code's hook timeout.
    wait: Option<String>,
}

/// `POST /v1/hooks/claude-code`: Claude Code's `http` hook. The body is its
/// `PreToolUse` payload, the agent's key in `Authorization`; the answer is the
/// hook's JSON (`hookSpecificOutput.permissionDecision`). The call is decided as
/// by `POST /v1/actions`; a call held for approval is waited on, and used if
/// approved in time. A caller that is not an agent gets the API's 401 or 403;
/// anything else, errors included, is a denial with the reason and 200, so that
/// the hook blocks whatever the client's failure setting.
async fn claude_code_hook(
    State(st): S,
    headers: HeaderMap,
    Query(q): Query<HookQuery>,
    body: Bytes,
) -> Response {
    // Who asks is checked first, with the API's own answers: nothing is decided
    // for a caller that is not an agent.
    let who = match auth::caller(&st, &headers).await {
        Ok(c) => c.require_agent(),
        Err(e) => Err(e),
    };
    if let Err(e) = who {
        return e.into_response();
    }
    let verdict = hook_verdict(st, headers, q, body)
        .await
        .unwrap_or_else(|e| airlock_hooks::Verdict::Deny(format!("airlock denies this call: {e}")));
    let reply = airlock_hooks::reply(airlock_hooks::Agent::ClaudeCode, &verdict);
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        reply.stdout,
    )
        .into_response()
}

async fn hook_verdict(
    st: Arc<AppState>,
    headers: HeaderMap,
    q: HookQuery,
    body: Bytes,
) -> ApiResult<airlock_hooks::Verdict> {
    use airlock_hooks::Verdict;
    let wait = match q.wait.as_deref() {
        Some(w) => parse_wait(w)?,
        None => Duration::from_secs(50),
    };
    let deadline = tokio::time::Instant::now() + wait;
    let payload: Value = parse(&body)?;
    let call = airlock_hooks::normalize(airlock_hooks::Agent::ClaudeCode, &payload)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?
        .to_string();
    Ok(
        match decide_call(&st, &headers, call, deadline, &mut |_| {}).await? {
            CallOutcome::Allowed(reason) => Verdict::Allow(reason),
            CallOutcome::Denied(reason) => Verdict::Deny(reason),
        },
    )
}

/// What the service said of one call, in the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// Allowed, or approved and the approval used: the reason.
    Allowed(String),
    /// Denied, rejected, expired or not approved in time: a reason the agent can
    /// act on.
    Denied(String),
}

/// A call held for approval, as told to whoever waits on it.
#[derive(Debug, Clone)]
pub struct HoldNotice {
    /// The approval request's id (`GET /v1/approvals/{id}` shows it to approvers).
    pub id: String,
    /// The policy's reason for holding it.
    pub reason: String,
    /// The decision's `approval`: how many approvals, from which groups, by when.
    pub approval: Value,
}

/// How often a waiting caller is told again that its call is still held.
const HOLD_NOTICE_EVERY: Duration = Duration::from_secs(10);

/// `POST /v1/actions` for an edge inside the service process (the Claude Code
/// hook, the MCP front): `call` (a raw call's JSON) is decided for the agent whose
/// key is in `headers`, exactly as over HTTP, and recorded. A hold is waited on
/// until `deadline` (`on_hold` told when it starts and every few seconds after);
/// approved in time, the call is submitted again with its approval, which is used.
/// Anything else is a denial with its reason; an error is an error (the caller
/// denies).
pub async fn decide_call(
    st: &Arc<AppState>,
    headers: &HeaderMap,
    call: String,
    deadline: tokio::time::Instant,
    on_hold: &mut (dyn FnMut(&HoldNotice) + Send),
) -> ApiResult<CallOutcome> {
    let ask = |approval: Option<String>| {
        let (st, headers, call) = (st.clone(), headers.clone(), call.clone());
        async move {
            let r = submit(
                State(st),
                headers,
                Query(SubmitQuery { approval }),
                Bytes::from(call),
            )
            .await?;
            let bytes = axum::body::to_bytes(r.into_body(), 1 << 20)
                .await
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| ApiError::Unavailable(e.to_string()))
        }
    };
    let answer = ask(None).await?;
    let reason = answer["decision"]["reason"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    match answer["status"].as_str() {
        Some("allowed") => Ok(CallOutcome::Allowed(reason)),
        Some("pending") => {
            let id = answer["id"].as_str().unwrap_or("").to_owned();
            let notice = HoldNotice {
                id: id.clone(),
                reason: reason.clone(),
                approval: answer["decision"]["approval"].clone(),
            };
            let caller = auth::caller(st, headers).await?;
            let r = loop {
                on_hold(&notice);
                let slice = deadline.min(tokio::time::Instant::now() + HOLD_NOTICE_EVERY);
                let r = wait_while_pending(st, &caller, &id, slice).await?;
                if r.status != Status::Pending || tokio::time::Instant::now() >= deadline {
                    break r;
                }
            };
            match r.status {
                Status::Approved => {
                    let used = ask(Some(id.clone())).await;
                    Ok(match used {
                        Ok(u) if u["allowed"] == true => CallOutcome::Allowed(format!(
                            "approved ({})",
                            r.resolution.as_deref().unwrap_or("by the approvers")
                        )),
                        Ok(u) => CallOutcome::Denied(format!(
                            "approved as {id}, but the approval could not be used: {}",
                            u["error"]
                                .as_str()
                                .or(u["decision"]["reason"].as_str())
                                .unwrap_or("refused")
                        )),
                        Err(e) => CallOutcome::Denied(format!(
                            "approved as {id}, but the approval could not be used: {e}"
                        )),
                    })
                }
                Status::Pending => Ok(CallOutcome::Denied(format!(
                    "held for approval as {id} ({reason}); not approved in time. Ask a human to approve it (`airlock approvals approve {id}`), then retry the same call"
                ))),
                other => Ok(CallOutcome::Denied(format!(
                    "held for approval as {id}, then {}: {}",
                    other.as_str(),
                    r.resolution.as_deref().unwrap_or(&reason)
                ))),
            }
        }
        _ => Ok(CallOutcome::Denied(reason)),
    }
}

/// The agent whose key is in `headers`, as `(tenant, name)`; any other caller is
/// refused with the API's own 401 or 403.
pub async fn authenticate_agent(
    st: &Arc<AppState>,
    headers: &HeaderMap,
) -> ApiResult<(String, String)> {
    let caller = auth::caller(st, headers).await?;
    caller.require_agent()?;
    Ok((caller.tenant, caller.name))
}

/// The record, if the caller may see it: an agent sees its own actions, a human with
/// the viewer role the tenant's. Anything else is "not found" (no probing of ids).
async fn visible(st: &AppState, caller: &Caller, id: &str) -> ApiResult<Record> {
    let not_found = || ApiError::NotFound(format!("no action `{id}`"));
    let record = st
        .store
        .get(&caller.tenant, id)
        .await?
        .ok_or_else(not_found)?;
    let may = match caller.principal {
        Principal::Agent => record.agent == caller.name,
        Principal::Human => {
            caller.has_role("viewer") || caller.has_role("approver") || caller.has_role("admin")
        }
    };
    if may { Ok(record) } else { Err(not_found()) }
}

fn status_view(r: &Record) -> Value {
    json!({
        "id": r.id,
        "status": r.status,
        "allowed": matches!(r.status, Status::Allowed),
        "approved": matches!(r.status, Status::Approved),
        "resolution": r.resolution,
        "expires_ms": r.expires_ms,
        "decision": serde_json::from_str::<Value>(&r.decision_json).unwrap_or(Value::Null),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    agent: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/approvals?status=pending&agent=…&limit=…`
async fn list_approvals(
    State(st): S,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<ApprovalList>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("viewer")?;
    let status = match q.status.as_deref() {
        None => Some(Status::Pending),
        Some("any") => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status `{s}` is not one of pending, approved, consumed, rejected, expired, allowed, denied, any"
            ))
        })?),
    };
    let records = st
        .store
        .list_brief(
            &caller.tenant,
            &ListFilter {
                status,
                agent: q.agent,
                review: None,
                limit: q.limit.unwrap_or(100),
            },
        )
        .await?;
    Ok(Json(ApprovalList {
        approvals: records.into_iter().map(Item::from).collect(),
    }))
}

/// A record as the approval queue, an agent's history and the review queue list it.
#[derive(Serialize)]
struct Item {
    id: String,
    kind: Kind,
    agent: String,
    status: Status,
    received_ms: i64,
    expires_ms: Option<i64>,
    tool: String,
    operation: String,
    effect: String,
    reason: String,
    rules: Vec<String>,
    requirements: Vec<Requirement>,
    /// Votes cast so far.
    votes: u32,
}

impl From<Brief> for Item {
    fn from(b: Brief) -> Item {
        Item {
            id: b.id,
            kind: b.kind,
            agent: b.agent,
            status: b.status,
            received_ms: b.received_ms,
            expires_ms: b.expires_ms,
            tool: b.summary.tool,
            operation: b.summary.operation,
            effect: b.summary.effect,
            reason: b.summary.reason,
            rules: b.summary.rules,
            requirements: b.requirements,
            votes: b.votes,
        }
    }
}

impl Item {
    fn of_record(r: &Record) -> Item {
        Item {
            id: r.id.clone(),
            kind: r.kind,
            agent: r.agent.clone(),
            status: r.status,
            received_ms: r.received_ms,
            expires_ms: r.expires_ms,
            tool: r.summary.tool.clone(),
            operation: r.summary.operation.clone(),
            effect: r.summary.effect.clone(),
            reason: r.summary.reason.clone(),
            rules: r.summary.rules.clone(),
            requirements: r.requirements.clone(),
            votes: u32::try_from(r.votes.len()).unwrap_or(u32::MAX),
        }
    }
}

/// What a listing shows of an action or a plan, computed once when it is recorded.
fn summary_of(action: &Action, decision: &Decision) -> Summary {
    Summary {
        tool: action.what.tool.clone(),
        operation: action.what.operation.clone(),
        effect: action.what.effect.as_str().to_owned(),
        reason: decision.reason.clone(),
        rules: decision.rules.clone(),
    }
}

#[derive(Serialize)]
struct ApprovalList {
    approvals: Vec<Item>,
}

/// The human the agent of this record acts for, as the policy or the stored
/// action(s) name it: they may not approve it.
fn record_operator(r: &Record, policy: &Policy) -> ApiResult<Option<String>> {
    if let Some(op) = policy.agent_operator(&r.agent) {
        return Ok(Some(op.to_owned()));
    }
    let unreadable =
        |e: serde_json::Error| ApiError::Unavailable(format!("stored action unreadable: {e}"));
    Ok(match r.kind {
        Kind::Action => {
            let action: Action = serde_json::from_str(&r.action_json).map_err(unreadable)?;
            action.who.operator
        }
        Kind::Plan => {
            #[derive(Deserialize)]
            struct Step {
                action: Action,
            }
            #[derive(Deserialize)]
            struct Steps {
                steps: Vec<Step>,
            }
            let plan: Steps = serde_json::from_str(&r.action_json).map_err(unreadable)?;
            plan.steps.into_iter().find_map(|s| s.action.who.operator)
        }
    })
}

/// `GET /v1/approvals/{id}`: everything an approver needs to decide in seconds.
async fn show_approval(
    State(st): S,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("viewer")?;
    let r = visible(&st, &caller, &id).await?;
    let history = st
        .store
        .list_brief(
            &caller.tenant,
            &ListFilter {
                status: None,
                agent: Some(r.agent.clone()),
                review: None,
                limit: 10,
            },
        )
        .await?;
    let action: Value = serde_json::from_str(&r.action_json).unwrap_or(Value::Null);
    let mut view = json!({
        "id": r.id,
        "kind": r.kind,
        "status": r.status,
        "agent": r.agent,
        "received_ms": r.received_ms,
        "expires_ms": r.expires_ms,
        "resolution": r.resolution,
        "call": serde_json::from_str::<Value>(&r.call_json).unwrap_or(Value::Null),
        "decision": serde_json::from_str::<Value>(&r.decision_json).unwrap_or(Value::Null),
        "requirements": r.requirements,
        "votes": r.votes,
        "recent": history.into_iter().filter(|h| h.id != r.id).map(Item::from).collect::<Vec<_>>(),
    });
    match r.kind {
        Kind::Action => {
            view["why"] = action["why"].clone();
            view["impact"] =
                json!({ "targets": action["targets"], "magnitude": action["magnitude"] });
            view["action"] = action;
        }
        Kind::Plan => {
            // The whole plan: every step with its own decision, and what the steps
            // show together.
            let empty = Vec::new();
            let steps = action["steps"].as_array().unwrap_or(&empty);
            let targets: Vec<Value> = steps
                .iter()
                .flat_map(|s| {
                    s["action"]["targets"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .collect();
            view["why"] = json!({ "reason": action["reason"] });
            view["impact"] = json!({ "steps": steps.len(), "targets": targets });
            view["plan"] = json!({
                "steps": steps, "patterns": action["patterns"], "steps_used": r.steps_used,
            });
        }
    }
    if let Some(state) = r.review_state {
        view["review"] = json!({ "state": state, "verdict": r.review });
    }
    Ok(Json(view))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct VoteBody {
    #[serde(default)]
    comment: String,
}

async fn approve(
    st: S,
    headers: HeaderMap,
    id: Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    cast(st, headers, id, body, true).await
}

async fn reject(
    st: S,
    headers: HeaderMap,
    id: Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    cast(st, headers, id, body, false).await
}

/// A vote. Only a human approver in one of the required groups may vote; never the
/// agent itself, never the human it acts for.
async fn cast(
    State(st): S,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
    approve: bool,
) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("approver")?;
    let vote: VoteBody = if body.is_empty() {
        VoteBody::default()
    } else {
        parse(&body)?
    };
    let r = visible(&st, &caller, &id).await?;
    if r.status != Status::Pending {
        return Err(ApiError::Conflict(format!(
            "action `{id}` is {}; only pending requests take votes",
            r.status.as_str()
        )));
    }
    if caller.name == r.agent {
        return Err(ApiError::Forbidden(
            "an agent cannot approve its own request".into(),
        ));
    }
    let policy = st.policy();
    let operator = record_operator(&r, &policy)?;
    if operator.as_deref() == Some(caller.name.as_str()) {
        return Err(ApiError::Forbidden(format!(
            "{} is the operator this agent acts for and cannot approve its requests",
            caller.name
        )));
    }
    // Membership: the policy's list when it has one, else the caller's `group:` roles.
    let groups: Vec<String> = r
        .requirements
        .iter()
        .map(|q| q.group.clone())
        .filter(|g| match policy.group_members(g) {
            Some(members) => members.contains(&caller.name),
            None => caller.groups().any(|c| c == g),
        })
        .collect();
    if groups.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "{} is in none of the required groups ({})",
            caller.name,
            r.requirements
                .iter()
                .map(|q| q.group.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let cast = Vote {
        approver: caller.name.clone(),
        groups,
        approve,
        comment: vote.comment,
        at_ms: now_ms(),
    };
    let outcome = st
        .store
        .vote(&caller.tenant, &id, cast.clone(), now_ms())
        .await?;
    match outcome {
        VoteOutcome::Recorded(status) => {
            let event = Event::Vote {
                id: id.clone(),
                approver: cast.approver,
                groups: cast.groups,
                approve,
                comment: cast.comment,
                status: status.as_str().to_owned(),
            };
            st.record(&caller.tenant, event)
                .await
                .map_err(ApiError::LedgerUnavailable)?;
            if status != Status::Pending {
                let waited = now_ms().saturating_sub(r.received_ms);
                st.observe_approval(status.as_str(), waited);
                st.wake(&id);
                st.notify(json!({
                    "event": "approval.resolved", "tenant": caller.tenant, "id": id,
                    "status": status, "by": caller.name,
                    "text": format!("airlock: request {id} of {} was {} by {}", r.agent, status.as_str(), caller.name),
                }));
            }
            Ok(Json(json!({ "id": id, "status": status })))
        }
        VoteOutcome::AlreadyVoted => Err(ApiError::Conflict(format!(
            "{} has already voted on `{id}`",
            caller.name
        ))),
        VoteOutcome::NotPending(s) => Err(ApiError::Conflict(format!(
            "action `{id}` is {}; only pending requests take votes",
            s.as_str()
        ))),
        VoteOutcome::NotFound => Err(ApiError::NotFound(format!("no action `{id}`"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewQuery {
    /// `due` (the default), `ok` or `wrong`.
    state: Option<String>,
    agent: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/reviews?state=due`: the spot-check queue, `log` decisions sampled for a
/// human to look at after the fact.
async fn list_reviews(
    State(st): S,
    headers: HeaderMap,
    Query(q): Query<ReviewQuery>,
) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("viewer")?;
    let s = q.state.as_deref().unwrap_or("due");
    let state = ReviewState::parse(s)
        .ok_or_else(|| ApiError::BadRequest(format!("state `{s}` is not one of due, ok, wrong")))?;
    let records = st
        .store
        .list(
            &caller.tenant,
            &ListFilter {
                status: None,
                agent: q.agent,
                review: Some(state),
                limit: q.limit.unwrap_or(100),
            },
        )
        .await?;
    let items: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(Item::of_record(r)).unwrap_or(Value::Null);
            v["call"] = serde_json::from_str(&r.call_json).unwrap_or(Value::Null);
            v["review"] = json!({ "state": r.review_state, "verdict": r.review });
            v
        })
        .collect();
    Ok(Json(json!({ "reviews": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    /// `ok` or `wrong`.
    verdict: String,
    /// Required for `wrong`: what the decision should have been, and why.
    #[serde(default)]
    comment: String,
}

/// `POST /v1/reviews/{id}`: a reviewer's verdict on a sampled decision. `wrong`
/// raises an alert (webhook `review.wrong`, `airlock_reviews_wrong_total`).
async fn review(
    State(st): S,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("approver")?;
    let b: ReviewBody = parse(&body)?;
    let wrong = match b.verdict.as_str() {
        "ok" => false,
        "wrong" => true,
        other => {
            return Err(ApiError::BadRequest(format!(
                "verdict `{other}` is not `ok` or `wrong`"
            )));
        }
    };
    if wrong && b.comment.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "a `wrong` verdict needs a comment: say what the decision should have been".into(),
        ));
    }
    let r = visible(&st, &caller, &id).await?;
    let verdict = Review {
        reviewer: caller.name.clone(),
        wrong,
        comment: b.comment,
        at_ms: now_ms(),
    };
    match st
        .store
        .review(&caller.tenant, &id, verdict.clone())
        .await?
    {
        ReviewOutcome::Recorded(state) => {
            let event = Event::Review {
                id: id.clone(),
                reviewer: verdict.reviewer.clone(),
                wrong,
                comment: verdict.comment.clone(),
            };
            st.record(&caller.tenant, event)
                .await
                .map_err(ApiError::LedgerUnavailable)?;
            if wrong {
                st.count("airlock_reviews_wrong_total", &r.agent);
                let action: Value = serde_json::from_str(&r.action_json).unwrap_or(Value::Null);
                let decision: Value = serde_json::from_str(&r.decision_json).unwrap_or(Value::Null);
                eprintln!(
                    "airlock: alert: {} marked decision {id} of agent {} (tenant {}) wrong",
                    caller.name, r.agent, caller.tenant
                );
                st.notify(json!({
                    "event": "review.wrong", "tenant": caller.tenant, "id": id, "agent": r.agent,
                    "tool": action["what"]["tool"], "operation": action["what"]["operation"],
                    "rules": decision["rules"], "reviewer": caller.name, "comment": verdict.comment,
                    "url": format!("/v1/approvals/{id}"),
                    "text": format!(
                        "airlock: {} marked a decision on {}'s {} {} wrong: {}",
                        caller.name, r.agent, action["what"]["tool"].as_str().unwrap_or("?"),
                        action["what"]["operation"].as_str().unwrap_or("?"), verdict.comment
                    ),
                }));
            }
            Ok(Json(
                json!({ "id": id, "review": state, "verdict": verdict }),
            ))
        }
        ReviewOutcome::AlreadyReviewed(done) => Err(ApiError::Conflict(format!(
            "`{id}` was already reviewed by {} ({})",
            done.reviewer,
            if done.wrong { "wrong" } else { "ok" }
        ))),
        ReviewOutcome::NotSampled => Err(ApiError::Conflict(format!(
            "`{id}` was not sampled for a spot check; only records in GET /v1/reviews take a verdict"
        ))),
        ReviewOutcome::NotFound => Err(ApiError::NotFound(format!("no action `{id}`"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HaltBody {
    /// `all`, `tenant`, `agent` or `zone`.
    scope: String,
    /// The agent or zone, for those scopes.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    reason: String,
}

fn scope_of(b: &HaltBody, caller: &Caller) -> ApiResult<Scope> {
    let named = |what: &str| {
        b.name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::BadRequest(format!("scope `{what}` needs `name`")))
    };
    Ok(match b.scope.as_str() {
        "all" => {
            if !caller.has_role("service-admin") {
                return Err(ApiError::Forbidden(
                    "halting every tenant needs the `service-admin` role".into(),
                ));
            }
            Scope::All
        }
        "tenant" => Scope::Tenant,
        "agent" => Scope::Agent(named("agent")?),
        "zone" => Scope::Zone(named("zone")?),
        other => {
            return Err(ApiError::BadRequest(format!(
                "scope `{other}` is not one of all, tenant, agent, zone"
            )));
        }
    })
}

/// `POST /v1/halt`: from the next request on, everything in scope is denied and its
/// pending approvals are rejected.
async fn halt(State(st): S, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("admin")?;
    let b: HaltBody = parse(&body)?;
    if b.reason.trim().is_empty() {
        return Err(ApiError::BadRequest("a halt needs a `reason`".into()));
    }
    let scope = scope_of(&b, &caller)?;
    let h = Halt {
        tenant: caller.tenant.clone(),
        scope,
        reason: b.reason,
        by: caller.name.clone(),
        at_ms: now_ms(),
    };
    let rejected = st.store.halt(&h).await?;
    st.add_halt(h.clone());
    st.record(&caller.tenant, halt_event(&h, rejected))
        .await
        .map_err(ApiError::LedgerUnavailable)?;
    Ok(Json(json!({ "halted": h, "rejected_pending": rejected })))
}

/// `POST /v1/resume`: lifts a halt. Admins only.
async fn resume(State(st): S, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("admin")?;
    let b: HaltBody = parse(&body)?;
    let scope = scope_of(&b, &caller)?;
    let existed = st
        .store
        .resume(&caller.tenant, &scope, &caller.name, now_ms())
        .await?;
    st.remove_halt(&caller.tenant, &scope);
    if existed {
        let (scope, name) = scope_parts(&scope);
        let event = Event::Resume {
            scope,
            name,
            by: caller.name.clone(),
        };
        st.record(&caller.tenant, event)
            .await
            .map_err(ApiError::LedgerUnavailable)?;
        Ok(Json(json!({ "resumed": true })))
    } else {
        Err(ApiError::NotFound("no such halt is active".into()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPrincipal {
    name: String,
    #[serde(default)]
    roles: Vec<String>,
}

/// `POST /v1/agents`: a new agent key (or a rotated one: the old key stops working).
/// The token is shown once.
async fn add_agent(State(st): S, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    issue(st, headers, body, Principal::Agent).await
}

/// `POST /v1/humans`: a human's token, with roles (`viewer`, `approver`, `admin`,
/// `group:NAME`).
async fn add_human(State(st): S, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    issue(st, headers, body, Principal::Human).await
}

async fn issue(
    st: Arc<AppState>,
    headers: HeaderMap,
    body: Bytes,
    principal: Principal,
) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("admin")?;
    let b: NewPrincipal = parse(&body)?;
    let valid = !b.name.is_empty()
        && b.name.len() <= 128
        && b.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@+-".contains(c));
    if !valid {
        return Err(ApiError::BadRequest(format!(
            "`name` {:?} must be 1 to 128 letters, digits or . _ @ + -",
            b.name
        )));
    }
    if principal == Principal::Agent && !b.roles.is_empty() {
        return Err(ApiError::BadRequest(
            "agents get their roles from the policy's inventory, not from their key".into(),
        ));
    }
    if b.roles.len() > 64 || b.roles.iter().any(|r| r.len() > 128) {
        return Err(ApiError::BadRequest(
            "`roles`: at most 64 roles of at most 128 characters each".into(),
        ));
    }
    for r in &b.roles {
        let known =
            matches!(r.as_str(), "viewer" | "approver" | "admin") || r.starts_with("group:");
        if !known || r == "service-admin" {
            return Err(ApiError::BadRequest(format!(
                "role `{r}` is not one of viewer, approver, admin, group:NAME"
            )));
        }
    }
    let token = new_token().map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let rotated = st
        .store
        .credentials(&caller.tenant)
        .await?
        .iter()
        .any(|c| c.name == b.name && c.principal == principal && !c.revoked);
    st.store
        .put_credential(&Credential {
            tenant: caller.tenant.clone(),
            name: b.name.clone(),
            principal,
            roles: b.roles.clone(),
            token_hash: hash_token(&token),
            created_ms: now_ms(),
            revoked: false,
        })
        .await?;
    // A rotation replaces the old token: it must stop working here at once.
    st.forget_credentials();
    let event = Event::Credential {
        change: if rotated {
            CredentialChange::Rotated
        } else {
            CredentialChange::Issued
        },
        principal: principal_name(principal).into(),
        name: b.name.clone(),
        roles: b.roles,
        by: caller.name.clone(),
    };
    st.record(&caller.tenant, event)
        .await
        .map_err(ApiError::LedgerUnavailable)?;
    Ok(Json(json!({ "name": b.name, "token": token })))
}

fn principal_name(p: Principal) -> &'static str {
    match p {
        Principal::Agent => "agent",
        Principal::Human => "human",
    }
}

/// `GET /v1/agents`: the tenant's agent keys (names, when issued, revoked or not;
/// never a token or its hash).
async fn list_agents(st: S, headers: HeaderMap) -> ApiResult<Json<Value>> {
    list_principals(st, headers, Principal::Agent).await
}

async fn list_humans(st: S, headers: HeaderMap) -> ApiResult<Json<Value>> {
    list_principals(st, headers, Principal::Human).await
}

async fn list_principals(
    State(st): S,
    headers: HeaderMap,
    principal: Principal,
) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("admin")?;
    let items: Vec<Value> = st
        .store
        .credentials(&caller.tenant)
        .await?
        .into_iter()
        .filter(|c| c.principal == principal)
        .map(|c| json!({ "name": c.name, "roles": c.roles, "created_ms": c.created_ms, "revoked": c.revoked }))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `DELETE /v1/agents/{name}`: revokes the agent's key at once.
async fn revoke_agent(st: S, headers: HeaderMap, name: Path<String>) -> ApiResult<Json<Value>> {
    revoke_principal(st, headers, name, Principal::Agent).await
}

async fn revoke_human(st: S, headers: HeaderMap, name: Path<String>) -> ApiResult<Json<Value>> {
    revoke_principal(st, headers, name, Principal::Human).await
}

async fn revoke_principal(
    State(st): S,
    headers: HeaderMap,
    Path(name): Path<String>,
    principal: Principal,
) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("admin")?;
    if principal == Principal::Human && name == caller.name {
        return Err(ApiError::Conflict(
            "an admin cannot revoke their own token; another admin must".into(),
        ));
    }
    let revoked = st.store.revoke(&caller.tenant, &name, principal).await?;
    // Whatever happened, nothing stale stays cached here.
    st.forget_credentials();
    if revoked {
        let event = Event::Credential {
            change: CredentialChange::Revoked,
            principal: principal_name(principal).into(),
            name: name.clone(),
            roles: Vec::new(),
            by: caller.name.clone(),
        };
        st.record(&caller.tenant, event)
            .await
            .map_err(ApiError::LedgerUnavailable)?;
        Ok(Json(json!({ "revoked": name })))
    } else {
        Err(ApiError::NotFound(format!(
            "no live credential named `{name}`"
        )))
    }
}

/// `GET /metrics`: Prometheus text format, service-wide (role `service-admin`).
async fn metrics(State(st): S, headers: HeaderMap) -> ApiResult<String> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("service-admin")?;
    let mut out = String::new();
    let help = [
        ("airlock_decisions_total", "tier", "Decisions by tier."),
        (
            "airlock_decisions_by_rule_total",
            "rule",
            "Decisions by deciding rule.",
        ),
        (
            "airlock_limit_hits_total",
            "limit",
            "Actions that went over a limit.",
        ),
        (
            "airlock_reviews_wrong_total",
            "agent",
            "Sampled decisions a reviewer marked wrong.",
        ),
    ];
    let counters = st.counters();
    for (name, label, text) in help {
        out.push_str(&format!("# HELP {name} {text}\n# TYPE {name} counter\n"));
        for ((_, value), n) in counters.iter().filter(|((m, _), _)| *m == name) {
            out.push_str(&format!(
                "{name}{{{label}=\"{}\"}} {n}\n",
                escape_label(value)
            ));
        }
    }
    let pending = st.store.count_pending(None).await?;
    out.push_str(&format!(
        "# HELP airlock_approvals_pending Requests waiting for approvers.\n# TYPE airlock_approvals_pending gauge\nairlock_approvals_pending {pending}\n"
    ));
    let reviews = st.store.count_reviews_due(None).await?;
    out.push_str(&format!(
        "# HELP airlock_reviews_due Sampled decisions waiting for a spot check.\n# TYPE airlock_reviews_due gauge\nairlock_reviews_due {reviews}\n"
    ));
    out.push_str(&st.approval_histogram());
    let ledger = st.ledger.ledger();
    let signed = ledger.signed();
    out.push_str(&format!(
        "# HELP airlock_ledger_entries Entries in this replica's ledger.\n# TYPE airlock_ledger_entries gauge\nairlock_ledger_entries {}\n\
         # HELP airlock_ledger_signed_entries Entries covered by the latest signed checkpoint.\n# TYPE airlock_ledger_signed_entries gauge\nairlock_ledger_signed_entries {}\n\
         # HELP airlock_ledger_witness_quorum_met Whether the latest checkpoint has its witnesses' cosignatures (1) or not (0).\n# TYPE airlock_ledger_witness_quorum_met gauge\nairlock_ledger_witness_quorum_met {}\n\
         # HELP airlock_ledger_stopped Whether the ledger has stopped (1: everything is denied).\n# TYPE airlock_ledger_stopped gauge\nairlock_ledger_stopped {}\n",
        ledger.size(),
        signed.as_ref().map_or(0, |s| s.checkpoint.size()),
        u8::from(signed.as_ref().is_none_or(|s| s.quorum_met)),
        u8::from(ledger.failure().is_some()),
    ));
    out.push_str(&format!(
        "# HELP airlock_halts_active Active halts.\n# TYPE airlock_halts_active gauge\nairlock_halts_active {}\n",
        st.active_halts()
    ));
    Ok(out)
}

/// Prometheus label values escape backslash, quote and newline.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /v1/policy`: the policy in force (name and version).
async fn policy_info(State(st): S, headers: HeaderMap) -> ApiResult<Json<Value>> {
    auth::caller(&st, &headers).await?;
    let p = st.policy();
    Ok(Json(
        json!({ "name": p.name(), "version": p.version(), "rules": p.rule_count() }),
    ))
}

/// `POST /v1/policy/reload`: re-reads the policy file (it is also reloaded when it
/// changes). A policy that does not load changes nothing and the errors come back.
async fn reload_policy(State(st): S, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let caller = auth::caller(&st, &headers).await?;
    caller.require_human("service-admin")?;
    match st.reload_policy() {
        Ok((previous, version)) => {
            st.record_policy_change(previous, version.clone(), &caller.name)
                .await;
            Ok(Json(json!({ "reloaded": true, "version": version })))
        }
        Err(errors) => Err(ApiError::BadRequest(format!(
            "the policy was not reloaded; the one in force stays:\n{errors}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_describes_exactly_the_routes() {
        let doc: Value = serde_json::from_str(OPENAPI).expect("valid JSON");
        let mut described: Vec<String> = Vec::new();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for method in ops.as_object().expect("operations").keys() {
                described.push(format!("{} {path}", method.to_ascii_uppercase()));
            }
        }
        described.sort();
        let mut routes: Vec<String> = ROUTES.iter().map(|r| (*r).to_owned()).collect();
        routes.sort();
        assert_eq!(described, routes);
    }
}
