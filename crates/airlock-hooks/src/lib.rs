//! Coding agents ask their hooks before a tool runs, each in its own words. This
//! crate reads every agent's payload as one kind of call, a Claude Code
//! `PreToolUse` payload (`{"hook_event_name", "tool_name", "tool_input", "cwd"}`,
//! which `airlock-classify` understands), and writes airlock's verdict back the way
//! that agent expects it: JSON on stdout, a reason on stderr, an exit code.
//!
//! | agent | events read | allow | deny | ask |
//! |---|---|---|---|---|
//! | Claude Code | `PreToolUse` | `permissionDecision: allow` | `permissionDecision: deny` | `permissionDecision: ask` |
//! | Cursor | `beforeShellExecution`, `beforeMCPExecution`, `preToolUse` | `permission: allow` | `permission: deny` | `permission: ask` |
//! | OpenAI Codex CLI | `PreToolUse` | exit 0 | exit 2, reason on stderr | no ask: deny |
//! | Gemini CLI | `BeforeTool` | `decision: allow` | exit 2, reason on stderr | no ask: deny |
//! | Kiro | `preToolUse` | exit 0 | exit 2, reason on stderr | no ask: deny |
//!
//! An agent without an "ask" gets a denial whose reason says how to get the call
//! approved. Anything this crate cannot read is an error, which the caller turns
//! into a denial: a hook fails closed.
//!
//! This crate is pure: no I/O.

use serde_json::{Map, Value, json};

/// The agents airlock's hooks speak to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    ClaudeCode,
    Cursor,
    Codex,
    Gemini,
    Kiro,
}

/// Every agent, by the name `airlock hook NAME` takes.
pub const AGENTS: [(&str, Agent); 5] = [
    ("claude-code", Agent::ClaudeCode),
    ("cursor", Agent::Cursor),
    ("codex", Agent::Codex),
    ("gemini", Agent::Gemini),
    ("kiro", Agent::Kiro),
];

impl Agent {
    /// The agent named `name` (`claude-code`, `cursor`, `codex`, `gemini`, `kiro`).
    pub fn parse(name: &str) -> Option<Agent> {
        AGENTS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
    }

    pub fn name(self) -> &'static str {
        AGENTS
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("unknown", |(n, _)| n)
    }

    /// Whether the agent can ask its user (else a held call is denied).
    pub fn can_ask(self) -> bool {
        matches!(self, Agent::ClaudeCode | Agent::Cursor)
    }
}

/// Why a payload cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{agent} hook payload: {what}")]
pub struct HookError {
    pub agent: &'static str,
    pub what: String,
}

/// What airlock says about the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow(String),
    Deny(String),
    /// The user decides (agents that can ask); a denial elsewhere.
    Ask(String),
}

/// What the hook process writes and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub stdout: String,
    pub stderr: String,
    pub exit: u8,
}

/// The call in a payload, as a Claude Code `PreToolUse` payload. Events that are
/// not before a tool runs are refused: the hook is configured on the wrong event.
pub fn normalize(agent: Agent, payload: &Value) -> Result<Value, HookError> {
    let err = |what: String| HookError {
        agent: agent.name(),
        what,
    };
    let obj = payload
        .as_object()
        .ok_or_else(|| err("not a JSON object".into()))?;
    let event = obj
        .get("hook_event_name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let cwd = obj.get("cwd").cloned().or_else(|| {
        // Cursor names its workspace instead.
        obj.get("workspace_roots").and_then(|r| r.get(0)).cloned()
    });
    let (tool, input) = match agent {
        Agent::ClaudeCode | Agent::Codex => {
            expect_event(event, &["PreToolUse"]).map_err(err)?;
            let tool = str_field(obj, "tool_name").map_err(err)?;
            let input = obj.get("tool_input").cloned().unwrap_or(json!({}));
            if agent == Agent::Codex {
                codex_tool(tool, input)
            } else {
                (tool.to_owned(), input)
            }
        }
        Agent::Cursor => cursor_tool(event, obj).map_err(err)?,
        Agent::Gemini => {
            expect_event(event, &["BeforeTool"]).map_err(err)?;
            gemini_tool(obj).map_err(err)?
        }
        Agent::Kiro => {
            expect_event(event, &["preToolUse", "PreToolUse"]).map_err(err)?;
            let tool = str_field(obj, "tool_name").map_err(err)?;
            let input = obj.get("tool_input").cloned().unwrap_or(json!({}));
            kiro_tool(tool, input)
        }
    };
    let mut call = json!({"hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": input});
    if let Some(cwd) = cwd.filter(Value::is_string) {
        call["cwd"] = cwd;
    }
    Ok(call)
}

fn expect_event(event: &str, expected: &[&str]) -> Result<(), String> {
    if expected.contains(&event) {
        Ok(())
    } else {
        Err(format!(
            "`hook_event_name` is {event:?}, not {}: configure this hook on that event, before the tool runs",
            expected.join(" or ")
        ))
    }
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no `{key}` string"))
}

/// A shell command given as a string or as an argument vector.
fn command_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let words: Option<Vec<String>> =
                parts.iter().map(|p| p.as_str().map(shell_quote)).collect();
            words.map(|w| w.join(" "))
        }
        _ => None,
    }
}

/// A word as the shell reads it back unchanged.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn bash(command: Option<String>) -> (String, Value) {
    match command {
        Some(c) => ("Bash".into(), json!({ "command": c })),
        // No command to read: the classifier says unknown, never read.
        None => ("Bash".into(), json!({})),
    }
}

/// Codex's shell tools take an argument vector (`["bash", "-lc", "…"]`) or a
/// string; `apply_patch` edits the files its patch names.
fn codex_tool(tool: &str, input: Value) -> (String, Value) {
    match tool {
        "Bash" | "shell" | "exec_command" | "local_shell" | "container.exec" => {
            bash(command_text(input.get("command").or(input.get("cmd"))))
        }
        "apply_patch" => {
            let patch = input
                .get("patch")
                .or(input.get("input"))
                .and_then(Value::as_str)
                .unwrap_or("");
            // A patch that deletes a file is a deletion; one that only adds or
            // updates is a write. The first file named is the target.
            let deletes = patch.lines().any(|l| l.starts_with("*** Delete File: "));
            let file = patch.lines().find_map(|l| {
                ["*** Add File: ", "*** Update File: ", "*** Delete File: "]
                    .iter()
                    .find_map(|p| l.strip_prefix(p))
            });
            match (deletes, file) {
                (true, Some(f)) => bash(Some(format!("rm -- {}", shell_quote(f)))),
                (false, Some(f)) => ("Edit".into(), json!({ "file_path": f })),
                (_, None) => ("apply_patch".into(), input),
            }
        }
        other => (other.to_owned(), input),
    }
}

/// Cursor: shell commands and MCP calls have events of their own; `preToolUse`
/// carries any tool.
fn cursor_tool(event: &str, obj: &Map<String, Value>) -> Result<(String, Value), String> {
    match event {
        "beforeShellExecution" => Ok(bash(command_text(obj.get("command")))),
        "beforeMCPExecution" => {
            let name = str_field(obj, "tool_name")?;
            // `MCP:server:tool`, or a bare tool name with the server's URL or
            // command beside it.
            let (server, tool) = match name.strip_prefix("MCP:").and_then(|r| r.split_once(':')) {
                Some((s, t)) => (s.to_owned(), t.to_owned()),
                None => (server_of(obj), name.to_owned()),
            };
            Ok((
                format!("mcp__{server}__{tool}"),
                arguments(obj.get("tool_input"))?,
            ))
        }
        "preToolUse" => {
            let tool = str_field(obj, "tool_name")?;
            let input = arguments(obj.get("tool_input"))?;
            Ok(match tool {
                "Shell" | "shell" | "run_terminal_cmd" | "Bash" => {
                    bash(command_text(input.get("command")))
                }
                other => (other.to_owned(), input),
            })
        }
        other => Err(format!(
            "`hook_event_name` is {other:?}, not beforeShellExecution, beforeMCPExecution or preToolUse: configure this hook on those events"
        )),
    }
}

/// A server name from an MCP call's URL or command, for the `mcp__server__tool`
/// name (the policy's `mcp_servers` names servers so).
fn server_of(obj: &Map<String, Value>) -> String {
    let raw = obj
        .get("server")
        .or(obj.get("url"))
        .or(obj.get("command"))
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    // A URL names its server by its host and port.
    let raw = match raw.split_once("://") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => raw,
    };
    let mut name = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_matches('-');
    if name.is_empty() {
        "unknown".into()
    } else {
        name.to_owned()
    }
}

/// Tool arguments: an object, or (some versions) a JSON string of one.
fn arguments(v: Option<&Value>) -> Result<Value, String> {
    match v {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::Object(_)) => Ok(v.cloned().unwrap_or(json!({}))),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(o @ Value::Object(_)) => Ok(o),
            _ => Err("`tool_input` is a string that is not a JSON object".into()),
        },
        Some(_) => Err("`tool_input` is not an object".into()),
    }
}

/// Gemini CLI's built-in tools, and MCP tools (named by `mcp_context`).
fn gemini_tool(obj: &Map<String, Value>) -> Result<(String, Value), String> {
    let tool = str_field(obj, "tool_name")?;
    let input = arguments(obj.get("tool_input"))?;
    if let Some(mcp) = obj.get("mcp_context").and_then(Value::as_object) {
        let server = mcp
            .get("server_name")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let name = mcp.get("tool_name").and_then(Value::as_str).unwrap_or(tool);
        return Ok((format!("mcp__{server}__{name}"), input));
    }
    let path = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| input.get(*k).and_then(Value::as_str))
            .map(str::to_owned)
    };
    Ok(match tool {
        "run_shell_command" => bash(command_text(input.get("command"))),
        "write_file" => (
            "Write".into(),
            json!({ "file_path": path(&["file_path", "absolute_path", "path"]), "content": input.get("content") }),
        ),
        "replace" | "edit" => (
            "Edit".into(),
            json!({ "file_path": path(&["file_path", "absolute_path", "path"]) }),
        ),
        "read_file"
        | "read_many_files"
        | "list_directory"
        | "glob"
        | "search_file_content"
        | "grep" => (
            "Read".into(),
            json!({ "file_path": path(&["file_path", "absolute_path", "path", "dir_path"]) }),
        ),
        "web_fetch" => {
            // The URL is inside the prompt; the first http(s) word is taken.
            let prompt = input.get("prompt").and_then(Value::as_str).unwrap_or("");
            let url = input
                .get("url")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    prompt
                        .split_whitespace()
                        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
                        .map(str::to_owned)
                });
            ("WebFetch".into(), json!({ "url": url }))
        }
        "google_web_search" => ("WebSearch".into(), input),
        other => (other.to_owned(), input),
    })
}

/// Kiro's tools: `execute_bash`, `fs_write`, `fs_read`, `use_aws` (an AWS API call,
/// read as the `aws` command line it stands for), and MCP tools `@server/tool`.
fn kiro_tool(tool: &str, input: Value) -> (String, Value) {
    match tool {
        "execute_bash" | "execute_cmd" | "shell" => bash(command_text(input.get("command"))),
        "fs_write" => {
            let path = input.get("path").cloned().unwrap_or(Value::Null);
            match input.get("command").and_then(Value::as_str) {
                Some("create") => (
                    "Write".into(),
                    json!({ "file_path": path, "content": input.get("file_text") }),
                ),
                _ => ("Edit".into(), json!({ "file_path": path })),
            }
        }
        "fs_read" => {
            let path = input
                .get("path")
                .or_else(|| input.pointer("/operations/0/path"))
                .cloned()
                .unwrap_or(Value::Null);
            ("Read".into(), json!({ "file_path": path }))
        }
        "use_aws" => bash(aws_command(&input)),
        other => match other.strip_prefix('@').and_then(|r| r.split_once('/')) {
            Some((server, name)) => (format!("mcp__{server}__{name}"), input),
            None => (other.to_owned(), input),
        },
    }
}

/// `use_aws {service_name, operation_name, parameters, region, profile_name}` as
/// `aws SERVICE OPERATION --param value … --region R --profile P`.
fn aws_command(input: &Value) -> Option<String> {
    let service = input.get("service_name")?.as_str()?;
    let operation = input.get("operation_name")?.as_str()?;
    let mut words = vec![
        "aws".to_owned(),
        shell_quote(service),
        shell_quote(&kebab(operation)),
    ];
    if let Some(params) = input.get("parameters").and_then(Value::as_object) {
        for (k, v) in params {
            words.push(shell_quote(&format!("--{}", kebab(k))));
            match v {
                Value::String(s) => words.push(shell_quote(s)),
                Value::Bool(true) => {}
                other => words.push(shell_quote(&other.to_string())),
            }
        }
    }
    for (key, flag) in [("region", "--region"), ("profile_name", "--profile")] {
        if let Some(v) = input.get(key).and_then(Value::as_str) {
            words.push(flag.to_owned());
            words.push(shell_quote(v));
        }
    }
    Some(words.join(" "))
}

/// `DeleteStack` and `delete_stack` → `delete-stack`.
fn kebab(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for (i, c) in s.chars().enumerate() {
        if c == '_' {
            out.push('-');
        } else if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The verdict in the agent's own format.
pub fn reply(agent: Agent, verdict: &Verdict) -> Reply {
    let (decision, reason) = match verdict {
        Verdict::Allow(r) => ("allow", r),
        Verdict::Deny(r) => ("deny", r),
        Verdict::Ask(r) if agent.can_ask() => ("ask", r),
        Verdict::Ask(r) => ("deny", r),
    };
    let out = |v: Value, exit: u8, stderr: String| Reply {
        stdout: format!("{v}\n"),
        stderr,
        exit,
    };
    match agent {
        Agent::ClaudeCode => out(
            json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": decision,
                "permissionDecisionReason": reason,
            }}),
            0,
            String::new(),
        ),
        Agent::Cursor => out(
            json!({
                "permission": decision,
                "user_message": reason, "agent_message": reason,
                "userMessage": reason, "agentMessage": reason,
            }),
            0,
            String::new(),
        ),
        // These take a denial from exit code 2, with the reason (for the model)
        // on stderr: the one channel every version reads.
        Agent::Codex | Agent::Gemini | Agent::Kiro => {
            if decision == "allow" {
                let stdout = match agent {
                    Agent::Gemini => json!({"decision": "allow", "reason": reason}),
                    Agent::Codex => json!({"hookSpecificOutput": {
                        "hookEventName": "PreToolUse", "permissionDecision": "allow",
                        "permissionDecisionReason": reason,
                    }}),
                    _ => Value::Null,
                };
                Reply {
                    stdout: if stdout.is_null() {
                        String::new()
                    } else {
                        format!("{stdout}\n")
                    },
                    stderr: String::new(),
                    exit: 0,
                }
            } else {
                Reply {
                    stdout: String::new(),
                    stderr: format!("{reason}\n"),
                    exit: 2,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
