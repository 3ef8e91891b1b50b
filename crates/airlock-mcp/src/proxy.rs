//! The relay: the client's messages to the server and the server's back, line by
//! line and untouched, except `tools/call` requests (decided first) and
//! `tools/list` answers (pinned and filtered).

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::decide::{Decider, ToolCall, Verdict};
use crate::frame::{Frame, next_frame};
use crate::pins::Pins;
use crate::service::Hold;

/// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;
/// Implementation-defined server errors: the upstream is gone or did not answer.
const UPSTREAM_GONE: i64 = -32000;
const UPSTREAM_TIMEOUT: i64 = -32001;

/// Ids of the requests the gateway itself sends the client (elicitations): the
/// client's answers to them stop here.
const OWN_ID_PREFIX: &str = "airlock-";

/// `tools/call`s being decided or waiting for approval at once: each has a
/// thread, and a client must not be able to start them without end.
const MAX_CALLS_DECIDING: usize = 64;

pub struct Config {
    pub server: String,
    /// The upstream command, for messages.
    pub command: String,
    pub pin_file: PathBuf,
    pub call_timeout: Duration,
    pub max_message: usize,
}

/// A request relayed to the server and not yet answered.
struct Pending {
    method: String,
    /// For a `tools/call`: when the client gets an error instead.
    deadline: Option<Instant>,
    /// For a call relayed on behalf of a task (a hold answered with a task): the
    /// task that keeps its answer; the client is not sent it.
    task: Option<String>,
}

/// Who owns the tasks of a stdio session: its one client.
const SESSION_OWNER: &str = "stdio";
/// How long a held call's task is kept.
const TASK_TTL_MS: u64 = 3_600_000;

pub struct Gateway {
    config: Config,
    decider: Box<dyn Decider>,
    to_client: Mutex<Box<dyn Write + Send>>,
    to_server: Mutex<Option<ChildStdin>>,
    /// By the request id's JSON text.
    pending: Mutex<HashMap<String, Pending>>,
    /// Requests that timed out: their late answers are dropped.
    expired: Mutex<HashSet<String>>,
    /// The latest `tools/list` entry of each tool, by name.
    tools: Mutex<HashMap<String, Value>>,
    /// The pin file is read and written by this gateway and by `approve-tool`.
    pins_lock: Mutex<()>,
    client_closed: AtomicBool,
    /// `tools/call`s being decided now (at most [`MAX_CALLS_DECIDING`]).
    deciding: std::sync::atomic::AtomicUsize,
    /// The quarantined tools as last seen: a tool leaving quarantine is
    /// announced with `notifications/tools/list_changed`.
    quarantine_seen: Mutex<Option<Vec<String>>>,
    /// The client declared URL-mode elicitation at `initialize`.
    url_elicitation: AtomicBool,
    next_own_id: AtomicU64,
    /// Held calls answered with a task (the MCP Tasks extension).
    tasks: crate::tasks::Tasks,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not stop the relay: the data is still consistent
    // (every critical section is a single insert, remove or write).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn id_key(id: &Value) -> String {
    id.to_string()
}

impl Gateway {
    pub fn new(
        config: Config,
        decider: Box<dyn Decider>,
        to_client: Box<dyn Write + Send>,
        to_server: ChildStdin,
    ) -> Arc<Gateway> {
        Arc::new(Gateway {
            config,
            decider,
            to_client: Mutex::new(to_client),
            to_server: Mutex::new(Some(to_server)),
            pending: Mutex::new(HashMap::new()),
            expired: Mutex::new(HashSet::new()),
            tools: Mutex::new(HashMap::new()),
            pins_lock: Mutex::new(()),
            client_closed: AtomicBool::new(false),
            deciding: std::sync::atomic::AtomicUsize::new(0),
            quarantine_seen: Mutex::new(None),
            url_elicitation: AtomicBool::new(false),
            next_own_id: AtomicU64::new(1),
            tasks: crate::tasks::Tasks::default(),
        })
    }

    fn send_client(&self, line: &[u8]) {
        let mut out = lock(&self.to_client);
        // The client gone is seen on its input (end of file); nothing to do here.
        let _ = out
            .write_all(line)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
    }

    fn send_client_json(&self, v: &Value) {
        self.send_client(v.to_string().as_bytes());
    }

    fn error(&self, id: &Value, code: i64, message: &str) {
        self.send_client_json(&json!({
            "jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}
        }));
    }

    /// Relays a line to the server; false if the server's input is closed.
    fn send_server(&self, line: &[u8]) -> bool {
        let mut guard = lock(&self.to_server);
        let Some(w) = guard.as_mut() else {
            return false;
        };
        let ok = w
            .write_all(line)
            .and_then(|()| w.write_all(b"\n"))
            .and_then(|()| w.flush())
            .is_ok();
        if !ok {
            *guard = None;
        }
        ok
    }

    /// Reads the client until it closes its end.
    pub fn client_loop(self: &Arc<Self>, input: impl std::io::Read) {
        let mut input = BufReader::with_capacity(64 * 1024, input);
        loop {
            let frame = match next_frame(&mut input, self.config.max_message) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("airlock mcp: cannot read the client: {e}");
                    Frame::Eof
                }
            };
            match frame {
                Frame::Eof => break,
                Frame::TooLong(n) => self.error(
                    &Value::Null,
                    INVALID_REQUEST,
                    &format!(
                        "airlock: a message of {n} bytes is over the limit of {} bytes and was refused; send smaller messages",
                        self.config.max_message
                    ),
                ),
                Frame::Line(line) => self.on_client_message(line),
            }
        }
        self.client_closed.store(true, Ordering::SeqCst);
        // Closing the server's input is how the stdio transport ends a session.
        *lock(&self.to_server) = None;
    }

    fn on_client_message(self: &Arc<Self>, line: Vec<u8>) {
        let msg: Value = match serde_json::from_slice(&line) {
            Ok(v) => v,
            Err(e) => {
                return self.error(
                    &Value::Null,
                    PARSE_ERROR,
                    &format!("airlock: the message is not JSON ({e}); it was not relayed"),
                );
            }
        };
        let now = jiff::Timestamp::now().to_string();
        if let Some(answer) = self.tasks.handle(SESSION_OWNER, &msg, &now) {
            return self.send_client_json(&answer);
        }
        match &msg {
            Value::Object(o) => {
                let method = o.get("method").and_then(Value::as_str);
                let id = o.get("id").filter(|id| !id.is_null());
                match (method, id) {
                    (Some("tools/call"), Some(id)) => {
                        use std::sync::atomic::Ordering::SeqCst;
                        if self.deciding.fetch_add(1, SeqCst) >= MAX_CALLS_DECIDING {
                            self.deciding.fetch_sub(1, SeqCst);
                            return self.error(
                                id,
                                UPSTREAM_GONE,
                                &format!(
                                    "airlock: {MAX_CALLS_DECIDING} tool calls are already being decided or waiting for approval; wait for one to finish"
                                ),
                            );
                        }
                        let gateway = Arc::clone(self);
                        let id = id.clone();
                        let params = o.get("params").cloned();
                        // A call may wait on a human for minutes: it must not stop
                        // the relay of everything else.
                        std::thread::spawn(move || {
                            gateway.tools_call(id, params, line);
                            gateway.deciding.fetch_sub(1, SeqCst);
                        });
                    }
                    (Some("tools/call"), None) => {
                        eprintln!(
                            "airlock mcp: a tools/call without an id (a notification) was dropped: a call must be a request"
                        );
                    }
                    (Some(method), Some(id)) => {
                        if method == "initialize" {
                            let url = o
                                .get("params")
                                .and_then(|p| p.get("capabilities"))
                                .and_then(|c| c.get("elicitation"))
                                .is_some_and(|e| e.get("url").is_some());
                            self.url_elicitation.store(url, Ordering::SeqCst);
                        }
                        lock(&self.pending).insert(
                            id_key(id),
                            Pending {
                                method: method.to_owned(),
                                deadline: None,
                                task: None,
                            },
                        );
                        if !self.send_server(&line) {
                            lock(&self.pending).remove(&id_key(id));
                            self.error(id, UPSTREAM_GONE, &self.gone_message());
                        }
                    }
                    // The client's answer to an elicitation the gateway sent.
                    (None, Some(Value::String(rid))) if rid.starts_with(OWN_ID_PREFIX) => {}
                    // Notifications, and the client's answers to the server's requests.
                    _ => {
                        self.send_server(&line);
                    }
                }
            }
            Value::Array(batch) => {
                // A batch (MCP 2025-03-26) could hide a call or a listing from the
                // checks below: those are refused; any other batch is relayed.
                let checked = batch.iter().any(|m| {
                    matches!(
                        m.get("method").and_then(Value::as_str),
                        Some("tools/call" | "tools/list" | "server/discover")
                    )
                });
                if checked {
                    self.error(
                        &Value::Null,
                        INVALID_REQUEST,
                        "airlock: tools/call, tools/list and server/discover cannot be sent in a batch; send them one message at a time",
                    );
                } else {
                    self.send_server(&line);
                }
            }
            _ => self.error(
                &Value::Null,
                INVALID_REQUEST,
                "airlock: a JSON-RPC message must be an object",
            ),
        }
    }

    fn gone_message(&self) -> String {
        format!(
            "airlock: the MCP server `{}` ({}) is not running; restart the session",
            self.config.server, self.config.command
        )
    }

    /// Decides a `tools/call`, then relays it or answers it.
    fn tools_call(&self, id: Value, params: Option<Value>, line: Vec<u8>) {
        let (name, arguments) = match call_shape(params.as_ref()) {
            Ok(x) => x,
            Err(why) => return self.error(&id, INVALID_PARAMS, &format!("airlock: {why}")),
        };
        let listing = lock(&self.tools).get(&name).cloned();
        // The task standing for this call, once it is held and the client takes
        // tasks.
        let mut task: Option<String> = None;
        let verdict = match self.pin_refusal(&name, listing.as_ref()) {
            Some(refusal) => Verdict::Deny(refusal),
            None => {
                let progress = params
                    .as_ref()
                    .and_then(|p| p.get("_meta"))
                    .and_then(|m| m.get("progressToken"))
                    .cloned();
                let mut step = 0u64;
                let mut elicited: Option<String> = None;
                let as_task = crate::tasks::declared(params.as_ref());
                let task = &mut task;
                let mut on_hold = |hold: &Hold| {
                    let message = hold.message();
                    if as_task {
                        // The client need not wait on the open call: it gets a
                        // task at once and polls it.
                        let now = jiff::Timestamp::now().to_string();
                        match task.as_deref() {
                            Some(t) => self.tasks.tell(t, &message, &now),
                            None => {
                                let t =
                                    self.tasks
                                        .create(SESSION_OWNER, &message, TASK_TTL_MS, &now);
                                self.send_client_json(&self.tasks.created(&id, &t));
                                *task = Some(t);
                            }
                        }
                        return;
                    }
                    if let Some(token) = &progress {
                        step += 1;
                        self.send_client_json(&json!({
                            "jsonrpc": "2.0",
                            "method": "notifications/progress",
                            "params": {"progressToken": token, "progress": step, "message": message},
                        }));
                    }
                    // A client that can open URLs is pointed at the approval once
                    // (MCP 2025-11-25 URL-mode elicitation); its answer stops here.
                    if elicited.is_none() && self.url_elicitation.load(Ordering::SeqCst) {
                        let elicitation = format!("airlock-approval-{}", hold.id);
                        let n = self.next_own_id.fetch_add(1, Ordering::SeqCst);
                        self.send_client_json(&json!({
                            "jsonrpc": "2.0",
                            "id": format!("{OWN_ID_PREFIX}{n}"),
                            "method": "elicitation/create",
                            "params": {"mode": "url", "elicitationId": elicitation,
                                "url": hold.url, "message": message},
                        }));
                        elicited = Some(elicitation);
                    }
                };
                let call = ToolCall {
                    name: &name,
                    arguments: &arguments,
                    listing: listing.as_ref(),
                };
                let verdict = self
                    .decider
                    .decide(&call, &mut on_hold)
                    .unwrap_or_else(|e| {
                        Verdict::Deny(format!(
                            "airlock could not decide this call ({e:#}), so it is denied (airlock fails closed); ask a human to check the airlock setup"
                        ))
                    });
                if let Some(elicitation) = elicited {
                    self.send_client_json(&json!({
                        "jsonrpc": "2.0",
                        "method": "notifications/elicitation/complete",
                        "params": {"elicitationId": elicitation},
                    }));
                }
                verdict
            }
        };
        let denial = |reason: &str| {
            json!({
                "content": [{"type": "text", "text": format!("airlock denied this call: {reason}")}],
                "isError": true,
            })
        };
        if let Some(task) = task {
            return self.finish_task(&task, verdict, &line, denial);
        }
        match verdict {
            Verdict::Deny(reason) => self.send_client_json(&json!({
                "jsonrpc": "2.0",
                "id": id,
                "result": denial(&reason),
            })),
            Verdict::Forward => {
                lock(&self.pending).insert(
                    id_key(&id),
                    Pending {
                        method: "tools/call".into(),
                        deadline: Some(Instant::now() + self.config.call_timeout),
                        task: None,
                    },
                );
                if !self.send_server(&line) {
                    lock(&self.pending).remove(&id_key(&id));
                    self.error(&id, UPSTREAM_GONE, &self.gone_message());
                }
            }
        }
    }

    /// A held call answered with a task, now decided: denied, the task completes
    /// with the denial; approved (and not cancelled), the call is relayed under an
    /// id of the gateway's own, and the server's answer completes the task.
    fn finish_task(
        &self,
        task: &str,
        verdict: Verdict,
        line: &[u8],
        denial: impl Fn(&str) -> Value,
    ) {
        let now = || jiff::Timestamp::now().to_string();
        match verdict {
            Verdict::Deny(reason) => self.tasks.deny(task, denial(&reason), &now()),
            Verdict::Forward if self.tasks.cancelled(task) => {}
            Verdict::Forward => {
                let Ok(mut call) = serde_json::from_slice::<Value>(line) else {
                    return self.tasks.deny(
                        task,
                        denial("the call could not be read again"),
                        &now(),
                    );
                };
                let n = self.next_own_id.fetch_add(1, Ordering::SeqCst);
                let own_id = json!(format!("{OWN_ID_PREFIX}call-{n}"));
                call = crate::tasks::without_extension(&call);
                call["id"] = own_id.clone();
                lock(&self.pending).insert(
                    id_key(&own_id),
                    Pending {
                        method: "tools/call".into(),
                        deadline: Some(Instant::now() + self.config.call_timeout),
                        task: Some(task.to_owned()),
                    },
                );
                if !self.send_server(call.to_string().as_bytes()) {
                    lock(&self.pending).remove(&id_key(&own_id));
                    let gone =
                        json!({"error": {"code": UPSTREAM_GONE, "message": self.gone_message()}});
                    self.tasks.answer(task, &gone, &now());
                }
            }
        }
    }

    /// Why the pins forbid calling `name`, if they do; an unreadable pin file
    /// forbids it too.
    fn pin_refusal(&self, name: &str, listing: Option<&Value>) -> Option<String> {
        let _guard = lock(&self.pins_lock);
        match Pins::load(&self.config.pin_file, &self.config.server) {
            Ok(pins) => pins.refusal(&self.config.server, name, listing),
            Err(e) => Some(format!(
                "{e:#}; until then no tool of `{}` is called",
                self.config.server
            )),
        }
    }

    /// Reads the server until it closes its output. Returns whether the client had
    /// closed first (an orderly end).
    pub fn server_loop(&self, output: ChildStdout) -> bool {
        let mut output = BufReader::with_capacity(64 * 1024, output);
        loop {
            match next_frame(&mut output, self.config.max_message) {
                Ok(Frame::Line(line)) => self.on_server_message(line),
                Ok(Frame::TooLong(n)) => eprintln!(
                    "airlock mcp: the MCP server `{}` sent a message of {n} bytes, over the limit of {} bytes; it was dropped",
                    self.config.server, self.config.max_message
                ),
                Ok(Frame::Eof) => break,
                Err(e) => {
                    eprintln!("airlock mcp: cannot read the MCP server: {e}");
                    break;
                }
            }
        }
        *lock(&self.to_server) = None;
        let orderly = self.client_closed.load(Ordering::SeqCst);
        let pending: Vec<(String, Pending)> = lock(&self.pending).drain().collect();
        for (key, p) in pending {
            let id: Value = serde_json::from_str(&key).unwrap_or(Value::Null);
            let message = format!(
                "airlock: the MCP server `{}` exited before answering this {}; restart the session",
                self.config.server, p.method
            );
            match p.task {
                Some(task) => self.tasks.answer(
                    &task,
                    &json!({"error": {"code": UPSTREAM_GONE, "message": message}}),
                    &jiff::Timestamp::now().to_string(),
                ),
                None => self.error(&id, UPSTREAM_GONE, &message),
            }
        }
        orderly
    }

    fn on_server_message(&self, line: Vec<u8>) {
        let Ok(msg) = serde_json::from_slice::<Value>(&line) else {
            eprintln!(
                "airlock mcp: the MCP server `{}` wrote a line that is not JSON; it was dropped: {}",
                self.config.server,
                String::from_utf8_lossy(&line)
                    .chars()
                    .take(200)
                    .collect::<String>()
            );
            return;
        };
        let is_answer = msg.get("method").is_none()
            && (msg.get("result").is_some() || msg.get("error").is_some());
        let Some(id) = msg.get("id").filter(|_| is_answer) else {
            // The server's own requests and notifications go to the client as they are.
            return self.send_client(&line);
        };
        let key = id_key(id);
        let pending = lock(&self.pending).remove(&key);
        if let Some(task) = pending.as_ref().and_then(|p| p.task.as_deref()) {
            return self
                .tasks
                .answer(task, &msg, &jiff::Timestamp::now().to_string());
        }
        match pending {
            // The 2026-07-28 lifecycle's `server/discover` answers with the tool
            // list too: it is pinned and filtered the same, or it would bypass both.
            Some(p) if p.method == "tools/list" || p.method == "server/discover" => {
                let mut filtered = self.tools_list(msg);
                if p.method == "server/discover"
                    && let Some(result) = filtered.get_mut("result")
                {
                    crate::tasks::declare_in(result);
                }
                self.send_client_json(&filtered);
            }
            // The gateway tells the client when a human releases a quarantined
            // tool: it says it will.
            Some(p) if p.method == "initialize" => {
                let mut msg = msg;
                if let Some(tools) = msg
                    .get_mut("result")
                    .and_then(|r| r.get_mut("capabilities"))
                    .and_then(|c| c.get_mut("tools"))
                    .and_then(Value::as_object_mut)
                {
                    tools.insert("listChanged".into(), Value::Bool(true));
                }
                if let Some(result) = msg.get_mut("result") {
                    crate::tasks::declare_in(result);
                }
                self.send_client_json(&msg);
            }
            Some(_) => self.send_client(&line),
            None if lock(&self.expired).remove(&key) => {
                eprintln!("airlock mcp: a late answer to request {key} (timed out) was dropped")
            }
            None => self.send_client(&line),
        }
    }

    /// A `tools/list` answer: each tool pinned, changed tools quarantined, tools
    /// the policy always denies left out.
    fn tools_list(&self, mut msg: Value) -> Value {
        let listed = {
            let mut seen = lock(&self.tools);
            crate::pins::listed_tools(&mut msg, |name, tool| {
                seen.insert(name.to_owned(), tool.clone());
            })
        };
        let Some(tools) = listed else {
            return msg;
        };
        let now = jiff::Timestamp::now().to_string();
        let told = {
            let _guard = lock(&self.pins_lock);
            crate::pins::screen(&self.config.pin_file, &self.config.server, tools, &now)
        };
        for t in told {
            eprintln!("airlock mcp: {t}");
        }
        tools.retain(|tool| {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
            !self.decider.always_denied(name, tool)
        });
        self.watch_pins();
        msg
    }

    /// Announces `notifications/tools/list_changed` when a tool left quarantine
    /// since the last look (`airlock mcp approve-tool` rewrote the pin file).
    /// Called every 100 ms and after each listing (so that a quarantine and its
    /// release in quick succession are both seen); the pin file is small.
    pub fn watch_pins(&self) {
        let now: Vec<String> = {
            let _guard = lock(&self.pins_lock);
            match Pins::load(&self.config.pin_file, &self.config.server) {
                Ok(p) => p.quarantined.into_keys().collect(),
                Err(_) => return,
            }
        };
        let mut seen = lock(&self.quarantine_seen);
        let released = seen
            .as_ref()
            .is_some_and(|before| before.iter().any(|t| !now.contains(t)));
        *seen = Some(now);
        drop(seen);
        if released {
            self.send_client_json(&json!({
                "jsonrpc": "2.0", "method": "notifications/tools/list_changed"
            }));
        }
    }

    /// Answers calls the server has not answered within the call timeout.
    pub fn expire_calls(&self) {
        let now = Instant::now();
        let late: Vec<(String, Option<String>)> = {
            let mut pending = lock(&self.pending);
            let keys: Vec<String> = pending
                .iter()
                .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .map(|k| {
                    let task = pending.remove(&k).and_then(|p| p.task);
                    (k, task)
                })
                .collect()
        };
        for (key, task) in late {
            lock(&self.expired).insert(key.clone());
            let id: Value = serde_json::from_str(&key).unwrap_or(Value::Null);
            // Tell the server too, so that it can stop the work.
            self.send_server(
                json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": id, "reason": "airlock: timed out"}})
                .to_string()
                .as_bytes(),
            );
            let message = format!(
                "airlock: the MCP server `{}` did not answer this tools/call within {} s (--call-timeout); it may still have run",
                self.config.server,
                self.config.call_timeout.as_secs()
            );
            match task {
                Some(task) => self.tasks.answer(
                    &task,
                    &json!({"error": {"code": UPSTREAM_TIMEOUT, "message": message}}),
                    &jiff::Timestamp::now().to_string(),
                ),
                None => self.error(&id, UPSTREAM_TIMEOUT, &message),
            }
        }
    }
}

/// A `tools/call`'s params: a `name` string and `arguments` (an object, or absent).
pub(crate) fn call_shape(params: Option<&Value>) -> Result<(String, Map<String, Value>), String> {
    let Some(Value::Object(p)) = params else {
        return Err("tools/call needs params: {\"name\": TOOL, \"arguments\": {…}}".into());
    };
    let Some(name) = p.get("name").and_then(Value::as_str) else {
        return Err("tools/call params need a `name` string".into());
    };
    let arguments = match p.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => return Err("tools/call `arguments` must be an object".into()),
    };
    Ok((name.to_owned(), arguments))
}

/// Waits for the server to exit after its input was closed, killing it after
/// `grace`.
pub fn reap(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                return child.wait().ok();
            }
            Err(_) => return None,
        }
    }
}
