//! A log-linear latency histogram in microseconds: exact below 128 µs, then 128
//! buckets per power of two (under 0.8% error), so millions of samples take a few
//! kilobytes and merge by addition.

use std::time::Duration;

const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for values up to 2^40 µs (12 days).
const BUCKETS: usize = ((40 - SUB_BITS + 1) as usize + 1) * SUB as usize;

#[derive(Clone)]
pub struct Hist {
    counts: Vec<u64>,
    n: u64,
    sum_us: u128,
    max_us: u64,
    min_us: u64,
}

impl Default for Hist {
    fn default() -> Self {
        Hist {
            counts: vec![0; BUCKETS],
            n: 0,
            sum_us: 0,
            max_us: 0,
            min_us: u64::MAX,
        }
    }
}

fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS;
    let mantissa = (v >> shift) - SUB;
    let i = (shift as usize + 1) * SUB as usize + mantissa as usize;
    i.min(BUCKETS - 1)
}

/// The largest value that falls in bucket `i` (percentiles are reported high, never
/// flattered).
fn upper(i: usize) -> u64 {
    let sub = SUB as usize;
    if i < sub {
        return i as u64;
    }
    let shift = (i / sub - 1) as u32;
    let mantissa = (i % sub) as u64 + SUB;
    ((mantissa + 1) << shift) - 1
}

impl Hist {
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.record_us(us);
    }

    pub fn record_us(&mut self, us: u64) {
        self.counts[index(us)] += 1;
        self.n += 1;
        self.sum_us += u128::from(us);
        self.max_us = self.max_us.max(us);
        self.min_us = self.min_us.min(us);
    }

    pub fn merge(&mut self, other: &Hist) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.n += other.n;
        self.sum_us += other.sum_us;
        self.max_us = self.max_us.max(other.max_us);
        self.min_us = self.min_us.min(other.min_us);
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    /// The value at quantile `q` (0..=1), in µs; the exact maximum at 1.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        if q >= 1.0 {
            return self.max_us;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return upper(i).min(self.max_us);
            }
        }
        self.max_us
    }

    /// How many samples lie above `us`; samples in the bucket holding `us` (within
    /// 0.8% of it) count too, so this never reports fewer than there are.
    pub fn count_above_us(&self, us: u64) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .filter(|(i, _)| upper(*i) > us)
            .map(|(_, c)| c)
            .sum()
    }

    pub fn mean_us(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.n as f64
        }
    }

    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    pub fn min_us(&self) -> u64 {
        if self.n == 0 { 0 } else { self.min_us }
    }

    /// `p50 … p90 … p99 … max` as one line.
    pub fn summary(&self) -> String {
        format!(
            "p50 {} | p90 {} | p99 {} | p99.9 {} | max {} | mean {}",
            ms(self.quantile_us(0.50)),
            ms(self.quantile_us(0.90)),
            ms(self.quantile_us(0.99)),
            ms(self.quantile_us(0.999)),
            ms(self.max_us()),
            ms(self.mean_us() as u64),
        )
    }

    /// The percentiles as JSON (milliseconds).
    pub fn json(&self) -> serde_json::Value {
        let f = |us: u64| us as f64 / 1000.0;
        serde_json::json!({
            "samples": self.n,
            "min_ms": f(self.min_us()),
            "p50_ms": f(self.quantile_us(0.50)),
            "p90_ms": f(self.quantile_us(0.90)),
            "p99_ms": f(self.quantile_us(0.99)),
            "p999_ms": f(self.quantile_us(0.999)),
            "max_ms": f(self.max_us),
            "mean_ms": self.mean_us() / 1000.0,
        })
    }
}

/// Microseconds as milliseconds, e.g. `1.234 ms`.
pub fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_bound_their_values() {
        for v in [
            0, 1, 127, 128, 129, 255, 256, 1000, 4_999, 123_456, 10_000_000,
        ] {
            let i = index(v);
            assert!(upper(i) >= v, "{v}: bucket {i} ends at {}", upper(i));
            assert!(
                (upper(i) - v) as f64 <= (v as f64 / 128.0).max(0.0) + 1.0,
                "{v}: bucket too wide"
            );
            if i > 0 {
                assert!(upper(i - 1) < v, "{v}: previous bucket covers it");
            }
        }
    }

    #[test]
    fn quantiles_of_a_uniform_run() {
        let mut h = Hist::default();
        for us in 1..=10_000 {
            h.record_us(us);
        }
        let p50 = h.quantile_us(0.5);
        let p99 = h.quantile_us(0.99);
        assert!((5_000..=5_040).contains(&p50), "{p50}");
        assert!((9_900..=9_980).contains(&p99), "{p99}");
        assert_eq!(h.quantile_us(1.0), 10_000);
        let mut g = Hist::default();
        g.record_us(20_000);
        h.merge(&g);
        assert_eq!(h.count(), 10_001);
        assert_eq!(h.count_above_us(15_000), 1);
        assert!(h.count_above_us(9_000) > 1_000);
        assert_eq!(h.max_us(), 20_000);
    }
}
