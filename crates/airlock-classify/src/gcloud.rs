//! gcloud and az: verb and suffix rules. BEING WRITTEN.

use crate::Findings;

/// Classifies `gcloud …`; `args` are the words after `gcloud`.
pub fn classify_gcloud(args: &[&str]) -> Findings {
    Findings::unknown(
        format!("gcloud {}", args.join(" ")),
        "the gcloud classifier is not built yet",
    )
}

/// Classifies `az …`; `args` are the words after `az`.
pub fn classify_az(args: &[&str]) -> Findings {
    Findings::unknown(
        format!("az {}", args.join(" ")),
        "the az classifier is not built yet",
    )
}
