//! The raw calls airlock reads, recognised by shape:
//!
//! - Claude Code's PreToolUse hook payload:
//!   `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"…"},"cwd":"…"}`
//! - an MCP `tools/call`'s params, optionally with the tool's `tools/list` entry and
//!   the server's name: `{"name":"delete_file","arguments":{…},"tool":{…},"server":"fs"}`
//! - an already-normalised Action: `{"who":{…},"what":{…},…}`, passed through.
//! - a Terraform / OpenTofu plan (`terraform show -json PLAN`).

use airlock_model::Action;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A Claude Code hook payload (the fields airlock uses; others are ignored, since the
/// payload belongs to Claude Code and grows over time).
#[derive(Debug, Clone, Deserialize)]
pub struct HookPayload {
    pub hook_event_name: String,
    pub tool_name: String,
    #[serde(default)]
    pub tool_input: Map<String, Value>,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
}

/// An MCP `tools/call` request's params, with what is known about the tool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpCall {
    pub name: String,
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// The tool's entry from `tools/list` (name, description, inputSchema,
    /// annotations), when known.
    #[serde(default)]
    pub tool: Option<Value>,
    /// The MCP server the tool belongs to.
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default, rename = "_meta")]
    pub meta: Option<Value>,
}

/// One raw input to classify.
#[derive(Debug, Clone)]
pub enum RawCall {
    Hook(HookPayload),
    Mcp(McpCall),
    Action(Box<Action>),
    /// A Terraform or OpenTofu plan (`terraform show -json PLAN`): what applying it
    /// would do.
    Plan(Box<Value>),
}

/// Why an input could not be read as any raw call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl RawCall {
    /// Recognises a raw call by its shape. An input that looks like one kind but does
    /// not fit it is an error naming what was wrong, never a guess at another kind.
    pub fn from_value(v: Value) -> Result<RawCall, InputError> {
        let Some(obj) = v.as_object() else {
            return Err(InputError(format!(
                "expected a JSON object (a hook payload, an MCP tools/call, or an Action), got {}",
                kind_of(&v)
            )));
        };
        let fail =
            |what: &str, e: serde_json::Error| InputError(format!("not a valid {what}: {e}"));
        if obj.contains_key("hook_event_name") || obj.contains_key("tool_name") {
            return serde_json::from_value(v)
                .map(RawCall::Hook)
                .map_err(|e| fail("hook payload", e));
        }
        if obj.contains_key("who") || obj.contains_key("what") {
            return serde_json::from_value(v)
                .map(|a| RawCall::Action(Box::new(a)))
                .map_err(|e| fail("Action", e));
        }
        if obj.contains_key("resource_changes")
            || (obj.contains_key("format_version") && obj.contains_key("terraform_version"))
        {
            return Ok(RawCall::Plan(Box::new(v)));
        }
        if obj.contains_key("name")
            && (obj.contains_key("arguments")
                || obj.contains_key("tool")
                || obj.contains_key("server"))
        {
            return serde_json::from_value(v)
                .map(RawCall::Mcp)
                .map_err(|e| fail("MCP tools/call", e));
        }
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        Err(InputError(format!(
            "unrecognised input with keys [{}]: expected a Claude Code hook payload (hook_event_name, tool_name, tool_input), an MCP tools/call (name, arguments), an Action (who, what) or a Terraform plan (format_version, resource_changes)",
            keys.join(", ")
        )))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
