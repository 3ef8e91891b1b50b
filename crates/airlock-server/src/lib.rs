//! The airlock gateway service (`airlock serve`).
//!
//! Agents ask before they act (`POST /v1/actions`); humans approve, reject and halt.
//! Every decision is stored durably before it is answered; anything that goes wrong
//! on the way ends in deny.
//!
//! ```text
//! request ─auth─▶ Caller ─▶ halts? ─▶ classify ─▶ Policy::decide ─▶ Store::insert ─▶ answer
//!                                                                    (group commit)
//! approver ─auth─▶ eligibility (group, not the agent, not its operator) ─▶ Store::vote
//!                 ─▶ waiters of that action are woken (GET /v1/actions/{id}?wait=…)
//! ```
//!
//! This crate is an edge: it owns the clock, the network and the store. The
//! decision itself stays in the pure crates.

mod api;
mod auth;
mod error;
mod ledger;
pub mod personal;
mod plans;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use airlock_policy::Policy;
use airlock_store::Store;

pub use api::{
    CallOutcome, HoldNotice, MAX_BODY, OPENAPI, PolicyTools, ROUTES, authenticate_agent,
    decide_call, never_listed,
};
pub use auth::{hash_token, new_token};
pub use error::{ApiError, ApiResult};
pub use ledger::{EraseError, LedgerConfig, PruneError, Recorder};
pub use personal::PersonalData;
pub use state::AppState;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The embedded store's directory (SQLite), unless `postgres` is given.
    pub data_dir: PathBuf,
    /// A PostgreSQL URL: the store of several replicas.
    pub postgres: Option<String>,
    /// The policy file; the built-in default when `None`.
    pub policy: Option<PathBuf>,
    /// The tenant whose `admin` is bootstrapped.
    pub admin_tenant: String,
    /// A token the `admin` must hold (provisioned by the operator); otherwise one is
    /// created on a tenant without credentials and shown once.
    pub admin_token: Option<String>,
    /// Where to POST approval events (new request, resolution), if anywhere.
    pub webhook: Option<String>,
    /// Send Slack-compatible payloads (`{"text": …}`) instead of airlock's JSON.
    pub webhook_slack: bool,
    /// The tamper-evident ledger.
    pub ledger: LedgerConfig,
}

/// The HTTP API over `state`, as `serve` runs it.
pub fn app(state: Arc<AppState>) -> axum::Router {
    api::router(state)
}

/// Opens the store named by the configuration.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    match &config.postgres {
        Some(url) => Ok(Store::connect_postgres(url).await?),
        None => Ok(Store::open_sqlite(&config.data_dir).await?),
    }
}

/// Loads the policy named by the configuration. An invalid policy is an error: the
/// service does not start on a half-understood policy.
pub fn load_policy(config: &Config) -> anyhow::Result<Policy> {
    match &config.policy {
        None => Ok(Policy::builtin_default()?),
        Some(path) => {
            let src = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read policy {}: {e}", path.display()))?;
            let loaded = Policy::load(&path.display().to_string(), &src, jiff::Timestamp::now())?;
            Ok(loaded.policy)
        }
    }
}

/// Runs the service until the process is stopped. Returns the bootstrap admin token
/// when the store had no credentials yet (printed once by the caller).
///
/// `extend` adds routes of other edges that run inside the service (the MCP front
/// under `/mcp/`), given the service's state.
pub async fn serve(
    config: Config,
    extend: impl FnOnce(Arc<AppState>) -> anyhow::Result<axum::Router>,
    on_ready: impl FnOnce(SocketAddr, Option<String>),
) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let policy = load_policy(&config)?;
    let shared = match &store {
        Store::Postgres(pg) => Some(pg.ledger_checkpoints()),
        _ => None,
    };
    let ledger = Recorder::open(&config.data_dir, &config.ledger, shared)?;
    let mut state = AppState::new(store, ledger, policy, config.policy.clone());
    state.webhook = config.webhook.clone().map(|url| state::Webhook {
        url,
        slack: config.webhook_slack,
    });
    let state = Arc::new(state);
    let bootstrap = state
        .bootstrap_admin(&config.admin_tenant, config.admin_token.as_deref())
        .await?;
    // The kill switch holds from the first request: a replica that cannot read
    // the active halts does not start.
    state
        .refresh_halts()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the active halts: {e}"))?;
    let extra = extend(state.clone())?;
    spawn_background(state.clone());
    spawn_events(state.clone());
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    eprintln!(
        "airlock: ledger in {} ({} entries); an auditor verifies it with the public key {}",
        state.ledger.ledger().dir().display(),
        state.ledger.ledger().size(),
        state.ledger.verifier_key()
    );
    on_ready(addr, bootstrap);
    // No Nagle: a streamed answer's last chunk (an event stream's end, a chunked
    // body's terminator) is a small write that would otherwise wait for the
    // client's delayed ACK, 40 ms on Linux.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, api::router(state.clone()).merge(extra))
        .with_graceful_shutdown(stop_signal())
        .await?;
    // Stopped on purpose: sign a checkpoint of everything recorded, so that the
    // ledger left behind vouches for every entry (a crash leaves the unsigned tail
    // durable, and the next start signs it).
    match state.ledger.ledger().sign_checkpoint().await {
        Ok(signed) => eprintln!(
            "airlock: stopped; the ledger's last checkpoint covers all {} entries",
            signed.checkpoint.size()
        ),
        Err(e) => eprintln!("airlock: stopped; the ledger could not sign a last checkpoint: {e}"),
    }
    Ok(())
}

/// SIGTERM (a service manager stopping the service) or Ctrl-C.
async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            // No handler: only Ctrl-C stops it gracefully.
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// What other replicas do, as they do it (PostgreSQL): an approval or rejection
/// wakes the agent waiting here at once, a halt or resume refreshes the halts at
/// once. Without it (SQLite, or the listener reconnecting) the 100 ms background
/// refresh and the waiters' re-reads still see everything.
fn spawn_events(state: Arc<AppState>) {
    let Some(mut events) = state.store.events() else {
        return;
    };
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match events.recv().await {
                Ok(airlock_store::Event::Resolved(id)) => state.wake(&id),
                Ok(airlock_store::Event::Halts) => {
                    let _ = state.refresh_halts().await;
                }
                Ok(airlock_store::Event::Credentials) => state.forget_credentials(),
                // Missed some: the polling catches up with them.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// Expiry of approval requests and the halt cache, on every replica.
fn spawn_background(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            state.background_tick().await;
        }
    });
}
