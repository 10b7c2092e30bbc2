//! Counter samples → metrics of one data source: cumulative counters become per-second rates from successive
//! samples (32-bit wrap handled; resets skipped), gauges and strings pass through, and sFlow-RT's derived
//! metrics (utilization, packet sums, CPU percentages, …) are computed.

use std::sync::Arc;

use foldhash::HashMap;

use crate::metrics::MetricValue;
use crate::sample::{CounterValue, Millis};

/// Current value of one metric.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MetricEntry {
    pub value: MetricValue,
    pub updated: Millis,
}

/// Host CPU time counters (ms of CPU time, sFlow 2003); exposed as percentages of their sum.
const CPU_TIMES: [&str; 10] = [
    "cpu_user",
    "cpu_nice",
    "cpu_system",
    "cpu_idle",
    "cpu_wio",
    "cpu_intr",
    "cpu_sintr",
    "cpu_steal",
    "cpu_guest",
    "cpu_guest_nice",
];

/// Metrics of one data source plus the raw counter baselines needed for rates.
#[derive(Debug, Default)]
pub(crate) struct CounterState {
    pub metrics: HashMap<&'static str, MetricEntry>,
    raw: HashMap<&'static str, u64>,
    /// Agent uptime and arrival time of the previous sample, `None` after a discontinuity.
    last_clock: Option<(u32, Millis)>,
    /// No metric was updated before this (a lower bound: metrics are only ever written at the current time,
    /// which is past any cutoff already applied), so [`CounterState::expire`] has nothing to do for cutoffs
    /// up to it.
    oldest: Millis,
}

impl CounterState {
    /// Marks a discontinuity (agent restart, counter sequence reset): the next sample only sets baselines.
    pub(crate) fn discontinuity(&mut self) {
        self.last_clock = None;
    }

    /// Applies one counter sample received at `now`, sent at agent uptime `uptime_ms`.
    pub(crate) fn update(
        &mut self,
        now: Millis,
        uptime_ms: u32,
        values: &[(&'static str, CounterValue)],
    ) {
        let interval_s = self.interval_seconds(now, uptime_ms);
        let continuous = self.last_clock.is_some();
        self.last_clock = Some((uptime_ms, now));
        if !continuous {
            self.raw.clear();
        }
        let mut rates: Vec<(&'static str, f64)> = Vec::new();
        for (name, value) in values {
            match value {
                CounterValue::Counter32(v) => self.counter(
                    now,
                    name,
                    u64::from(*v),
                    *v == u32::MAX,
                    Some(1u64 << 32),
                    interval_s,
                    &mut rates,
                ),
                CounterValue::Counter64(v) => {
                    self.counter(now, name, *v, *v == u64::MAX, None, interval_s, &mut rates);
                }
                CounterValue::Gauge(v) => self.set(now, name, MetricValue::Number(*v)),
                CounterValue::Text(t) => self.set(now, name, MetricValue::Text(Arc::clone(t))),
            }
        }
        self.derive(now, &rates);
    }

    /// Seconds since the previous sample: the agent's own clock when it is sane, else arrival times.
    fn interval_seconds(&self, now: Millis, uptime_ms: u32) -> Option<f64> {
        let (last_uptime, last_now) = self.last_clock?;
        let by_agent = uptime_ms.wrapping_sub(last_uptime);
        if by_agent > 0 && by_agent < 3_600_000 {
            return Some(f64::from(by_agent) / 1000.0);
        }
        let by_arrival = now.saturating_sub(last_now);
        (by_arrival > 0).then(|| by_arrival as f64 / 1000.0)
    }

    #[allow(clippy::too_many_arguments)]
    fn counter(
        &mut self,
        now: Millis,
        name: &'static str,
        value: u64,
        unknown: bool,
        modulus: Option<u64>,
        interval_s: Option<f64>,
        rates: &mut Vec<(&'static str, f64)>,
    ) {
        if unknown {
            // The agent does not support this counter.
            self.raw.remove(name);
            self.metrics.remove(name);
            return;
        }
        let previous = self.raw.insert(name, value);
        let (Some(previous), Some(interval_s)) = (previous, interval_s) else {
            return;
        };
        let delta = if value >= previous {
            value - previous
        } else if let Some(modulus) = modulus {
            modulus - previous + value
        } else {
            // A 64-bit counter going backwards was reset, not wrapped: skip this interval.
            self.metrics.remove(name);
            return;
        };
        let rate = delta as f64 / interval_s;
        rates.push((name, rate));
        self.set(now, name, MetricValue::Number(rate));
    }

    fn set(&mut self, now: Millis, name: &'static str, value: MetricValue) {
        self.metrics.insert(
            name,
            MetricEntry {
                value,
                updated: now,
            },
        );
    }

    fn number(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).and_then(|e| e.value.as_f64())
    }

    /// sFlow-RT derived metrics, from this sample's rates and the current gauges.
    fn derive(&mut self, now: Millis, rates: &[(&'static str, f64)]) {
        let rate = |name: &str| rates.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
        let sum = |names: &[&str]| {
            let found: Vec<f64> = names.iter().filter_map(|n| rate(n)).collect();
            (!found.is_empty()).then(|| found.iter().sum::<f64>())
        };
        let mut derived: Vec<(&'static str, f64)> = Vec::new();
        if let Some(p) = sum(&["ifinucastpkts", "ifinmulticastpkts", "ifinbroadcastpkts"]) {
            derived.push(("ifinpkts", p));
        }
        if let Some(p) = sum(&["ifoutucastpkts", "ifoutmulticastpkts", "ifoutbroadcastpkts"]) {
            derived.push(("ifoutpkts", p));
        }
        if let Some(speed) = self.number("ifspeed").filter(|s| *s > 0.0) {
            if let Some(octets) = rate("ifinoctets") {
                derived.push(("ifinutilization", octets * 800.0 / speed));
            }
            if let Some(octets) = rate("ifoutoctets") {
                derived.push(("ifoututilization", octets * 800.0 / speed));
            }
        }
        // CPU times are jiffy counters: each one's share of the total time elapsed, in percent.
        let cpu_total: f64 = CPU_TIMES.iter().filter_map(|n| rate(n)).sum();
        if cpu_total > 0.0 {
            for name in CPU_TIMES {
                if let Some(r) = rate(name) {
                    derived.push((name, 100.0 * r / cpu_total));
                }
            }
            if let Some(idle) = rate("cpu_idle") {
                derived.push(("cpu_utilization", 100.0 * (1.0 - idle / cpu_total)));
            }
        }
        if let Some(cpus) = self.number("cpu_num").filter(|c| *c > 0.0) {
            for (load, per_cpu) in [
                ("load_one", "load_one_per_cpu"),
                ("load_five", "load_five_per_cpu"),
                ("load_fifteen", "load_fifteen_per_cpu"),
            ] {
                if let Some(load) = self.number(load) {
                    derived.push((per_cpu, load / cpus));
                }
            }
        }
        if let Some(total) = self.number("mem_total").filter(|t| *t > 0.0) {
            let unused: f64 = ["mem_free", "mem_buffers", "mem_cached"]
                .iter()
                .filter_map(|n| self.number(n))
                .sum();
            let used = (total - unused).max(0.0);
            derived.push(("mem_used", used));
            derived.push(("mem_utilization", 100.0 * used / total));
        }
        if let (Some(total), Some(free)) = (self.number("disk_total"), self.number("disk_free"))
            && total > 0.0
        {
            derived.push(("disk_utilization", 100.0 * (total - free).max(0.0) / total));
        }
        for (name, value) in derived {
            self.set(now, name, MetricValue::Number(value));
        }
    }

    /// The earliest time at which [`expire`](Self::expire) with cutoffs `timeout_ms` before it may have a metric
    /// to drop (`Millis::MAX` when none is held).
    pub(crate) fn next_expiry(&self, timeout_ms: Millis) -> Millis {
        if self.metrics.is_empty() {
            Millis::MAX
        } else {
            self.oldest.saturating_add(timeout_ms).saturating_add(1)
        }
    }

    /// Drops metrics not updated since `cutoff` (a walk over the metrics only when one of them is stale).
    pub(crate) fn expire(&mut self, cutoff: Millis) {
        if self.oldest >= cutoff {
            return;
        }
        self.metrics.retain(|_, e| e.updated >= cutoff);
        self.oldest = self
            .metrics
            .values()
            .map(|e| e.updated)
            .min()
            .unwrap_or(cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CounterValue::*;

    #[test]
    fn expiry_drops_exactly_the_stale_metrics_and_skips_fresh_states() {
        let mut s = CounterState::default();
        s.update(0, 0, &[("ifspeed", Gauge(1e9))]);
        s.update(100_000, 100_000, &[("ifname", Text("swp1".into()))]);
        s.expire(50_000);
        assert!(num(&s, "ifspeed").is_none());
        assert!(s.metrics.contains_key("ifname"));
        // Nothing stale before 100 s: nothing to do, nothing dropped.
        s.expire(100_000);
        assert!(s.metrics.contains_key("ifname"));
        s.expire(150_000);
        assert!(s.metrics.is_empty());
        // A metric written after the state emptied is still expired in its turn.
        s.update(200_000, 200_000, &[("ifspeed", Gauge(1e9))]);
        s.expire(200_000);
        assert_eq!(num(&s, "ifspeed"), Some(1e9));
        s.expire(200_001);
        assert!(s.metrics.is_empty());
    }

    fn num(state: &CounterState, name: &str) -> Option<f64> {
        state.number(name)
    }

    #[test]
    fn counters_become_rates_over_the_agent_interval() {
        let mut s = CounterState::default();
        s.update(
            0,
            10_000,
            &[("ifinoctets", Counter64(1_000)), ("ifspeed", Gauge(1e9))],
        );
        assert_eq!(
            num(&s, "ifinoctets"),
            None,
            "first sample only sets the baseline"
        );
        // 20 s later per the agent clock (arrival jitter ignored): 2,000,000 bytes → 100,000 B/s.
        s.update(
            20_300,
            30_000,
            &[
                ("ifinoctets", Counter64(2_001_000)),
                ("ifspeed", Gauge(1e9)),
            ],
        );
        assert_eq!(num(&s, "ifinoctets"), Some(100_000.0));
        // 100 kB/s on 1 Gb/s = 0.08 %.
        let util = num(&s, "ifinutilization").unwrap_or(f64::NAN);
        assert!((util - 0.08).abs() < 1e-12, "{util}");
    }

    #[test]
    fn counter32_wrap_is_a_small_delta() {
        let mut s = CounterState::default();
        s.update(0, 0, &[("ifinucastpkts", Counter32(u32::MAX - 99))]);
        s.update(10_000, 10_000, &[("ifinucastpkts", Counter32(900))]);
        // 100 to reach 2^32 (one of which is the wrap to 0) + 900 = 1000 packets in 10 s.
        assert_eq!(num(&s, "ifinucastpkts"), Some(100.0));
        assert_eq!(num(&s, "ifinpkts"), Some(100.0));
    }

    #[test]
    fn counter64_reset_and_restart_skip_the_interval() {
        let mut s = CounterState::default();
        s.update(0, 0, &[("ifinoctets", Counter64(5_000_000))]);
        s.update(10_000, 10_000, &[("ifinoctets", Counter64(6_000_000))]);
        assert_eq!(num(&s, "ifinoctets"), Some(100_000.0));
        s.update(20_000, 20_000, &[("ifinoctets", Counter64(10))]);
        assert_eq!(
            num(&s, "ifinoctets"),
            None,
            "reset must not produce a spike"
        );
        s.update(30_000, 30_000, &[("ifinoctets", Counter64(1_010))]);
        assert_eq!(num(&s, "ifinoctets"), Some(100.0));
        // Agent restart: the next sample is a new baseline even if the counter looks like it grew.
        s.discontinuity();
        s.update(40_000, 1_000, &[("ifinoctets", Counter64(1_000_000_000))]);
        assert_eq!(
            num(&s, "ifinoctets"),
            Some(100.0),
            "stale value kept, no spike"
        );
        s.update(50_000, 11_000, &[("ifinoctets", Counter64(1_000_010_000))]);
        assert_eq!(num(&s, "ifinoctets"), Some(1_000.0));
    }

    #[test]
    fn unknown_counters_are_not_exposed() {
        let mut s = CounterState::default();
        s.update(0, 0, &[("ifinunknownprotos", Counter32(u32::MAX))]);
        s.update(
            10_000,
            10_000,
            &[("ifinunknownprotos", Counter32(u32::MAX))],
        );
        assert_eq!(num(&s, "ifinunknownprotos"), None);
    }

    #[test]
    fn cpu_jiffies_become_percentages() {
        let mut s = CounterState::default();
        let sample = |user, system, idle| {
            [
                ("cpu_user", Counter32(user)),
                ("cpu_system", Counter32(system)),
                ("cpu_idle", Counter32(idle)),
                ("load_one", Gauge(2.0)),
                ("load_five", Gauge(1.0)),
                ("load_fifteen", Gauge(0.6)),
                ("cpu_num", Gauge(4.0)),
                ("mem_total", Gauge(1000.0)),
                ("mem_free", Gauge(200.0)),
                ("mem_cached", Gauge(300.0)),
                ("disk_total", Gauge(100.0)),
                ("disk_free", Gauge(25.0)),
            ]
        };
        s.update(0, 0, &sample(1000, 1000, 1000));
        // Over 10 s: user 2000, system 1000, idle 7000 → 20 %, 10 %, 70 %.
        s.update(10_000, 10_000, &sample(3000, 2000, 8000));
        let close = |name: &str, want: f64| {
            let got = num(&s, name).unwrap_or(f64::NAN);
            assert!((got - want).abs() < 1e-9, "{name}: {got} != {want}");
        };
        close("cpu_user", 20.0);
        close("cpu_system", 10.0);
        close("cpu_idle", 70.0);
        close("cpu_utilization", 30.0);
        close("load_one_per_cpu", 0.5);
        close("load_five_per_cpu", 0.25);
        close("load_fifteen_per_cpu", 0.15);
        close("mem_utilization", 50.0);
        close("mem_used", 500.0);
        close("disk_utilization", 75.0);
    }
}
