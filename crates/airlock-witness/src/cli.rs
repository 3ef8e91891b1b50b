//! `airlock witness`: run a witness, or create its key. The arguments live here so
//! that the `airlock` binary only adds one subcommand that calls [`run`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use airlock_tlog::{VerifierKey, WitnessSigner, is_valid_key_name};
use anyhow::{Context, bail};

use crate::server::{LogConfig, WitnessConfig, WitnessServer, serve};

/// Run a transparency-log witness (c2sp.org/tlog-witness): it cosigns a log's
/// checkpoint only if it is consistent with the last one it cosigned for that
/// log, and records each one durably before it answers.
///
/// Logs (an airlock ledger with witnesses configured) POST their checkpoints to
/// `http://ADDR/add-checkpoint`. Create the witness's key first with
/// `airlock witness keygen NAME --key-file FILE`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct WitnessArgs {
    #[command(subcommand)]
    command: Option<WitnessCommand>,
    /// Address to listen on.
    #[arg(long, env = "AIRLOCK_WITNESS_LISTEN", default_value = "127.0.0.1:8760")]
    listen: SocketAddr,
    /// Directory where the last checkpoint cosigned for each log is recorded (one
    /// file per log, fsynced before every answer). Back it up: a witness that
    /// loses it trusts the next checkpoint of each log blindly.
    #[arg(long, env = "AIRLOCK_WITNESS_STATE_DIR", required = true)]
    state_dir: Option<PathBuf>,
    /// File holding the witness's secret key (`PRIVATE+KEY+…`), as written by
    /// `airlock witness keygen`.
    #[arg(long, env = "AIRLOCK_WITNESS_KEY_FILE", required = true)]
    key_file: Option<PathBuf>,
    /// A log to witness: `ORIGIN=VKEY`, or `VKEY` alone when the key's name is the
    /// log's origin. Repeat for each log; an origin given twice trusts both keys
    /// (a key rotation).
    #[arg(long = "log", value_name = "[ORIGIN=]VKEY", required = true)]
    logs: Vec<String>,
}

#[derive(clap::Subcommand, Debug)]
enum WitnessCommand {
    /// Create a witness key: write the secret key to --key-file (never over an
    /// existing file) and print the public key (vkey) for the logs to trust.
    Keygen {
        /// The witness's name, as on its cosignatures: a schema-less URL such as
        /// `witness.example.com/w1` (no spaces, no `+`).
        name: String,
        /// Where to write the secret key (created readable by its owner only).
        #[arg(long)]
        key_file: PathBuf,
    },
}

/// Runs `airlock witness`.
pub fn run(args: WitnessArgs) -> anyhow::Result<ExitCode> {
    if let Some(WitnessCommand::Keygen { name, key_file }) = args.command {
        let vkey = keygen(&name, &key_file)?;
        println!("{vkey}");
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(state_dir), Some(key_file)) = (args.state_dir, args.key_file) else {
        bail!("`airlock witness` needs --state-dir and --key-file");
    };
    let signer = read_key(&key_file)?;
    let logs = args
        .logs
        .iter()
        .map(|l| parse_log(l))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let count = logs.len();
    let witness = WitnessServer::open(WitnessConfig {
        signer,
        logs,
        state_dir: state_dir.clone(),
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        // Last, so that whoever reads stderr knows the witness is up.
        eprintln!(
            "airlock: witness {} on http://{addr}/add-checkpoint, {count} log key(s), state in {}",
            witness.key(),
            state_dir.display()
        );
        serve(listener, witness)
            .await
            .context("the witness stopped")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a new witness secret key to `path` and returns the public key string.
pub fn keygen(name: &str, path: &Path) -> anyhow::Result<String> {
    if !is_valid_key_name(name) {
        bail!(
            "witness name {name:?} must be non-empty, without spaces or `+` (e.g. witness.example.com/w1)"
        );
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness for a key: {e}"))?;
    let signer = WitnessSigner::from_seed(name, &seed)?;
    seed.fill(0);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| {
        format!(
            "cannot create {} (an existing key file is never overwritten)",
            path.display()
        )
    })?;
    use std::io::Write;
    writeln!(file, "{}", signer.to_secret_string())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(signer.key().to_string())
}

fn read_key(path: &Path) -> anyhow::Result<WitnessSigner> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the witness key file {}", path.display()))?;
    WitnessSigner::parse(text.trim()).with_context(|| {
        format!(
            "{} does not hold a witness secret key; create one with `airlock witness keygen NAME --key-file FILE`",
            path.display()
        )
    })
}

/// `ORIGIN=VKEY`, or a `VKEY` whose name is the origin.
fn parse_log(arg: &str) -> anyhow::Result<LogConfig> {
    if let Ok(key) = VerifierKey::parse(arg) {
        return Ok(LogConfig {
            origin: key.name().to_string(),
            keys: vec![key],
        });
    }
    let Some((origin, vkey)) = arg.split_once('=') else {
        bail!("--log {arg:?} is not a log's public key; expected ORIGIN=VKEY or VKEY");
    };
    let key = VerifierKey::parse(vkey)
        .with_context(|| format!("--log {arg:?}: {vkey:?} is not a log's public key (vkey)"))?;
    Ok(LogConfig {
        origin: origin.to_string(),
        keys: vec![key],
    })
}
