//! What a run measured: latency percentiles over every measured call,
//! what the callers did, resident memory over time.

use std::time::Duration;

use serde::Serialize;

/// Latencies of calls, in microseconds.
#[derive(Debug, Default, Clone)]
pub struct Latencies(Vec<u32>);

impl Latencies {
    /// Records one call's latency.
    pub fn record(&mut self, latency: Duration) {
        self.0
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    /// Adds another caller's latencies.
    pub fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// Calls recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The sorted latencies, for percentiles.
    pub fn sorted(mut self) -> Sorted {
        self.0.sort_unstable();
        Sorted(self.0)
    }
}

/// Sorted latencies.
#[derive(Debug)]
pub struct Sorted(Vec<u32>);

impl Sorted {
    /// The `p`th percentile (nearest rank), in milliseconds; 0 without
    /// calls.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        f64::from(self.0[rank.clamp(1, self.0.len()) - 1]) / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut latencies = Latencies::default();
        for micros in (1..=100).rev() {
            latencies.record(Duration::from_micros(micros * 1000));
        }
        let sorted = latencies.sorted();
        assert_eq!(sorted.percentile_ms(50.0), 50.0);
        assert_eq!(sorted.percentile_ms(99.0), 99.0);
        assert_eq!(sorted.percentile_ms(100.0), 100.0);
        assert_eq!(Latencies::default().sorted().percentile_ms(50.0), 0.0);
    }
}

/// What the callers did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Latencies of the calls that succeeded.
    pub latencies: Latencies,
    /// Calls that failed.
    pub errors: u64,
    /// The first few distinct failures.
    pub error_samples: Vec<String>,
}

/// Resident memory at one moment of the measured run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RssSample {
    /// Seconds since measuring started.
    pub seconds: f64,
    /// Resident memory, MiB.
    pub mib: f64,
}
