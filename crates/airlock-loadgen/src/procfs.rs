//! What a process uses, from Linux's /proc: resident memory and CPU time.

use anyhow::{Context, Result, anyhow};

/// Resident memory of a process, in KiB: `VmRSS` and its parts.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Rss {
    pub total: u64,
    /// Heap and other private memory.
    pub anon: u64,
    /// Mapped files (SQLite's memory-mapped database pages among them).
    pub file: u64,
}

/// `VmRSS`, `RssAnon` and `RssFile` of the process, in KiB.
pub fn rss(pid: u32) -> Result<Rss> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Ok(Rss {
        total: field("VmRSS:").ok_or_else(|| anyhow!("{path} has no VmRSS line"))?,
        anon: field("RssAnon:").unwrap_or(0),
        file: field("RssFile:").unwrap_or(0),
    })
}

/// User and system CPU time of the process (all its threads), in seconds. Assumes
/// `USER_HZ` = 100, as on every mainstream Linux architecture.
pub fn cpu_seconds(pid: Option<u32>) -> Result<(f64, f64)> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The command name (field 2) may hold spaces and parentheses: fields after the
    // last `)` are fields 3 onwards.
    let after = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("{path}: unexpected format"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the `)`.
    let tick = |i: usize| -> Result<f64> {
        let v: u64 = fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| anyhow!("{path}: no field {}", i + 3))?;
        Ok(v as f64 / 100.0)
    };
    Ok((tick(11)?, tick(12)?))
}

/// What a process has written: (bytes passed to write calls, write calls, bytes
/// sent to storage), from /proc/PID/io (readable for one's own processes).
pub fn io(pid: u32) -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    Some((field("wchar:")?, field("syscw:")?, field("write_bytes:")?))
}

/// User and system CPU time of every process named `comm` (e.g. `postgres`, whose
/// backends do the PostgreSQL store's work), summed, in seconds.
pub fn cpu_seconds_of(comm: &str) -> (f64, f64) {
    let mut total = (0.0, 0.0);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return total;
    };
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let same = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim_end() == comm);
        if same && let Ok((u, s)) = cpu_seconds(Some(pid)) {
            total.0 += u;
            total.1 += s;
        }
    }
    total
}

/// CPU used between two readings, as a share of one core (1.0 = one core busy).
pub fn cores(before: (f64, f64), after: (f64, f64), wall: f64) -> f64 {
    if wall <= 0.0 {
        return 0.0;
    }
    ((after.0 + after.1) - (before.0 + before.1)) / wall
}

/// The machine's CPU time from /proc/stat, in seconds: (busy, idle + iowait,
/// steal). Busy counts user, nice, system, irq and softirq.
pub fn machine_cpu() -> (f64, f64, f64) {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else {
        return (0.0, 0.0, 0.0);
    };
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0.0, 0.0, 0.0);
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse::<f64>().unwrap_or(0.0) / 100.0)
        .collect();
    let at = |i: usize| v.get(i).copied().unwrap_or(0.0);
    // user nice system idle iowait irq softirq steal
    (at(0) + at(1) + at(2) + at(5) + at(6), at(3) + at(4), at(7))
}

/// The machine's load average (1, 5, 15 minutes), as /proc/loadavg says.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() -> Result<()> {
        let pid = std::process::id();
        assert!(rss(pid)?.total > 0);
        let (u, s) = cpu_seconds(Some(pid))?;
        assert!(u >= 0.0 && s >= 0.0);
        cpu_seconds(None)?;
        Ok(())
    }
}
