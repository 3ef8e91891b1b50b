//! The `airlock` binary, driven the way a user drives it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn airlock(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn airlock");
    // airlock may exit before reading stdin (an invalid policy, say): a broken pipe
    // here is expected, and the exit status and output tell what happened.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A scratch file unique to this test process.
fn scratch(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("airlock-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

const DELETE_PROD_STACK: &str = r#"{"id":"a1","who":{"agent":"kiro"},"what":{"tool":"aws","operation":"cloudformation:DeleteStack","effect":"delete"},"targets":[{"kind":"aws:cloudformation:stack","name":"prod-cost-explorer"}],"magnitude":{"resources":47}}"#;
const READ_METRICS: &str = r#"{"id":"a2","who":{"agent":"kiro"},"what":{"tool":"aws","operation":"ce:GetCostAndUsage","effect":"read"}}"#;
const WRITE_UNPLACED_BUCKET: &str = r#"{"id":"a3","who":{"agent":"kiro"},"what":{"tool":"aws","operation":"s3:PutObject","effect":"write"},"targets":[{"kind":"aws:s3:object","name":"billing-exports/x.csv"}]}"#;

#[test]
fn decide_prints_one_json_decision_per_json_line() {
    let input = format!("{DELETE_PROD_STACK}\n{READ_METRICS}\n{WRITE_UNPLACED_BUCKET}\n");
    let out = airlock(&["decide"], &input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], "a1");
    assert_eq!(lines[0]["decision"], "deny");
    assert!(
        lines[0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "no-environment-teardown")
    );
    assert!(lines[0]["reason"].as_str().unwrap().contains("production"));
    assert!(lines[0]["observed"].is_array());
    assert_eq!(lines[1]["decision"], "allow");
    // An unplaceable cloud resource counts as production: one approval.
    assert_eq!(lines[2]["decision"], "approve");
    assert_eq!(lines[2]["approval"]["requirements"][0]["approvals"], 1);
    assert_eq!(lines[2]["approval"]["on_timeout"], "deny");
    assert_eq!(lines[2]["placements"][0]["environment"], "production");
    assert_eq!(lines[2]["placements"][0]["by"], "unplaced");
}

#[test]
fn decide_accepts_one_pretty_printed_object() {
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(READ_METRICS).unwrap(),
    )
    .unwrap();
    let out = airlock(&["decide"], &pretty);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);
}

#[test]
fn malformed_json_exits_2_and_says_where() {
    let input = format!(
        "{READ_METRICS}\n{{\"who\": {{\"agent\": \"kiro\"}}, \"what\": oops}}\n{READ_METRICS}\n"
    );
    let out = airlock(&["decide"], &input);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("stdin:2:36"), "{err}");
    assert!(err.contains("malformed JSON"), "{err}");
}

#[test]
fn an_unknown_field_in_an_action_is_rejected_by_name() {
    let out = airlock(
        &["decide"],
        r#"{"who":{"agent":"kiro"},"what":{"tool":"aws","effect":"read","efect":"delete"}}"#,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown field `efect`"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_wrong_type_or_effect_is_rejected() {
    let out = airlock(
        &["decide"],
        r#"{"who":{"agent":"kiro"},"what":{"tool":"aws","effect":"destroy"}}"#,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown variant `destroy`"),
        "{}",
        text(&out.stderr)
    );
    let out = airlock(
        &["decide"],
        r#"{"who":{"agent":"kiro"},"what":{"tool":"aws","effect":"read"},"targets":"prod"}"#,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn empty_input_is_an_error_not_a_silent_success() {
    let out = airlock(&["decide"], "  \n");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no input found"));
}

#[test]
fn explain_prints_a_readable_trace() {
    let out = airlock(&["decide", "--explain"], DELETE_PROD_STACK);
    assert!(out.status.success());
    let t = text(&out.stdout);
    assert!(t.contains("environment production"), "{t}");
    assert!(t.contains("rule deletes matches: approve"), "{t}");
    assert!(t.contains("=> DENY"), "{t}");
}

#[test]
fn decide_with_an_invalid_policy_exits_2_and_decides_nothing() {
    let p = scratch("bad-policy.yaml", "airlock: 1\nname: x\nrulez: []\n");
    let out = airlock(&["decide", "--policy", p.to_str().unwrap()], READ_METRICS);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("bad-policy.yaml:3:1"), "{err}");
    assert!(err.contains("unknown field `rulez`"), "{err}");
}

#[test]
fn policy_check_reports_file_line_column_and_key() {
    let p = scratch(
        "check.yaml",
        "airlock: 1\nname: x\ndefaults:\n  unplaced: production\nenvironments:\n  - name: production\nrules:\n  - id: r\n    when: { environment: prdo }\n    then: deny\n",
    );
    let out = airlock(&["policy", "check", p.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("check.yaml:9:"), "{err}");
    assert!(
        err.contains("rules[0].when.environment: unknown environment `prdo`"),
        "{err}"
    );

    let out = airlock(&["policy", "check", "--json", p.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings[0]["line"], 9);
    assert_eq!(findings[0]["severity"], "error");
}

#[test]
fn policy_check_accepts_the_default_policy() {
    let out = airlock(&["policy", "default"], "");
    assert!(out.status.success());
    let p = scratch("default.yaml", &text(&out.stdout));
    let out = airlock(&["policy", "check", p.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok ("));
}

#[test]
fn test_reports_passes_and_failures_and_exits_non_zero_on_failure() {
    let cases = format!(
        "cases:\n  - name: reads pass\n    action: {READ_METRICS}\n    expect: allow\n    rule: reads\n  - name: wrong on purpose\n    action: {DELETE_PROD_STACK}\n    expect: allow\n"
    );
    let f = scratch("cases.test.yaml", &cases);
    let out = airlock(&["test", f.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out.stdout);
    assert!(t.trim_end().ends_with("1 passed, 1 failed"), "{t}");
    assert!(
        t.contains("FAIL")
            && t.contains("wrong on purpose")
            && t.contains("expected allow, got deny"),
        "{t}"
    );

    let ok =
        format!("cases:\n  - name: reads pass\n    action: {READ_METRICS}\n    expect: allow\n");
    let f = scratch("ok.test.yaml", &ok);
    let out = airlock(&["test", f.to_str().unwrap()], "");
    assert!(out.status.success());
    assert!(text(&out.stdout).trim_end().ends_with("1 passed, 0 failed"));
}

#[test]
fn test_checks_the_deciding_rule() {
    let cases = format!(
        "cases:\n  - name: right tier, wrong rule\n    action: {DELETE_PROD_STACK}\n    expect: deny\n    rule: permission-changes\n"
    );
    let f = scratch("rule.test.yaml", &cases);
    let out = airlock(&["test", f.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("expected rule `permission-changes` to decide"));
}

#[test]
fn a_malformed_test_file_is_an_error_with_its_location() {
    let f = scratch(
        "bad.test.yaml",
        "cases:\n  - name: x\n    expect: sometimes\n",
    );
    let out = airlock(&["test", f.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.test.yaml:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn schema_prints_json_schemas() {
    for which in ["action", "decision"] {
        let out = airlock(&["schema", which], "");
        assert!(out.status.success());
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(s["properties"].is_object(), "{s}");
    }
}

#[test]
fn the_committed_schemas_are_current() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema");
    for which in ["action", "decision"] {
        let out = airlock(&["schema", which], "");
        let committed =
            std::fs::read_to_string(root.join(format!("{which}.schema.json"))).unwrap_or_default();
        assert_eq!(
            text(&out.stdout),
            committed,
            "schema/{which}.schema.json is stale: run `cargo run -q -- schema {which} > schema/{which}.schema.json`"
        );
    }
}

#[test]
fn help_is_available_everywhere() {
    for args in [
        vec!["--help"],
        vec!["decide", "--help"],
        vec!["policy", "check", "--help"],
        vec!["test", "--help"],
        vec!["schema", "--help"],
    ] {
        let out = airlock(&args, "");
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage"), "{args:?}");
    }
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const HOOK_DELETE_ORDERS: &str = r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"psql -h prod-db -c \"DELETE FROM orders\" && echo done","description":"clean up"}}"#;

#[test]
fn classify_reports_effect_targets_and_every_part() {
    let out = airlock(&["classify"], HOOK_DELETE_ORDERS);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = &json_lines(&out)[0];
    assert_eq!(r["effect"], "delete");
    assert_eq!(r["effects"], serde_json::json!(["read", "delete"]));
    assert_eq!(r["bulk"], true, "DELETE without WHERE is unbounded");
    assert_eq!(r["tool"], "psql");
    let parts = r["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0]["text"], "DELETE FROM orders");
    assert!(parts[0]["why"].as_str().unwrap().contains("every row"));
    assert_eq!(parts[1]["effect"], "read");
    assert!(
        r["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["host"] == "prod-db" && t["name"] == "orders"),
        "{r}"
    );
}

#[test]
fn classify_reads_json_lines_of_mixed_inputs() {
    let input = format!(
        "{HOOK_DELETE_ORDERS}\n{}\n{}\n{READ_METRICS}\n",
        r#"{"name":"list_directory","arguments":{"path":"/srv"},"server":"filesystem"}"#,
        r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"if then fi ((("}}"#,
    );
    let out = airlock(&["classify"], &input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let effects: Vec<_> = json_lines(&out)
        .iter()
        .map(|r| r["effect"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(effects, ["delete", "read", "unknown", "read"]);
    let unparseable = &json_lines(&out)[2];
    assert!(
        unparseable["parts"][0]["why"]
            .as_str()
            .unwrap()
            .contains("cannot parse"),
        "an unparseable command is unknown with the reason: {unparseable}"
    );
}

#[test]
fn classify_rejects_malformed_json_saying_where() {
    let input = format!("{HOOK_DELETE_ORDERS}\n{{\"tool_name\": oops}}\n");
    let out = airlock(&["classify"], &input);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("stdin:2:15"), "{err}");
    let out = airlock(&["classify"], r#"{"colour":"blue"}"#);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unrecognised input"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn decide_classifies_raw_calls_then_decides() {
    let call = r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"kubectl delete ns production"}}"#;
    let out = airlock(&["decide", "--agent", "kiro"], call);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let d = &json_lines(&out)[0];
    assert_eq!(d["effect"], "delete");
    assert_ne!(d["decision"], "allow", "{d}");
    let read = r#"{"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"/home/dev/app/README.md"},"cwd":"/home/dev/app"}"#;
    let out = airlock(&["decide", "--agent", "kiro"], read);
    assert_eq!(json_lines(&out)[0]["effect"], "read");
}

#[test]
fn decide_refuses_a_raw_call_without_an_agent() {
    let out = airlock(&["decide"], HOOK_DELETE_ORDERS);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--agent"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_policy_maps_and_trusts_mcp_servers() {
    let default = text(&airlock(&["policy", "default"], "").stdout);
    let policy = scratch(
        "mcp-policy.yaml",
        &(default
            + r#"
mcp_servers:
  internal-tools:
    trusted: true
    tools:
      frobnicate: write
      "sync_*": read
"#),
    );
    let p = policy.to_str().unwrap();
    let calls = [
        r#"{"name":"frobnicate","arguments":{},"server":"internal-tools"}"#,
        r#"{"name":"sync_all","arguments":{},"server":"internal-tools"}"#,
        r#"{"name":"mystery","arguments":{},"server":"internal-tools","tool":{"name":"mystery","annotations":{"readOnlyHint":true}}}"#,
        r#"{"name":"mystery","arguments":{},"server":"elsewhere","tool":{"name":"mystery","annotations":{"readOnlyHint":true}}}"#,
    ]
    .join("\n");
    let out = airlock(&["classify", "--policy", p], &calls);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let effects: Vec<_> = json_lines(&out)
        .iter()
        .map(|r| r["effect"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        effects,
        ["write", "read", "read", "unknown"],
        "mapping wins; annotations count only for the trusted server"
    );
}

#[test]
fn classify_reads_a_terraform_plan() {
    let plan = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../airlock-classify/tests/fixtures/terraform-plans")
            .read_dir()
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "json"))
            .unwrap(),
    )
    .unwrap();
    let out = airlock(&["classify"], &plan);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = &json_lines(&out)[0];
    assert_eq!(r["tool"], "terraform");
    assert!(!r["parts"].as_array().unwrap().is_empty());
}
