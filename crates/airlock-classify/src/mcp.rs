//! MCP tool calls → what they do.
//!
//! The evidence, strongest first:
//!
//! 1. **The policy's mapping** for the server's tool ([`ToolPolicy::tool_effect`]).
//!    It always wins: the people who deploy a server know it better than any rule.
//! 2. **Arguments that carry code**: SQL (`sql`, `statement`, and `query` on a
//!    database tool) goes through the SQL classifier, shell (`command`, `cmd`,
//!    `script`, …) through the shell classifier, a tool named after a CLI
//!    (`kubectl_delete`, `git_reset`, `call_aws`) through that CLI's knowledge. What
//!    the code does beats what the tool's name says: `read_query` carrying
//!    `DROP TABLE` deletes.
//! 3. **Verbs in the tool's name** (`delete_`, `drop_`, `purge_`, `grant_`,
//!    `create_`, `list_`, …) and a few arguments with a fixed meaning (`dryRun`,
//!    `recursive`, an empty filter, a Mongo `$out` stage).
//! 4. **The server's annotations** (`readOnlyHint`, `destructiveHint`). They are the
//!    server's claim about itself, so they are believed only for servers the policy
//!    trusts, and even then only to settle what the name leaves open: a hint never
//!    lowers what the name or the arguments say. From an untrusted server only
//!    `destructiveHint: true` counts, since it can only raise the effect.
//!
//! A tool none of this explains is `unknown`.

use airlock_model::{Effect, Target};
use serde_json::{Map, Value};

use crate::shell::{access_control_file, clip, file_target, surely_exists, url_host};
use crate::{Findings, Part, shell, sql};

use Effect::{Delete, Permissions, Read, Unknown, Write};

/// What the policy says about MCP servers and their tools.
///
/// The classifier is pure and knows nothing of policy files; the caller (the CLI or
/// the service) implements this over its loaded policy.
pub trait ToolPolicy {
    /// The effect the policy assigns to `tool` of `server`, with the pattern that
    /// matched (for the explanation).
    fn tool_effect(&self, _server: &str, _tool: &str) -> Option<(Effect, String)> {
        None
    }

    /// Whether the server's own annotations may settle what a tool does.
    fn trusts_annotations(&self, _server: &str) -> bool {
        false
    }
}

/// No policy knowledge: nothing mapped, nobody trusted.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoToolPolicy;

impl ToolPolicy for NoToolPolicy {}

/// Classifies one MCP tool call. `listing` is the tool's `tools/list` entry when
/// known (its `annotations` are read from it).
pub fn classify_tool(
    server: Option<&str>,
    name: &str,
    arguments: &Map<String, Value>,
    listing: Option<&Value>,
    policy: &dyn ToolPolicy,
) -> Findings {
    let label = match server {
        Some(s) => format!("{s}/{name}"),
        None => name.to_owned(),
    };
    let mut out = Findings::default();
    if let Some(s) = server {
        out.target(Target {
            kind: "mcp:server".into(),
            name: s.into(),
            ..Target::default()
        });
    }
    argument_targets(arguments, &mut out);

    if let Some(s) = server
        && let Some((effect, pattern)) = policy.tool_effect(s, name)
    {
        out.part(
            Part::new(
                clip(&label),
                effect,
                format!("the policy maps `{pattern}` of server `{s}` to {effect}"),
            )
            .operation(name),
        );
        return out;
    }

    let words = name_words(name);
    let sqlish = is_sqlish(&words) || server.is_some_and(|s| is_sqlish(&name_words(s)));
    let verbs = Verbs::of(&words);

    // 2. Code in the arguments.
    let mut code = Findings::default();
    let cli = words.iter().find_map(|w| cli_named(w));
    for (key, value) in arguments {
        let k = normalise_key(key);
        if SQL_KEYS.contains(&k.as_str())
            || (k == "query"
                && (sqlish || (verbs.exec && value.as_str().is_some_and(looks_like_sql))))
        {
            if let Some(text) = value.as_str() {
                code.extend(sql::classify(text, dialect(server, &words)));
            }
        } else if SHELL_KEYS.contains(&k.as_str()) {
            let Some(line) = command_line(value) else {
                continue;
            };
            let line = match cli {
                Some(cli) if line.split_whitespace().next() != Some(cli) => {
                    format!("{cli} {line}")
                }
                _ => line,
            };
            code.extend(shell::classify(&line));
        } else if k == "pipeline" {
            mongo_pipeline(value, &label, &mut code);
        }
    }
    if code.parts.is_empty()
        && let Some(cli) = cli
        && let Some(line) = synthesise(cli, &words, arguments)
    {
        let f = shell::classify(&line);
        if f.effect() != Unknown {
            code.extend(f);
        }
    }
    let has_code = !code.parts.is_empty();
    // A tool named after a CLI *is* that CLI's command: its name adds nothing
    // (`git_reset` is `git reset`, which unstages; it does not destroy).
    let name_is_command = has_code && cli.is_some();
    out.extend(code);

    // 3. The name, and arguments with a fixed meaning.
    let dry_run = arguments
        .iter()
        .any(|(k, v)| normalise_key(k) == "dryrun" && v.as_bool() == Some(true));
    let mut named = verbs.effect();
    if named == Write && verbs.overwrite {
        if let Some(p) = path_argument(arguments) {
            if access_control_file(p) {
                named = Permissions;
            } else if surely_exists(p) {
                named = Delete;
            }
        }
    } else if matches!(named, Write | Delete)
        && verbs.write_like_file
        && path_argument(arguments).is_some_and(access_control_file)
    {
        named = Permissions;
    }
    if has_code {
        // The name only adds what the code does not already say; an "execute" verb
        // says nothing beyond the code it runs.
        if named != Unknown && !verbs.exec && !name_is_command {
            out.part(Part::new(clip(&label), named, verbs.why(named)).operation(name));
        }
    } else if dry_run && named == Write {
        // `dryRun` is the caller's own argument: believed only to lower a change,
        // never a destruction (a server that ignores it would delete for real).
        out.part(
            Part::new(
                clip(&label),
                Read,
                "a dry run (`dryRun: true`) changes nothing",
            )
            .operation(name),
        );
    } else {
        let trusted = server.is_some_and(|s| policy.trusts_annotations(s));
        let hinted = annotations(listing).and_then(|a| hint_effect(a, trusted));
        let (effect, why) = match (named, &hinted) {
            (Unknown, Some((e, why))) => (*e, why.clone()),
            (Unknown, None) => (Unknown, verbs.why(Unknown)),
            (e, _) => (e, verbs.why(e)),
        };
        let bulk = effect == Delete && (verbs.bulk || bulk_arguments(arguments));
        out.part(
            Part::new(clip(&label), effect, why)
                .bulk(bulk)
                .operation(name),
        );
        // An untrusted server admitting its tool is destructive can only raise.
        if let Some((e, why)) = hinted
            && named != Unknown
            && e > effect
        {
            out.part(Part::new(clip(&label), e, why).operation(name));
        }
    }
    out
}

/// Argument keys whose string value is SQL.
const SQL_KEYS: &[&str] = &["sql", "statement", "sqlquery", "sqlstatement", "querysql"];
/// Argument keys whose value is a shell command line (or its argv).
const SHELL_KEYS: &[&str] = &[
    "command",
    "cmd",
    "clicommand",
    "shellcommand",
    "script",
    "shell",
    "bash",
    "commandline",
    "args",
    "argv",
];

/// `dry_run`, `dryRun`, `Dry-Run` → `dryrun`.
fn normalise_key(k: &str) -> String {
    k.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A tool or server name as lowercase words: `slack_post_message`,
/// `delete-many`, `createPullRequest`, `kubectl.get` all split as expected.
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

const DELETE_VERBS: &[&str] = &[
    "delete",
    "del",
    "remove",
    "rm",
    "drop",
    "destroy",
    "purge",
    "truncate",
    "erase",
    "wipe",
    "flush",
    "reset",
    "uninstall",
    "terminate",
    "prune",
    "clear",
    "empty",
    "deregister",
    "unregister",
    "overwrite",
    "shred",
    "nuke",
    "decommission",
    "teardown",
];
/// Destructive verbs that take everything in their scope.
const BULK_VERBS: &[&str] = &[
    "drop",
    "purge",
    "truncate",
    "wipe",
    "flush",
    "reset",
    "empty",
    "destroy",
    "prune",
    "nuke",
    "teardown",
    "decommission",
];
const PERMISSION_VERBS: &[&str] = &[
    "grant",
    "revoke",
    "share",
    "unshare",
    "invite",
    "impersonate",
    "authorize",
    "deauthorize",
    "elevate",
    "chmod",
    "chown",
    "setfacl",
];
/// Nouns that make any changing verb a change to who can do what.
const PERMISSION_NOUNS: &[&str] = &[
    "role",
    "roles",
    "permission",
    "permissions",
    "perms",
    "acl",
    "acls",
    "iam",
    "access",
    "collaborator",
    "collaborators",
    "member",
    "members",
    "membership",
    "privilege",
    "privileges",
    "sharing",
    "ownership",
    "rbac",
    "key",
    "keys",
    "apikey",
    "token",
    "tokens",
    "credential",
    "credentials",
    "password",
    "passwd",
    "sshkey",
];
const WRITE_VERBS: &[&str] = &[
    "create",
    "update",
    "write",
    "edit",
    "modify",
    "set",
    "put",
    "post",
    "add",
    "insert",
    "upsert",
    "patch",
    "push",
    "merge",
    "move",
    "mv",
    "rename",
    "copy",
    "cp",
    "upload",
    "send",
    "publish",
    "deploy",
    "start",
    "stop",
    "restart",
    "reboot",
    "apply",
    "commit",
    "open",
    "close",
    "comment",
    "reply",
    "assign",
    "unassign",
    "label",
    "tag",
    "untag",
    "approve",
    "reject",
    "enable",
    "disable",
    "save",
    "append",
    "mark",
    "schedule",
    "cancel",
    "trigger",
    "dispatch",
    "fork",
    "clone",
    "checkout",
    "install",
    "build",
    "scale",
    "rollback",
    "rollout",
    "restore",
    "import",
    "sync",
    "transfer",
    "lock",
    "unlock",
    "archive",
    "unarchive",
    "star",
    "unstar",
    "subscribe",
    "unsubscribe",
    "react",
    "pin",
    "unpin",
    "kill",
    "suspend",
    "resume",
    "pause",
    "unpause",
    "submit",
    "complete",
    "resolve",
    "reopen",
    "notify",
    "store",
    "record",
    "remember",
    "link",
    "unlink",
    "mkdir",
    "replace",
    "attach",
    "detach",
    "configure",
    "register",
    "generate",
    "rotate",
    "issue",
    "new",
    "change",
    "upgrade",
    "downgrade",
    "migrate",
    "seed",
    "init",
    "initialize",
    "provision",
    "allocate",
    "release",
    "resize",
    "invalidate",
    "refresh",
    "retry",
    "rerun",
    "redeploy",
];
const READ_VERBS: &[&str] = &[
    "get",
    "list",
    "read",
    "search",
    "find",
    "describe",
    "show",
    "fetch",
    "query",
    "view",
    "count",
    "check",
    "lookup",
    "browse",
    "inspect",
    "diff",
    "status",
    "explain",
    "stat",
    "info",
    "tree",
    "history",
    "navigate",
    "snapshot",
    "screenshot",
    "tail",
    "ls",
    "cat",
    "head",
    "download",
    "preview",
    "validate",
    "lint",
    "analyze",
    "analyse",
    "summarize",
    "compare",
    "retrieve",
    "select",
    "poll",
    "ping",
    "health",
    "whoami",
    "aggregate",
    "hover",
    "glob",
    "grep",
    "logs",
    "watch",
    "estimate",
    "test",
    "verify",
    "scan",
    "audit",
    "export",
    "extract",
    "wait",
    "console",
    "network",
    "tabs",
];
/// Verbs that run something whose effect only its code can tell: with no code in
/// the arguments, the call is `unknown`. Clicking and typing in a browser run
/// whatever the page does.
const EXEC_VERBS: &[&str] = &[
    "run", "execute", "exec", "eval", "evaluate", "call", "invoke", "do", "perform", "click",
    "press", "type", "fill", "drag", "dblclick", "keypress", "handle", "process", "act", "action",
    "operate", "command", "script",
];

struct Verbs {
    delete: bool,
    bulk: bool,
    permission_verb: bool,
    permission_noun: bool,
    write: bool,
    read: bool,
    exec: bool,
    /// `write_file`, `save`, `put_object`: replaces a whole file.
    overwrite: bool,
    /// The tool writes a file (so the path decides whether it grants access).
    write_like_file: bool,
    first: Option<String>,
}

impl Verbs {
    fn of(words: &[String]) -> Verbs {
        let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
        let file = words
            .iter()
            .any(|w| matches!(w.as_str(), "file" | "files" | "notebook" | "text"));
        let first = words
            .iter()
            .find(|w| {
                let w = w.as_str();
                [
                    DELETE_VERBS,
                    PERMISSION_VERBS,
                    WRITE_VERBS,
                    READ_VERBS,
                    EXEC_VERBS,
                ]
                .iter()
                .any(|l| l.contains(&w))
            })
            .cloned();
        Verbs {
            delete: has(DELETE_VERBS),
            bulk: has(BULK_VERBS),
            permission_verb: has(PERMISSION_VERBS),
            permission_noun: has(PERMISSION_NOUNS),
            write: has(WRITE_VERBS),
            read: has(READ_VERBS),
            exec: has(EXEC_VERBS),
            overwrite: file && words.iter().any(|w| matches!(w.as_str(), "write" | "save")),
            write_like_file: file,
            first,
        }
    }

    fn read_first(&self) -> bool {
        self.first
            .as_deref()
            .is_some_and(|w| READ_VERBS.contains(&w))
    }

    fn effect(&self) -> Effect {
        if self.permission_verb
            || (self.permission_noun && (self.delete || self.write) && !self.read_first())
        {
            Permissions
        } else if self.delete && !self.read_first() {
            Delete
        } else if self.exec {
            Unknown
        } else if self.write && !self.read_first() {
            Write
        } else if self.read {
            Read
        } else {
            Unknown
        }
    }

    fn why(&self, effect: Effect) -> String {
        let verb = self.first.as_deref().unwrap_or("");
        match effect {
            Permissions if self.permission_verb => {
                format!("the tool's name says it changes access (`{verb}`)")
            }
            Permissions => "the tool changes roles, members, keys or credentials".into(),
            Delete => format!("the tool's name says it destroys (`{verb}`)"),
            Write => format!("the tool's name says it changes something (`{verb}`)"),
            Read => format!("the tool's name says it only reads (`{verb}`)"),
            Unknown if self.exec => {
                format!("the tool runs something (`{verb}`) and its arguments do not say what")
            }
            Unknown => "nothing in the tool's name or arguments says what it does".into(),
        }
    }
}

/// CLIs whose knowledge applies to a tool named after them.
fn cli_named(word: &str) -> Option<&'static str> {
    Some(match word {
        "kubectl" | "k8s" | "kubernetes" => "kubectl",
        "helm" => "helm",
        "git" => "git",
        "docker" => "docker",
        "terraform" => "terraform",
        "tofu" => "tofu",
        "aws" => "aws",
        "gcloud" => "gcloud",
        "az" => "az",
        "gh" => "gh",
        _ => return None,
    })
}

/// A command line for a tool named after a CLI with no command in its arguments:
/// `kubectl_delete {resourceType: namespace, name: prod}` →
/// `kubectl delete namespace prod`; `git_push {force: true}` → `git push --force`.
fn synthesise(cli: &str, words: &[String], args: &Map<String, Value>) -> Option<String> {
    let verbs: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| cli_named(w).is_none() && !EXEC_VERBS.contains(w))
        .collect();
    if verbs.is_empty() {
        return None;
    }
    let mut line = vec![cli.to_owned()];
    line.extend(verbs.iter().map(|w| (*w).to_owned()));
    let mut flags = Vec::new();
    for (key, value) in args {
        let k = normalise_key(key);
        match (k.as_str(), value) {
            ("resourcetype" | "resource" | "kind" | "type", Value::String(s))
                if cli == "kubectl" =>
            {
                line.insert(1 + verbs.len(), s.clone());
            }
            ("name" | "resourcename", Value::String(s)) if cli == "kubectl" => line.push(s.clone()),
            ("namespace", Value::String(s)) if cli == "kubectl" => {
                flags.push("-n".to_owned());
                flags.push(s.clone());
            }
            (_, Value::Bool(true)) => flags.push(format!("--{}", kebab(key))),
            _ => {}
        }
    }
    line.extend(flags);
    Some(
        line.iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// `autoApprove` → `auto-approve`, `dry_run` → `dry-run`.
fn kebab(key: &str) -> String {
    name_words(key).join("-")
}

/// A shell command line from an argument: a string as is, an argv array quoted.
fn command_line(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let words: Option<Vec<String>> =
                items.iter().map(|i| i.as_str().map(shell_quote)).collect();
            words.filter(|w| !w.is_empty()).map(|w| w.join(" "))
        }
        _ => None,
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn is_sqlish(words: &[String]) -> bool {
    words.iter().any(|w| {
        matches!(
            w.as_str(),
            "sql"
                | "query"
                | "db"
                | "database"
                | "postgres"
                | "postgresql"
                | "pg"
                | "mysql"
                | "mariadb"
                | "sqlite"
                | "sqlite3"
                | "supabase"
                | "neon"
                | "planetscale"
                | "bigquery"
                | "snowflake"
                | "clickhouse"
                | "duckdb"
                | "redshift"
                | "mssql"
                | "oracle"
                | "cockroach"
                | "cockroachdb"
                | "tidb"
                | "timescale"
        )
    })
}

fn dialect(server: Option<&str>, words: &[String]) -> sql::Dialect {
    let all: Vec<String> = server
        .map(name_words)
        .unwrap_or_default()
        .into_iter()
        .chain(words.iter().cloned())
        .collect();
    let has = |names: &[&str]| all.iter().any(|w| names.contains(&w.as_str()));
    if has(&[
        "postgres",
        "postgresql",
        "pg",
        "supabase",
        "neon",
        "redshift",
        "cockroach",
        "cockroachdb",
        "timescale",
    ]) {
        sql::Dialect::Postgres
    } else if has(&["mysql", "mariadb", "planetscale", "tidb"]) {
        sql::Dialect::MySql
    } else if has(&["sqlite", "sqlite3"]) {
        sql::Dialect::Sqlite
    } else {
        sql::Dialect::Generic
    }
}

/// Whether a string reads as SQL: its first keyword, after comments, is a statement.
fn looks_like_sql(s: &str) -> bool {
    let mut rest = s.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    if rest.starts_with('(') {
        return true;
    }
    let word: String = rest
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_uppercase();
    matches!(
        word.as_str(),
        "SELECT"
            | "WITH"
            | "INSERT"
            | "UPDATE"
            | "DELETE"
            | "MERGE"
            | "UPSERT"
            | "REPLACE"
            | "CREATE"
            | "ALTER"
            | "DROP"
            | "TRUNCATE"
            | "GRANT"
            | "REVOKE"
            | "EXPLAIN"
            | "SHOW"
            | "DESCRIBE"
            | "DESC"
            | "SET"
            | "BEGIN"
            | "START"
            | "COMMIT"
            | "ROLLBACK"
            | "COPY"
            | "VACUUM"
            | "ANALYZE"
            | "CALL"
            | "EXEC"
            | "EXECUTE"
            | "DO"
            | "PRAGMA"
            | "USE"
            | "VALUES"
            | "TABLE"
            | "LOCK"
            | "REINDEX"
            | "CLUSTER"
            | "COMMENT"
            | "RENAME"
            | "LOAD"
            | "ATTACH"
            | "DETACH"
            | "REFRESH"
            | "UNLOAD"
    )
}

/// A MongoDB aggregation pipeline: `$out` replaces the target collection, `$merge`
/// writes into one; every other stage only reads.
fn mongo_pipeline(v: &Value, label: &str, out: &mut Findings) {
    let Some(stages) = v.as_array() else {
        return;
    };
    let mut effect = Read;
    let mut why = "an aggregation pipeline with only reading stages";
    for stage in stages.iter().filter_map(Value::as_object) {
        if stage.contains_key("$out") {
            effect = Delete;
            why = "`$out` replaces the whole output collection";
        } else if stage.contains_key("$merge") && effect < Write {
            effect = Write;
            why = "`$merge` writes into a collection";
        }
    }
    out.part(Part::new(clip(label), effect, why).bulk(effect == Delete));
}

/// Arguments that make a destructive tool unbounded: `recursive`, `all`, `force`
/// over everything, a `*` or `all` scope, an empty filter.
fn bulk_arguments(args: &Map<String, Value>) -> bool {
    args.iter().any(|(k, v)| {
        let k = normalise_key(k);
        match v {
            Value::Bool(true) => {
                matches!(k.as_str(), "recursive" | "all" | "everything" | "cascade")
            }
            Value::String(s) => {
                matches!(s.as_str(), "*" | "all" | "ALL")
                    || (matches!(k.as_str(), "resourcetype" | "kind" | "type" | "resource")
                        && matches!(
                            s.to_ascii_lowercase().as_str(),
                            "namespace"
                                | "namespaces"
                                | "ns"
                                | "database"
                                | "cluster"
                                | "project"
                                | "bucket"
                                | "stack"
                                | "table"
                                | "collection"
                        ))
            }
            Value::Object(o) => {
                o.is_empty() && matches!(k.as_str(), "filter" | "query" | "where" | "selector")
            }
            _ => false,
        }
    })
}

/// The file a tool acts on, from the usual argument names.
fn path_argument(args: &Map<String, Value>) -> Option<&str> {
    args.iter().find_map(|(k, v)| {
        matches!(
            normalise_key(k).as_str(),
            "path" | "filepath" | "file" | "filename" | "notebookpath" | "destination"
        )
        .then(|| v.as_str())
        .flatten()
    })
}

/// Targets named by the arguments, so the policy's placements can see them.
fn argument_targets(args: &Map<String, Value>, out: &mut Findings) {
    let text = |key: &str| {
        args.iter()
            .find(|(k, _)| normalise_key(k) == key)
            .and_then(|(_, v)| v.as_str())
    };
    for (key, value) in args {
        let Some(s) = value.as_str().filter(|s| !s.is_empty()) else {
            continue;
        };
        let t = match normalise_key(key).as_str() {
            "path" | "filepath" | "file" | "filename" | "notebookpath" | "source"
            | "destination" | "repopath" | "directory" | "dir" | "workdir" | "cwd" => {
                file_target(s)
            }
            "namespace" => Target {
                kind: "k8s:namespace".into(),
                name: s.into(),
                namespace: Some(s.into()),
                ..Target::default()
            },
            "database" | "db" | "dbname" => Target {
                kind: "db:database".into(),
                name: s.into(),
                ..Target::default()
            },
            "table" | "tablename" | "collection" => Target {
                kind: "db:table".into(),
                name: s.into(),
                namespace: text("database").or(text("schema")).map(str::to_owned),
                ..Target::default()
            },
            "bucket" | "bucketname" => Target {
                kind: "bucket".into(),
                name: s.into(),
                ..Target::default()
            },
            "url" => Target {
                kind: "http:url".into(),
                name: s.into(),
                host: url_host(s).map(str::to_owned),
                ..Target::default()
            },
            "repo" | "repository" => Target {
                kind: "repo".into(),
                name: match text("owner") {
                    Some(owner) => format!("{owner}/{s}"),
                    None => s.into(),
                },
                ..Target::default()
            },
            "projectid" | "project" | "accountid" | "account" | "subscription" => Target {
                kind: "account".into(),
                name: s.into(),
                account: Some(s.into()),
                ..Target::default()
            },
            "branch" | "branchid" => Target {
                kind: "branch".into(),
                name: s.into(),
                ..Target::default()
            },
            _ => continue,
        };
        out.target(t);
    }
}

fn annotations(listing: Option<&Value>) -> Option<&Map<String, Value>> {
    listing?.get("annotations")?.as_object()
}

/// The effect a server's annotations claim, if they may be used. Per the MCP
/// specification `destructiveHint` defaults to true and means something only when
/// `readOnlyHint` is false.
fn hint_effect(a: &Map<String, Value>, trusted: bool) -> Option<(Effect, String)> {
    let read_only = a.get("readOnlyHint").and_then(Value::as_bool);
    let destructive = a.get("destructiveHint").and_then(Value::as_bool);
    if trusted {
        match (read_only, destructive) {
            (Some(true), _) => Some((Read, "the trusted server marks the tool read-only".into())),
            (Some(false), Some(false)) => Some((
                Write,
                "the trusted server marks the tool as changing, not destroying".into(),
            )),
            (Some(false), _) => Some((
                Delete,
                "the trusted server marks the tool destructive".into(),
            )),
            (None, _) => None,
        }
    } else if destructive == Some(true) && read_only != Some(true) {
        Some((
            Delete,
            "the server itself marks the tool destructive".into(),
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(server: &str, name: &str, args: Value) -> Findings {
        classify_tool(
            Some(server),
            name,
            args.as_object().expect("object"),
            None,
            &NoToolPolicy,
        )
    }

    #[test]
    fn names_split_into_words() {
        assert_eq!(
            name_words("slack_post_message"),
            ["slack", "post", "message"]
        );
        assert_eq!(
            name_words("createPullRequest"),
            ["create", "pull", "request"]
        );
        assert_eq!(name_words("delete-many"), ["delete", "many"]);
        assert_eq!(name_words("kubectl.get"), ["kubectl", "get"]);
    }

    #[test]
    fn name_verbs_decide_without_code() {
        assert_eq!(
            call("fs", "read_text_file", json!({"path": "/a"})).effect(),
            Read
        );
        assert_eq!(call("gh", "create_pull_request", json!({})).effect(), Write);
        assert_eq!(
            call("fs", "delete_file", json!({"path": "/a"})).effect(),
            Delete
        );
        assert_eq!(call("gd", "share_file", json!({})).effect(), Permissions);
        assert_eq!(
            call("adm", "update_user_role", json!({})).effect(),
            Permissions
        );
        assert_eq!(
            call("adm", "create_api_key", json!({})).effect(),
            Permissions
        );
        assert_eq!(call("adm", "get_api_key", json!({})).effect(), Read);
        assert_eq!(call("x", "frobnicate", json!({})).effect(), Unknown);
        assert_eq!(call("pw", "browser_click", json!({})).effect(), Unknown);
        let f = call("db", "drop_table", json!({"table": "events"}));
        assert_eq!(f.effect(), Delete);
        assert!(f.bulk());
    }

    #[test]
    fn code_in_arguments_beats_the_name() {
        let f = call(
            "sqlite",
            "read_query",
            json!({"query": "DROP TABLE sessions"}),
        );
        assert_eq!(f.effect(), Delete);
        assert_eq!(
            call("pg", "query", json!({"sql": "SELECT 'delete me' FROM t"})).effect(),
            Read
        );
        assert_eq!(
            call("sh", "execute_command", json!({"command": "rm -rf /srv"})).effect(),
            Delete
        );
        assert_eq!(
            call(
                "k",
                "exec_in_pod",
                json!({"command": ["psql", "-c", "TRUNCATE events"]})
            )
            .effect(),
            Delete
        );
        assert_eq!(
            call("sh", "run_command", json!({"command": "./deploy.sh prod"})).effect(),
            Unknown
        );
        // A search query on a non-database tool is not SQL.
        assert_eq!(
            call(
                "github",
                "search_code",
                json!({"query": "DELETE FROM users"})
            )
            .effect(),
            Read
        );
        // An "execute" verb with no code says nothing.
        assert_eq!(call("db", "execute_sql", json!({})).effect(), Unknown);
    }

    #[test]
    fn tools_named_after_a_cli_use_its_knowledge() {
        let f = call(
            "k8s",
            "kubectl_delete",
            json!({"resourceType": "namespace", "name": "prod"}),
        );
        assert_eq!(f.effect(), Delete);
        assert_eq!(
            call(
                "k8s",
                "kubectl_get",
                json!({"resourceType": "pods", "namespace": "prod"})
            )
            .effect(),
            Read
        );
        assert_eq!(
            call("git", "git_reset", json!({"repo_path": "/r"})).effect(),
            Write
        );
        assert_eq!(
            call("git", "git_push", json!({"force": true})).effect(),
            Delete
        );
        assert_eq!(
            call("tf", "run_terraform", json!({"command": "destroy"})).effect(),
            Delete
        );
    }

    #[test]
    fn fixed_meaning_arguments() {
        assert_eq!(
            call("fs", "edit_file", json!({"path": "/a", "dryRun": true})).effect(),
            Read
        );
        assert_eq!(
            call("fs", "delete_file", json!({"path": "/a", "dryRun": true})).effect(),
            Delete,
            "a dry-run claim never lowers a deletion"
        );
        assert_eq!(
            call(
                "fs",
                "write_file",
                json!({"path": "/home/dev/.bashrc", "content": ""})
            )
            .effect(),
            Delete
        );
        assert_eq!(
            call(
                "fs",
                "write_file",
                json!({"path": "/home/dev/.ssh/authorized_keys"})
            )
            .effect(),
            Permissions
        );
        let f = call(
            "mongo",
            "aggregate",
            json!({"pipeline": [{"$match": {}}, {"$out": "users"}]}),
        );
        assert_eq!(f.effect(), Delete);
        assert!(call("mongo", "delete-many", json!({"filter": {}})).bulk());
        assert!(!call("mongo", "delete-many", json!({"filter": {"a": 1}})).bulk());
    }

    struct Trusting;
    impl ToolPolicy for Trusting {
        fn trusts_annotations(&self, server: &str) -> bool {
            server == "trusted"
        }
        fn tool_effect(&self, server: &str, tool: &str) -> Option<(Effect, String)> {
            (server == "mapped" && tool == "delete_everything")
                .then(|| (Read, "delete_everything".into()))
        }
    }

    #[test]
    fn annotations_only_settle_what_the_name_leaves_open_and_only_when_trusted() {
        let ro = json!({"annotations": {"readOnlyHint": true}});
        let args = Map::new();
        let run = |server, name, listing: &Value| {
            classify_tool(Some(server), name, &args, Some(listing), &Trusting).effect()
        };
        assert_eq!(run("trusted", "frobnicate", &ro), Read);
        assert_eq!(run("untrusted", "frobnicate", &ro), Unknown);
        assert_eq!(
            run("trusted", "delete_records", &ro),
            Delete,
            "never lowers"
        );
        let destructive = json!({"annotations": {"readOnlyHint": false, "destructiveHint": true}});
        assert_eq!(
            run("untrusted", "update_cache", &destructive),
            Delete,
            "may raise"
        );
        assert_eq!(
            run("mapped", "delete_everything", &destructive),
            Read,
            "policy wins"
        );
    }

    #[test]
    fn hosts_come_out_of_urls() {
        assert_eq!(url_host("https://user@db.prod:5432/x"), Some("db.prod"));
        assert_eq!(url_host("postgres://[::1]:5432/x"), Some("[::1]"));
        assert_eq!(url_host("not a url"), None);
        assert_eq!(url_host("api.example.com/v1/x"), Some("api.example.com"));
    }
}
