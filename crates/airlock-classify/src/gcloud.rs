//! gcloud and az: verb and suffix rules.
//!
//! Both CLIs are `GROUP… VERB [positionals] [--flags]`. The verb is the first word
//! of the command path, after the first group, that is a known verb; its class gives
//! the effect (`list`/`describe`/`show` read, `create`/`update`/`deploy` write,
//! `delete`/`remove`/`purge` delete, `*-iam-policy*`/`set-policy` permissions). Some
//! groups make every change a permissions change (`gcloud iam`, `compute
//! firewall-rules`, `az role`, `az ad`). Deleting a container of data (a project, a
//! cluster, a database, a resource group) is bulk. A verb not known here is
//! `unknown`. Remote commands (`gcloud compute ssh --command`, `az vm run-command
//! invoke --scripts`, `az aks command invoke --command`) are classified as shell.
//!
//! Targets: gcloud `gcp:<service>:<resource>` named by the first positional (or a
//! `gs://` URL), `--project` → account, `--region`/`--zone`/`--location` → region,
//! `--configuration` → profile. az `azure:<group…>` named by `--name`,
//! `--subscription` → account, `--resource-group` → namespace (the scope that holds
//! the resource, as a Kubernetes namespace does), `--location` → region.

use airlock_model::{Effect, Target};

use crate::aws::remote_script;
use crate::shell::clip;
use crate::{Findings, Part, sql};

use Effect::{Delete, Permissions, Read, Unknown, Write};

/// Classifies `gcloud …`; `args` are the words after `gcloud`.
pub fn classify_gcloud(args: &[&str]) -> Findings {
    classify_gcloud_at(0, args)
}

/// [`classify_gcloud`] for a command found `depth` levels deep in a shell line.
pub(crate) fn classify_gcloud_at(depth: usize, args: &[&str]) -> Findings {
    let text = clip(&format!("gcloud {}", args.join(" ")));
    let mut out = Findings::default();
    let mut cmd = Cmd::parse(args, GCLOUD_GLOBALS, GCLOUD_GLOBAL_FLAGS);
    cmd.depth = depth;
    let (effect, why, bulk) = gcloud_effect(&cmd, &mut out);
    let op = format!("gcloud:{}", cmd.path.join("."));
    out.parts
        .insert(0, Part::new(text, effect, why).bulk(bulk).operation(op));
    gcloud_targets(&cmd, &mut out);
    out
}

/// Classifies `az …`; `args` are the words after `az`.
pub fn classify_az(args: &[&str]) -> Findings {
    classify_az_at(0, args)
}

/// [`classify_az`] for a command found `depth` levels deep in a shell line.
pub(crate) fn classify_az_at(depth: usize, args: &[&str]) -> Findings {
    let text = clip(&format!("az {}", args.join(" ")));
    let mut out = Findings::default();
    let mut cmd = Cmd::parse(args, AZ_GLOBALS, AZ_GLOBAL_FLAGS);
    cmd.depth = depth;
    let (effect, why, bulk) = az_effect(&cmd, &mut out);
    let op = format!("az:{}", cmd.path.join("."));
    out.parts
        .insert(0, Part::new(text, effect, why).bulk(bulk).operation(op));
    az_targets(&cmd, &mut out);
    out
}

/// Classifies `bq …`; `args` are the words after `bq`.
pub fn classify_bq(args: &[&str]) -> Findings {
    let text = clip(&format!("bq {}", args.join(" ")));
    let mut out = Findings::default();
    // bq flags are `--flag=value` or `--flag value`; the common ones with a value.
    let with_value = [
        "--project_id",
        "--dataset_id",
        "--location",
        "--format",
        "--max_rows",
        "-n",
        "--parameter",
        "--destination_table",
        "--api",
        "--job_id",
    ];
    let mut pos = Vec::new();
    let mut flags = Vec::new();
    let mut i = 0;
    while let Some(&w) = args.get(i) {
        i += 1;
        if w.starts_with('-') && w.len() > 1 {
            flags.push(w);
            if with_value.contains(&w) {
                i += 1;
            }
        } else {
            pos.push(w);
        }
    }
    let flag = |short: &str, long: &str| {
        flags
            .iter()
            .any(|f| *f == short || *f == long || f.starts_with(&format!("{long}=")))
    };
    let verb = pos.first().copied().unwrap_or("");
    let (effect, why, bulk) = match verb {
        "ls" | "show" | "head" | "help" | "version" | "wait" | "get-iam-policy" => {
            (Read, format!("`bq {verb}` reads"), false)
        }
        "query" => {
            let sql_text = pos.get(1..).unwrap_or(&[]).join(" ");
            if sql_text.trim().is_empty() {
                (
                    Unknown,
                    "the query is read from standard input".into(),
                    false,
                )
            } else {
                let f = sql::classify(&sql_text, sql::Dialect::Generic);
                let (e, b) = (f.effect(), f.bulk());
                out.parts.extend(f.parts);
                (e, format!("runs SQL: {e}"), b)
            }
        }
        "rm" => {
            let recursive = flag("-r", "--recursive");
            let container = flag("-d", "--dataset") || flag("-r", "--recursive");
            (
                Delete,
                "`bq rm` deletes a table, view or dataset".into(),
                recursive || container,
            )
        }
        "mk" | "load" | "insert" | "cp" | "update" | "extract" | "partition" | "mkdef" => {
            let overwrite = flag("-f", "--force") && verb == "cp" || flag("", "--replace");
            if overwrite {
                (
                    Delete,
                    format!("`bq {verb}` replaces the destination"),
                    false,
                )
            } else {
                (Write, format!("`bq {verb}` creates or changes data"), false)
            }
        }
        "set-iam-policy" | "add-iam-policy-binding" | "remove-iam-policy-binding" => {
            (Permissions, format!("`bq {verb}` changes access"), false)
        }
        "shell" => (Unknown, "an interactive shell".into(), false),
        _ => (Unknown, format!("unknown `bq {verb}`"), false),
    };
    out.parts.insert(
        0,
        Part::new(text, effect, why)
            .bulk(bulk)
            .operation(format!("bq:{verb}")),
    );
    out
}

// ---------------------------------------------------------------------------
// Parsing

/// A parsed command line: the command path (groups and verb), the positionals after
/// it, and the options.
struct Cmd<'a> {
    /// Words before the first option, release tracks removed.
    path: Vec<&'a str>,
    /// Index of the verb in `path`.
    verb: Option<usize>,
    /// Every non-option word after the verb (may include option values).
    positionals: Vec<&'a str>,
    /// All words but the command path, global options removed.
    params: Vec<&'a str>,
    /// Global options with a value.
    globals: Vec<(&'a str, &'a str)>,
    /// Nesting depth of the shell line (see `aws::remote_script`).
    depth: usize,
}

impl<'a> Cmd<'a> {
    fn parse(args: &[&'a str], globals: &[&str], flags: &[&str]) -> Cmd<'a> {
        let mut words = Vec::new();
        let mut g = Vec::new();
        let mut i = 0;
        while let Some(&w) = args.get(i) {
            i += 1;
            let (name, inline) = match w.split_once('=') {
                Some((n, v)) if n.starts_with('-') => (n, Some(v)),
                _ => (w, None),
            };
            if globals.contains(&name) {
                let value = inline.or_else(|| {
                    let v = args.get(i).copied();
                    i += 1;
                    v
                });
                g.push((name, value.unwrap_or("")));
            } else if !flags.contains(&name) {
                words.push(w);
            }
        }
        let track = words
            .first()
            .is_some_and(|w| matches!(*w, "alpha" | "beta" | "preview"));
        let start = usize::from(track);
        let mut path: Vec<&str> = words
            .iter()
            .skip(start)
            .take_while(|w| !w.starts_with('-'))
            .copied()
            .collect();
        let verb = path
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, w)| verb_class(w).is_some())
            .map(|(i, _)| i)
            .or_else(|| {
                (path.len() == 1 && path.first().and_then(|w| verb_class(w)).is_some()).then_some(0)
            });
        path.truncate(verb.map_or(path.len(), |v| v + 1));
        let params: Vec<&str> = words.get(start + path.len()..).unwrap_or(&[]).to_vec();
        let positionals = positional_words(&params);
        Cmd {
            path,
            verb,
            positionals,
            params,
            globals: g,
            depth: 0,
        }
    }

    fn verb(&self) -> &'a str {
        self.verb
            .and_then(|v| self.path.get(v))
            .copied()
            .unwrap_or("")
    }

    /// The groups before the verb.
    fn groups(&self) -> &[&'a str] {
        self.path
            .get(..self.verb.unwrap_or(self.path.len()))
            .unwrap_or(&[])
    }

    fn global(&self, names: &[&str]) -> Option<&'a str> {
        self.globals
            .iter()
            .rev()
            .find(|(n, _)| names.contains(n))
            .map(|(_, v)| *v)
    }

    /// The value of an option (`--opt v`, `--opt=v`, `-o v`).
    fn opt(&self, names: &[&str]) -> Option<&'a str> {
        let mut it = self.params.iter();
        while let Some(w) = it.next() {
            for n in names {
                if w == n {
                    return it.next().copied();
                }
                if let Some(v) = w.strip_prefix(n).and_then(|r| r.strip_prefix('=')) {
                    return Some(v);
                }
            }
        }
        None
    }

    fn flag(&self, names: &[&str]) -> bool {
        self.params.iter().any(|w| {
            names.iter().any(|n| {
                *w == *n
                    || w.strip_prefix(n)
                        .and_then(|r| r.strip_prefix('='))
                        .is_some_and(|v| !v.eq_ignore_ascii_case("false"))
            })
        })
    }
}

/// Long options that take no value (a word after any other `--option` is its value).
#[rustfmt::skip]
const BOOL_LONG: &[&str] = &[
    "--recursive", "--all", "--async", "--force", "--quiet", "--yes", "--interactive",
    "--dry-run", "--overwrite", "--delete-unmatched-destination-objects",
];

/// The non-option words of `params`, up to a `--`.
fn positional_words<'a>(params: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut value_next = false;
    for w in params {
        if *w == "--" {
            break;
        }
        if w.starts_with('-') && w.len() > 1 {
            value_next = w.starts_with("--")
                && !w.contains('=')
                && !w.starts_with("--no-")
                && !BOOL_LONG.contains(w);
        } else if value_next && !w.starts_with("gs://") {
            value_next = false;
        } else {
            value_next = false;
            out.push(*w);
        }
    }
    out
}

/// The class of a command verb. `None`: not a verb known here.
fn verb_class(w: &str) -> Option<Effect> {
    Some(match w {
        "list"
        | "describe"
        | "show"
        | "get"
        | "read"
        | "tail"
        | "get-iam-policy"
        | "ls"
        | "cat"
        | "du"
        | "hash"
        | "diff"
        | "wait"
        | "search"
        | "lookup"
        | "access"
        | "explain"
        | "validate"
        | "check"
        | "exists"
        | "query"
        | "browse"
        | "test-iam-permissions"
        | "get-value"
        | "print-access-token"
        | "print-identity-token"
        | "get-access-token"
        | "version"
        | "info"
        | "help" => Read,
        "create"
        | "update"
        | "deploy"
        | "set"
        | "patch"
        | "add"
        | "import"
        | "export"
        | "start"
        | "stop"
        | "restart"
        | "resize"
        | "enable"
        | "disable"
        | "move"
        | "copy"
        | "cp"
        | "rsync"
        | "sync"
        | "scale"
        | "upload"
        | "upload-batch"
        | "download"
        | "download-batch"
        | "suspend"
        | "resume"
        | "promote"
        | "failover"
        | "restore"
        | "clone"
        | "reset"
        | "apply"
        | "rollback"
        | "publish"
        | "pull"
        | "ack"
        | "seek"
        | "upgrade"
        | "repair"
        | "install"
        | "login"
        | "logout"
        | "activate-service-account"
        | "configure-docker"
        | "get-credentials"
        | "init"
        | "unset"
        | "activate"
        | "deallocate"
        | "redeploy"
        | "swap"
        | "config-zip"
        | "undelete"
        | "cancel"
        | "mb"
        | "attach-disk"
        | "detach-disk"
        | "scp"
        | "renew"
        | "rotate"
        | "tag"
        | "label"
        | "generalize"
        | "capture"
        | "convert"
        | "approve"
        | "revoke"
        | "unlink"
        | "link"
        | "abort"
        | "mv"
        | "truncate"
        | "rollout"
        | "backup" => Write,
        "delete" | "remove" | "destroy" | "purge" | "rm" | "rb" | "clear" | "abandon" | "wipe"
        | "delete-batch" | "bulk-delete" | "reimage" => Delete,
        "set-iam-policy"
        | "add-iam-policy-binding"
        | "remove-iam-policy-binding"
        | "set-password"
        | "reset-windows-password"
        | "set-policy"
        | "delete-policy"
        | "create-for-rbac"
        | "set-permission"
        | "generate-sas"
        | "open-port" => Permissions,
        "ssh" | "connect" | "submit" | "call" | "invoke" | "execute" | "run" | "exec"
        | "execute-sql" | "interactive" => Unknown,
        _ => {
            return if w.starts_with("list-")
                || w.starts_with("describe-")
                || w.starts_with("show-")
                || (w.starts_with("get-") && w != "get-credentials")
            {
                Some(Read)
            } else if w.ends_with("-iam-policy-binding") || w.ends_with("-iam-policy") {
                Some(Permissions)
            } else if w.starts_with("delete-") || w.starts_with("remove-") {
                Some(if w.ends_with("-tags") || w.ends_with("-labels") {
                    Write
                } else {
                    Delete
                })
            } else if w.starts_with("add-")
                || w.starts_with("set-")
                || w.starts_with("update-")
                || w.starts_with("create-")
                || w.starts_with("reset-")
            {
                Some(Write)
            } else {
                None
            };
        }
    })
}

fn computed(words: &[&str]) -> bool {
    words.iter().any(|w| {
        w.contains("$(")
            || w.contains('`')
            || *w == "<stdin items>"
            || w.split('$').skip(1).any(|s| {
                s.starts_with('{')
                    || s.chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            })
    })
}

/// Singular of a resource collection: `instances` → `instance`, `policies` →
/// `policy`.
fn singular(w: &str) -> String {
    if let Some(s) = w.strip_suffix("ies") {
        format!("{s}y")
    } else if let Some(s) = w
        .strip_suffix("sses")
        .or_else(|| w.strip_suffix("xes"))
        .or_else(|| w.strip_suffix("ches"))
    {
        format!("{s}{}", &w[s.len()..w.len() - 2])
    } else if w.ends_with("ss") {
        w.to_owned()
    } else {
        w.strip_suffix('s').unwrap_or(w).to_owned()
    }
}

// ---------------------------------------------------------------------------
// gcloud

#[rustfmt::skip]
const GCLOUD_GLOBALS: &[&str] = &[
    "--project", "--account", "--configuration", "--format", "--verbosity",
    "--impersonate-service-account", "--billing-project", "--flags-file", "--flatten",
    "--trace-token", "--region", "--zone", "--location",
];
#[rustfmt::skip]
const GCLOUD_GLOBAL_FLAGS: &[&str] = &[
    "--quiet", "-q", "--log-http", "--user-output-enabled", "--no-user-output-enabled",
];

/// Groups in which every change changes who may do or reach what.
#[rustfmt::skip]
const GCLOUD_ACCESS_GROUPS: &[&str] = &[
    "iam", "firewall-rules", "firewall-policies", "security-policies", "org-policies",
    "ssh-keys", "service-accounts", "roles", "access-context-manager",
];

/// Collections whose deletion takes everything inside.
#[rustfmt::skip]
const GCLOUD_BULK: &[&str] = &[
    "projects", "clusters", "databases", "buckets", "datasets", "repositories", "environments",
    "logs", "tables", "folders", "node-pools",
];

fn gcloud_effect(cmd: &Cmd, out: &mut Findings) -> (Effect, String, bool) {
    let groups = cmd.groups();
    let first = groups.first().copied().unwrap_or("");
    let verb = cmd.verb();
    let Some(class) = cmd.verb.and_then(|_| verb_class(verb)) else {
        return match cmd.path.first() {
            None if cmd
                .params
                .iter()
                .any(|w| *w == "--version" || *w == "--help") =>
            {
                (Read, "prints version or help".into(), false)
            }
            _ => (
                Unknown,
                format!("unknown gcloud command `{}`", cmd.path.join(" ")),
                false,
            ),
        };
    };
    if cmd.flag(&["--help", "-h"]) || cmd.positionals.first() == Some(&"help") {
        return (Read, "prints help".into(), false);
    }
    let last = groups.last().copied().unwrap_or("");
    // Commands with their own meaning.
    match (first, last, verb) {
        (_, _, "ssh") => {
            let remote = cmd
                .opt(&["--command"])
                .map(str::to_owned)
                .or_else(|| after_dashes(&cmd.params));
            return match remote {
                Some(c) => {
                    let f = remote_script(cmd.depth, &c);
                    let (e, b) = (f.effect(), f.bulk());
                    out.parts.extend(f.parts);
                    (e, format!("runs a remote command: {e}"), b)
                }
                None => (Unknown, "an interactive shell on the machine".into(), false),
            };
        }
        ("sql", "sql", "import") => {
            return (
                Unknown,
                "runs SQL from a file airlock has not read".into(),
                false,
            );
        }
        ("spanner", _, "execute-sql") | ("spanner", "ddl", "update") => {
            let stmts = cmd.opt(&["--sql", "--ddl"]).unwrap_or("");
            if stmts.is_empty() {
                return (Unknown, "the SQL is not visible".into(), false);
            }
            let f = sql::classify(stmts, sql::Dialect::Generic);
            let (e, b) = (f.effect(), f.bulk());
            out.parts.extend(f.parts);
            return (e, format!("runs SQL: {e}"), b);
        }
        ("storage", _, "mv") => {
            return (
                Delete,
                "`storage mv` deletes the source after copying it".into(),
                cmd.flag(&["-r", "-R", "--recursive"]),
            );
        }
        ("storage", _, "rsync") if cmd.flag(&["--delete-unmatched-destination-objects"]) => {
            return (
                Delete,
                "deletes destination objects missing from the source".into(),
                true,
            );
        }
        _ => {}
    }
    let mut effect = class;
    let mut why = format!("`{verb}` {}", effect_words(class));
    if class != Read && class != Unknown {
        if groups.iter().any(|g| GCLOUD_ACCESS_GROUPS.contains(g))
            || (first == "sql" && last == "users")
        {
            effect = Permissions;
            why = format!("changes `{}` (who may do or reach what)", groups.join(" "));
        } else if cmd.opt(&["--password"]).is_some() && verb != "create" {
            effect = Permissions;
            why = "sets a password".into();
        } else if cmd
            .opt(&["--metadata", "--metadata-from-file"])
            .is_some_and(|m| m.contains("ssh-keys"))
        {
            effect = Permissions;
            why = "adds SSH keys".into();
        } else if cmd
            .opt(&["--authorized-networks"])
            .is_some_and(|n| n.contains("0.0.0.0/0"))
        {
            effect = Permissions;
            why = "opens the instance to the internet".into();
        } else if class == Write && (cmd.opt(&["--num-nodes", "--size"]) == Some("0")) {
            effect = Delete;
            why = "scales to zero".into();
        }
    }
    let bulk = effect == Delete
        && (GCLOUD_BULK.contains(&last)
            || (last == "instances" && first != "compute")
            || verb == "bulk-delete"
            || cmd.flag(&["-r", "-R", "--recursive", "--all"])
            || cmd
                .positionals
                .iter()
                .any(|p| p.starts_with("gs://") && p.contains('*'))
            || computed(&cmd.positionals));
    if bulk && class == Delete {
        why.push_str("; everything inside goes too");
    }
    (effect, why, bulk)
}

fn effect_words(e: Effect) -> &'static str {
    match e {
        Read => "reads",
        Write => "creates or changes",
        Delete => "deletes",
        Permissions => "changes access",
        Unknown => "runs what airlock cannot see",
    }
}

/// The words after `--`, joined: a remote command.
fn after_dashes(params: &[&str]) -> Option<String> {
    let i = params.iter().position(|w| *w == "--")?;
    let rest = params.get(i + 1..)?;
    (!rest.is_empty()).then(|| rest.join(" "))
}

fn gcloud_targets(cmd: &Cmd, out: &mut Findings) {
    let groups = cmd.groups();
    let first = groups.first().copied().unwrap_or("");
    let last = groups.last().copied().unwrap_or("");
    let base = Target {
        account: cmd.global(&["--project"]).map(str::to_owned),
        region: cmd
            .global(&["--region", "--zone", "--location"])
            .map(str::to_owned),
        profile: cmd.global(&["--configuration"]).map(str::to_owned),
        ..Target::default()
    };
    let local = matches!(
        first,
        "" | "config" | "auth" | "components" | "topic" | "help" | "info" | "version"
    );
    let kind = if groups.len() >= 2 {
        format!("gcp:{first}:{}", singular(last))
    } else {
        format!("gcp:{}", singular(first))
    };
    let mut found = Vec::new();
    for p in &cmd.positionals {
        if let Some(rest) = p.strip_prefix("gs://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                continue;
            }
            found.push(Target {
                kind: "gcp:storage:bucket".into(),
                name: bucket.to_owned(),
                ..base.clone()
            });
            if !key.is_empty() {
                found.push(Target {
                    kind: "gcp:storage:object".into(),
                    name: format!("{bucket}/{key}"),
                    ..base.clone()
                });
            }
        }
    }
    if !local
        && found.is_empty()
        && let Some(name) = cmd.positionals.first()
    {
        let mut t = Target {
            kind: kind.clone(),
            name: (*name).to_owned(),
            ..base.clone()
        };
        if first == "projects" && groups.len() == 1 {
            t.account = Some((*name).to_owned());
        }
        found.push(t);
    }
    for (opt, what) in [
        ("--instance", "instance"),
        ("--cluster", "cluster"),
        ("--database", "database"),
        ("--dataset", "dataset"),
        ("--iam-account", "service-account"),
    ] {
        if let Some(v) = cmd.opt(&[opt]) {
            let service = if opt == "--iam-account" { "iam" } else { first };
            found.push(Target {
                kind: format!("gcp:{service}:{what}"),
                name: v.to_owned(),
                ..base.clone()
            });
        }
    }
    if found.is_empty() && !first.is_empty() {
        found.push(Target {
            kind: format!("gcp:{first}"),
            ..base
        });
    }
    for t in found {
        out.target(t);
    }
}

// ---------------------------------------------------------------------------
// az

const AZ_GLOBALS: &[&str] = &["--subscription", "--output", "-o", "--query"];
#[rustfmt::skip]
const AZ_GLOBAL_FLAGS: &[&str] = &[
    "--only-show-errors", "--debug", "--verbose", "--yes", "-y", "--no-wait",
];

/// Groups in which every change changes who may do or reach what.
#[rustfmt::skip]
const AZ_ACCESS_GROUPS: &[&str] = &[
    "ad", "role", "identity", "lock", "policy", "firewall-rule", "network-rule", "keys",
    "credential", "sas", "access-policy",
];

/// Collections whose deletion takes everything inside.
#[rustfmt::skip]
const AZ_BULK: &[&str] = &[
    "group", "aks", "db", "container", "database", "server", "flexible-server", "account",
    "cosmosdb", "keyvault", "cluster", "namespace", "share", "filesystem", "collection",
    "table", "queue", "workspace", "vault", "redis", "acr", "repository",
];

fn az_effect(cmd: &Cmd, out: &mut Findings) -> (Effect, String, bool) {
    let groups = cmd.groups();
    let first = groups.first().copied().unwrap_or("");
    let verb = cmd.verb();
    if cmd.flag(&["--help", "-h"]) {
        return (Read, "prints help".into(), false);
    }
    let Some(class) = cmd.verb.and_then(|_| verb_class(verb)) else {
        return match cmd.path.as_slice() {
            [] if cmd.flag(&["--version"]) => (Read, "prints the version".into(), false),
            ["version"] => (Read, "prints the version".into(), false),
            ["login" | "logout"] => (Write, "updates the local credentials".into(), false),
            _ => (
                Unknown,
                format!("unknown az command `{}`", cmd.path.join(" ")),
                false,
            ),
        };
    };
    let last = groups.last().copied().unwrap_or("");
    // Remote commands.
    match (first, last, verb) {
        ("vm", "run-command", "invoke") => {
            let id = cmd.opt(&["--command-id"]).unwrap_or("");
            let scripts = cmd.opt(&["--scripts"]).unwrap_or("");
            if id == "RunShellScript" && !scripts.is_empty() && !scripts.starts_with('@') {
                let f = remote_script(cmd.depth, scripts);
                let (e, b) = (f.effect(), f.bulk());
                out.parts.extend(f.parts);
                return (e, format!("runs a script on the VM: {e}"), b);
            }
            return (
                Unknown,
                "runs a script airlock cannot see on the VM".into(),
                false,
            );
        }
        ("aks", "command", "invoke") => {
            return match cmd.opt(&["--command", "-c"]) {
                Some(c) if !c.is_empty() => {
                    let f = remote_script(cmd.depth, c);
                    let (e, b) = (f.effect(), f.bulk());
                    out.parts.extend(f.parts);
                    (e, format!("runs a command in the cluster: {e}"), b)
                }
                _ => (Unknown, "runs a command airlock cannot see".into(), false),
            };
        }
        ("deployment", "group", "create" | "update")
            if cmd
                .opt(&["--mode"])
                .is_some_and(|m| m.eq_ignore_ascii_case("complete")) =>
        {
            return (
                Delete,
                "Complete mode deletes every resource of the group the template does not list"
                    .into(),
                true,
            );
        }
        ("storage", _, "sync") | ("storage", "blob", "sync")
            if cmd.flag(&["--delete-destination"]) =>
        {
            return (
                Delete,
                "deletes destination files missing from the source".into(),
                true,
            );
        }
        _ => {}
    }
    let mut effect = class;
    let mut why = format!("`{verb}` {}", effect_words(class));
    if class != Read && class != Unknown {
        if groups.iter().any(|g| AZ_ACCESS_GROUPS.contains(g))
            || (first == "network" && matches!(last, "rule" | "nsg"))
            || (first == "vm" && last == "user")
        {
            effect = Permissions;
            why = format!("changes `{}` (who may do or reach what)", groups.join(" "));
        } else if let Some(opt) = [
            "--allow-blob-public-access",
            "--public-access",
            "--public-network-access",
        ]
        .into_iter()
        .find(|o| {
            cmd.opt(&[o]).is_some_and(|v| {
                !matches!(
                    v.to_ascii_lowercase().as_str(),
                    "false" | "disabled" | "off" | "none"
                )
            })
        }) {
            effect = Permissions;
            why = format!("`{opt}` opens access");
        } else if verb != "create"
            && cmd
                .params
                .iter()
                .any(|w| w.starts_with("--") && w.contains("password"))
        {
            effect = Permissions;
            why = "sets a password".into();
        }
    }
    let bulk = effect == Delete
        && (AZ_BULK.contains(&last)
            || verb.ends_with("-batch")
            || cmd.flag(&["--recursive", "--all"])
            || computed(&cmd.params));
    if bulk && class == Delete {
        why.push_str("; everything inside goes too");
    }
    (effect, why, bulk)
}

fn az_targets(cmd: &Cmd, out: &mut Findings) {
    let groups = cmd.groups();
    let first = groups.first().copied().unwrap_or("");
    let group = cmd.opt(&["--resource-group", "-g"]);
    let mut base = Target {
        account: cmd.global(&["--subscription"]).map(str::to_owned),
        region: cmd.opt(&["--location", "-l"]).map(str::to_owned),
        namespace: group.map(str::to_owned),
        ..Target::default()
    };
    let local = matches!(
        first,
        "" | "login" | "logout" | "account" | "config" | "extension"
    );
    let kind = format!("azure:{}", groups.join(":"));
    let name = cmd.opt(&["--name", "-n"]);
    if first == "group" && base.namespace.is_none() {
        // `az group delete --name prod-rg`: the group is its own scope.
        base.namespace = name.map(str::to_owned);
    }
    let mut found = Vec::new();
    if !local {
        if let Some(n) = name {
            found.push(Target {
                kind: kind.clone(),
                name: n.to_owned(),
                ..base.clone()
            });
        }
        for (opts, what) in [
            (&["--vault-name"][..], "azure:keyvault"),
            (&["--account-name"][..], "azure:storage:account"),
            (&["--server", "-s"][..], "azure:sql:server"),
            (&["--cluster-name"][..], "azure:cluster"),
        ] {
            if let Some(v) = cmd.opt(opts) {
                let what = if first == "cosmosdb" && opts.first() == Some(&"--account-name") {
                    "azure:cosmosdb"
                } else {
                    what
                };
                found.push(Target {
                    kind: what.into(),
                    name: v.to_owned(),
                    ..base.clone()
                });
            }
        }
    }
    if found.is_empty() && !first.is_empty() {
        found.push(Target { kind, ..base });
    }
    for t in found {
        out.target(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(line: &str) -> Findings {
        let w: Vec<&str> = line.split_whitespace().collect();
        classify_gcloud(w.get(1..).unwrap_or(&[]))
    }
    fn a(line: &str) -> Findings {
        let w: Vec<&str> = line.split_whitespace().collect();
        classify_az(w.get(1..).unwrap_or(&[]))
    }

    #[test]
    fn gcloud_verbs() {
        for (line, want, bulk) in [
            (
                "gcloud compute instances list --project prod-123",
                Read,
                false,
            ),
            (
                "gcloud projects get-iam-policy prod-123 --format=json",
                Read,
                false,
            ),
            ("gcloud auth list", Read, false),
            (
                "gcloud container clusters get-credentials prod-gke --region us-central1",
                Write,
                false,
            ),
            ("gcloud config set project prod-123", Write, false),
            (
                "gcloud compute instances stop prod-batch-1 --zone us-central1-a",
                Write,
                false,
            ),
            (
                "gcloud beta run deploy api --image x --region us-central1",
                Write,
                false,
            ),
            (
                "gcloud compute instances delete prod-web-1 --zone us-central1-a --quiet",
                Delete,
                false,
            ),
            ("gcloud projects delete prod-123 --quiet", Delete, true),
            (
                "gcloud container clusters delete prod-gke --region us-central1",
                Delete,
                true,
            ),
            (
                "gcloud sql databases delete orders --instance prod-pg --quiet",
                Delete,
                true,
            ),
            ("gcloud sql instances delete prod-pg", Delete, true),
            ("gcloud storage rm -r gs://prod-backups", Delete, true),
            ("gcloud storage rm gs://b/x.txt", Delete, false),
            (
                "gcloud container clusters resize c --num-nodes 0",
                Delete,
                true,
            ),
            (
                "gcloud projects add-iam-policy-binding p --member=user:x --role=roles/owner",
                Permissions,
                false,
            ),
            (
                "gcloud iam service-accounts keys create key.json --iam-account=d@p.iam.gserviceaccount.com",
                Permissions,
                false,
            ),
            (
                "gcloud iam service-accounts delete d@p.iam.gserviceaccount.com",
                Permissions,
                false,
            ),
            (
                "gcloud compute firewall-rules create allow-ssh --allow tcp:22",
                Permissions,
                false,
            ),
            (
                "gcloud sql users set-password postgres --instance prod-pg --password x",
                Permissions,
                false,
            ),
            (
                "gcloud compute ssh prod-web-1 --zone us-central1-a",
                Unknown,
                false,
            ),
            (
                "gcloud builds submit --config cloudbuild.yaml .",
                Unknown,
                false,
            ),
            ("gcloud frobnicate widgets", Unknown, false),
            ("gcloud", Unknown, false),
            ("gcloud --version", Read, false),
        ] {
            let f = g(line);
            assert_eq!((f.effect(), f.bulk()), (want, bulk), "{line}");
        }
        let f = classify_gcloud(&[
            "compute",
            "ssh",
            "prod-db-1",
            "--zone",
            "us-central1-a",
            "--command",
            "sudo rm -rf /var/lib/mysql",
        ]);
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
        assert!(f.targets.iter().all(|t| t.kind != "file"));
    }

    #[test]
    fn spanner_sql() {
        let f = classify_gcloud(&[
            "spanner",
            "databases",
            "execute-sql",
            "db",
            "--instance",
            "i",
            "--sql",
            "DROP TABLE x",
        ]);
        assert_eq!(f.effect(), Delete);
        let f = classify_gcloud(&[
            "spanner",
            "databases",
            "execute-sql",
            "db",
            "--instance",
            "i",
            "--sql=SELECT 1",
        ]);
        assert_eq!(f.effect(), Read);
    }

    #[test]
    fn gcloud_targets() {
        let f = g(
            "gcloud sql databases delete orders --instance prod-pg --project prod-123 --region europe-west1 --configuration prod",
        );
        let t = &f.targets[0];
        assert_eq!(
            (t.kind.as_str(), t.name.as_str()),
            ("gcp:sql:database", "orders")
        );
        assert_eq!(t.account.as_deref(), Some("prod-123"));
        assert_eq!(t.region.as_deref(), Some("europe-west1"));
        assert_eq!(t.profile.as_deref(), Some("prod"));
        assert!(
            f.targets
                .iter()
                .any(|t| t.kind == "gcp:sql:instance" && t.name == "prod-pg")
        );
        assert_eq!(
            f.parts[0].operation.as_deref(),
            Some("gcloud:sql.databases.delete")
        );
        let f = g("gcloud projects delete prod-123");
        assert_eq!(f.targets[0].kind, "gcp:project");
        assert_eq!(f.targets[0].account.as_deref(), Some("prod-123"));
        let f = g("gcloud storage rm -r gs://prod-backups/db");
        assert!(
            f.targets
                .iter()
                .any(|t| t.kind == "gcp:storage:bucket" && t.name == "prod-backups")
        );
        assert_eq!(singular("policies"), "policy");
        assert_eq!(singular("addresses"), "address");
        assert_eq!(singular("instances"), "instance");
    }

    #[test]
    fn az_verbs() {
        for (line, want, bulk) in [
            ("az vm list -o table", Read, false),
            (
                "az keyvault secret show --vault-name prod-kv --name db-password",
                Read,
                false,
            ),
            (
                "az monitor activity-log list --resource-group prod-rg --offset 1h",
                Read,
                false,
            ),
            (
                "az vm create -g staging-rg -n vm1 --image Ubuntu2204",
                Write,
                false,
            ),
            (
                "az aks get-credentials -g prod-rg -n prod-aks",
                Write,
                false,
            ),
            (
                "az deployment group create -g rg --template-file main.bicep",
                Write,
                false,
            ),
            (
                "az deployment group create -g rg --template-file main.bicep --mode Complete",
                Delete,
                true,
            ),
            (
                "az group delete --name prod-rg --yes --no-wait",
                Delete,
                true,
            ),
            ("az vm delete -g prod-rg -n prod-vm1 --yes", Delete, false),
            (
                "az storage blob delete-batch --source backups --account-name prodstore",
                Delete,
                true,
            ),
            (
                "az sql db delete -g prod-rg -s srv -n orders --yes",
                Delete,
                true,
            ),
            ("az keyvault purge --name prod-kv", Delete, true),
            (
                "az role assignment create --assignee x --role Owner --scope /subscriptions/1",
                Permissions,
                false,
            ),
            (
                "az role assignment delete --assignee x --role Reader -g prod-rg",
                Permissions,
                false,
            ),
            (
                "az ad sp create-for-rbac --name agent-sp --role Contributor",
                Permissions,
                false,
            ),
            (
                "az keyvault set-policy -n prod-kv --upn a@b --secret-permissions get",
                Permissions,
                false,
            ),
            (
                "az storage account update -g rg -n st --allow-blob-public-access true",
                Permissions,
                false,
            ),
            (
                "az storage account update -g rg -n st --allow-blob-public-access false",
                Write,
                false,
            ),
            (
                "az ad group member add --group Admins --member-id 1",
                Permissions,
                false,
            ),
            (
                "az vm run-command invoke -g rg -n vm --command-id RunShellScript --scripts @c.sh",
                Unknown,
                false,
            ),
            ("az frobnicate", Unknown, false),
        ] {
            let f = a(line);
            assert_eq!((f.effect(), f.bulk()), (want, bulk), "{line}");
        }
        let f = classify_az(&[
            "vm",
            "run-command",
            "invoke",
            "-g",
            "rg",
            "-n",
            "vm",
            "--command-id",
            "RunShellScript",
            "--scripts",
            "rm -rf /data",
        ]);
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
    }

    #[test]
    fn az_targets() {
        let f = a("az sql db delete -g prod-rg -s prod-sql -n orders --subscription sub-1 --yes");
        let t = &f.targets[0];
        assert_eq!(
            (t.kind.as_str(), t.name.as_str()),
            ("azure:sql:db", "orders")
        );
        assert_eq!(t.namespace.as_deref(), Some("prod-rg"));
        assert_eq!(t.account.as_deref(), Some("sub-1"));
        assert!(
            f.targets
                .iter()
                .any(|t| t.kind == "azure:sql:server" && t.name == "prod-sql")
        );
        let f = a("az group delete --name prod-rg");
        assert_eq!(f.targets[0].namespace.as_deref(), Some("prod-rg"));
        let f = a("az vm list");
        assert_eq!(f.targets[0].kind, "azure:vm");
    }

    #[test]
    fn bq() {
        let f = classify_bq(&["rm", "-r", "-f", "-d", "prod_dataset"]);
        assert_eq!((f.effect(), f.bulk()), (Delete, true));
        assert_eq!(classify_bq(&["ls", "prod_dataset"]).effect(), Read);
        let count = "SELECT COUNT(*) FROM analytics.events WHERE event_date = CURRENT_DATE()";
        assert_eq!(
            classify_bq(&["query", "--use_legacy_sql=false", count]).effect(),
            Read
        );
        let f = classify_bq(&[
            "query",
            "--use_legacy_sql=false",
            "DELETE FROM prod.events WHERE TRUE",
        ]);
        assert_eq!(f.effect(), Delete);
    }

    #[test]
    fn hostile_input_never_panics() {
        for args in [
            vec![],
            vec!["--project"],
            vec!["alpha"],
            vec!["-"],
            vec!["=", "--=", "-=x"],
            vec!["compute", "ssh", "--", ""],
            vec!["storage", "rm", "gs://", "gs:///x"],
            vec!["é", "délete", "ñ-ñ"],
        ] {
            let _ = classify_gcloud(&args);
            let _ = classify_az(&args);
            let _ = classify_bq(&args);
        }
    }
}
