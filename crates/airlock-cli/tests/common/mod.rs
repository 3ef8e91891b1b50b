//! The harness the service tests share: start the real `airlock` binary on a free
//! port (SQLite in a directory, or a replica on PostgreSQL), talk HTTP/1.1 to it.

#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub admin: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn data_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("airlock-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Starts `airlock serve` on a free port and reads its address (and, on a fresh
/// store, the admin token) from stderr.
pub fn start(dir: &Path) -> Server {
    launch(serve_cmd(dir))
}

/// `airlock serve` on SQLite in `dir`, on a free port, with nothing taken from the
/// environment of whoever runs the tests.
pub fn serve_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env_remove("AIRLOCK_POSTGRES_URL")
        .env_remove("AIRLOCK_ADMIN_TOKEN")
        .env_remove("AIRLOCK_POLICY")
        .env_remove("AIRLOCK_WEBHOOK_URL");
    cmd
}

/// Writes the built-in default policy, changed by `edit`, to `dir/policy.yaml`.
pub fn write_policy(dir: &Path, edit: &dyn Fn(String) -> String) -> PathBuf {
    let default = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["policy", "default"])
        .output()
        .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("policy.yaml");
    std::fs::write(&path, edit(String::from_utf8(default.stdout).unwrap())).unwrap();
    path
}

/// A name no other run uses (tenants on the shared PostgreSQL).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}{}x{nanos}", std::process::id())
}

/// `airlock serve` on the built-in default policy with approvals that time out
/// after `timeout` (the only change).
pub fn start_with_timeout(dir: &Path, timeout: &str) -> Server {
    start_with_policy(dir, &|p| {
        p.replace("timeout: 1h", &format!("timeout: {timeout}"))
    })
}

/// `airlock serve` on the built-in default policy changed by `edit`.
pub fn start_with_policy(dir: &Path, edit: &dyn Fn(String) -> String) -> Server {
    let path = write_policy(dir, edit);
    let mut cmd = serve_cmd(dir);
    cmd.arg("--policy").arg(&path);
    launch(cmd)
}

/// A replica on the shared PostgreSQL, administered by `admin_token` in `tenant`.
pub fn start_replica(url: &str, tenant: &str, admin_token: &str) -> Server {
    start_replica_with(url, tenant, admin_token, None)
}

pub fn start_replica_with(
    url: &str,
    tenant: &str,
    admin_token: &str,
    policy: Option<&Path>,
) -> Server {
    // Each replica keeps its own ledger, in a directory of its own.
    start_replica_in(
        &data_dir(&unique("replica")),
        url,
        tenant,
        admin_token,
        policy,
    )
}

/// A replica on PostgreSQL keeping its ledger in `dir`.
pub fn start_replica_in(
    dir: &Path,
    url: &str,
    tenant: &str,
    admin_token: &str,
    policy: Option<&Path>,
) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--postgres",
        url,
        "--admin-tenant",
        tenant,
        "--data-dir",
    ])
    .arg(dir)
    .env("AIRLOCK_ADMIN_TOKEN", admin_token);
    if let Some(p) = policy {
        cmd.arg("--policy").arg(p);
    }
    let mut s = launch(cmd);
    s.admin = Some(admin_token.to_owned());
    s
}

pub fn launch(mut cmd: Command) -> Server {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn airlock serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = None;
    let mut admin = None;
    let mut token_next = false;
    while let Some(Ok(line)) = lines.next() {
        if token_next {
            admin = Some(line.trim().to_owned());
            token_next = false;
        } else if line.contains("admin token") {
            token_next = true;
        } else if let Some(rest) = line.strip_prefix("airlock: serving on http://") {
            addr = Some(rest.split_whitespace().next().unwrap().to_owned());
            break;
        }
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        addr: addr.expect("the server printed its address"),
        admin,
    }
}

/// One HTTP/1.1 request; returns the status and the JSON body.
pub fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(70))).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status: u16 = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // Chunked bodies (axum streams JSON with a length, but be tolerant).
    let json = serde_json::from_str(body.trim())
        .or_else(|_| serde_json::from_str(dechunk(body).trim()))
        .unwrap_or(Value::Null);
    (status, json)
}

pub fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn bash(cmd: &str) -> String {
    json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": cmd}})
        .to_string()
}

/// A human approver in the default policy's `approvers` group (who may also view).
pub fn new_approver(s: &Server, name: &str) -> String {
    new_key(
        s,
        "/v1/humans",
        json!({"name": name, "roles": ["approver", "viewer", "group:approvers"]}),
    )
}

pub fn new_key(s: &Server, path: &str, body: Value) -> String {
    let (code, v) = http(&s.addr, "POST", path, s.admin.as_deref(), &body.to_string());
    assert_eq!(code, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------
// Shared by isolation.rs, bad_input.rs and crash.rs: one test body run on SQLite
// and (when `AIRLOCK_TEST_POSTGRES_URL` is set) on PostgreSQL, and a raw HTTP
// client that never panics on a short or plain-text answer.

/// The store a test's service runs on. `dir` holds the SQLite store (for SQLite)
/// and the test's policy file (for both).
#[derive(Debug, Clone)]
pub struct Backend {
    pub postgres: Option<String>,
    pub dir: PathBuf,
}

impl Backend {
    /// SQLite in a fresh directory named after the test.
    pub fn sqlite(name: &str) -> Backend {
        Backend {
            postgres: None,
            dir: data_dir(name),
        }
    }

    /// The shared PostgreSQL of `AIRLOCK_TEST_POSTGRES_URL`, if set.
    pub fn postgres(name: &str) -> Option<Backend> {
        let url = std::env::var("AIRLOCK_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        Some(Backend {
            postgres: Some(url),
            dir: data_dir(name),
        })
    }

    pub fn label(&self) -> &'static str {
        if self.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// `airlock serve` on this store, administering `tenant` with `admin_token` (the
    /// `admin` human is created with that token if it has no credential yet), on
    /// the policy file `policy` or the built-in default.
    pub fn start(&self, tenant: &str, admin_token: &str, policy: Option<&Path>) -> Server {
        let mut s = match &self.postgres {
            // One after another, a test's replicas share its directory (and ledger).
            Some(url) => start_replica_in(&self.dir, url, tenant, admin_token, policy),
            None => {
                let mut cmd = serve_cmd(&self.dir);
                cmd.args(["--admin-tenant", tenant])
                    .env("AIRLOCK_ADMIN_TOKEN", admin_token);
                if let Some(p) = policy {
                    cmd.arg("--policy").arg(p);
                }
                launch(cmd)
            }
        };
        s.admin = Some(admin_token.to_owned());
        s
    }

    /// Writes the built-in default policy changed by `edit` into this test's
    /// directory and returns its path.
    pub fn policy(&self, edit: &dyn Fn(String) -> String) -> PathBuf {
        write_policy(&self.dir, edit)
    }
}

/// Runs a test body once per backend: `mod NAME { sqlite, postgres }`. The
/// PostgreSQL run is skipped (with a note) when `AIRLOCK_TEST_POSTGRES_URL` is unset.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$body($crate::common::Backend::sqlite(concat!(
                    stringify!($name),
                    "-sqlite"
                )));
            }
            #[test]
            fn postgres() {
                match $crate::common::Backend::postgres(concat!(stringify!($name), "-pg")) {
                    Some(b) => super::$body(b),
                    None => eprintln!(
                        "AIRLOCK_TEST_POSTGRES_URL is not set: {} runs on SQLite only",
                        stringify!($name)
                    ),
                }
            }
        }
    };
}

/// A whole HTTP answer: status, content type, body text, and the body as JSON
/// (`Null` when it is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// The `Mcp-Session-Id` header, if any.
    pub session: Option<String>,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// The `error` message of a JSON error body, if there is one.
    pub fn error(&self) -> Option<&str> {
        self.json.get("error").and_then(Value::as_str)
    }
}

/// One HTTP/1.1 request with exactly these extra headers and this body. Never
/// panics: a refused connection or an answer cut short is an `Err`. Write errors
/// are ignored (a server may answer, e.g. 413, before reading the whole body).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(70)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    let _ = s.write_all(&out);
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A signal (a child process ending) interrupts a blocking read.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A reset after a complete answer (the server closed with our body
            // unread) still leaves that answer.
            Err(e) if !raw.is_empty() && e.kind() != std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    // Skip interim answers (`100 Continue`).
    let mut rest = text.as_str();
    while rest.starts_with("HTTP/1.1 1") {
        match rest.split_once("\r\n\r\n") {
            Some((_, after)) => rest = after,
            None => break,
        }
    }
    let bad = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no complete answer");
    let (head, body) = rest.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status: u16 = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let body = if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        dechunk(body)
    } else {
        body.to_owned()
    };
    if let Some(n) = header("content-length").and_then(|n| n.parse::<usize>().ok())
        && body.len() < n
    {
        return Err(bad());
    }
    Ok(Reply {
        status,
        content_type: header("content-type").unwrap_or_default(),
        session: header("mcp-session-id"),
        json: serde_json::from_str(body.trim()).unwrap_or(Value::Null),
        text: body,
    })
}

/// [`request`] with a bearer token (if any) and a JSON body.
pub fn call(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> Reply {
    try_call(addr, method, path, token, body)
        .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"))
}

/// [`call`], but a refused or cut connection is an `Err` (the server may be gone).
pub fn try_call(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> std::io::Result<Reply> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    request(addr, method, path, &headers, body.as_bytes())
}

/// Polls `f` every 50 ms until it returns `Some`, or panics with `what` after
/// `limit`.
pub fn poll<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t = std::time::Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An answer, cut for a failure message.
pub fn short(text: &str) -> String {
    let t: String = text.chars().take(240).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}

/// What differs between two JSON objects, key by key (for failure messages).
pub fn changes(before: &Value, after: &Value) -> String {
    let keys = before
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    keys.iter()
        .filter(|k| before[k.as_str()] != after[k.as_str()])
        .map(|k| format!("\n  {k}: {} -> {}", before[k.as_str()], after[k.as_str()]))
        .collect()
}

/// A plan of one `ls`: asks whether the agent could act (a halt shows) and
/// records nothing.
pub fn plan_ls() -> String {
    json!({"steps": [serde_json::from_str::<Value>(&bash("ls")).unwrap()]}).to_string()
}

/// A tenant's records `[id, agent, status, votes]` and the status of the listing,
/// sorted, as `admin` sees them: part of what a refused request must leave as it was.
pub fn records_seen(addr: &str, admin: &str) -> Value {
    let list = call(
        addr,
        "GET",
        "/v1/approvals?status=any&limit=1000",
        Some(admin),
        "",
    );
    let mut records: Vec<Value> = list.json["approvals"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|r| json!([r["id"], r["agent"], r["status"], r["votes"]]))
                .collect()
        })
        .unwrap_or_default();
    records.sort_by_key(Value::to_string);
    json!([list.status, records])
}

/// A tenant's agents or humans (`path`: `/v1/agents` or `/v1/humans`) as
/// `[name, roles, revoked]`, sorted, with the listing's status.
pub fn principals_seen(addr: &str, admin: &str, path: &str) -> Value {
    let r = call(addr, "GET", path, Some(admin), "");
    let mut items: Vec<Value> = r.json["items"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|p| json!([p["name"], p["roles"], p["revoked"]]))
                .collect()
        })
        .unwrap_or_default();
    items.sort_by_key(Value::to_string);
    json!([r.status, items])
}

/// The spot-check queue in one review state as `[id, review]`, sorted, with the
/// listing's status.
pub fn reviews_seen(addr: &str, viewer: &str, state: &str) -> Value {
    let r = call(
        addr,
        "GET",
        &format!("/v1/reviews?state={state}"),
        Some(viewer),
        "",
    );
    let mut ids: Vec<Value> = r.json["reviews"]
        .as_array()
        .map(|v| v.iter().map(|x| json!([x["id"], x["review"]])).collect())
        .unwrap_or_default();
    ids.sort_by_key(Value::to_string);
    json!([r.status, ids])
}

/// What a one-step plan (`ls`) gets for this agent key: whether it is halted.
pub fn plan_seen(addr: &str, key: &str) -> Value {
    let r = call(addr, "POST", "/v1/plans", Some(key), &plan_ls());
    json!([
        r.status,
        r.json["verdict"],
        r.json["steps"][0]["decision"]["rules"]
    ])
}

/// Every whole record of a ledger directory's `entries` file, in order (a torn
/// tail after a crash is left out, and the zeros the writer fills ahead of its
/// appends): `len (u32 BE) ‖ entry ‖ 8 check bytes`.
#[allow(dead_code)] // not every test binary reads a ledger
pub fn ledger_entries(dir: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(dir.join("entries")).unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= bytes.len() {
        if bytes[at..].iter().all(|b| *b == 0) {
            break;
        }
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let end = at + 4 + len;
        if end + 8 > bytes.len() {
            break;
        }
        out.push(bytes[at + 4..end].to_vec());
        at = end + 8;
    }
    out
}

/// The id of the next pending approval `approver` sees, waiting up to 30 s for
/// one to appear.
pub fn next_pending(addr: &str, approver: &str) -> String {
    poll(Duration::from_secs(30), "a pending approval", || {
        let r = call(
            addr,
            "GET",
            "/v1/approvals?status=pending",
            Some(approver),
            "",
        );
        r.json["approvals"][0]["id"].as_str().map(str::to_owned)
    })
}

/// `approver` votes on approval `id`: `approve` or `reject`; the vote must be
/// taken.
pub fn vote(addr: &str, approver: &str, id: &str, verb: &str) {
    let r = call(
        addr,
        "POST",
        &format!("/v1/approvals/{id}/{verb}"),
        Some(approver),
        "{}",
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Approves (or rejects) the next pending approval from another thread, while
/// the test waits on the call it holds; the thread answers the approval's id.
pub fn decide_next(
    addr: &str,
    approver: &str,
    verb: &'static str,
) -> std::thread::JoinHandle<String> {
    let (addr, approver) = (addr.to_owned(), approver.to_owned());
    std::thread::spawn(move || {
        let id = next_pending(&addr, &approver);
        vote(&addr, &approver, &id, verb);
        id
    })
}
