//! The durable state of the airlock service.
//!
//! One interface, [`Store`], over two backends that pass one test suite
//! (`tests/conformance.rs`):
//!
//! - **SQLite**, embedded (a data directory, nothing to install): the default.
//! - **PostgreSQL**, for several stateless replicas behind a load balancer.
//!
//! What is stored: every decided action (the raw call, the classified Action, the
//! Decision), the approval queue (requests, votes, expiry), halts (the kill switch),
//! limit counters, and credentials (hashed tokens).
//!
//! The store never reads a clock: every time is an argument, in milliseconds since
//! the Unix epoch. Every operation that must not over-admit under concurrency
//! (votes, limit counters, consuming an approval) is atomic in the backend, also
//! across replicas sharing one PostgreSQL.

pub mod postgres;
pub mod quorum;
pub mod sqlite;
pub mod store;

pub use store::Store;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Why a store operation failed. Every failure on a decision path ends in deny.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or cannot write (disk full, connection lost).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The data does not have the expected shape (a migration missing, a bad row).
    #[error("the store holds unexpected data: {0}")]
    Corrupt(String),
    /// The operation conflicts with the stored state (a duplicate id, say).
    #[error("conflict: {0}")]
    Conflict(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Where a decided action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Decided `allow` or `log`: the agent may proceed.
    Allowed,
    /// Decided `deny`.
    Denied,
    /// Decided `approve`: waiting for approvers.
    Pending,
    /// Approved by the required approvers; usable once.
    Approved,
    /// An approved action that the agent has used.
    Consumed,
    /// Rejected by an approver, or by a halt.
    Rejected,
    /// Nobody approved in time: denied.
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Allowed => "allowed",
            Status::Denied => "denied",
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Consumed => "consumed",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "allowed" => Status::Allowed,
            "denied" => Status::Denied,
            "pending" => Status::Pending,
            "approved" => Status::Approved,
            "consumed" => Status::Consumed,
            "rejected" => Status::Rejected,
            "expired" => Status::Expired,
            _ => return None,
        })
    }

    /// No vote, expiry or halt changes it any more.
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Pending | Status::Approved)
    }
}

/// What one group must provide: `approvals` distinct members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    pub group: String,
    pub approvals: u32,
}

/// One approver's vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The human's identity (their credential name).
    pub approver: String,
    /// The required groups the approver belongs to, as checked by the service when
    /// the vote was cast.
    pub groups: Vec<String>,
    pub approve: bool,
    pub comment: String,
    pub at_ms: Millis,
}

/// A decided action, as the service records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRecord {
    /// Unique, chosen by the service.
    pub id: String,
    pub tenant: String,
    pub agent: String,
    /// The zone the agent runs in, when known (halts can target zones).
    pub zone: Option<String>,
    pub received_ms: Millis,
    /// The input as received (a raw call or an Action), JSON.
    pub call_json: String,
    /// The Action decided, JSON (for a plan: its steps' Actions and Decisions).
    pub action_json: String,
    /// The Decision, JSON (for a plan: the decision on the whole).
    pub decision_json: String,
    /// `allow`, `log`, `approve` or `deny`.
    pub tier: String,
    /// SHA-256 (hex) binding an approval to this exact call and policy version; for
    /// a plan, one digest per step, in order, separated by single spaces.
    pub digest: String,
    /// The initial status: `Allowed`, `Denied` or `Pending`.
    pub status: Status,
    /// For `Pending`: when it expires into a denial.
    pub expires_ms: Option<Millis>,
    /// For `Pending`: what approving needs.
    pub requirements: Vec<Requirement>,
    /// A single action or a plan approved as a whole.
    pub kind: Kind,
    /// For `Pending`: once approved, the grant must be used within this long
    /// (`None`: by the original `expires_ms`).
    pub use_within_ms: Option<Millis>,
    /// Sampled for an after-the-fact spot check: it enters the review queue.
    pub review_due: bool,
    /// What a listing shows of it, stored beside the documents so that a listing
    /// reads no JSON.
    pub summary: Summary,
}

/// The few facts a listing shows of a record, kept in their own columns: listing
/// 10,000 requests must not parse 20,000 JSON documents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The deciding part's tool (`plan` for a plan).
    pub tool: String,
    /// Its operation (`N steps` for a plan).
    pub operation: String,
    /// The effect (`read`, `write`, `delete`, …).
    pub effect: String,
    /// The decision's one-sentence reason.
    pub reason: String,
    /// The rules that decided it.
    pub rules: Vec<String>,
}

/// A record as a listing shows it: no documents, its votes counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Brief {
    pub id: String,
    pub kind: Kind,
    pub agent: String,
    pub status: Status,
    pub received_ms: Millis,
    pub expires_ms: Option<Millis>,
    pub requirements: Vec<Requirement>,
    pub summary: Summary,
    /// Votes cast so far.
    pub votes: u32,
}

/// What a record stands for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One call; an approval covers exactly that call, once.
    #[default]
    Action,
    /// An ordered list of calls approved as a whole; the approval covers exactly
    /// those calls, each once, in that order.
    Plan,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Action => "action",
            Kind::Plan => "plan",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "action" => Some(Kind::Action),
            "plan" => Some(Kind::Plan),
            _ => None,
        }
    }
}

/// Where a sampled record stands in the spot-check queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewState {
    /// Sampled, waiting for a reviewer.
    Due,
    /// A reviewer found the decision right.
    Ok,
    /// A reviewer marked the decision wrong.
    Wrong,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Due => "due",
            ReviewState::Ok => "ok",
            ReviewState::Wrong => "wrong",
        }
    }

    pub fn parse(s: &str) -> Option<ReviewState> {
        match s {
            "due" => Some(ReviewState::Due),
            "ok" => Some(ReviewState::Ok),
            "wrong" => Some(ReviewState::Wrong),
            _ => None,
        }
    }
}

/// A reviewer's verdict on a sampled decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub reviewer: String,
    /// The decision should not have been what it was.
    pub wrong: bool,
    pub comment: String,
    pub at_ms: Millis,
}

/// What a review did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// Recorded: the record left the queue in this state.
    Recorded(ReviewState),
    /// Somebody reviewed it already: nothing changed.
    AlreadyReviewed(Review),
    /// It was never sampled for review: nothing changed.
    NotSampled,
    /// No such record in this tenant.
    NotFound,
}

/// A stored action with its votes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub tenant: String,
    pub agent: String,
    pub zone: Option<String>,
    pub received_ms: Millis,
    pub call_json: String,
    pub action_json: String,
    pub decision_json: String,
    pub tier: String,
    pub digest: String,
    pub status: Status,
    pub expires_ms: Option<Millis>,
    pub requirements: Vec<Requirement>,
    /// When the status last changed from `Pending` (approved, rejected, expired).
    pub resolved_ms: Option<Millis>,
    /// Why it was resolved the way it was (`approved by alice, bob`, `halted: …`).
    pub resolution: Option<String>,
    pub votes: Vec<Vote>,
    pub kind: Kind,
    /// How many of the approved steps have been used (0 or 1 for an action).
    pub steps_used: u32,
    /// `None` unless sampled for a spot check.
    pub review_state: Option<ReviewState>,
    /// The reviewer's verdict, once reviewed.
    pub review: Option<Review>,
    pub summary: Summary,
}

impl Record {
    /// The approved steps' digests, in order (one for an action).
    pub fn step_digests(&self) -> Vec<&str> {
        self.digest.split(' ').collect()
    }
}

/// Which records to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub agent: Option<String>,
    /// Only records sampled for spot checks, in this review state.
    pub review: Option<ReviewState>,
    /// At most this many (the backend caps it at 10,000).
    pub limit: u32,
}

/// What a vote did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoteOutcome {
    /// Recorded; the request is now in this status (`Pending`, `Approved` or
    /// `Rejected`).
    Recorded(Status),
    /// This approver has already voted on this request: nothing changed.
    AlreadyVoted,
    /// The request is not pending any more (or has expired): nothing changed.
    NotPending(Status),
    /// No such request in this tenant.
    NotFound,
}

/// Something another replica did that this one should learn at once (PostgreSQL
/// `LISTEN`/`NOTIFY`). Only a shortcut: every replica also re-reads what matters on
/// its own, so a lost event delays, never breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request was approved or rejected: wake whoever waits on it.
    Resolved(String),
    /// A halt was recorded or lifted: re-read the active halts.
    Halts,
    /// A credential was issued, rotated or revoked: forget cached credentials.
    Credentials,
}

/// What a halt covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scope", content = "name", rename_all = "lowercase")]
pub enum Scope {
    /// Everything, in every tenant (admins of the service only).
    All,
    /// Everything in the halt's tenant.
    Tenant,
    /// One agent of the tenant.
    Agent(String),
    /// Every agent of the tenant running in this zone.
    Zone(String),
}

/// An active halt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Halt {
    pub tenant: String,
    pub scope: Scope,
    pub reason: String,
    pub by: String,
    pub at_ms: Millis,
}

/// Who a credential belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Principal {
    Agent,
    Human,
}

/// A caller's credential. Only the token's SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub tenant: String,
    /// The agent id, or the human's name; unique per tenant and principal.
    pub name: String,
    pub principal: Principal,
    /// Human roles (`viewer`, `approver`, `admin`) and, for approvers, their groups
    /// as `group:NAME`.
    pub roles: Vec<String>,
    /// SHA-256 (hex) of the token.
    pub token_hash: String,
    pub created_ms: Millis,
    pub revoked: bool,
}
