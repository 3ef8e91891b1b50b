//! Each agent's payloads in the shapes its documentation shows, read as the call
//! they stand for, and each verdict written the way the agent reads it.

#![allow(clippy::unwrap_used)]

use super::*;

fn call(agent: Agent, payload: Value) -> Value {
    normalize(agent, &payload).unwrap()
}

#[test]
fn claude_code_payloads_pass_through() {
    let p = json!({"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": "ls -la", "description": "list"}, "cwd": "/repo", "tool_use_id": "t"});
    assert_eq!(
        call(Agent::ClaudeCode, p),
        json!({"hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_input": {"command": "ls -la", "description": "list"}, "cwd": "/repo"})
    );
    let e = normalize(
        Agent::ClaudeCode,
        &json!({"hook_event_name": "PostToolUse", "tool_name": "Bash"}),
    )
    .unwrap_err();
    assert!(e.what.contains("PreToolUse"), "{e}");
}

#[test]
fn codex_commands_as_vectors_become_one_shell_line() {
    let p = json!({"session_id": "s", "hook_event_name": "PreToolUse", "cwd": "/repo", "model": "gpt-5",
        "tool_name": "shell", "tool_input": {"command": ["bash", "-lc", "kubectl delete ns prod"]}});
    assert_eq!(
        call(Agent::Codex, p)["tool_input"]["command"],
        "bash -lc 'kubectl delete ns prod'"
    );
    let p = json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "rm -rf build"}});
    assert_eq!(
        call(Agent::Codex, p)["tool_input"]["command"],
        "rm -rf build"
    );
    let patch = "*** Begin Patch\n*** Delete File: src/old.rs\n*** End Patch\n";
    let p = json!({"hook_event_name": "PreToolUse", "tool_name": "apply_patch", "tool_input": {"patch": patch}});
    assert_eq!(
        call(Agent::Codex, p)["tool_input"]["command"],
        "rm -- src/old.rs"
    );
}

#[test]
fn cursor_shell_and_mcp_events() {
    let p = json!({"hook_event_name": "beforeShellExecution", "conversation_id": "c", "generation_id": "g",
        "workspace_roots": ["/repo"], "command": "npm install express", "cwd": "/repo"});
    let c = call(Agent::Cursor, p);
    assert_eq!(
        (c["tool_name"].as_str(), c["tool_input"]["command"].as_str()),
        (Some("Bash"), Some("npm install express"))
    );
    assert_eq!(c["cwd"], "/repo");
    // tool_input as a JSON string (older versions), the server from its URL.
    let p = json!({"hook_event_name": "beforeMCPExecution", "workspace_roots": ["/repo"],
        "tool_name": "database_query", "tool_input": "{\"query\": \"DROP TABLE users\"}",
        "url": "http://localhost:3000"});
    let c = call(Agent::Cursor, p);
    assert_eq!(c["tool_name"], "mcp__localhost-3000__database_query");
    assert_eq!(c["tool_input"]["query"], "DROP TABLE users");
    assert_eq!(
        c["cwd"], "/repo",
        "the workspace stands for the working directory"
    );
    let p = json!({"hook_event_name": "beforeMCPExecution", "tool_name": "MCP:github:delete_repo", "tool_input": {"repo": "x"}});
    assert_eq!(
        call(Agent::Cursor, p)["tool_name"],
        "mcp__github__delete_repo"
    );
    let bad = json!({"hook_event_name": "beforeMCPExecution", "tool_name": "q", "tool_input": "not json"});
    assert!(normalize(Agent::Cursor, &bad).is_err());
    assert!(normalize(Agent::Cursor, &json!({"hook_event_name": "afterFileEdit"})).is_err());
}

#[test]
fn gemini_tools_and_mcp_context() {
    let p = json!({"session_id": "s", "transcript_path": "/t", "cwd": "/repo", "hook_event_name": "BeforeTool",
        "timestamp": "2026-12-06T10:00:00Z", "tool_name": "run_shell_command",
        "tool_input": {"command": "terraform destroy -auto-approve", "description": "clean up"}});
    assert_eq!(
        call(Agent::Gemini, p)["tool_input"]["command"],
        "terraform destroy -auto-approve"
    );
    let p = json!({"hook_event_name": "BeforeTool", "tool_name": "write_file",
        "tool_input": {"file_path": "/repo/a.txt", "content": "x"}});
    let c = call(Agent::Gemini, p);
    assert_eq!(
        (
            c["tool_name"].as_str(),
            c["tool_input"]["file_path"].as_str()
        ),
        (Some("Write"), Some("/repo/a.txt"))
    );
    let p = json!({"hook_event_name": "BeforeTool", "tool_name": "web_fetch",
        "tool_input": {"prompt": "summarise https://example.com/a please"}});
    assert_eq!(
        call(Agent::Gemini, p)["tool_input"]["url"],
        "https://example.com/a"
    );
    let p = json!({"hook_event_name": "BeforeTool", "tool_name": "mcp_db_drop",
        "tool_input": {"table": "users"}, "mcp_context": {"server_name": "db", "tool_name": "drop"}});
    assert_eq!(call(Agent::Gemini, p)["tool_name"], "mcp__db__drop");
}

#[test]
fn kiro_use_aws_is_the_aws_command_line_it_stands_for() {
    let p = json!({"hook_event_name": "preToolUse", "cwd": "/repo", "tool_name": "use_aws",
        "tool_input": {"service_name": "cloudformation", "operation_name": "DeleteStack",
            "parameters": {"StackName": "cost-explorer-prod"}, "region": "cn-northwest-1",
            "profile_name": "prod", "label": "delete the stack"}});
    assert_eq!(
        call(Agent::Kiro, p)["tool_input"]["command"],
        "aws cloudformation delete-stack --stack-name cost-explorer-prod --region cn-northwest-1 --profile prod"
    );
    let p = json!({"hook_event_name": "preToolUse", "tool_name": "execute_bash", "tool_input": {"command": "git push -f"}});
    assert_eq!(call(Agent::Kiro, p)["tool_input"]["command"], "git push -f");
    let p = json!({"hook_event_name": "preToolUse", "tool_name": "fs_write",
        "tool_input": {"command": "create", "path": "/repo/x", "file_text": "y"}});
    assert_eq!(call(Agent::Kiro, p)["tool_name"], "Write");
    let p = json!({"hook_event_name": "preToolUse", "tool_name": "@postgres/query", "tool_input": {"sql": "select 1"}});
    assert_eq!(call(Agent::Kiro, p)["tool_name"], "mcp__postgres__query");
}

#[test]
fn a_shell_word_with_quotes_survives_quoting() {
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
    assert_eq!(kebab("DeleteDBInstance"), "delete-d-b-instance");
    assert_eq!(kebab("delete_stack"), "delete-stack");
}

#[test]
fn replies_in_each_agents_format() {
    let deny = Verdict::Deny("rule no-teardown".into());
    let ask = Verdict::Ask("needs approval".into());
    let allow = Verdict::Allow("reads".into());

    let r = reply(Agent::ClaudeCode, &deny);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (
            r.exit,
            v["hookSpecificOutput"]["permissionDecision"].as_str()
        ),
        (0, Some("deny"))
    );
    assert_eq!(
        v["hookSpecificOutput"]["permissionDecisionReason"],
        "rule no-teardown"
    );
    let v: Value = serde_json::from_str(&reply(Agent::ClaudeCode, &ask).stdout).unwrap();
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "ask");

    let v: Value = serde_json::from_str(&reply(Agent::Cursor, &ask).stdout).unwrap();
    assert_eq!(
        (v["permission"].as_str(), v["agent_message"].as_str()),
        (Some("ask"), Some("needs approval"))
    );

    for agent in [Agent::Codex, Agent::Gemini, Agent::Kiro] {
        for v in [&deny, &ask] {
            let r = reply(agent, v);
            assert_eq!(r.exit, 2, "{agent:?} {v:?}");
            assert!(r.stderr.contains("rule no-teardown") || r.stderr.contains("needs approval"));
        }
        assert_eq!(reply(agent, &allow).exit, 0);
    }
    let v: Value = serde_json::from_str(&reply(Agent::Gemini, &allow).stdout).unwrap();
    assert_eq!(v["decision"], "allow");
}

#[test]
fn garbage_is_an_error_never_a_call() {
    for agent in AGENTS.map(|(_, a)| a) {
        for p in [
            json!(null),
            json!([1]),
            json!("x"),
            json!({}),
            json!({"hook_event_name": 5}),
        ] {
            assert!(normalize(agent, &p).is_err(), "{agent:?} {p}");
        }
    }
}
