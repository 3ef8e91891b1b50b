//! From raw tool calls to Actions.
//!
//! Agents send raw calls (a bash one-liner, an `aws` command, a SQL statement, an MCP
//! `tools/call`), not Actions. This crate reads them and says what they do: the
//! **effect** (`read < write < delete < permissions`, or `unknown`), the **targets**
//! and the **magnitude**, part by part. When it cannot tell, the answer is
//! `unknown`, never `read`: a destructive call classified as harmless is a security
//! bug.
//!
//! Pure: no I/O, no clock, no globals.

pub mod aws;
pub(crate) mod aws_iam_table;
pub mod call;
mod commands;
pub mod findings;
pub mod gcloud;
pub mod input;
pub mod k8s;
pub mod mcp;
pub mod plan;
pub mod shell;
pub mod sql;
mod tools;

pub use call::{Classification, Report, classify};
pub use findings::{Findings, Part, combine};
pub use input::{HookPayload, InputError, McpCall, RawCall};
pub use mcp::{NoToolPolicy, ToolPolicy};
