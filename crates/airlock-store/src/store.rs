//! [`Store`]: the one interface the service uses, dispatching to a backend.

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{
    Brief, Credential, Halt, ListFilter, Millis, NewRecord, Principal, Record, Result, Review,
    ReviewOutcome, Scope, Vote, VoteOutcome,
};

/// The durable store: one of the backends, all with the same methods and the same
/// guarantees (checked by `tests/conformance.rs`).
pub enum Store {
    /// Embedded SQLite in a data directory.
    Sqlite(SqliteStore),
    /// PostgreSQL, shared by several replicas.
    Postgres(PgStore),
}

/// Calls the same method on whichever backend this is.
macro_rules! dispatch {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

impl Store {
    /// Opens (creating if needed) `dir/airlock.db` and brings its schema up to date.
    pub async fn open_sqlite(dir: &std::path::Path) -> Result<Store> {
        Ok(Store::Sqlite(SqliteStore::open(dir).await?))
    }

    /// Connects to PostgreSQL (`postgres://…`) and brings its schema up to date;
    /// replicas starting together take turns.
    pub async fn connect_postgres(url: &str) -> Result<Store> {
        Ok(Store::Postgres(PgStore::connect(url).await?))
    }

    /// What other replicas sharing this store do, as it happens (PostgreSQL only;
    /// `None` for SQLite, whose one process sees its own changes).
    pub fn events(&self) -> Option<tokio::sync::broadcast::Receiver<crate::Event>> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(s) => Some(s.events()),
        }
    }

    /// Records a decided action; durable when it returns `Ok`. A duplicate id is
    /// [`StoreError::Conflict`](crate::StoreError::Conflict).
    pub async fn insert(&self, r: NewRecord) -> Result<()> {
        dispatch!(self, s => s.insert(r).await)
    }

    /// One record of `tenant`, with its votes in cast order.
    pub async fn get(&self, tenant: &str, id: &str) -> Result<Option<Record>> {
        dispatch!(self, s => s.get(tenant, id).await)
    }

    /// Newest first (by `received_ms`, then id), filtered, at most
    /// `min(limit, 10_000)` (limit 0 = 100).
    pub async fn list(&self, tenant: &str, filter: &ListFilter) -> Result<Vec<Record>> {
        dispatch!(self, s => s.list(tenant, filter).await)
    }

    /// The same records as [`Store::list`], as a listing shows them: without the
    /// documents, votes counted. What the approval queue and an agent's history use.
    pub async fn list_brief(&self, tenant: &str, filter: &ListFilter) -> Result<Vec<Brief>> {
        dispatch!(self, s => s.list_brief(tenant, filter).await)
    }

    /// Pending requests in one tenant, or (`None`) in all.
    pub async fn count_pending(&self, tenant: Option<&str>) -> Result<u64> {
        dispatch!(self, s => s.count_pending(tenant).await)
    }

    /// Casts a vote atomically; see the crate's API notes.
    pub async fn vote(
        &self,
        tenant: &str,
        id: &str,
        vote: Vote,
        now: Millis,
    ) -> Result<VoteOutcome> {
        dispatch!(self, s => s.vote(tenant, id, vote, now).await)
    }

    /// Uses the next step of an approved grant, atomically, if `digest` is that
    /// step's digest and the grant has not expired (`expires_ms > now`). Returns the
    /// step used (0-based); the last step turns the record Consumed. An action is a
    /// grant of one step: it is used once.
    pub async fn consume(
        &self,
        tenant: &str,
        id: &str,
        digest: &str,
        now: Millis,
    ) -> Result<Option<u32>> {
        dispatch!(self, s => s.consume(tenant, id, digest, now).await)
    }

    /// Records a reviewer's verdict on a record sampled for a spot check, once.
    pub async fn review(&self, tenant: &str, id: &str, review: Review) -> Result<ReviewOutcome> {
        dispatch!(self, s => s.review(tenant, id, review).await)
    }

    /// Sampled records still waiting for a reviewer, in one tenant or (`None`) all.
    pub async fn count_reviews_due(&self, tenant: Option<&str>) -> Result<u64> {
        dispatch!(self, s => s.count_reviews_due(tenant).await)
    }

    /// Expires every Pending record with `expires_ms <= now`, and every Approved
    /// grant not (fully) used by then; returns their (tenant, id).
    pub async fn expire_due(&self, now: Millis) -> Result<Vec<(String, String)>> {
        dispatch!(self, s => s.expire_due(now).await)
    }

    /// Records a halt and rejects every Pending record, and every Approved grant not
    /// yet used up, in its scope; returns how many.
    pub async fn halt(&self, h: &Halt) -> Result<u64> {
        dispatch!(self, s => s.halt(h).await)
    }

    /// Removes the active halt for (tenant, scope); returns whether one existed.
    pub async fn resume(&self, tenant: &str, scope: &Scope, by: &str, now: Millis) -> Result<bool> {
        dispatch!(self, s => s.resume(tenant, scope, by, now).await)
    }

    /// Every active halt, all tenants.
    pub async fn halts(&self) -> Result<Vec<Halt>> {
        dispatch!(self, s => s.halts().await)
    }

    /// Fixed-window counter: adds `amount` and returns true if the total stays
    /// `<= limit`, else changes nothing and returns false.
    pub async fn take(
        &self,
        key: &str,
        window_start: Millis,
        amount: u64,
        limit: u64,
    ) -> Result<bool> {
        dispatch!(self, s => s.take(key, window_start, amount, limit).await)
    }

    /// Inserts, or replaces (rotates) the credential with the same (tenant, name, principal).
    pub async fn put_credential(&self, c: &Credential) -> Result<()> {
        dispatch!(self, s => s.put_credential(c).await)
    }

    /// The credential with this token hash, revoked or not.
    pub async fn credential(&self, token_hash: &str) -> Result<Option<Credential>> {
        dispatch!(self, s => s.credential(token_hash).await)
    }

    /// A tenant's credentials, sorted by principal, then name.
    pub async fn credentials(&self, tenant: &str) -> Result<Vec<Credential>> {
        dispatch!(self, s => s.credentials(tenant).await)
    }

    /// Revokes a credential; returns whether a live one was revoked.
    pub async fn revoke(&self, tenant: &str, name: &str, principal: Principal) -> Result<bool> {
        dispatch!(self, s => s.revoke(tenant, name, principal).await)
    }
}
