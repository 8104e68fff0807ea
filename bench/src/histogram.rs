//! A small log-bucketed latency histogram (~2% resolution from 1 µs to minutes), cheap to
//! record into and to merge.

/// Bucket growth factor.
const GROWTH: f64 = 1.02;
/// Buckets: enough for 1 µs × 1.02^1000 ≈ 400 s.
const BUCKETS: usize = 1000;

/// Latencies in microseconds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max_us: 0,
        }
    }
}

impl Histogram {
    /// Records one latency.
    pub fn record(&mut self, micros: u64) {
        let index = if micros <= 1 {
            0
        } else {
            ((micros as f64).ln() / GROWTH.ln()) as usize
        };
        self.counts[index.min(BUCKETS - 1)] += 1;
        self.total += 1;
        self.max_us = self.max_us.max(micros);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max_us = self.max_us.max(other.max_us);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The latency at quantile `q` (0..=1), in milliseconds (bucket upper bound).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let target = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= target {
                return (GROWTH.powi(index as i32 + 1) / 1000.0).min(self.max_ms());
            }
        }
        self.max_ms()
    }

    /// The largest latency, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_two_percent() {
        let mut h = Histogram::default();
        for us in 1..=10_000 {
            h.record(us);
        }
        let p50 = h.quantile_ms(0.5);
        let p99 = h.quantile_ms(0.99);
        assert!((p50 - 5.0).abs() / 5.0 < 0.03, "p50 {p50}");
        assert!((p99 - 9.9).abs() / 9.9 < 0.03, "p99 {p99}");
        assert_eq!(h.max_ms(), 10.0);
        assert_eq!(h.count(), 10_000);
    }
}
