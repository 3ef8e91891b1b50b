//! `airlock`: decide what an agent may do, check policies, run policy tests.
//!
//! This is an edge crate: it reads files, stdin and the clock, and hands pure data to
//! `airlock-policy`.

mod audit;
mod client;
mod hook;

/// mimalloc instead of the system allocator: the service allocates per request
/// (JSON in, JSON out), and glibc's malloc cost ~15% of its CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use airlock_classify::RawCall;
use airlock_model::{Action, Who};
use airlock_policy::testing::TestFile;
use airlock_policy::{DEFAULT_POLICY_YAML, Loaded, Policy, PolicyError, Severity};
use airlock_server::PolicyTools;
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

/// airlock stands between AI agents and the systems they act on: every tool call
/// becomes an Action, and a reviewable policy decides allow, log, approve or deny.
#[derive(Parser)]
#[command(name = "airlock", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide Actions or raw tool calls read as JSON (one object, or JSON lines).
    ///
    /// Raw calls (hook payloads, MCP tools/call params, Terraform plans) are
    /// classified first, then decided. Prints one Decision per line as JSON. Exits 0
    /// whatever the decisions are, and 2 on malformed input or an invalid policy.
    Decide {
        /// Who makes the raw calls (an Action names its own agent).
        #[arg(long, env = "AIRLOCK_AGENT")]
        agent: Option<String>,
        /// Policy file; the built-in default policy when omitted.
        #[arg(long, short)]
        policy: Option<PathBuf>,
        /// Print a human-readable trace of each decision instead of JSON.
        #[arg(long)]
        explain: bool,
        /// Decide as of this time (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
        /// Read Actions from this file instead of stdin.
        input: Option<PathBuf>,
    },
    /// Run the gateway service: agents ask before they act, humans approve and halt.
    ///
    /// With no options: SQLite in ./airlock-data, the built-in default policy, on
    /// 127.0.0.1:8750. On a fresh store an admin token is printed once.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "AIRLOCK_LISTEN", default_value = "127.0.0.1:8750")]
        listen: std::net::SocketAddr,
        /// Directory of the embedded store (SQLite).
        #[arg(long, env = "AIRLOCK_DATA_DIR", default_value = "airlock-data")]
        data_dir: PathBuf,
        /// PostgreSQL URL: the shared store of several replicas (instead of SQLite).
        #[arg(long, env = "AIRLOCK_POSTGRES_URL")]
        postgres: Option<String>,
        /// Policy file; the built-in default policy when omitted.
        #[arg(long, short, env = "AIRLOCK_POLICY")]
        policy: Option<PathBuf>,
        /// Tenant whose `admin` is bootstrapped.
        #[arg(long, env = "AIRLOCK_ADMIN_TENANT", default_value = "default")]
        admin_tenant: String,
        /// Token the `admin` must hold (e.g. from a secret); without it a token is
        /// created on a fresh tenant and printed once. Prefer the environment
        /// variable: a command line is visible to other users.
        #[arg(long, env = "AIRLOCK_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// POST approval events (new request, resolution) to this URL.
        #[arg(long, env = "AIRLOCK_WEBHOOK_URL", hide_env_values = true)]
        webhook: Option<String>,
        /// Send Slack-compatible payloads to the webhook.
        #[arg(long, env = "AIRLOCK_WEBHOOK_SLACK")]
        webhook_slack: bool,
        /// The tamper-evident ledger's directory [default: DATA_DIR/ledger].
        #[arg(long, env = "AIRLOCK_LEDGER_DIR")]
        ledger_dir: Option<PathBuf>,
        /// A file holding the ledger's signing key (C2SP `PRIVATE+KEY+…`); repeat it
        /// to sign with old and new keys while rotating. Default: DATA_DIR/ledger.key,
        /// created on first start (its public key in DATA_DIR/ledger.vkey). Keep the
        /// key away from the ledger's disk where you can.
        #[arg(
            long = "ledger-key",
            env = "AIRLOCK_LEDGER_KEY_FILE",
            value_delimiter = ','
        )]
        ledger_keys: Vec<PathBuf>,
        /// A retired ledger key (C2SP verifier key) still accepted on the stored
        /// checkpoint at start; repeatable.
        #[arg(
            long = "ledger-trusted-key",
            env = "AIRLOCK_LEDGER_TRUSTED_KEYS",
            value_delimiter = ','
        )]
        ledger_trusted_keys: Vec<String>,
        /// This gateway's name in ledger entries and in a generated key's name
        /// (`airlock/NAME`). Give each replica its own [default: `gateway`; with
        /// --postgres, an id made on first start and kept in DATA_DIR/gateway-id].
        #[arg(long, env = "AIRLOCK_GATEWAY_ID")]
        gateway_id: Option<String>,
        /// An independent witness asked to cosign every checkpoint, as URL=VKEY (its
        /// URL prefix and its C2SP verifier key); repeatable. See docs/witness.md.
        #[arg(long = "witness", env = "AIRLOCK_WITNESSES", value_delimiter = ',')]
        witnesses: Vec<String>,
        /// How many witnesses must cosign each checkpoint; short of it the
        /// checkpoint is still signed, and reported.
        #[arg(long, env = "AIRLOCK_WITNESS_QUORUM", default_value_t = 0)]
        witness_quorum: usize,
        /// Also write the ledger's C2SP entry bundles (tile/entries/…), making its
        /// directory a complete static tlog-tiles log for any C2SP client; they copy
        /// every entry once more.
        #[arg(long, env = "AIRLOCK_LEDGER_ENTRY_BUNDLES")]
        ledger_entry_bundles: bool,
        /// Days ledger entries are kept before POST /v1/ledger/prune may remove
        /// their bytes (their hashes stay). At least 184 (six months).
        #[arg(long, env = "AIRLOCK_LEDGER_RETENTION", value_name = "DAYS", default_value_t = airlock_audit::DEFAULT_RETENTION_DAYS)]
        ledger_retention: u32,
        /// A Streamable HTTP MCP server to front at /mcp/NAME (repeatable): every
        /// tools/call decided first, its tools pinned and filtered.
        #[arg(long = "mcp", value_name = "NAME=URL")]
        mcp: Vec<airlock_mcp::http::Upstream>,
        /// Seconds a fronted MCP server has to answer a relayed request.
        #[arg(long, value_name = "SECONDS", default_value_t = 120)]
        mcp_call_timeout: u64,
        /// Seconds a fronted MCP tools/call held for approval waits before it is
        /// denied.
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        mcp_hold_timeout: u64,
        /// Where the ledger keeps personal data (approvers, comments, `by`,
        /// operators, human credential names, reasons and other free text):
        /// `inline` in the entries (entry format 1; never erasable), or `separate`:
        /// salted commitments in the entries (format 2) and the values in
        /// LEDGER_DIR/personal-data.db, so that `airlock audit erase` can erase them
        /// without breaking the tree. See docs/audit.md.
        #[arg(
            long,
            env = "AIRLOCK_LEDGER_PERSONAL_DATA",
            value_enum,
            default_value = "inline"
        )]
        ledger_personal_data: PersonalDataArg,
    },
    /// Pending approvals on a running service: list, show, approve, reject.
    Approvals {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ApprovalsCommand,
    },
    /// Spot checks on a running service: sampled `log` decisions to review.
    Reviews {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ReviewsCommand,
    },
    /// Halt a running service for an agent, a zone, the tenant or everyone: from the
    /// next request on everything in scope is denied.
    Halt {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Why (shown to every agent that is refused).
        #[arg(long)]
        reason: String,
    },
    /// Lift a halt.
    Resume {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Agent keys on a running service.
    Agents {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: AgentsCommand,
    },
    /// Classify raw tool calls: say what each does, part by part.
    ///
    /// Reads JSON (one object, or JSON lines) from a file or stdin: Claude Code hook
    /// payloads, MCP tools/call params, Terraform plans (`terraform show -json`) or
    /// Actions. Prints one line per input:
    /// `{"effect","effects","bulk","tool","operation","targets","parts":[{"text","effect","why"}]}`.
    /// A command that cannot be understood is `unknown` with the reason; malformed
    /// JSON exits 2 saying where.
    Classify {
        /// Policy whose `mcp_servers` section maps and trusts MCP tools; the built-in
        /// default policy when omitted.
        #[arg(long, short)]
        policy: Option<PathBuf>,
        /// Read calls from this file instead of stdin.
        input: Option<PathBuf>,
    },
    /// Work with policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Run policy test files (like `opa test`) and print `N passed, M failed`.
    Test {
        /// Test files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Policy to test, overriding each file's `policy:`.
        #[arg(long, short)]
        policy: Option<PathBuf>,
        /// Print every case, not only failures.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Audit a ledger with only its public keys: verify it, check receipts, query
    /// and export its entries (docs/audit.md).
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Print the JSON Schema of an Action or a Decision.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
    // The witness's options and help live in airlock-witness.
    Witness(airlock_witness::cli::WitnessArgs),
    /// A coding agent's pre-tool hook (claude-code, cursor, codex, gemini, kiro):
    /// the agent's payload on stdin, the verdict in its own format (docs/hooks.md).
    Hook(hook::HookArgs),
    /// A stdio MCP server behind airlock: `airlock mcp --server NAME -- COMMAND…`
    /// (tools/call decided, tool definitions pinned; docs/mcp.md).
    Mcp(airlock_mcp::McpArgs),
}

/// Where the service is and who you are.
/// `airlock serve --ledger-personal-data`.
#[derive(Clone, Copy, ValueEnum)]
enum PersonalDataArg {
    /// In the entries (format 1).
    Inline,
    /// Commitments in the entries, the values in an erasable side store.
    Separate,
}

#[derive(clap::Args)]
struct Remote {
    /// The service's URL.
    #[arg(long, env = "AIRLOCK_SERVER", default_value = "http://127.0.0.1:8750")]
    server: String,
    /// Your token (prefer the environment variable: a command line is visible to others).
    #[arg(long, env = "AIRLOCK_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(clap::Args)]
struct ScopeArgs {
    /// Every tenant (needs the service-admin role).
    #[arg(long)]
    all: bool,
    /// Your whole tenant.
    #[arg(long)]
    tenant: bool,
    /// One agent.
    #[arg(long)]
    agent: Option<String>,
    /// Every agent in one zone.
    #[arg(long)]
    zone: Option<String>,
}

#[derive(Subcommand)]
enum ApprovalsCommand {
    /// List requests (pending by default).
    List {
        /// pending, approved, consumed, rejected, expired, allowed, denied or any.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        agent: Option<String>,
        /// `table` (one line a request, for a human), `json`, or `auto`: a table on
        /// a terminal, JSON when piped.
        #[arg(long, default_value = "auto", value_parser = ["auto", "table", "json"])]
        format: String,
    },
    /// One request with everything needed to decide.
    Show { id: String },
    /// Approve a request.
    Approve {
        id: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Reject a request (final).
    Reject {
        id: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
}

#[derive(Subcommand)]
enum ReviewsCommand {
    /// List sampled decisions (waiting for review by default).
    List {
        /// due, ok or wrong.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        agent: Option<String>,
    },
    /// Mark a sampled decision right.
    Ok { id: String },
    /// Mark a sampled decision wrong (raises an alert); say what it should have been.
    Wrong {
        id: String,
        #[arg(long)]
        comment: String,
    },
}

#[derive(Subcommand)]
enum AgentsCommand {
    /// Issue a key for a new agent; the key is printed once.
    Add { name: String },
    /// List the agents' keys (never the keys themselves).
    List,
    /// Replace an agent's key: the old one stops working at once.
    RotateKey { name: String },
    /// Revoke an agent's key.
    Revoke { name: String },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate policy files: every error with file, line, column and key.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the built-in default policy.
    Default,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    Action,
    Decision,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decide {
            agent,
            policy,
            explain,
            at,
            input,
        } => decide(
            agent.as_deref(),
            policy.as_deref(),
            explain,
            at.as_deref(),
            input.as_deref(),
        ),
        Command::Classify { policy, input } => classify(policy.as_deref(), input.as_deref()),
        Command::Approvals { remote, command } => approvals(&remote, command),
        Command::Reviews { remote, command } => reviews(&remote, command),
        Command::Halt {
            remote,
            scope,
            reason,
        } => halt(&remote, &scope, Some(&reason), "/v1/halt"),
        Command::Resume { remote, scope } => halt(&remote, &scope, None, "/v1/resume"),
        Command::Agents { remote, command } => agents(&remote, command),
        Command::Serve {
            listen,
            data_dir,
            postgres,
            policy,
            admin_tenant,
            admin_token,
            webhook,
            webhook_slack,
            ledger_dir,
            ledger_keys,
            ledger_trusted_keys,
            gateway_id,
            witnesses,
            witness_quorum,
            ledger_entry_bundles,
            ledger_retention,
            ledger_personal_data,
            mcp,
            mcp_call_timeout,
            mcp_hold_timeout,
        } => serve(
            airlock_mcp::http::FrontConfig {
                upstreams: mcp,
                pin_dir: data_dir.join("mcp-pins"),
                call_timeout: std::time::Duration::from_secs(mcp_call_timeout.max(1)),
                hold_timeout: std::time::Duration::from_secs(mcp_hold_timeout.max(1)),
            },
            airlock_server::Config {
                listen,
                data_dir,
                postgres,
                policy,
                admin_tenant,
                admin_token,
                webhook,
                webhook_slack,
                ledger: airlock_server::LedgerConfig {
                    dir: ledger_dir,
                    key_files: ledger_keys,
                    trusted_keys: ledger_trusted_keys,
                    gateway: gateway_id.unwrap_or_default(),
                    witnesses,
                    witness_quorum,
                    entry_bundles: ledger_entry_bundles,
                    retention_days: Some(ledger_retention),
                    personal_data: match ledger_personal_data {
                        PersonalDataArg::Inline => airlock_server::PersonalData::Inline,
                        PersonalDataArg::Separate => airlock_server::PersonalData::Separate,
                    },
                },
            },
        ),
        Command::Policy {
            command: PolicyCommand::Check { files, json },
        } => check(&files, json),
        Command::Policy {
            command: PolicyCommand::Default,
        } => {
            print!("{DEFAULT_POLICY_YAML}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Test {
            files,
            policy,
            verbose,
        } => test(&files, policy.as_deref(), verbose),
        Command::Witness(args) => airlock_witness::cli::run(args),
        Command::Hook(args) => hook::run(args),
        Command::Mcp(args) => airlock_mcp::run(args),
        Command::Audit { command } => audit::run(command),
        Command::Schema { which } => {
            let schema = match which {
                SchemaKind::Action => airlock_model::action_schema(),
                SchemaKind::Decision => airlock_model::decision_schema(),
            };
            serde_json::to_string_pretty(&schema)
                .map(|s| {
                    println!("{s}");
                    ExitCode::SUCCESS
                })
                .map_err(Into::into)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("airlock: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn client(remote: &Remote) -> anyhow::Result<client::Client> {
    client::Client::new(&remote.server, remote.token.as_deref())
}

/// The approval queue for a human deciding in seconds: one line a request, the
/// oldest deadline first: who, what, votes, time left, and why it is held.
fn approvals_table(listed: &serde_json::Value, now_ms: i64) -> String {
    let mut rows: Vec<&serde_json::Value> = listed["approvals"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    rows.sort_by_key(|r| r["expires_ms"].as_i64().unwrap_or(i64::MAX));
    if rows.is_empty() {
        return "no requests\n".into();
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let lines: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let needed: u64 = r["requirements"]
                .as_array()
                .map(|q| q.iter().filter_map(|x| x["approvals"].as_u64()).sum())
                .unwrap_or(0);
            let left = match r["expires_ms"].as_i64() {
                Some(e) if e > now_ms => span((e - now_ms) / 1000),
                Some(_) => "due".into(),
                None => "-".into(),
            };
            let mut why = text(&r["reason"]);
            if why.chars().count() > 90 {
                why = why.chars().take(89).collect::<String>() + "…";
            }
            [
                text(&r["id"]),
                text(&r["agent"]),
                format!("{} {}", text(&r["effect"]), text(&r["operation"])),
                format!("{}/{needed}", r["votes"].as_u64().unwrap_or(0)),
                left,
                why,
            ]
        })
        .collect();
    let head = ["ID", "AGENT", "WHAT", "VOTES", "LEFT", "WHY"];
    let mut widths = head.map(str::len);
    for l in &lines {
        for (w, c) in widths.iter_mut().zip(l) {
            *w = (*w).max(c.chars().count());
        }
    }
    let row = |cells: &[String]| {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = row(&head.map(String::from));
    for l in &lines {
        out.push_str(&row(l));
    }
    out
}

/// Seconds as `45s`, `12m`, `3h`, `2d`.
fn span(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn print_json(v: &serde_json::Value) -> anyhow::Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(ExitCode::SUCCESS)
}

fn approvals(remote: &Remote, command: ApprovalsCommand) -> anyhow::Result<ExitCode> {
    let c = client(remote)?;
    match command {
        ApprovalsCommand::List {
            status,
            agent,
            format,
        } => {
            let path = client::with_query(
                "/v1/approvals",
                &[("status", status.as_deref()), ("agent", agent.as_deref())],
            );
            let listed = c.call("GET", &path, None)?;
            let table = match format.as_str() {
                "table" => true,
                "json" => false,
                _ => std::io::IsTerminal::is_terminal(&std::io::stdout()),
            };
            if table {
                print!("{}", approvals_table(&listed, now().as_millisecond()));
                Ok(ExitCode::SUCCESS)
            } else {
                print_json(&listed)
            }
        }
        ApprovalsCommand::Show { id } => print_json(&c.call(
            "GET",
            &format!("/v1/approvals/{}", client::encode(&id)),
            None,
        )?),
        ApprovalsCommand::Approve { id, comment } => print_json(&c.call(
            "POST",
            &format!("/v1/approvals/{}/approve", client::encode(&id)),
            Some(serde_json::json!({ "comment": comment })),
        )?),
        ApprovalsCommand::Reject { id, comment } => print_json(&c.call(
            "POST",
            &format!("/v1/approvals/{}/reject", client::encode(&id)),
            Some(serde_json::json!({ "comment": comment })),
        )?),
    }
}

fn reviews(remote: &Remote, command: ReviewsCommand) -> anyhow::Result<ExitCode> {
    let c = client(remote)?;
    match command {
        ReviewsCommand::List { state, agent } => {
            let path = client::with_query(
                "/v1/reviews",
                &[("state", state.as_deref()), ("agent", agent.as_deref())],
            );
            print_json(&c.call("GET", &path, None)?)
        }
        ReviewsCommand::Ok { id } => print_json(&c.call(
            "POST",
            &format!("/v1/reviews/{}", client::encode(&id)),
            Some(serde_json::json!({ "verdict": "ok" })),
        )?),
        ReviewsCommand::Wrong { id, comment } => print_json(&c.call(
            "POST",
            &format!("/v1/reviews/{}", client::encode(&id)),
            Some(serde_json::json!({ "verdict": "wrong", "comment": comment })),
        )?),
    }
}

fn halt(
    remote: &Remote,
    s: &ScopeArgs,
    reason: Option<&str>,
    path: &str,
) -> anyhow::Result<ExitCode> {
    let body = client::scope_body(
        s.all,
        s.tenant,
        s.agent.as_deref(),
        s.zone.as_deref(),
        reason,
    )?;
    print_json(&client(remote)?.call("POST", path, Some(body))?)
}

fn agents(remote: &Remote, command: AgentsCommand) -> anyhow::Result<ExitCode> {
    let c = client(remote)?;
    match command {
        AgentsCommand::Add { name } | AgentsCommand::RotateKey { name } => {
            let v = c.call(
                "POST",
                "/v1/agents",
                Some(serde_json::json!({ "name": name })),
            )?;
            // The key alone on stdout, so that it can be captured into a secret store.
            println!("{}", v["token"].as_str().unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        AgentsCommand::List => print_json(&c.call("GET", "/v1/agents", None)?),
        AgentsCommand::Revoke { name } => print_json(&c.call(
            "DELETE",
            &format!("/v1/agents/{}", client::encode(&name)),
            None,
        )?),
    }
}

fn serve(
    mcp: airlock_mcp::http::FrontConfig,
    config: airlock_server::Config,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = match &config.postgres {
        Some(_) => "PostgreSQL".to_owned(),
        None => format!("SQLite in {}", config.data_dir.display()),
    };
    let extend = move |state| airlock_mcp::http::router(state, mcp);
    runtime.block_on(airlock_server::serve(config, extend, |addr, token| {
        if let Some(t) = token {
            eprintln!("airlock: a new store: the admin token, shown this once (keep it secret):");
            eprintln!("{t}");
        }
        // Last, so that whoever reads stderr knows the service is up.
        eprintln!("airlock: serving on http://{addr} ({store})");
    }))?;
    Ok(ExitCode::SUCCESS)
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn parse_at(at: Option<&str>) -> anyhow::Result<jiff::Timestamp> {
    match at {
        None => Ok(now()),
        Some(s) => s.parse().with_context(|| {
            format!("--at `{s}` is not a time; expected RFC 3339, e.g. 2026-11-23T10:00:00Z")
        }),
    }
}

fn read_file(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Loads a policy, printing its warnings to stderr. An invalid policy is an error:
/// nothing is decided with it.
fn load_policy(path: Option<&Path>) -> anyhow::Result<Policy> {
    let Some(path) = path else {
        return Ok(Policy::builtin_default()?);
    };
    let src = read_file(path)?;
    let Loaded { policy, warnings } = Policy::load(&path.display().to_string(), &src, now())?;
    for w in warnings {
        eprintln!("{}", w.render(&path.display().to_string()));
    }
    Ok(policy)
}

fn read_input(input: Option<&Path>) -> anyhow::Result<(String, String)> {
    match input {
        Some(p) => Ok((p.display().to_string(), read_file(p)?)),
        None => {
            let mut s = String::new();
            io::stdin()
                .lock()
                .read_to_string(&mut s)
                .context("cannot read stdin")?;
            Ok(("stdin".to_owned(), s))
        }
    }
}

/// Every JSON value of the input as a raw call, with the line it starts on. Stops
/// at the first malformed one with `file:line:column` and what was expected.
fn each_call(
    name: &str,
    text: &str,
    mut f: impl FnMut(RawCall, usize) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    let mut count = 0usize;
    loop {
        let start = stream.byte_offset();
        let value = match stream.next() {
            None => break,
            Some(Ok(v)) => v,
            Some(Err(e)) => anyhow::bail!(
                "{name}:{}:{}: malformed JSON: {e}\n(expected one JSON object per call: a Claude Code hook payload, an MCP tools/call, a Terraform plan or an Action; see `airlock schema action`)",
                e.line(),
                e.column()
            ),
        };
        // The value starts after any whitespace before it.
        let skipped = text
            .get(start..)
            .map_or(0, |t| t.len() - t.trim_start().len());
        let line = 1 + text
            .get(..start + skipped)
            .map_or(0, |t| t.matches('\n').count());
        let call = RawCall::from_value(value).map_err(|e| anyhow::anyhow!("{name}:{line}: {e}"))?;
        count += 1;
        f(call, line)?;
    }
    if count == 0 {
        anyhow::bail!("{name}: no input found; expected JSON (one object, or one per line)");
    }
    Ok(count)
}

fn classify(policy: Option<&Path>, input: Option<&Path>) -> anyhow::Result<ExitCode> {
    let policy = load_policy(policy)?;
    let tools = PolicyTools(&policy);
    let (name, text) = read_input(input)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = each_call(&name, &text, |call, _| {
        let c = airlock_classify::classify(&call, &tools);
        serde_json::to_writer(&mut out, &c.report())?;
        writeln!(out)?;
        Ok(())
    });
    out.flush()?;
    result.map(|_| ExitCode::SUCCESS)
}

fn decide(
    agent: Option<&str>,
    policy: Option<&Path>,
    explain: bool,
    at: Option<&str>,
    input: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let policy = load_policy(policy)?;
    let tools = PolicyTools(&policy);
    let at = parse_at(at)?;
    let (name, text) = read_input(input)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = each_call(&name, &text, |call, line| {
        let action = match call {
            RawCall::Action(a) => *a,
            raw => {
                let Some(agent) = agent else {
                    anyhow::bail!(
                        "{name}:{line}: a raw call does not say who makes it; name the agent with --agent NAME (or AIRLOCK_AGENT)"
                    );
                };
                let who = Who {
                    agent: agent.to_owned(),
                    ..Who::default()
                };
                airlock_classify::classify(&raw, &tools).into_action(who)
            }
        };
        if explain {
            writeln!(out, "{}", policy.trace(&action, at))?;
        } else {
            serde_json::to_writer(&mut out, &policy.decide(&action, at))?;
            writeln!(out)?;
        }
        Ok(())
    });
    out.flush()?;
    result.map(|_| ExitCode::SUCCESS)
}

fn check(files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let mut findings = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let src = read_file(f)?;
        let diags = match Policy::load(&name, &src, now()) {
            Ok(l) => {
                if !json {
                    println!(
                        "{name}: ok ({} rules, version {}){}",
                        l.policy.rule_count(),
                        l.policy.version(),
                        if l.warnings.is_empty() {
                            String::new()
                        } else {
                            format!(", {} warning(s)", l.warnings.len())
                        }
                    );
                }
                l.warnings
            }
            Err(PolicyError { diagnostics, .. }) => {
                failed = true;
                diagnostics
            }
        };
        for d in diags {
            if json {
                findings.push(serde_json::json!({
                    "file": name, "line": d.line, "column": d.column, "key": d.key,
                    "severity": if d.severity == Severity::Error { "error" } else { "warning" },
                    "message": d.message,
                }));
            } else {
                eprintln!("{}", d.render(&name));
            }
        }
        if failed && !json {
            eprintln!("{name}: rejected; nothing was loaded");
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&findings)?);
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn test(
    files: &[PathBuf],
    policy_override: Option<&Path>,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let (mut passed, mut failed) = (0usize, 0usize);
    let overridden = policy_override.map(|p| load_policy(Some(p))).transpose()?;
    for f in files {
        let name = f.display().to_string();
        let tf = TestFile::parse(&name, &read_file(f)?)?;
        let policy = match (&overridden, &tf.policy) {
            (Some(p), _) => p.clone(),
            (None, Some(rel)) => {
                let path = f.parent().unwrap_or(Path::new(".")).join(rel);
                load_policy(Some(&path))?
            }
            (None, None) => Policy::builtin_default()?,
        };
        let tools = PolicyTools(&policy);
        let classify = |call: &serde_json::Value, who: &Who| -> Result<Action, String> {
            let raw = RawCall::from_value(call.clone()).map_err(|e| e.to_string())?;
            Ok(airlock_classify::classify(&raw, &tools).into_action(who.clone()))
        };
        for r in tf.run_with(&policy, now(), &classify) {
            match &r.failure {
                None => {
                    passed += 1;
                    if verbose {
                        println!(
                            "ok   {name}:{}: {} ({})",
                            r.line, r.name, r.decision.decision
                        );
                    }
                }
                Some(why) => {
                    failed += 1;
                    println!("FAIL {name}:{}: {}: {why}", r.line, r.name);
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
