//! Who is calling. Every request carries `Authorization: Bearer TOKEN`; only the
//! token's SHA-256 is stored, and a token is found by its hash, so no stored secret
//! is ever compared byte by byte with what a caller sent.

use airlock_store::{Credential, Principal};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: String,
    pub name: String,
    pub principal: Principal,
    pub roles: Vec<String>,
}

impl Caller {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The approver groups the human belongs to (`group:NAME` roles).
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().filter_map(|r| r.strip_prefix("group:"))
    }

    pub fn require_agent(&self) -> ApiResult<()> {
        if self.principal == Principal::Agent {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this endpoint is for agents; use an agent's API key".into(),
            ))
        }
    }

    /// A human holding `role`. A tenant's admins hold every role of their tenant;
    /// `service-admin` (the whole service: every tenant's metrics, the policy file) is
    /// only ever held by name.
    pub fn require_human(&self, role: &str) -> ApiResult<()> {
        let held = self.has_role(role) || (role != "service-admin" && self.has_role("admin"));
        if self.principal == Principal::Human && held {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs a human with the `{role}` role"
            )))
        }
    }
}

/// SHA-256 of a token, hex.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A new random token: `al_` and 32 random bytes, hex.
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    Ok(format!("al_{}", hex(&bytes)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// The caller of a request, or 401.
pub async fn caller(state: &AppState, headers: &HeaderMap) -> ApiResult<Caller> {
    let missing = || {
        ApiError::Unauthorized("missing or malformed `Authorization: Bearer TOKEN` header".into())
    };
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let token = value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(missing)?;
    let found: Option<Credential> = state.credential(&hash_token(token)).await?;
    match found {
        Some(c) if !c.revoked => Ok(Caller {
            tenant: c.tenant,
            name: c.name,
            principal: c.principal,
            roles: c.roles,
        }),
        // The same answer for unknown and revoked tokens: nothing to probe.
        _ => Err(ApiError::Unauthorized(
            "the token is not valid (unknown or revoked)".into(),
        )),
    }
}
