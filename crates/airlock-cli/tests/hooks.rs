//! `airlock hook AGENT`, driven the way each agent runs it: its payload on stdin,
//! its verdict read from stdout, stderr and the exit code. Locally (the built-in
//! policy, a local ledger) and against a running service (holds waited on,
//! approved, rejected, timed out; the service down fails closed).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

fn hook(agent: &str, payload: &str, env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
    cmd.args(["hook", agent])
        .env_remove("AIRLOCK_SERVER")
        .env_remove("AIRLOCK_AGENT_KEY")
        .env_remove("AIRLOCK_POLICY")
        .env_remove("AIRLOCK_AGENT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // The hook stops reading past its limit: a broken pipe here is its refusal.
    let _ = child.stdin.take().unwrap().write_all(payload.as_bytes());
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn claude(cmd: &str) -> String {
    json!({"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": cmd}, "cwd": "/home/dev/app", "tool_use_id": "t1"})
    .to_string()
}

fn claude_decision(o: &Out) -> (String, String) {
    let v = o.json();
    let h = &v["hookSpecificOutput"];
    assert_eq!(h["hookEventName"], "PreToolUse", "{v}");
    (
        h["permissionDecision"].as_str().unwrap().to_owned(),
        h["permissionDecisionReason"].as_str().unwrap().to_owned(),
    )
}

/// Each agent's payload for the same three calls (a read, a deletion held for
/// approval, the Kiro incident's stack deletion), decided here with the built-in
/// policy, answered in the agent's own format; every decision in the local ledger,
/// which verifies with its public key.
#[test]
fn every_agent_gets_the_policys_verdict_in_its_own_format() {
    let home = data_dir("hooks-local");
    std::fs::create_dir_all(&home).unwrap();
    let env = [("AIRLOCK_HOOK_LEDGER", home.to_str().unwrap())];
    let teardown =
        "aws cloudformation delete-stack --stack-name cost-explorer-prod --region cn-northwest-1";

    // Claude Code: JSON, exit 0, `ask` for a hold.
    for (cmd, want) in [
        ("ls -la", "allow"),
        ("kubectl delete deployment api -n prod", "ask"),
        (teardown, "deny"),
    ] {
        let o = hook("claude-code", &claude(cmd), &env);
        assert_eq!(o.code, 0, "{cmd}: {}", o.stderr);
        let (decision, reason) = claude_decision(&o);
        assert_eq!(decision, want, "{cmd}: {reason}");
    }

    // Cursor: `permission`, exit 0.
    let cursor = |cmd: &str| {
        json!({"hook_event_name": "beforeShellExecution", "conversation_id": "c", "generation_id": "g",
            "workspace_roots": ["/home/dev/app"], "command": cmd, "cwd": "/home/dev/app"})
        .to_string()
    };
    for (cmd, want) in [
        ("ls -la", "allow"),
        ("kubectl delete deployment api -n prod", "ask"),
        (teardown, "deny"),
    ] {
        let o = hook("cursor", &cursor(cmd), &env);
        assert_eq!(
            (o.code, o.json()["permission"].as_str()),
            (0, Some(want)),
            "{cmd}: {}",
            o.stdout
        );
    }
    let mcp = json!({"hook_event_name": "beforeMCPExecution", "tool_name": "MCP:db:drop_table",
        "tool_input": "{\"table\": \"users\"}", "workspace_roots": ["/home/dev/app"]});
    let o = hook("cursor", &mcp.to_string(), &env);
    assert_ne!(
        o.json()["permission"],
        "allow",
        "an MCP drop is not let through: {}",
        o.stdout
    );

    // Codex, Gemini, Kiro: exit 0 lets through, exit 2 blocks with the reason on
    // stderr; a hold is a denial (they cannot ask), saying so.
    let codex = |cmd: &str| {
        json!({"session_id": "s", "hook_event_name": "PreToolUse", "cwd": "/home/dev/app", "model": "gpt-5",
            "tool_name": "shell", "tool_input": {"command": ["bash", "-lc", cmd]}})
        .to_string()
    };
    let gemini = |cmd: &str| {
        json!({"session_id": "s", "cwd": "/home/dev/app", "hook_event_name": "BeforeTool",
            "timestamp": "2026-12-06T10:00:00Z", "tool_name": "run_shell_command", "tool_input": {"command": cmd}})
        .to_string()
    };
    let kiro = |cmd: &str| {
        json!({"hook_event_name": "preToolUse", "cwd": "/home/dev/app", "tool_name": "execute_bash",
            "tool_input": {"command": cmd}})
        .to_string()
    };
    for (agent, payload) in [
        ("codex", &codex as &dyn Fn(&str) -> String),
        ("gemini", &gemini),
        ("kiro", &kiro),
    ] {
        let o = hook(agent, &payload("ls -la"), &env);
        assert_eq!(o.code, 0, "{agent}: {}", o.stderr);
        let o = hook(
            agent,
            &payload("kubectl delete deployment api -n prod"),
            &env,
        );
        assert_eq!(o.code, 2, "{agent}: {}", o.stdout);
        assert!(o.stderr.contains("cannot ask"), "{agent}: {}", o.stderr);
        let o = hook(agent, &payload(teardown), &env);
        assert_eq!(o.code, 2, "{agent}");
        assert!(
            o.stderr.contains("never deleted or recreated"),
            "{agent}: {}",
            o.stderr
        );
    }
    // Kiro's own AWS tool: the incident, as Kiro would have sent it.
    let use_aws = json!({"hook_event_name": "preToolUse", "tool_name": "use_aws",
        "tool_input": {"service_name": "cloudformation", "operation_name": "DeleteStack",
            "parameters": {"StackName": "cost-explorer-prod"}, "region": "cn-northwest-1",
            "label": "recreate the stack to clear drift"}});
    let o = hook("kiro", &use_aws.to_string(), &env);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("cost-explorer-prod"), "{}", o.stderr);

    // Every one of those decisions is in the local ledger, signed.
    let verify = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["audit", "verify"])
        .arg(home.join("ledger"))
        .arg("--key")
        .arg(format!("@{}", home.join("ledger.vkey").display()))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    // 3 Claude Code, 4 Cursor, 3 each for Codex, Gemini and Kiro, Kiro's use_aws.
    assert!(report.contains("checkpoint: 17 entries"), "{report}");
}

/// What cannot be read is denied, in the agent's format, never let through.
#[test]
fn unreadable_payloads_are_denied() {
    let home = data_dir("hooks-garbage");
    let env = [("AIRLOCK_HOOK_LEDGER", home.to_str().unwrap())];
    for payload in [
        "",
        "not json",
        "[1,2]",
        r#"{"hook_event_name":"PostToolUse","tool_name":"Bash"}"#,
    ] {
        let o = hook("claude-code", payload, &env);
        assert_eq!(claude_decision(&o).0, "deny", "{payload:?}");
        let o = hook("cursor", payload, &env);
        assert_eq!(o.json()["permission"], "deny", "{payload:?}");
        for agent in ["codex", "gemini", "kiro"] {
            let o = hook(agent, payload, &env);
            assert_eq!(o.code, 2, "{agent} {payload:?}");
            assert!(o.stderr.contains("denied"), "{agent}: {}", o.stderr);
        }
    }
    let o = hook("claude-code", &"x".repeat(2 << 20), &env);
    assert_eq!(claude_decision(&o).0, "deny");
}

/// With a service: a read goes through; a deletion is held, and the hook waits:
/// approved, it goes through (the approval used); rejected, or not approved
/// before the hook's time runs out, it is denied with the request's id.
#[test]
fn against_a_service_holds_are_waited_on() {
    let dir = data_dir("hooks-service");
    let root = unique("al_root_");
    let s = Backend::sqlite("hooks-service").start("default", &root, None);
    let _ = dir;
    let key = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let alice = new_approver(&s, "alice");
    let server = format!("http://{}", s.addr);
    let env = |timeout: &'static str| {
        vec![
            ("AIRLOCK_SERVER", server.clone()),
            ("AIRLOCK_AGENT_KEY", key.clone()),
            ("AIRLOCK_HOOK_TIMEOUT", timeout.to_owned()),
        ]
    };
    let run = |cmd: &str, timeout: &'static str| {
        let env = env(timeout);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        hook("claude-code", &claude(cmd), &env)
    };

    assert_eq!(claude_decision(&run("ls", "10")).0, "allow");

    // Approved while the hook waits: it goes through.
    let approver = vote_when(&s.addr, &alice, 1, "approve", false);
    let o = run("kubectl delete deployment api -n prod", "20");
    let id = approver.join().unwrap().remove(0);
    let (decision, reason) = claude_decision(&o);
    assert_eq!(decision, "allow", "{reason}");
    let (_, status) = http(&s.addr, "GET", &format!("/v1/actions/{id}"), Some(&key), "");
    assert_eq!(
        status["status"], "consumed",
        "the approval was used: {status}"
    );

    // Not approved in time: denied, naming the request.
    let t = Instant::now();
    let o = run("kubectl delete deployment worker -n prod", "3");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "the hook kept to its time"
    );
    let (decision, reason) = claude_decision(&o);
    assert_eq!(decision, "deny");
    assert!(
        reason.contains("held for approval as act_")
            && reason.contains("airlock approvals approve"),
        "{reason}"
    );

    // Rejected while the hook waits: denied.
    let rejecter = vote_when(&s.addr, &alice, 2, "reject", true);
    let o = run("kubectl delete deployment cache -n prod", "20");
    rejecter.join().unwrap();
    let (decision, reason) = claude_decision(&o);
    assert_eq!(decision, "deny");
    assert!(reason.contains("rejected"), "{reason}");
}

/// The service down: every agent's hook denies, at once, in its own format.
#[test]
fn the_service_down_fails_closed() {
    let env = [
        ("AIRLOCK_SERVER", "http://127.0.0.1:9"),
        ("AIRLOCK_AGENT_KEY", "al_x"),
        ("AIRLOCK_HOOK_TIMEOUT", "5"),
    ];
    let t = Instant::now();
    let (decision, reason) = claude_decision(&hook("claude-code", &claude("ls"), &env));
    assert_eq!(decision, "deny", "{reason}");
    assert!(reason.contains("did not answer"), "{reason}");
    let o = hook(
        "cursor",
        &json!({"hook_event_name": "beforeShellExecution", "command": "ls"}).to_string(),
        &env,
    );
    assert_eq!(o.json()["permission"], "deny");
    let o = hook("kiro", &json!({"hook_event_name": "preToolUse", "tool_name": "execute_bash", "tool_input": {"command": "ls"}}).to_string(), &env);
    assert_eq!(o.code, 2);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    // A server without a key is a configuration error: denied too.
    let o = hook(
        "claude-code",
        &claude("ls"),
        &[("AIRLOCK_SERVER", "http://127.0.0.1:9")],
    );
    let (decision, reason) = claude_decision(&o);
    assert_eq!(decision, "deny");
    assert!(reason.contains("AIRLOCK_AGENT_KEY"), "{reason}");
}

/// Claude Code's `http` hook type, served by the service: the same verdicts, in the
/// hook's JSON, a held call waited on and used once approved; a human's token is
/// refused (nothing is decided for it).
#[test]
fn claude_codes_http_hook_is_served_by_the_service() {
    let root = unique("al_root_");
    let s = Backend::sqlite("hooks-http").start("default", &root, None);
    let key = new_key(&s, "/v1/agents", json!({"name": "kiro"}));
    let alice = new_approver(&s, "alice");
    let decide = |cmd: &str, wait: &str| {
        let (code, v) = http(
            &s.addr,
            "POST",
            &format!("/v1/hooks/claude-code?wait={wait}"),
            Some(&key),
            &claude(cmd),
        );
        assert_eq!(code, 200, "{v}");
        (
            v["hookSpecificOutput"]["permissionDecision"]
                .as_str()
                .unwrap()
                .to_owned(),
            v["hookSpecificOutput"]["permissionDecisionReason"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    assert_eq!(decide("ls", "1s").0, "allow");
    let (d, reason) = decide(
        "aws iam attach-role-policy --role-name x --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
        "1s",
    );
    assert_eq!(d, "deny", "{reason}");
    let (d, reason) = decide("kubectl delete deployment api -n prod", "1s");
    assert_eq!(d, "deny");
    assert!(reason.contains("held for approval as act_"), "{reason}");
    let approver = vote_when(&s.addr, &alice, 2, "approve", false);
    let (d, reason) = decide("kubectl delete deployment worker -n prod", "20s");
    approver.join().unwrap();
    assert_eq!(d, "allow", "{reason}");
    let (code, v) = http(
        &s.addr,
        "POST",
        "/v1/hooks/claude-code",
        Some(&alice),
        &claude("ls"),
    );
    assert_eq!(code, 403, "{v}");
    let (code, _) = http(
        &s.addr,
        "POST",
        "/v1/hooks/claude-code",
        None,
        &claude("ls"),
    );
    assert_eq!(code, 401);
    let (code, v) = http(
        &s.addr,
        "POST",
        "/v1/hooks/claude-code?wait=1s",
        Some(&key),
        "not json",
    );
    assert_eq!(code, 200);
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "deny", "{v}");
}

/// A service that takes the connection but never answers: the hook gives up within
/// its time and denies, it does not hang the agent.
#[test]
fn a_service_that_never_answers_is_a_denial_in_time() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", silent.local_addr().unwrap());
    let env = [
        ("AIRLOCK_SERVER", addr.as_str()),
        ("AIRLOCK_AGENT_KEY", "al_x"),
        ("AIRLOCK_HOOK_TIMEOUT", "2"),
    ];
    let t = Instant::now();
    let o = hook("claude-code", &claude("ls"), &env);
    let took = t.elapsed();
    let (decision, reason) = claude_decision(&o);
    assert_eq!(decision, "deny", "{reason}");
    assert!(
        took < Duration::from_secs(5),
        "the hook kept to its 2 s: {took:?}"
    );
    let o = hook("kiro", &json!({"hook_event_name": "preToolUse", "tool_name": "execute_bash", "tool_input": {"command": "ls"}}).to_string(), &env);
    assert_eq!(o.code, 2, "{}", o.stderr);
    drop(silent);
}

/// A human (`token`) who, once at least `at_least` requests are pending, votes
/// `verb` on the newest (or on all of them) and says which.
fn vote_when(
    addr: &str,
    token: &str,
    at_least: usize,
    verb: &'static str,
    all: bool,
) -> std::thread::JoinHandle<Vec<String>> {
    let (addr, token) = (addr.to_owned(), token.to_owned());
    std::thread::spawn(move || {
        let t = Instant::now();
        loop {
            // Newest first.
            let (_, list) = http(&addr, "GET", "/v1/approvals", Some(&token), "");
            let mut ids: Vec<String> = list["approvals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned())
                .collect();
            if ids.len() >= at_least {
                ids.truncate(if all { ids.len() } else { 1 });
                for id in &ids {
                    let (code, v) = http(
                        &addr,
                        "POST",
                        &format!("/v1/approvals/{id}/{verb}"),
                        Some(&token),
                        r#"{"comment":"from the test"}"#,
                    );
                    assert_eq!(code, 200, "{v}");
                }
                return ids;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "no request to {verb}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}
