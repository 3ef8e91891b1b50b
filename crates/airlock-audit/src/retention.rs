//! Retention: which old entries may be pruned from the ledger. Pure: the clock
//! and the entries' times are arguments.
//!
//! The ledger keeps every entry at least [`DEFAULT_RETENTION_DAYS`] days (184:
//! six months, rounded up to the longest six calendar months), what the EU AI
//! Act asks of a high-risk system's logs (Art. 19(1), Art. 26(6)). A window may
//! be longer, never shorter. Pruning removes a *prefix* of the ledger (the
//! mechanism is `airlock_ledger::Ledger::prune`), and entries can be a few
//! milliseconds out of order (several writers share the clock), so the boundary
//! stops at the first entry inside the window: nothing inside it ever goes, even
//! if older entries follow.

/// The shortest retention window, and the default: 184 days (six months).
pub const DEFAULT_RETENTION_DAYS: u32 = 184;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Why a retention window or a prune was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    /// The window is shorter than six months.
    #[error(
        "a retention window of {days} days is too short: ledger entries are kept at least {DEFAULT_RETENTION_DAYS} days (six months, what the EU AI Act asks of a high-risk system's logs); give {DEFAULT_RETENTION_DAYS} or more"
    )]
    TooShort {
        /// The window asked for.
        days: u32,
    },
    /// The cutoff asked for lies inside the retention window.
    #[error(
        "entries before {before_ms} ms cannot be pruned: the retention window of {days} days keeps every entry from {window_start_ms} ms (now minus {days} days) on; ask for a cutoff at or before that"
    )]
    InsideWindow {
        /// The cutoff asked for (ms since the Unix epoch).
        before_ms: i64,
        /// Where the window starts (ms since the Unix epoch).
        window_start_ms: i64,
        /// The window.
        days: u32,
    },
}

/// A retention window of `days` days, refused when shorter than
/// [`DEFAULT_RETENTION_DAYS`].
pub fn check_retention_days(days: u32) -> Result<u32, RetentionError> {
    if days < DEFAULT_RETENTION_DAYS {
        return Err(RetentionError::TooShort { days });
    }
    Ok(days)
}

/// The start of the window at `now_ms`: entries strictly older may go.
pub fn window_start_ms(now_ms: i64, retention_days: u32) -> i64 {
    now_ms.saturating_sub(i64::from(retention_days).saturating_mul(DAY_MS))
}

/// The largest `below` such that every one of the first `below` entries (their
/// `time_ms`, in index order) is older than the start of the retention window
/// (`now_ms` minus `retention_days`): the count of the leading entries older
/// than it, stopping at the first one inside the window.
pub fn prunable_below(
    times_ms: impl IntoIterator<Item = i64>,
    now_ms: i64,
    retention_days: u32,
) -> u64 {
    older_prefix(times_ms, window_start_ms(now_ms, retention_days))
}

/// [`prunable_below`] with a cutoff asked for: the leading entries older than
/// `before_ms`, which must itself lie at or before the window's start (else
/// [`RetentionError::InsideWindow`]); the window must be at least six months.
pub fn prune_boundary(
    times_ms: impl IntoIterator<Item = i64>,
    before_ms: i64,
    now_ms: i64,
    retention_days: u32,
) -> Result<u64, RetentionError> {
    check_retention_days(retention_days)?;
    let window_start_ms = window_start_ms(now_ms, retention_days);
    if before_ms > window_start_ms {
        return Err(RetentionError::InsideWindow {
            before_ms,
            window_start_ms,
            days: retention_days,
        });
    }
    Ok(older_prefix(times_ms, before_ms))
}

/// How many leading times are strictly before `limit`.
fn older_prefix(times_ms: impl IntoIterator<Item = i64>, limit: i64) -> u64 {
    times_ms.into_iter().take_while(|t| *t < limit).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_800_000_000_000;
    const WINDOW: i64 = DEFAULT_RETENTION_DAYS as i64 * DAY_MS;

    #[test]
    fn nothing_to_prune_in_an_empty_ledger() {
        assert_eq!(prunable_below([], NOW, DEFAULT_RETENTION_DAYS), 0);
        assert_eq!(
            prune_boundary([], NOW - WINDOW, NOW, DEFAULT_RETENTION_DAYS),
            Ok(0)
        );
    }

    #[test]
    fn nothing_goes_when_every_entry_is_inside_the_window() {
        let times = [NOW - WINDOW, NOW - 5, NOW];
        assert_eq!(prunable_below(times, NOW, DEFAULT_RETENTION_DAYS), 0);
    }

    #[test]
    fn the_boundary_stops_at_the_first_entry_inside_the_window_even_out_of_order() {
        let start = NOW - WINDOW;
        // Entry 2 is inside the window; entry 3 is older (a few ms out of
        // order) but comes after it, so it stays.
        let times = [start - 10_000, start - 3, start, start - 2, start + 1];
        assert_eq!(prunable_below(times, NOW, DEFAULT_RETENTION_DAYS), 2);
        // An entry exactly at the window's start is inside it.
        assert_eq!(prunable_below([start], NOW, DEFAULT_RETENTION_DAYS), 0);
        // Out of order below the start: all older, all go.
        let times = [start - 5, start - 9, start - 1, start + 7];
        assert_eq!(prunable_below(times, NOW, DEFAULT_RETENTION_DAYS), 3);
    }

    #[test]
    fn a_cutoff_inside_the_window_or_a_short_window_is_refused() {
        let start = NOW - WINDOW;
        let err = prune_boundary([0], start + 1, NOW, DEFAULT_RETENTION_DAYS).unwrap_err();
        assert!(matches!(err, RetentionError::InsideWindow { .. }));
        assert!(err.to_string().contains("184 days"), "{err}");
        let err = prune_boundary([0], 0, NOW, 30).unwrap_err();
        assert_eq!(err, RetentionError::TooShort { days: 30 });
        assert!(err.to_string().contains("six months"), "{err}");
        assert_eq!(check_retention_days(365), Ok(365));
        // A cutoff earlier than the window prunes only entries older than it.
        let times = [start - 100, start - 50, start - 10];
        assert_eq!(
            prune_boundary(times, start - 50, NOW, DEFAULT_RETENTION_DAYS),
            Ok(1)
        );
    }

    proptest! {
        #[test]
        fn every_pruned_entry_is_older_than_the_window_and_the_boundary_is_the_largest(
            times in proptest::collection::vec(NOW - 2 * WINDOW..NOW + 1000, 0..64),
            days in DEFAULT_RETENTION_DAYS..400,
        ) {
            let below = prunable_below(times.iter().copied(), NOW, days) as usize;
            let start = window_start_ms(NOW, days);
            prop_assert!(below <= times.len());
            prop_assert!(times[..below].iter().all(|t| *t < start));
            // Largest: the next entry (if any) is inside the window.
            if let Some(next) = times.get(below) {
                prop_assert!(*next >= start);
            }
            // Never more with a cutoff, which may not lie inside the window.
            for before in [start - DAY_MS, start, start + 1] {
                match prune_boundary(times.iter().copied(), before, NOW, days) {
                    Ok(b) => prop_assert!(before <= start && b as usize <= below),
                    Err(RetentionError::InsideWindow { .. }) => prop_assert!(before > start),
                    Err(e) => prop_assert!(false, "{e}"),
                }
            }
        }
    }
}
