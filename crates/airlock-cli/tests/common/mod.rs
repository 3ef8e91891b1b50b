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
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--postgres",
        url,
        "--admin-tenant",
        tenant,
    ])
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

pub fn new_key(s: &Server, path: &str, body: Value) -> String {
    let (code, v) = http(&s.addr, "POST", path, s.admin.as_deref(), &body.to_string());
    assert_eq!(code, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}
