//! A raw call → its [`Classification`] → an [`Action`] the policy decides.
//!
//! This is the crate's entry point: it recognises what kind of call it holds (a
//! Claude Code hook payload, an MCP `tools/call`, an Action) and hands each piece
//! to the classifier that understands it.

use airlock_model::{Action, Effect, Magnitude, Target, What, Who, Why};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::mcp::{self, ToolPolicy};
use crate::shell::{self, access_control_file, clip, file_target, surely_exists, url_host};
use crate::{Findings, Part, RawCall};

use Effect::{Delete, Permissions, Read, Unknown, Write};

/// What a raw call does, part by part, and the tool and operation a policy sees.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The tool, as policies name it: the command of the deciding part of a shell
    /// line (`aws`, `kubectl`, `rm`), `mcp:<server>`, `fs` for the file tools of a
    /// coding agent, or the hook tool's name in lower case (`webfetch`).
    pub tool: String,
    /// The operation of the deciding part (`cloudformation:DeleteStack`, `rm`,
    /// `DROP TABLE`, an MCP tool's name).
    pub operation: String,
    pub findings: Findings,
    /// The agent's own account of why (a Bash call's `description`).
    pub reason: Option<String>,
    /// The directory the agent works in (a hook payload's `cwd`).
    pub workdir: Option<String>,
    /// The input was an Action already; it is decided as it is.
    passthrough: Option<Box<Action>>,
}

/// The JSON `airlock classify` prints for one input.
#[derive(Debug, Clone, Serialize)]
pub struct Report<'a> {
    pub effect: Effect,
    pub effects: Vec<Effect>,
    pub bulk: bool,
    pub tool: &'a str,
    pub operation: &'a str,
    pub targets: &'a [Target],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<u64>,
    pub parts: &'a [Part],
}

impl Classification {
    /// The effect of the whole call: `unknown` if any part is, else the most severe.
    pub fn effect(&self) -> Effect {
        match &self.passthrough {
            Some(a) => a.what.effect,
            None => self.findings.effect(),
        }
    }

    pub fn bulk(&self) -> bool {
        match &self.passthrough {
            Some(a) => a.what.bulk,
            None => self.findings.bulk(),
        }
    }

    pub fn report(&self) -> Report<'_> {
        Report {
            effect: self.effect(),
            effects: self.findings.effects(),
            bulk: self.bulk(),
            tool: &self.tool,
            operation: &self.operation,
            targets: &self.findings.targets,
            resources: self.findings.resources,
            parts: &self.findings.parts,
        }
    }

    /// The Action to decide. `who` says who is acting (a raw call does not); an
    /// Action that came in as one is returned unchanged.
    pub fn into_action(self, mut who: Who) -> Action {
        if let Some(action) = self.passthrough {
            return *action;
        }
        if who.workdir.is_none() {
            who.workdir = self.workdir;
        }
        let effect = self.findings.effect();
        let bulk = self.findings.bulk();
        Action {
            id: None,
            who,
            what: What {
                tool: self.tool,
                operation: self.operation,
                effect,
                bulk,
            },
            targets: self.findings.targets,
            magnitude: Magnitude {
                resources: self.findings.resources,
                ..Magnitude::default()
            },
            why: Why {
                reason: self.reason,
                ..Why::default()
            },
        }
    }
}

/// Classifies one raw call. `policy` supplies what the policy says about MCP
/// servers (mappings, trusted annotations); pass [`mcp::NoToolPolicy`] for none.
pub fn classify(call: &RawCall, policy: &dyn ToolPolicy) -> Classification {
    match call {
        RawCall::Action(a) => passthrough(a),
        RawCall::Mcp(m) => {
            let findings = mcp::classify_tool(
                m.server.as_deref(),
                &m.name,
                &m.arguments,
                m.tool.as_ref(),
                policy,
            );
            Classification {
                tool: m
                    .server
                    .as_deref()
                    .map_or_else(|| "mcp".to_owned(), |s| format!("mcp:{s}")),
                operation: m.name.clone(),
                findings,
                reason: None,
                workdir: None,
                passthrough: None,
            }
        }
        RawCall::Hook(h) => hook(&h.tool_name, &h.tool_input, h.cwd.clone(), policy),
        RawCall::Plan(plan) => Classification {
            tool: "terraform".into(),
            operation: "terraform:apply".into(),
            findings: match serde_json::to_string(plan) {
                Ok(text) => crate::plan::classify_plan(&text),
                Err(e) => Findings::unknown("plan", format!("the plan cannot be read: {e}")),
            },
            reason: None,
            workdir: None,
            passthrough: None,
        },
    }
}

fn passthrough(a: &Action) -> Classification {
    let mut findings = Findings::default();
    findings.part(
        Part::new(
            format!("{} {}", a.what.tool, a.what.operation),
            a.what.effect,
            "an Action, passed through as given",
        )
        .bulk(a.what.bulk)
        .operation(a.what.operation.clone()),
    );
    for t in &a.targets {
        findings.target(t.clone());
    }
    findings.resources = a.magnitude.resources;
    Classification {
        tool: a.what.tool.clone(),
        operation: a.what.operation.clone(),
        findings,
        reason: a.why.reason.clone(),
        workdir: a.who.workdir.clone(),
        passthrough: Some(Box::new(a.clone())),
    }
}

/// A Claude Code PreToolUse payload.
fn hook(
    tool: &str,
    input: &Map<String, Value>,
    cwd: Option<String>,
    policy: &dyn ToolPolicy,
) -> Classification {
    let text = |key: &str| input.get(key).and_then(Value::as_str);
    let mut findings = Findings::default();
    let mut reason = None;
    // File tools share one name, `fs`, so one policy grant covers them all; the
    // operation keeps the hook tool's own name (`Edit`, `Write`).
    let file_tool = matches!(
        tool,
        "Read"
            | "Write"
            | "Edit"
            | "MultiEdit"
            | "NotebookEdit"
            | "NotebookRead"
            | "LS"
            | "Glob"
            | "Grep"
    );
    let mut tool_name = if file_tool {
        "fs".to_owned()
    } else {
        tool.to_ascii_lowercase()
    };
    let mut operation = tool.to_owned();
    match tool {
        "Bash" => {
            reason = text("description").map(str::to_owned);
            findings = match text("command") {
                Some(cmd) => shell::classify(cmd),
                None => Findings::unknown("Bash", "the Bash call has no `command` string"),
            };
            let (t, op) = deciding_command(&findings);
            tool_name = t;
            operation = op;
        }
        "Write" => {
            let path = text("file_path");
            let (effect, why) = match path {
                Some(p) if access_control_file(p) => (
                    Permissions,
                    format!("writes {p}, which decides who can do what"),
                ),
                Some(p) if surely_exists(p) => (
                    Delete,
                    format!("replaces the whole existing content of {p}"),
                ),
                Some(p) => (Write, format!("writes {p}, replacing it if it exists")),
                None => (Unknown, "the Write call names no `file_path`".to_owned()),
            };
            file_part(&mut findings, tool, path, effect, why);
        }
        "Edit" | "MultiEdit" => {
            let path = text("file_path");
            let (effect, why) = match path {
                Some(p) if access_control_file(p) => (
                    Permissions,
                    format!("edits {p}, which decides who can do what"),
                ),
                Some(p) => (Write, format!("edits {p} in place")),
                None => (Unknown, format!("the {tool} call names no `file_path`")),
            };
            file_part(&mut findings, tool, path, effect, why);
        }
        "NotebookEdit" => {
            let path = text("notebook_path");
            let (effect, why) = match (path, text("edit_mode")) {
                (None, _) => (
                    Unknown,
                    "the NotebookEdit call names no `notebook_path`".into(),
                ),
                (Some(p), Some("delete")) => (Delete, format!("deletes a cell of {p}")),
                (Some(p), _) => (Write, format!("edits a cell of {p}")),
            };
            file_part(&mut findings, tool, path, effect, why);
        }
        "Read" | "NotebookRead" | "LS" | "Glob" | "Grep" => {
            let path = text("file_path").or(text("notebook_path")).or(text("path"));
            file_part(
                &mut findings,
                tool,
                path,
                Read,
                format!("`{tool}` only reads files"),
            );
        }
        "WebFetch" => {
            findings.part(Part::new(
                clip(&format!("{tool} {}", text("url").unwrap_or(""))),
                Read,
                "WebFetch only issues GET requests, whatever the URL says",
            ));
            if let Some(url) = text("url") {
                findings.target(Target {
                    kind: "http:url".into(),
                    name: url.into(),
                    host: url_host(url).map(str::to_owned),
                    ..Target::default()
                });
            }
        }
        "WebSearch" => findings.part(Part::new(tool, Read, "a web search only reads")),
        "BashOutput" => findings.part(Part::new(
            tool,
            Read,
            "reads the output of a background shell the agent started",
        )),
        "KillShell" | "KillBash" => findings.part(Part::new(
            tool,
            Write,
            "stops a background shell the agent started",
        )),
        "TodoWrite" | "ExitPlanMode" => findings.part(Part::new(
            tool,
            Read,
            "changes only the agent's own plan or to-do list",
        )),
        "Task" => findings.part(Part::new(
            tool,
            Read,
            "starts a subagent, whose own tool calls pass through the hook one by one",
        )),
        _ => {
            if let Some((server, name)) = tool
                .strip_prefix("mcp__")
                .and_then(|rest| rest.split_once("__"))
            {
                findings = mcp::classify_tool(Some(server), name, input, None, policy);
                tool_name = format!("mcp:{server}");
                operation = name.to_owned();
            } else {
                findings.part(Part::new(
                    tool,
                    Unknown,
                    format!("`{tool}` is not a tool airlock knows"),
                ));
            }
        }
    }
    Classification {
        tool: tool_name,
        operation,
        findings,
        reason,
        workdir: cwd,
        passthrough: None,
    }
}

fn file_part(findings: &mut Findings, tool: &str, path: Option<&str>, effect: Effect, why: String) {
    findings.part(Part::new(
        clip(&format!("{tool} {}", path.unwrap_or(""))),
        effect,
        why,
    ));
    if let Some(p) = path {
        findings.target(file_target(p));
    }
}

/// The tool and operation of a shell line: those of its most severe part (the
/// first one, when several tie), since that part is what the policy must judge.
fn deciding_command(f: &Findings) -> (String, String) {
    let severity = |e: Effect| if e == Unknown { u8::MAX } else { e as u8 };
    let mut best: Option<&Part> = None;
    for p in &f.parts {
        if best.is_none_or(|b| severity(p.effect) > severity(b.effect)) {
            best = Some(p);
        }
    }
    let Some(part) = best else {
        return ("shell".into(), "shell".into());
    };
    // Parts that come from the shell itself (redirections) have no command.
    let tool = part.tool.clone().unwrap_or_else(|| "shell".to_owned());
    let operation = part.operation.clone().unwrap_or_else(|| tool.clone());
    (tool, operation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::NoToolPolicy;
    use serde_json::json;

    fn run(v: Value) -> Classification {
        let call = RawCall::from_value(v).expect("valid call");
        classify(&call, &NoToolPolicy)
    }

    fn hook(tool: &str, input: Value) -> Classification {
        run(
            json!({"hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": input, "cwd": "/home/dev/app"}),
        )
    }

    #[test]
    fn the_kiro_call_becomes_a_production_stack_deletion() {
        let c = hook(
            "Bash",
            json!({"command": "aws cloudformation delete-stack --stack-name cost-explorer-prod --region cn-northwest-1", "description": "recreate the environment"}),
        );
        assert_eq!(c.effect(), Delete);
        let a = c.into_action(Who {
            agent: "kiro".into(),
            ..Who::default()
        });
        assert_eq!(a.what.tool, "aws");
        assert_eq!(a.what.effect, Delete);
        assert_eq!(a.why.reason.as_deref(), Some("recreate the environment"));
        assert_eq!(a.who.workdir.as_deref(), Some("/home/dev/app"));
    }

    #[test]
    fn the_deciding_part_names_tool_and_operation() {
        let c = hook(
            "Bash",
            json!({"command": "ls && git push --force origin main"}),
        );
        assert_eq!((c.tool.as_str(), c.effect()), ("git", Delete));
        assert_eq!(c.operation, "git:push");
    }

    #[test]
    fn hook_file_tools() {
        assert_eq!(hook("Read", json!({"file_path": "/a"})).effect(), Read);
        assert_eq!(
            hook("Write", json!({"file_path": "/home/dev/app/x.ts"})).effect(),
            Write
        );
        assert_eq!(
            hook("Write", json!({"file_path": "/etc/hosts"})).effect(),
            Delete
        );
        assert_eq!(
            hook("Edit", json!({"file_path": "/etc/ssh/sshd_config"})).effect(),
            Permissions
        );
        assert_eq!(hook("Write", json!({})).effect(), Unknown);
        assert_eq!(hook("Bash", json!({})).effect(), Unknown);
        assert_eq!(hook("Frobnicate", json!({})).effect(), Unknown);
        let c = hook(
            "NotebookEdit",
            json!({"notebook_path": "/n.ipynb", "edit_mode": "delete"}),
        );
        assert_eq!(c.effect(), Delete);
    }

    #[test]
    fn targets_carry_what_placement_needs() {
        let targets = |cmd: &str| hook("Bash", json!({ "command": cmd })).findings.targets;
        let t = targets(
            r#"psql "postgresql://app@prod-db.internal:5432/billing" -c "DELETE FROM invoices WHERE id = 3""#,
        );
        assert!(
            t.iter()
                .any(|t| t.host.as_deref() == Some("prod-db.internal") && t.name == "invoices"),
            "{t:?}"
        );
        let t = targets("kubectl --context prod-eu -n production delete deploy api");
        assert!(
            t.iter()
                .any(|t| t.namespace.as_deref() == Some("production")
                    && t.profile.as_deref() == Some("prod-eu")),
            "{t:?}"
        );
        let t = targets("aws --profile prod s3 rm s3://billing-exports/2025/ --recursive");
        assert!(
            t.iter()
                .any(|t| t.profile.as_deref() == Some("prod")
                    && t.name.starts_with("billing-exports")),
            "{t:?}"
        );
        let t = targets(r#"mongosh "mongodb://prod-mongo-1/app" --eval "db.users.drop()""#);
        assert!(
            t.iter()
                .any(|t| t.host.as_deref() == Some("prod-mongo-1") && t.name == "app"),
            "{t:?}"
        );
        let t = targets("git push --force origin main");
        assert!(
            t.iter().any(|t| t.kind == "git:ref" && t.name == "main"),
            "{t:?}"
        );
    }

    #[test]
    fn hook_mcp_tools_are_mcp_calls() {
        let c = hook(
            "mcp__postgres__query",
            json!({"sql": "DROP TABLE customers"}),
        );
        assert_eq!(c.effect(), Delete);
        assert_eq!(c.tool, "mcp:postgres");
        assert_eq!(c.operation, "query");
    }

    #[test]
    fn actions_pass_through_unchanged() {
        let v = json!({"who": {"agent": "a"}, "what": {"tool": "aws", "operation": "s3:GetObject", "effect": "read"}});
        let c = run(v.clone());
        let a = c.into_action(Who {
            agent: "someone else".into(),
            ..Who::default()
        });
        assert_eq!(a, serde_json::from_value::<Action>(v).expect("action"));
    }
}
