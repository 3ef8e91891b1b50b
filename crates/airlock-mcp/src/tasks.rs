//! Holds as tasks (the MCP Tasks extension, `io.modelcontextprotocol/tasks`).
//!
//! A client that declares the extension on a `tools/call` (in
//! `params._meta["io.modelcontextprotocol/clientCapabilities"].extensions`) does not
//! have to keep the call open while a human decides: when the call is held for
//! approval, the gateway answers at once with a task (`resultType: "task"`,
//! status `working`, the approval named in `statusMessage`), waits for the
//! approval itself, relays the call once it is approved and keeps the server's
//! answer as the task's result. The client polls `tasks/get`; `tasks/cancel`
//! abandons the call (it is never relayed). A call that is not held is answered
//! as always: the extension lets the server decide per request.
//!
//! The task table is this module's; the gateways (stdio and HTTP) do the
//! waiting and relaying.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value, json};

/// The extension's identifier.
pub const EXTENSION: &str = "io.modelcontextprotocol/tasks";
/// Where a request carries the client's capabilities (2026-07-28).
const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// Task ids the gateway makes start with this: `tasks/…` requests for them are
/// answered here, others go to the server.
pub const ID_PREFIX: &str = "airlock-task-";
/// How often a client is asked to poll.
const POLL_INTERVAL_MS: u64 = 2_000;
/// Tasks kept at most; finished ones are forgotten first, then the oldest.
const MAX_TASKS: usize = 10_000;

/// Whether a `tools/call`'s params declare the tasks extension.
pub fn declared(params: Option<&Value>) -> bool {
    params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(CLIENT_CAPABILITIES))
        .and_then(|c| c.get("extensions"))
        .and_then(|e| e.get(EXTENSION))
        .is_some()
}

/// The call as relayed once approved: without the extension in its capabilities,
/// so that the server answers it with a plain result (airlock is the task's
/// receiver, not the server).
pub fn without_extension(msg: &Value) -> Value {
    let mut msg = msg.clone();
    if let Some(ext) = msg
        .get_mut("params")
        .and_then(|p| p.get_mut("_meta"))
        .and_then(|m| m.get_mut(CLIENT_CAPABILITIES))
        .and_then(|c| c.get_mut("extensions"))
        .and_then(Value::as_object_mut)
    {
        ext.remove(EXTENSION);
    }
    msg
}

/// Adds the extension to a server's `capabilities` (an `initialize` or
/// `server/discover` answer), since the gateway serves it whatever the server does.
pub fn declare_in(result: &mut Value) {
    let Some(caps) = result
        .get_mut("capabilities")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let ext = caps
        .entry("extensions")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(ext) = ext.as_object_mut() {
        ext.entry(EXTENSION)
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Working,
    Completed(Value),
    Failed(Value),
    Cancelled,
}

#[derive(Debug, Clone)]
struct Task {
    /// Whose it is: only they may see or cancel it.
    owner: String,
    state: State,
    message: String,
    created: String,
    updated: String,
    ttl_ms: u64,
}

/// The gateway's tasks.
#[derive(Debug, Default)]
pub struct Tasks {
    table: Mutex<HashMap<String, Task>>,
    order: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A JSON-RPC error answer.
fn error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

impl Tasks {
    /// A new task for `owner`'s held call, `working`; its id.
    pub fn create(&self, owner: &str, message: &str, ttl_ms: u64, now: &str) -> String {
        let id = format!("{ID_PREFIX}{}", random_hex());
        let mut table = lock(&self.table);
        let mut order = lock(&self.order);
        if table.len() >= MAX_TASKS {
            // Finished tasks go first, then the oldest.
            let done: Vec<String> = order
                .iter()
                .filter(|k| table.get(*k).is_some_and(|t| t.state != State::Working))
                .take(MAX_TASKS / 10)
                .cloned()
                .collect();
            let evict = if done.is_empty() {
                order.iter().take(1).cloned().collect()
            } else {
                done
            };
            for k in &evict {
                table.remove(k);
            }
            order.retain(|k| table.contains_key(k));
        }
        table.insert(
            id.clone(),
            Task {
                owner: owner.to_owned(),
                state: State::Working,
                message: message.to_owned(),
                created: now.to_owned(),
                updated: now.to_owned(),
                ttl_ms,
            },
        );
        order.push(id.clone());
        id
    }

    /// The `CreateTaskResult` answering request `request_id`.
    pub fn created(&self, request_id: &Value, task_id: &str) -> Value {
        let table = lock(&self.table);
        match table.get(task_id) {
            Some(t) => {
                let mut r = render(task_id, t);
                r["resultType"] = json!("task");
                json!({"jsonrpc": "2.0", "id": request_id, "result": r})
            }
            None => error(request_id, -32603, "airlock: the task was lost"),
        }
    }

    /// Whether the task was cancelled (its call must not be relayed).
    pub fn cancelled(&self, task_id: &str) -> bool {
        lock(&self.table)
            .get(task_id)
            .is_none_or(|t| t.state == State::Cancelled)
    }

    /// The held call was denied, rejected or timed out: a completed task whose
    /// result is the tool error the call would have had.
    pub fn deny(&self, task_id: &str, result: Value, now: &str) {
        self.finish(task_id, State::Completed(result), "denied by airlock", now);
    }

    /// The server's answer to the relayed call: its `result` completes the task,
    /// its `error` fails it.
    pub fn answer(&self, task_id: &str, answer: &Value, now: &str) {
        match (answer.get("result"), answer.get("error")) {
            (Some(r), _) => self.finish(task_id, State::Completed(r.clone()), "done", now),
            (None, Some(e)) => self.finish(
                task_id,
                State::Failed(e.clone()),
                "the server answered with an error",
                now,
            ),
            (None, None) => self.finish(
                task_id,
                State::Failed(json!({"code": -32603, "message": "airlock: the server's answer had no result"})),
                "the server's answer had no result",
                now,
            ),
        }
    }

    /// A new status message while the task waits.
    pub fn tell(&self, task_id: &str, message: &str, now: &str) {
        if let Some(t) = lock(&self.table).get_mut(task_id)
            && t.state == State::Working
            && t.message != message
        {
            t.message = message.to_owned();
            t.updated = now.to_owned();
        }
    }

    fn finish(&self, task_id: &str, state: State, message: &str, now: &str) {
        if let Some(t) = lock(&self.table).get_mut(task_id)
            && t.state == State::Working
        {
            t.state = state;
            t.message = message.to_owned();
            t.updated = now.to_owned();
        }
    }

    /// Answers a `tasks/get`, `tasks/cancel` or `tasks/update` for one of the
    /// gateway's tasks, for `owner`. `None`: not one of its tasks (relay it).
    pub fn handle(&self, owner: &str, msg: &Value, now: &str) -> Option<Value> {
        let method = msg.get("method")?.as_str()?;
        if !matches!(method, "tasks/get" | "tasks/cancel" | "tasks/update") {
            return None;
        }
        let task_id = msg.pointer("/params/taskId")?.as_str()?;
        if !task_id.starts_with(ID_PREFIX) {
            return None;
        }
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let mut table = lock(&self.table);
        let Some(task) = table.get_mut(task_id).filter(|t| t.owner == owner) else {
            return Some(error(
                &id,
                -32602,
                &format!("airlock: no task `{task_id}` (unknown, another agent's, or forgotten)"),
            ));
        };
        Some(match method {
            "tasks/get" => {
                let mut r = render(task_id, task);
                r["resultType"] = json!("complete");
                json!({"jsonrpc": "2.0", "id": id, "result": r})
            }
            "tasks/cancel" => {
                if task.state == State::Working {
                    task.state = State::Cancelled;
                    task.message = "cancelled by the client: the call is not relayed".into();
                    task.updated = now.to_owned();
                }
                json!({"jsonrpc": "2.0", "id": id, "result": {"resultType": "complete"}})
            }
            // No input is ever asked of the client: nothing to take.
            _ => json!({"jsonrpc": "2.0", "id": id, "result": {"resultType": "complete"}}),
        })
    }
}

/// A task as `tasks/get` shows it (`DetailedTask`).
fn render(task_id: &str, t: &Task) -> Value {
    let mut v = json!({
        "taskId": task_id,
        "status": match t.state {
            State::Working => "working",
            State::Completed(_) => "completed",
            State::Failed(_) => "failed",
            State::Cancelled => "cancelled",
        },
        "statusMessage": t.message,
        "createdAt": t.created,
        "lastUpdatedAt": t.updated,
        "ttlMs": t.ttl_ms,
        "pollIntervalMs": POLL_INTERVAL_MS,
    });
    match &t.state {
        State::Completed(r) => v["result"] = r.clone(),
        State::Failed(e) => v["error"] = e.clone(),
        State::Working | State::Cancelled => {}
    }
    v
}

/// 128 random bits, hex; a counter and the clock if the system has no randomness
/// (a task id must be unique, not secret: tasks are also checked by owner).
fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        bytes[..8].copy_from_slice(&n.to_be_bytes());
        bytes[8..].copy_from_slice(&t.to_be_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_task_is_seen_by_its_owner_only_and_ends_once() {
        let t = Tasks::default();
        let id = t.create("acme/kiro", "held as act_1", 60_000, "t0");
        assert!(id.starts_with(ID_PREFIX));
        let created = t.created(&json!(7), &id);
        assert_eq!(created["result"]["resultType"], "task");
        assert_eq!(created["result"]["status"], "working");
        let get =
            json!({"jsonrpc": "2.0", "id": 8, "method": "tasks/get", "params": {"taskId": id}});
        assert_eq!(
            t.handle("acme/kiro", &get, "t1").unwrap()["result"]["statusMessage"],
            "held as act_1"
        );
        let other = t.handle("acme/mallory", &get, "t1").unwrap();
        assert_eq!(other["error"]["code"], -32602);
        t.answer(
            &id,
            &json!({"result": {"content": [], "isError": false}}),
            "t2",
        );
        t.deny(&id, json!({"isError": true}), "t3");
        let done = t.handle("acme/kiro", &get, "t4").unwrap();
        assert_eq!(done["result"]["status"], "completed");
        assert_eq!(
            done["result"]["result"]["isError"], false,
            "the first end stays"
        );
        assert_eq!(done["result"]["resultType"], "complete");
        let foreign = json!({"jsonrpc": "2.0", "id": 9, "method": "tasks/get", "params": {"taskId": "srv-1"}});
        assert!(
            t.handle("acme/kiro", &foreign, "t5").is_none(),
            "the server's tasks are relayed"
        );
    }

    #[test]
    fn a_cancelled_task_is_never_relayed() {
        let t = Tasks::default();
        let id = t.create("o", "held", 1, "t0");
        let cancel =
            json!({"jsonrpc": "2.0", "id": 1, "method": "tasks/cancel", "params": {"taskId": id}});
        assert_eq!(
            t.handle("o", &cancel, "t1").unwrap()["result"]["resultType"],
            "complete"
        );
        assert!(t.cancelled(&id));
        t.answer(&id, &json!({"result": {}}), "t2");
        let get =
            json!({"jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {"taskId": id}});
        assert_eq!(
            t.handle("o", &get, "t3").unwrap()["result"]["status"],
            "cancelled"
        );
    }

    #[test]
    fn the_extension_is_read_from_the_request_and_taken_off_the_relayed_call() {
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "x", "_meta": {CLIENT_CAPABILITIES: {"extensions": {EXTENSION: {}, "other": {}}}}}});
        assert!(declared(call.get("params")));
        let relayed = without_extension(&call);
        assert!(!declared(relayed.get("params")));
        assert!(relayed["params"]["_meta"][CLIENT_CAPABILITIES]["extensions"]["other"].is_object());
        let mut init = json!({"capabilities": {"tools": {}}});
        declare_in(&mut init);
        assert!(init["capabilities"]["extensions"][EXTENSION].is_object());
    }
}
