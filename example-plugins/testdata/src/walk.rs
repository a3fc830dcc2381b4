//! Random walks: a small seeded generator, so that a query's walk is the
//! same each time it is asked for (dashboards, tests), and the walk itself.

use serde::Deserialize;

/// SplitMix64: tiny, fast and good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How a walk moves, with TestData's names and defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WalkShape {
    /// The first value (default: random in `[0, 100)`).
    pub start_value: Option<f64>,
    /// The largest step up or down.
    pub spread: f64,
    /// Random noise added to each reported value (not to the walk).
    pub noise: f64,
    /// Values never go below this.
    pub min: Option<f64>,
    /// Values never go above this.
    pub max: Option<f64>,
}

impl Default for WalkShape {
    fn default() -> Self {
        Self {
            start_value: None,
            spread: 1.0,
            noise: 0.0,
            min: None,
            max: None,
        }
    }
}

/// A walk in progress.
#[derive(Debug, Clone)]
pub struct Walk {
    shape: WalkShape,
    rng: Rng,
    value: f64,
}

impl Walk {
    /// Starts a walk of `shape` from `seed`.
    pub fn new(shape: WalkShape, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let value = shape.start_value.unwrap_or_else(|| rng.next_f64() * 100.0);
        Self { shape, rng, value }
    }

    /// The next value reported.
    pub fn step(&mut self) -> f64 {
        let noise = (self.rng.next_f64() - 0.5) * self.shape.noise;
        let reported = self.clamp(self.value + noise);
        let step = (self.rng.next_f64() - 0.5) * 2.0 * self.shape.spread;
        self.value = self.clamp(self.value + step);
        reported
    }

    fn clamp(&self, value: f64) -> f64 {
        let value = self.shape.min.map_or(value, |min| value.max(min));
        self.shape.max.map_or(value, |max| value.min(max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_walk() {
        let walk = |seed| {
            let mut walk = Walk::new(WalkShape::default(), seed);
            (0..10).map(|_| walk.step()).collect::<Vec<_>>()
        };
        assert_eq!(walk(7), walk(7));
        assert_ne!(walk(7), walk(8));
    }

    #[test]
    fn steps_stay_within_the_spread_and_the_bounds() {
        let shape = WalkShape {
            start_value: Some(5.0),
            spread: 2.0,
            min: Some(0.0),
            max: Some(10.0),
            ..WalkShape::default()
        };
        let mut walk = Walk::new(shape, 1);
        let values: Vec<f64> = (0..1000).map(|_| walk.step()).collect();
        assert_eq!(values[0], 5.0);
        assert!(values.iter().all(|v| (0.0..=10.0).contains(v)));
        assert!(values.windows(2).all(|w| (w[1] - w[0]).abs() <= 2.0));
    }
}
