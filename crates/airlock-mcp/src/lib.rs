//! `airlock mcp`: airlock in front of a stdio MCP server.
//!
//! An agent's MCP configuration runs `airlock mcp --server fs -- npx -y
//! @modelcontextprotocol/server-filesystem /some/dir` instead of the server. The
//! gateway starts the server and relays the newline-delimited JSON-RPC messages of
//! the MCP stdio transport both ways, untouched, except:
//!
//! - a `tools/call` is decided first (by the airlock service when
//!   `AIRLOCK_SERVER` and `AIRLOCK_AGENT_KEY` are set, otherwise here with a policy
//!   file and a local ledger): allowed, it is relayed; denied, the client gets a
//!   tool result saying why (`isError: true`) and the server never sees it; held
//!   for approval, it waits (progress notifications tell the client who must
//!   approve) and goes through once approved;
//! - a `tools/list` answer is pinned (each tool definition hashed on first sight;
//!   a changed one is quarantined until a human approves it) and filtered (tools
//!   the policy denies whatever their arguments are not listed).
//!
//! Edge crate: processes, files, the network. The deciding is done by the pure
//! crates (`airlock-classify`, `airlock-policy`) or by the service.

pub mod decide;
pub mod frame;
pub mod http;
pub mod pins;
mod proxy;
pub mod service;
pub mod sse;
pub mod tasks;

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct McpArgs {
    #[command(subcommand)]
    command: Option<McpCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The MCP server's name, as the policy's `mcp_servers` and rules know it
    /// (`mcp:NAME` is the tool of its calls).
    #[arg(long, required = true)]
    server: Option<String>,
    /// Policy file for deciding here, without a service [default: the built-in policy].
    #[arg(long, env = "AIRLOCK_POLICY")]
    policy: Option<PathBuf>,
    /// The agent's name in decisions made here (the service knows it from its key).
    #[arg(long = "as", env = "AIRLOCK_AGENT", default_value = "mcp")]
    agent_name: String,
    /// The airlock service that decides; without it, decisions are made here.
    #[arg(long = "airlock", env = "AIRLOCK_SERVER")]
    service: Option<String>,
    /// The agent's key for the service.
    #[arg(long, env = "AIRLOCK_AGENT_KEY", hide_env_values = true)]
    key: Option<String>,
    /// Where tool pins are kept [default: ~/.airlock/mcp].
    #[arg(long, env = "AIRLOCK_MCP_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Seconds the server has to answer a relayed tools/call before the client gets
    /// an error.
    #[arg(long, default_value_t = 120)]
    call_timeout: u64,
    /// Seconds a call held for approval waits before it is denied.
    #[arg(long, default_value_t = 600)]
    hold_timeout: u64,
    /// The local ledger's directory, without a service [default: ~/.airlock].
    #[arg(long, env = "AIRLOCK_MCP_LEDGER")]
    ledger: Option<PathBuf>,
    /// The MCP server's command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

#[derive(clap::Subcommand, Debug)]
enum McpCommand {
    /// Pin a quarantined tool's new definition: a human has reviewed the change.
    ApproveTool {
        #[arg(long)]
        server: String,
        /// The tool to release from quarantine.
        tool: String,
        #[arg(long, env = "AIRLOCK_MCP_STATE_DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Show a server's pinned tools and, for each quarantined one, what changed.
    Pins {
        #[arg(long)]
        server: String,
        #[arg(long, env = "AIRLOCK_MCP_STATE_DIR")]
        state_dir: Option<PathBuf>,
    },
}

/// Runs `airlock mcp …`.
pub fn run(args: McpArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(McpCommand::ApproveTool {
            server,
            tool,
            state_dir,
        }) => {
            let path = pins::pin_path(state_dir.as_deref(), &checked_name(&server)?)?;
            let mut p = pins::Pins::load(&path, &server)?;
            let pin = p.approve(&tool)?;
            println!(
                "pinned the new definition of `{tool}` (sha256:{}); it is listed and callable from the next tools/list",
                pin.sha256
            );
            p.save(&path)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(McpCommand::Pins { server, state_dir }) => {
            let path = pins::pin_path(state_dir.as_deref(), &checked_name(&server)?)?;
            let p = pins::Pins::load(&path, &server)?;
            print!("{}", p.report(&path));
            Ok(ExitCode::SUCCESS)
        }
        None => gateway(args.run),
    }
}

/// A server name becomes a file name: keep it to a safe alphabet.
pub(crate) fn checked_name(name: &str) -> anyhow::Result<String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with('.');
    if ok {
        Ok(name.to_owned())
    } else {
        anyhow::bail!(
            "--server `{name}`: use letters, digits, `-`, `_` and `.` (at most 64, not starting with `.`)"
        )
    }
}

fn gateway(args: RunArgs) -> anyhow::Result<ExitCode> {
    let server = checked_name(args.server.as_deref().unwrap_or_default())?;
    let Some((program, program_args)) = args.command.split_first() else {
        anyhow::bail!(
            "no MCP server command: give it after `--`, e.g. `airlock mcp --server fs -- npx -y @modelcontextprotocol/server-filesystem DIR`"
        );
    };
    let decider: Box<dyn decide::Decider> = match (&args.service, &args.key) {
        (Some(url), Some(key)) if !url.is_empty() && !key.is_empty() => Box::new(decide::Remote {
            service: service::Service::new(url, key),
            server: server.clone(),
            hold_timeout: Duration::from_secs(args.hold_timeout.max(1)),
        }),
        (Some(url), _) if !url.is_empty() => anyhow::bail!(
            "AIRLOCK_SERVER is {url} but no agent key is set: set AIRLOCK_AGENT_KEY (from `airlock agents add NAME`), or unset AIRLOCK_SERVER to decide here"
        ),
        _ => Box::new(decide::Local::new(
            args.policy.as_deref(),
            args.agent_name.clone(),
            server.clone(),
            decide::ledger_home(args.ledger.as_deref(), "AIRLOCK_MCP_LEDGER")?,
        )?),
    };
    let pin_file = pins::pin_path(args.state_dir.as_deref(), &server)?;
    let command = args.command.join(" ");
    let mut child = std::process::Command::new(program)
        .args(program_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start the MCP server `{command}`"))?;
    let (Some(to_server), Some(from_server)) = (child.stdin.take(), child.stdout.take()) else {
        anyhow::bail!("the MCP server `{command}` was started without pipes");
    };
    let gw = proxy::Gateway::new(
        proxy::Config {
            server: server.clone(),
            command: command.clone(),
            pin_file,
            call_timeout: Duration::from_secs(args.call_timeout.max(1)),
            max_message: frame::MAX_MESSAGE,
        },
        decider,
        Box::new(std::io::stdout()),
        to_server,
    );

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    {
        let gw = Arc::clone(&gw);
        std::thread::spawn(move || {
            let orderly = gw.server_loop(from_server);
            let status = proxy::reap(&mut child, Duration::from_secs(5));
            if !orderly {
                let how = status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string());
                eprintln!(
                    "airlock mcp: the MCP server `{server}` (`{command}`) exited unexpectedly ({how}); its pending requests were answered with errors. Check its own messages above, then restart the session."
                );
                std::process::exit(1);
            }
            let _ = done_tx.send(status);
        });
    }
    {
        let gw = Arc::clone(&gw);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(100));
                gw.expire_calls();
                gw.watch_pins();
            }
        });
    }
    gw.client_loop(std::io::stdin());
    // The client is gone: the server's input is closed; give it time to finish.
    match done_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Some(s)) if s.success() => Ok(ExitCode::SUCCESS),
        Ok(Some(s)) => {
            eprintln!("airlock mcp: the MCP server exited with {s}");
            Ok(ExitCode::from(1))
        }
        Ok(None) | Err(_) => Ok(ExitCode::from(1)),
    }
}
