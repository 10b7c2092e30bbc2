//! `baselineCreate`/`baselineCheck`/`baselineStatistics`/`baselineReset`: a moving window of recent values
//! per name, and a check of each new value against mean ± sensitivity × standard deviation.
//!
//! *(inferred)* sFlow-RT does not document the algorithm; this follows what its apps rely on: `'learning'`
//! until the window is full, then `'normal'`, `'low'` or `'high'` (the latter two only after `repeat`
//! consecutive values beyond the band), and statistics `{mean, sdev, min, max, n}` once values exist.

use std::collections::VecDeque;

use serde_json::{Value, json};

/// Default window (values), sensitivity (standard deviations) and repeat count.
pub(crate) const DEFAULT_WINDOW: usize = 180;
pub(crate) const DEFAULT_SENSITIVITY: f64 = 3.0;
pub(crate) const DEFAULT_REPEAT: u32 = 3;
const MAX_WINDOW: usize = 100_000;

/// One named baseline.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    window: usize,
    sensitivity: f64,
    repeat: u32,
    values: VecDeque<f64>,
    high_run: u32,
    low_run: u32,
}

impl Baseline {
    pub(crate) fn new(window: Option<f64>, sensitivity: Option<f64>, repeat: Option<f64>) -> Self {
        let positive = |v: Option<f64>| v.filter(|v| v.is_finite() && *v > 0.0);
        Self {
            window: positive(window).map_or(DEFAULT_WINDOW, |w| (w as usize).clamp(1, MAX_WINDOW)),
            sensitivity: positive(sensitivity).unwrap_or(DEFAULT_SENSITIVITY),
            repeat: positive(repeat).map_or(DEFAULT_REPEAT, |r| (r as u32).max(1)),
            values: VecDeque::new(),
            high_run: 0,
            low_run: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.values.clear();
        self.high_run = 0;
        self.low_run = 0;
    }

    fn mean_sdev(&self) -> Option<(f64, f64)> {
        let n = self.values.len();
        if n == 0 {
            return None;
        }
        let mean = self.values.iter().sum::<f64>() / n as f64;
        let var = self.values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        Some((mean, var.sqrt()))
    }

    /// Classifies `value`, then adds it to the window.
    pub(crate) fn check(&mut self, value: f64) -> &'static str {
        if !value.is_finite() {
            return "normal";
        }
        let verdict = if self.values.len() < self.window {
            "learning"
        } else {
            let (mean, sdev) = self.mean_sdev().unwrap_or((value, 0.0));
            let band = self.sensitivity * sdev;
            if value > mean + band {
                self.high_run += 1;
                self.low_run = 0;
            } else if value < mean - band {
                self.low_run += 1;
                self.high_run = 0;
            } else {
                self.high_run = 0;
                self.low_run = 0;
            }
            if self.high_run >= self.repeat {
                "high"
            } else if self.low_run >= self.repeat {
                "low"
            } else {
                "normal"
            }
        };
        self.values.push_back(value);
        while self.values.len() > self.window {
            self.values.pop_front();
        }
        verdict
    }

    /// `{mean, sdev, min, max, n, window}`, or `None` before any value.
    pub(crate) fn statistics(&self) -> Option<Value> {
        let (mean, sdev) = self.mean_sdev()?;
        let min = self.values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self
            .values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        Some(json!({
            "mean": mean, "sdev": sdev, "min": min, "max": max,
            "n": self.values.len(), "window": self.window,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_then_flags_outliers_after_repeat() {
        let mut b = Baseline::new(Some(4.0), Some(1.0), Some(2.0));
        assert_eq!(b.statistics(), None);
        for v in [10.0, 12.0, 10.0, 12.0] {
            assert_eq!(b.check(v), "learning");
        }
        assert_eq!(b.check(11.0), "normal");
        assert_eq!(
            b.check(100.0),
            "normal",
            "one outlier is not enough with repeat 2"
        );
        assert_eq!(b.check(1000.0), "high");
        let stats = b.statistics().expect("stats");
        assert_eq!(stats["n"], 4);
        assert_eq!(stats["max"], 1000.0);
        b.reset();
        assert_eq!(b.check(1.0), "learning");
    }
}
