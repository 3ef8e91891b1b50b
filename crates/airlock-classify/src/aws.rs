//! The aws CLI → IAM action, access level and effect. BEING WRITTEN.

use crate::Findings;

/// Classifies `aws …`; `args` are the words after `aws`.
pub fn classify(args: &[&str]) -> Findings {
    Findings::unknown(
        format!("aws {}", args.join(" ")),
        "the aws classifier is not built yet",
    )
}
