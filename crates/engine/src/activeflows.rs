//! Active flows of one flow definition at one data source: exponentially decayed rates, top-N plus a bounded
//! candidate set.
//!
//! Decay uses a time-inflated accumulator: a contribution `x` at time `t` is added as `x·e^{(t-epoch)/τ}`, so
//! nothing is touched on ageing; the current value is `acc·e^{-(now-epoch)/τ}/τ`. A steady `r` per second thus
//! converges to `r`. All tables of a definition share one epoch, so raw accumulators compare directly (ranking
//! never needs an `exp`), and the engine rebases the epoch before the inflation factor gets large.

use foldhash::HashMap;

use crate::sample::Millis;
use rtflow_flowlang::{FlowValues, SampleValue, ValueAggregation};

/// Rebase once the inflation exponent passes this (e^200 ≈ 7e86, far from f64 overflow even × 1e15 bytes).
const REBASE_EXPONENT: f64 = 200.0;

/// How a value of a flow definition accumulates (from the value prefix, spec §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Accumulate {
    /// Decayed rate per second (plain values and `rate:`), scaled by the sampling rate.
    Rate,
    /// Sampling-weighted decayed average per sample (`avg:`).
    Average,
    /// Smallest value seen (`min:`).
    Min,
    /// Largest value seen (`max:`).
    Max,
    /// Approximate number of distinct values seen (`count:`), by linear counting over a 256-bit map.
    Distinct,
}

/// Shared decay clock of one flow definition.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DecayClock {
    tau_ms: f64,
    epoch: Millis,
}

impl From<ValueAggregation> for Accumulate {
    fn from(aggregation: ValueAggregation) -> Self {
        match aggregation {
            ValueAggregation::Total | ValueAggregation::Rate => Accumulate::Rate,
            ValueAggregation::Avg => Accumulate::Average,
            ValueAggregation::Count => Accumulate::Distinct,
            ValueAggregation::Min => Accumulate::Min,
            ValueAggregation::Max => Accumulate::Max,
        }
    }
}

impl DecayClock {
    pub(crate) fn new(t_seconds: f64, now: Millis) -> Self {
        Self {
            tau_ms: (t_seconds * 1000.0).max(1.0),
            epoch: now,
        }
    }

    pub(crate) fn tau_seconds(&self) -> f64 {
        self.tau_ms / 1000.0
    }

    /// `e^{(now-epoch)/τ}`.
    #[cfg(test)]
    pub(crate) fn inflation(&self, now: Millis) -> f64 {
        (now.saturating_sub(self.epoch) as f64 / self.tau_ms).exp()
    }

    /// `e^{(now-epoch)/τ}`, cached per millisecond in `cache`: (now, epoch, factor) of the last computation
    /// by its owner (one per shard and definition; the clock itself is shared by ingest threads).
    pub(crate) fn inflation_cached(&self, now: Millis, cache: &mut (Millis, Millis, f64)) -> f64 {
        if cache.0 != now || cache.1 != self.epoch {
            *cache = (
                now,
                self.epoch,
                (now.saturating_sub(self.epoch) as f64 / self.tau_ms).exp(),
            );
        }
        cache.2
    }

    /// Converts a raw accumulator to a rate per second at `now`.
    pub(crate) fn rate_factor(&self, now: Millis) -> f64 {
        let deflation = (-(now.saturating_sub(self.epoch) as f64) / self.tau_ms).exp();
        deflation / self.tau_seconds()
    }

    /// Whether the epoch should move to `now`; if so returns the factor to multiply accumulators by.
    pub(crate) fn needs_rebase(&self, now: Millis) -> Option<f64> {
        let exponent = now.saturating_sub(self.epoch) as f64 / self.tau_ms;
        (exponent > REBASE_EXPONENT).then(|| (-exponent).exp())
    }

    /// When [`needs_rebase`](Self::needs_rebase) starts returning a factor.
    pub(crate) fn rebase_due(&self) -> Millis {
        self.epoch
            .saturating_add((REBASE_EXPONENT * self.tau_ms) as Millis)
    }

    pub(crate) fn rebase(&mut self, now: Millis) {
        self.epoch = now;
    }
}

/// Settings shared by all tables of one definition.
#[derive(Clone, Debug)]
pub(crate) struct TableParams {
    pub n: usize,
    /// Entries kept after pruning (the top `n` plus candidates).
    pub capacity: usize,
    pub accumulate: Vec<Accumulate>,
    pub log: bool,
    pub flow_start: bool,
    pub active_timeout_ms: u64,
    /// A flow with no sample for this long has ended (flow log); it stays visible while it decays.
    pub idle_ms: u64,
    /// An ended flow is forgotten once its value has decayed below [`NEGLIGIBLE_VALUE`], or after this long
    /// without samples when its first value does not decay (min, max, avg, distinct).
    pub retain_ms: u64,
}

/// A decaying flow value below this is negligible: the flow is forgotten (sFlow-RT keeps ended flows visible,
/// decaying, instead of pruning them a few seconds after their last sample).
pub(crate) const NEGLIGIBLE_VALUE: f64 = 1e-3;

/// Accumulator of one value of one flow.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ValueAcc {
    /// Rate: inflated sum. Average: inflated weighted sum. Min/Max: the extreme. Distinct: unused.
    sum: f64,
    /// Average: inflated weight. Distinct: unused.
    weight: f64,
    /// Distinct: linear-counting bitmap.
    bits: [u64; 4],
}

impl Default for ValueAcc {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl ValueAcc {
    const EMPTY: ValueAcc = ValueAcc {
        sum: 0.0,
        weight: 0.0,
        bits: [0; 4],
    };

    fn new(kind: Accumulate) -> Self {
        let mut acc = Self::EMPTY;
        match kind {
            Accumulate::Min => acc.sum = f64::INFINITY,
            Accumulate::Max => acc.sum = f64::NEG_INFINITY,
            _ => {}
        }
        acc
    }

    #[inline]
    fn add(&mut self, kind: Accumulate, value: SampleValue, scale: f64, inflation: f64) {
        let value = match value {
            SampleValue::Number(v) => v,
            SampleValue::Distinct(hash) => {
                if kind == Accumulate::Distinct {
                    let h = (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize;
                    if let Some(word) = self.bits.get_mut(h / 64) {
                        *word |= 1 << (h % 64);
                    }
                }
                return;
            }
            SampleValue::Missing => return,
        };
        match kind {
            Accumulate::Rate => self.sum += value * scale * inflation,
            Accumulate::Average => {
                self.sum += value * scale * inflation;
                self.weight += scale * inflation;
            }
            Accumulate::Min => self.sum = self.sum.min(value),
            Accumulate::Max => self.sum = self.sum.max(value),
            // Fed by `SampleValue::Distinct` above.
            Accumulate::Distinct => {}
        }
    }

    fn current(&self, kind: Accumulate, rate_factor: f64) -> f64 {
        match kind {
            Accumulate::Rate => self.sum * rate_factor,
            Accumulate::Average if self.weight > 0.0 => self.sum / self.weight,
            Accumulate::Average => 0.0,
            Accumulate::Min | Accumulate::Max if self.sum.is_finite() => self.sum,
            Accumulate::Min | Accumulate::Max => 0.0,
            Accumulate::Distinct => {
                let zeros: u32 = self.bits.iter().map(|w| w.count_zeros()).sum();
                if zeros == 0 {
                    // Saturated: the estimate's upper end for m = 256.
                    256.0 * (256f64).ln()
                } else {
                    -256.0 * (f64::from(zeros) / 256.0).ln()
                }
            }
        }
    }

    fn rebase(&mut self, kind: Accumulate, factor: f64) {
        if matches!(kind, Accumulate::Rate | Accumulate::Average) {
            self.sum *= factor;
            self.weight *= factor;
        }
    }
}

/// One active flow.
#[derive(Clone, Debug)]
pub(crate) struct FlowEntry {
    /// Inflated rate accumulator of the first value, used for ranking when it is a rate.
    values: Vec<ValueAcc>,
    pub last_seen: Millis,
    /// Start of the current flow-log period.
    pub period_start: Millis,
    /// Scaled total of the first value since `period_start` (the flow record's `value`).
    pub period_total: f64,
    /// Idle for `idle_ms`: its end was logged; it stays until negligible, or starts again on a new sample.
    pub ended: bool,
}

/// One flow's current values, read lazily ([`FlowTable::visit_top`]).
pub(crate) struct FlowReading<'t> {
    entry: &'t FlowEntry,
    params: &'t TableParams,
    rate_factor: f64,
}

impl FlowReading<'_> {
    fn current(&self) -> impl Iterator<Item = f64> + '_ {
        self.entry
            .values
            .iter()
            .zip(&self.params.accumulate)
            .map(|(acc, kind)| acc.current(*kind, self.rate_factor))
    }

    /// The flow's value (the definition's first value), as its snapshot's `value`.
    pub(crate) fn value(&self) -> f64 {
        self.current().next().unwrap_or(0.0)
    }

    /// The definition's other values, as the snapshot's `values`.
    pub(crate) fn other_values(&self) -> Vec<f64> {
        self.current().skip(1).collect()
    }
}

/// A flow that ended or reached its active timeout, to be written to the flow log.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LoggedFlow {
    pub key: String,
    pub value: f64,
    pub start: Millis,
    pub end: Millis,
}

/// Active flows of one definition at one data source.
#[derive(Debug, Default)]
pub(crate) struct FlowTable {
    /// Generation of the definition this table was built for; a mismatch means the slot was redefined.
    pub generation: u64,
    entries: HashMap<Box<str>, FlowEntry>,
    /// Inflated total of the first value over all samples (the flow metric's value).
    total: ValueAcc,
    /// A sample's first value was negative: `total` no longer bounds each flow's rate from above.
    negative_values: bool,
    pub last_update: Millis,
    /// No entry can end, flush, or be forgotten before this time (a lower bound): the tick's expiry skips the
    /// table until then. Computed by [`FlowTable::expire`], lowered by [`FlowTable::add`].
    expire_due: Millis,
}

/// A snapshot of one flow's current values.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FlowSnapshot {
    pub key: String,
    pub value: f64,
    pub values: Vec<f64>,
    pub last_seen: Millis,
}

impl FlowTable {
    pub(crate) fn new(generation: u64) -> Self {
        Self {
            generation,
            ..Self::default()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds one sample. `values` are raw per-packet values (before scaling); `scale` is the sampling rate.
    /// Returns a flow-start record when the definition logs flow starts and this key is new.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn add(
        &mut self,
        params: &TableParams,
        inflation: f64,
        now: Millis,
        key: &str,
        values: &FlowValues,
        scale: f64,
        logged: &mut Vec<LoggedFlow>,
    ) {
        self.last_update = now;
        // A new or restarted entry ends after `idle_ms`, or is flushed after `active_timeout_ms` (existing
        // entries only move their times later, so the bound stays a bound).
        let active_due = if params.log && !params.flow_start {
            params.active_timeout_ms
        } else {
            u64::MAX
        };
        self.expire_due = self
            .expire_due
            .min(now.saturating_add(params.idle_ms.min(active_due)));
        let first = match values.value {
            SampleValue::Number(v) => v,
            _ => 0.0,
        };
        let all = || std::iter::once(&values.value).chain(values.values());
        self.total.sum += first * scale * inflation;
        self.negative_values |= first < 0.0;
        if let Some(entry) = self.entries.get_mut(key) {
            if entry.ended {
                // Seen again after it ended: a new flow for the flow log.
                entry.ended = false;
                entry.period_start = now;
                entry.period_total = 0.0;
                if params.log && params.flow_start {
                    logged.push(LoggedFlow {
                        key: key.to_string(),
                        value: first * scale,
                        start: now,
                        end: now,
                    });
                }
            }
            entry.last_seen = now;
            entry.period_total += first * scale;
            for ((acc, kind), value) in entry.values.iter_mut().zip(&params.accumulate).zip(all()) {
                acc.add(*kind, *value, scale, inflation);
            }
            return;
        }
        let mut entry = FlowEntry {
            values: params
                .accumulate
                .iter()
                .map(|k| ValueAcc::new(*k))
                .collect(),
            last_seen: now,
            period_start: now,
            period_total: first * scale,
            ended: false,
        };
        for ((acc, kind), value) in entry.values.iter_mut().zip(&params.accumulate).zip(all()) {
            acc.add(*kind, *value, scale, inflation);
        }
        if params.log && params.flow_start {
            logged.push(LoggedFlow {
                key: key.to_string(),
                value: entry.period_total,
                start: now,
                end: now,
            });
        }
        self.entries.insert(Box::from(key), entry);
        if self.entries.len() > params.capacity.saturating_mul(2) {
            self.prune_to_capacity(params, logged);
        }
    }

    /// Ranking score: comparable across entries of the same definition (shared epoch) without `exp`.
    fn score(entry: &FlowEntry, params: &TableParams) -> f64 {
        match (entry.values.first(), params.accumulate.first()) {
            (Some(acc), Some(kind)) => acc.current(*kind, 1.0),
            _ => 0.0,
        }
    }

    /// Keeps the `capacity` highest-ranked entries (amortized O(1) per insertion).
    fn prune_to_capacity(&mut self, params: &TableParams, logged: &mut Vec<LoggedFlow>) {
        let mut scores: Vec<f64> = self
            .entries
            .values()
            .map(|e| Self::score(e, params))
            .collect();
        let keep = params.capacity.max(1);
        if scores.len() <= keep {
            return;
        }
        let cut = scores.len() - keep;
        let (_, threshold, _) = scores.select_nth_unstable_by(cut, f64::total_cmp);
        let threshold = *threshold;
        let mut to_remove = cut;
        let log = params.log && !params.flow_start;
        let mut evict = |key: &str, e: &FlowEntry| {
            if log && !e.ended {
                logged.push(LoggedFlow {
                    key: key.to_string(),
                    value: e.period_total,
                    start: e.period_start,
                    end: e.last_seen.max(e.period_start),
                });
            }
        };
        // Strictly below the cut first, then ties at the cut value (arbitrary among equals).
        for strict in [true, false] {
            self.entries.retain(|key, e| {
                let score = Self::score(e, params);
                let below = if strict {
                    score < threshold
                } else {
                    score <= threshold
                };
                if to_remove > 0 && below {
                    to_remove -= 1;
                    evict(key, e);
                    false
                } else {
                    true
                }
            });
        }
    }

    /// Logs the end of flows idle for `idle_ms` and flushes long ones (flow log); forgets ended flows once
    /// negligible (see [`TableParams::retain_ms`]). `tau_ms` is the definition's decay time constant, from which
    /// the time a decaying flow becomes negligible is known, so that the table's [`FlowTable::expire_due`] is
    /// the earliest time this can change anything. Returns whether the table is now empty.
    pub(crate) fn expire(
        &mut self,
        params: &TableParams,
        now: Millis,
        rate_factor: f64,
        tau_ms: f64,
        logged: &mut Vec<LoggedFlow>,
    ) -> bool {
        let log = params.log && !params.flow_start;
        let decays = params.accumulate.first() == Some(&Accumulate::Rate);
        let mut due = Millis::MAX;
        self.entries.retain(|key, e| {
            let idle = now.saturating_sub(e.last_seen);
            if idle >= params.idle_ms && !e.ended {
                e.ended = true;
                if log {
                    logged.push(LoggedFlow {
                        key: key.to_string(),
                        value: e.period_total,
                        start: e.period_start,
                        end: e.last_seen,
                    });
                }
            }
            if e.ended {
                let current = e
                    .values
                    .first()
                    .filter(|_| decays)
                    .map(|acc| acc.current(Accumulate::Rate, rate_factor));
                let negligible = current.is_some_and(|value| value < NEGLIGIBLE_VALUE);
                let keep = !negligible && idle < params.retain_ms;
                if keep {
                    due = due.min(e.last_seen.saturating_add(params.retain_ms));
                    if let Some(value) = current {
                        // value · e^{-Δ/τ} reaches the negligible level after Δ = τ·ln(value/level); a
                        // millisecond early, for rounding.
                        let delta = tau_ms * (value / NEGLIGIBLE_VALUE).ln();
                        due = due
                            .min(now.saturating_add((delta.max(0.0) as Millis).saturating_sub(1)));
                    }
                }
                return keep;
            }
            if log && now.saturating_sub(e.period_start) >= params.active_timeout_ms {
                logged.push(LoggedFlow {
                    key: key.to_string(),
                    value: e.period_total,
                    start: e.period_start,
                    end: now,
                });
                e.period_start = now;
                e.period_total = 0.0;
            }
            due = due.min(e.last_seen.saturating_add(params.idle_ms));
            if log {
                due = due.min(e.period_start.saturating_add(params.active_timeout_ms));
            }
            true
        });
        self.expire_due = due;
        self.entries.is_empty()
    }

    /// Before this time [`FlowTable::expire`] would change nothing (see the field).
    pub(crate) fn expire_due(&self) -> Millis {
        self.expire_due
    }

    pub(crate) fn rebase(&mut self, params: &TableParams, factor: f64) {
        self.total.rebase(Accumulate::Rate, factor);
        for entry in self.entries.values_mut() {
            for (acc, kind) in entry.values.iter_mut().zip(&params.accumulate) {
                acc.rebase(*kind, factor);
            }
        }
    }

    /// Total rate of the definition's first value at this data source (the flow metric's value).
    pub(crate) fn total_rate(&self, rate_factor: f64) -> f64 {
        self.total.sum * rate_factor
    }

    fn snapshot(key: &str, e: &FlowEntry, params: &TableParams, rate_factor: f64) -> FlowSnapshot {
        let mut current = e
            .values
            .iter()
            .zip(&params.accumulate)
            .map(|(acc, kind)| acc.current(*kind, rate_factor));
        let value = current.next().unwrap_or(0.0);
        FlowSnapshot {
            key: key.to_string(),
            value,
            values: current.collect(),
            last_seen: e.last_seen,
        }
    }

    /// Visits the `limit` largest flows (the flows [`FlowTable::top`] returns), in no particular order, without
    /// building their snapshots: a query merging many tables allocates only for the flows it keeps.
    pub(crate) fn visit_top<'t>(
        &'t self,
        params: &'t TableParams,
        rate_factor: f64,
        limit: usize,
        mut visit: impl FnMut(&'t str, FlowReading<'t>),
    ) {
        let reading = |entry: &'t FlowEntry| FlowReading {
            entry,
            params,
            rate_factor,
        };
        if self.entries.len() <= limit {
            for (key, entry) in &self.entries {
                visit(key.as_ref(), reading(entry));
            }
            return;
        }
        if limit == 0 {
            return;
        }
        let mut ranked: Vec<(f64, &str, &FlowEntry)> = self
            .entries
            .iter()
            .map(|(k, e)| (Self::score(e, params), k.as_ref(), e))
            .collect();
        ranked.select_nth_unstable_by(limit - 1, |a, b| b.0.total_cmp(&a.0));
        for (_, key, entry) in ranked.into_iter().take(limit) {
            visit(key, reading(entry));
        }
    }

    /// The `limit` largest flows, largest first.
    pub(crate) fn top(
        &self,
        params: &TableParams,
        rate_factor: f64,
        limit: usize,
    ) -> Vec<FlowSnapshot> {
        let mut ranked: Vec<(f64, &str, &FlowEntry)> = self
            .entries
            .iter()
            .map(|(k, e)| (Self::score(e, params), k.as_ref(), e))
            .collect();
        let limit = limit.min(ranked.len());
        if limit == 0 {
            return Vec::new();
        }
        if limit < ranked.len() {
            ranked.select_nth_unstable_by(limit - 1, |a, b| b.0.total_cmp(&a.0));
            ranked.truncate(limit);
        }
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        ranked
            .into_iter()
            .map(|(_, k, e)| Self::snapshot(k, e, params, rate_factor))
            .collect()
    }

    /// Whether some flow's value may exceed `threshold`. For a rate of non-negative values the table's total
    /// (every sample's contribution, pruned flows' included) bounds each flow's rate, so a threshold above the
    /// total is answered without reading the flows: the tick asks this of every table for every threshold.
    fn may_exceed(&self, params: &TableParams, rate_factor: f64, threshold: f64) -> bool {
        if params.accumulate.first() != Some(&Accumulate::Rate) || self.negative_values {
            return true;
        }
        // The flows' sums add the same terms as the total in another order: a margin for the rounding.
        self.total_rate(rate_factor) * (1.0 + 1e-9) > threshold
    }

    /// The largest flow, as `top(params, rate_factor, 1)` gives it, when its value exceeds `threshold`. Only that flow's
    /// snapshot is built.
    pub(crate) fn largest_above(
        &self,
        params: &TableParams,
        rate_factor: f64,
        threshold: f64,
    ) -> Option<FlowSnapshot> {
        if !self.may_exceed(params, rate_factor, threshold) {
            return None;
        }
        let (key, entry) = self.largest_entry(params)?;
        let snapshot = Self::snapshot(key, entry, params, rate_factor);
        (snapshot.value > threshold).then_some(snapshot)
    }

    /// The largest flow, as `top(params, rate_factor, 1)` gives it (ties to the smallest key), found in one
    /// scan without collecting or sorting the table.
    fn largest_entry(&self, params: &TableParams) -> Option<(&str, &FlowEntry)> {
        let mut best: Option<(f64, &str, &FlowEntry)> = None;
        for (k, e) in &self.entries {
            let score = Self::score(e, params);
            let better = best.is_none_or(|(best_score, best_key, _)| {
                score
                    .total_cmp(&best_score)
                    .then_with(|| best_key.cmp(k.as_ref()))
                    .is_gt()
            });
            if better {
                best = Some((score, k.as_ref(), e));
            }
        }
        best.map(|(_, k, e)| (k, e))
    }

    /// Every flow whose current value exceeds `threshold`.
    pub(crate) fn above(
        &self,
        params: &TableParams,
        rate_factor: f64,
        threshold: f64,
    ) -> Vec<FlowSnapshot> {
        let Some(kind) = params.accumulate.first() else {
            return Vec::new();
        };
        if !self.may_exceed(params, rate_factor, threshold) {
            return Vec::new();
        }
        self.entries
            .iter()
            .filter(|(_, e)| {
                e.values
                    .first()
                    .is_some_and(|acc| acc.current(*kind, rate_factor) > threshold)
            })
            .map(|(k, e)| Self::snapshot(k, e, params, rate_factor))
            .collect()
    }

    /// The current value of one flow key.
    pub(crate) fn get(
        &self,
        params: &TableParams,
        rate_factor: f64,
        key: &str,
    ) -> Option<FlowSnapshot> {
        self.entries
            .get(key)
            .map(|e| Self::snapshot(key, e, params, rate_factor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(values: &[f64]) -> FlowValues {
        let mut it = values.iter().map(|x| SampleValue::Number(*x));
        let mut out = FlowValues::new(it.next().unwrap_or(SampleValue::Missing));
        for x in it {
            out.push(x);
        }
        out
    }

    fn params(capacity: usize) -> TableParams {
        TableParams {
            n: 5,
            capacity,
            accumulate: vec![Accumulate::Rate],
            log: false,
            flow_start: false,
            active_timeout_ms: 60_000,
            idle_ms: 10_000,
            retain_ms: 120_000,
        }
    }

    #[test]
    fn steady_flow_converges_to_its_rate() {
        let p = params(100);
        let clock = DecayClock::new(2.0, 0);
        let mut table = FlowTable::new(1);
        let mut logged = Vec::new();
        // 1000-byte packets every 10 ms, sampled 1-in-1 → 100,000 B/s.
        for i in 0..2_000u64 {
            let now = i * 10;
            let inflation = clock.inflation(now);
            table.add(&p, inflation, now, "a", &v(&[1000.0]), 1.0, &mut logged);
        }
        let now = 19_990;
        let top = table.top(&p, clock.rate_factor(now), 5);
        let value = top.first().map(|f| f.value).unwrap_or(0.0);
        assert!((value - 100_000.0).abs() / 100_000.0 < 0.01, "{value}");
        assert!((table.total_rate(clock.rate_factor(now)) - value).abs() < 1e-6);
    }

    #[test]
    fn rebase_preserves_values() {
        let p = params(100);
        let mut clock = DecayClock::new(0.2, 0);
        let mut table = FlowTable::new(1);
        let mut logged = Vec::new();
        let mut now = 0;
        while now < 60_000 {
            if let Some(factor) = clock.needs_rebase(now) {
                table.rebase(&p, factor);
                clock.rebase(now);
            }
            let inflation = clock.inflation(now);
            table.add(&p, inflation, now, "a", &v(&[10.0]), 1.0, &mut logged);
            now += 100;
        }
        // 10 per 100 ms = 100/s; with τ = 0.2 s and 100 ms steps the discrete estimate is within a few %.
        let value = table
            .get(&p, clock.rate_factor(now - 100), "a")
            .map(|f| f.value)
            .unwrap_or(0.0);
        assert!(
            value.is_finite() && value > 90.0 && value < 200.0,
            "{value}"
        );
    }

    #[test]
    fn table_stays_bounded_and_keeps_heavy_hitters() {
        let p = params(50);
        let clock = DecayClock::new(2.0, 0);
        let mut table = FlowTable::new(1);
        let mut logged = Vec::new();
        let mut key = String::new();
        for i in 0..100_000u64 {
            let now = i / 10;
            let inflation = clock.inflation(now);
            key.clear();
            key.push_str(&format!(
                "random-{}",
                i.wrapping_mul(2_654_435_761) % 1_000_003
            ));
            table.add(&p, inflation, now, &key, &v(&[100.0]), 1.0, &mut logged);
            if i % 10 == 0 {
                table.add(&p, inflation, now, "heavy", &v(&[1500.0]), 1.0, &mut logged);
            }
            assert!(table.len() <= 101);
        }
        let top = table.top(&p, clock.rate_factor(10_000), 1);
        assert_eq!(top.first().map(|f| f.key.as_str()), Some("heavy"));
    }

    #[test]
    fn average_min_max_values() {
        let mut p = params(10);
        p.accumulate = vec![Accumulate::Average, Accumulate::Min, Accumulate::Max];
        let clock = DecayClock::new(2.0, 0);
        let mut table = FlowTable::new(1);
        let mut logged = Vec::new();
        for (i, x) in [100.0, 300.0, 200.0].into_iter().enumerate() {
            let now = i as u64;
            let inflation = clock.inflation(now);
            table.add(&p, inflation, now, "k", &v(&[x, x, x]), 10.0, &mut logged);
        }
        let snap = table.get(&p, clock.rate_factor(3), "k");
        let snap = snap
            .map(|s| (s.value.round(), s.values))
            .unwrap_or_default();
        assert_eq!(snap.0, 200.0);
        assert_eq!(snap.1, vec![100.0, 300.0]);
    }

    #[test]
    fn distinct_count_estimates_cardinality() {
        let mut p = params(10);
        p.accumulate = vec![Accumulate::Distinct];
        let mut table = FlowTable::new(1);
        let mut logged = Vec::new();
        for i in 0..50u64 {
            for _ in 0..3 {
                let hashed =
                    FlowValues::new(SampleValue::Distinct(i.wrapping_mul(0x0123_4567_89AB_CDEF)));
                table.add(&p, 1.0, 0, "k", &hashed, 1.0, &mut logged);
            }
        }
        let v = table.get(&p, 1.0, "k").map(|s| s.value).unwrap_or(0.0);
        assert!((v - 50.0).abs() < 10.0, "{v}");
    }

    /// Expiring only tables that are due gives what expiring every table on every tick gives: the same flows
    /// with the same values, the same flow-log records at the same ticks, and entries forgotten at the same
    /// ticks, for decaying and non-decaying values, logged or not.
    #[test]
    fn expiring_only_when_due_equals_expiring_on_every_tick() {
        for (accumulate, log, flow_start) in [
            (Accumulate::Rate, true, false),
            (Accumulate::Rate, false, false),
            (Accumulate::Rate, true, true),
            (Accumulate::Max, true, false),
        ] {
            let mut p = params(40);
            p.accumulate = vec![accumulate];
            p.log = log;
            p.flow_start = flow_start;
            p.active_timeout_ms = 7_000;
            p.idle_ms = 3_000;
            p.retain_ms = 30_000;
            let clock = DecayClock::new(2.0, 0);
            let tau_ms = clock.tau_seconds() * 1000.0;
            let (mut every, mut when_due) = (FlowTable::new(1), FlowTable::new(1));
            let (mut logged_every, mut logged_due) = (Vec::new(), Vec::new());
            let mut skipped = 0;
            let mut state = 0x2545_f491_4f6c_dd1d_u64;
            for now in (0..120_000u64).step_by(250) {
                // Bursts of traffic on a few keys in the first minute, then silence while they decay.
                for _ in 0..if now < 60_000 { 3 } else { 0 } {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let key = format!("k{}", state % 50);
                    if !(state >> 8).is_multiple_of(4) {
                        continue;
                    }
                    let bytes = v(&[(state >> 16) as f64 % 1_500.0]);
                    let inflation = 1.0 / clock.rate_factor(now) / clock.tau_seconds();
                    for (table, logged) in [
                        (&mut every, &mut logged_every),
                        (&mut when_due, &mut logged_due),
                    ] {
                        table.add(&p, inflation, now, &key, &bytes, 10.0, logged);
                    }
                }
                let rate_factor = clock.rate_factor(now);
                every.expire(&p, now, rate_factor, tau_ms, &mut logged_every);
                if when_due.expire_due() <= now {
                    when_due.expire(&p, now, rate_factor, tau_ms, &mut logged_due);
                } else {
                    skipped += 1;
                }
                // Within one expiry pass records come in hash-map order, which differs between two tables.
                let in_order = |logged: &[LoggedFlow]| {
                    let mut records: Vec<String> =
                        logged.iter().map(|r| format!("{r:?}")).collect();
                    records.sort();
                    records
                };
                assert_eq!(
                    in_order(&logged_every),
                    in_order(&logged_due),
                    "flow log at {now} ms ({accumulate:?})"
                );
                assert_eq!(
                    every.top(&p, rate_factor, usize::MAX),
                    when_due.top(&p, rate_factor, usize::MAX),
                    "flows at {now} ms ({accumulate:?})"
                );
            }
            assert!(
                !logged_every.is_empty() || !log,
                "{accumulate:?}: nothing logged"
            );
            assert_eq!(
                every.len(),
                0,
                "{accumulate:?}: every flow is forgotten in the end"
            );
            assert!(
                skipped > 200,
                "{accumulate:?}: only {skipped} ticks skipped"
            );
        }
    }

    #[test]
    fn flow_log_records_end_and_active_timeout() {
        let mut p = params(10);
        p.log = true;
        p.active_timeout_ms = 5_000;
        p.idle_ms = 3_000;
        let mut table = FlowTable::new(1);
        let mut logged = Vec::new();
        for now in (0..7_000).step_by(500) {
            table.add(&p, 1.0, now, "long", &v(&[100.0]), 10.0, &mut logged);
            table.expire(&p, now, 1.0, 1_000.0, &mut logged);
        }
        // Flushed once at 5 s with the 11 samples (0 … 5.0 s, the one at 5.0 s arrived first) of 1000 bytes.
        assert_eq!(
            logged,
            vec![LoggedFlow {
                key: "long".into(),
                value: 11_000.0,
                start: 0,
                end: 5_000
            }]
        );
        logged.clear();
        assert!(!table.expire(&p, 9_000, 1.0, 1_000.0, &mut logged));
        assert!(logged.is_empty());
        // Ended (logged once) but still visible while its value decays.
        assert!(!table.expire(&p, 9_500, 1.0, 1_000.0, &mut logged));
        assert!(!table.expire(&p, 9_600, 1.0, 1_000.0, &mut logged));
        // Samples at 5.5, 6.0, 6.5 s (3 × 1000 bytes), ended at its last sample.
        let ended = vec![LoggedFlow {
            key: "long".into(),
            value: 3_000.0,
            start: 5_000,
            end: 6_500,
        }];
        assert_eq!(logged, ended);
        assert_eq!(table.top(&p, 1.0, 5).len(), 1);
        // Seen again: a new flow for the log, ended again later.
        logged.clear();
        table.add(&p, 1.0, 12_000, "long", &v(&[100.0]), 10.0, &mut logged);
        assert!(!table.expire(&p, 15_000, 1.0, 1_000.0, &mut logged));
        assert_eq!(
            logged,
            vec![LoggedFlow {
                key: "long".into(),
                value: 1_000.0,
                start: 12_000,
                end: 12_000,
            }]
        );
        // Decayed to a negligible value: forgotten, without logging it again.
        logged.clear();
        assert!(table.expire(&p, 16_000, 1e-12, 1_000.0, &mut logged));
        assert!(logged.is_empty());
    }

    #[test]
    fn an_ended_flow_that_does_not_decay_is_forgotten_after_retain_ms() {
        let mut p = params(10);
        p.accumulate = vec![Accumulate::Max];
        let mut table = FlowTable::new(1);
        let mut logged = Vec::new();
        table.add(&p, 1.0, 0, "k", &v(&[100.0]), 1.0, &mut logged);
        assert!(!table.expire(&p, p.retain_ms - 1, 1e-12, 1_000.0, &mut logged));
        assert!(table.expire(&p, p.retain_ms, 1e-12, 1_000.0, &mut logged));
    }

    /// `largest_above` (the tick's threshold check) answers as `top(1)` filtered by the threshold, with the
    /// table's total skipping the scan: thresholds just around each flow's value and the total, over tables
    /// pruned to capacity (the pruned flows stay in the total).
    #[test]
    fn largest_above_agrees_with_the_top_flow_around_every_value() {
        let p = params(4);
        let mut logged = Vec::new();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        for round in 0..200 {
            let mut table = FlowTable::new(1);
            for sample in 0..1 + next(30) {
                let key = format!("k{}", next(12));
                let bytes = next(1500) as f64;
                table.add(
                    &p,
                    1.0,
                    sample,
                    &key,
                    &v(&[bytes]),
                    1.0 + next(4) as f64,
                    &mut logged,
                );
            }
            let rate_factor = 0.25 + next(8) as f64 / 4.0;
            let mut edges: Vec<f64> = table
                .top(&p, rate_factor, 100)
                .iter()
                .map(|f| f.value)
                .collect();
            edges.push(table.total_rate(rate_factor));
            for edge in edges {
                for threshold in [edge * 0.999, edge, edge * 1.001, 0.0] {
                    let expected = table
                        .top(&p, rate_factor, 1)
                        .into_iter()
                        .next()
                        .filter(|f| f.value > threshold);
                    assert_eq!(
                        table.largest_above(&p, rate_factor, threshold),
                        expected,
                        "round {round}"
                    );
                    let above = table.above(&p, rate_factor, threshold).len();
                    let counted = table
                        .top(&p, rate_factor, 100)
                        .iter()
                        .filter(|f| f.value > threshold)
                        .count();
                    assert_eq!(above, counted, "round {round}");
                }
            }
        }
    }

    /// A negative value lowers the total below the largest flow: the total no longer bounds the flows.
    #[test]
    fn largest_above_reads_the_flows_after_a_negative_value() {
        let p = params(10);
        let mut table = FlowTable::new(1);
        let mut logged = Vec::new();
        table.add(&p, 1.0, 0, "up", &v(&[100.0]), 1.0, &mut logged);
        table.add(&p, 1.0, 0, "down", &v(&[-90.0]), 1.0, &mut logged);
        assert!(table.total_rate(1.0) < 50.0);
        let largest = table.largest_above(&p, 1.0, 50.0).map(|f| f.key);
        assert_eq!(largest.as_deref(), Some("up"));
        assert_eq!(table.above(&p, 1.0, 50.0).len(), 1);
    }
}
