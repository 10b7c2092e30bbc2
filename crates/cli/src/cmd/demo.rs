//! `rtflow serve --demo`: the simulator (`rtflow-sim`) feeds the server in-process, with the
//! simulated topology installed and flows and thresholds that make its scenario visible: the
//! elephant in `/activeflows/ALL/pair/json` and `elephant` events, the attack in
//! `dns_responses` and `dns_amplification` events.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rtflow_engine::{FlowDefinition, Threshold, Topology};
use rtflow_server::{DatagramFeed, FeedDatagram, InternalFeed};
use rtflow_sim::{Event, Simulator};
use serde_json::json;

use super::simulate::load_scenario;

/// Flows installed by `--demo`, as `PUT /flow/{name}/json` bodies.
pub(crate) const DEMO_FLOWS: [(&str, &str); 2] = [
    (
        "pair",
        r#"{"keys":"ipsource,ipdestination","value":"bytes"}"#,
    ),
    (
        "dns_responses",
        r#"{"keys":"ipdestination","value":"frames","filter":"udpsourceport=53"}"#,
    ),
];

/// An elephant is a flow above 1 Gbit/s (125 MB/s) on some switch port.
pub(crate) const ELEPHANT_BYTES_PER_SECOND: f64 = 125_000_000.0;
/// DNS responses to one host above 20,000 packets/s look like an amplification attack.
pub(crate) const DNS_RESPONSES_PER_SECOND: f64 = 20_000.0;

/// The simulator as a server feed.
struct SimulatorFeed(Simulator);

impl DatagramFeed for SimulatorFeed {
    fn next_datagram(&mut self) -> Option<FeedDatagram<'_>> {
        let datagram = self.0.next_datagram()?;
        Some(FeedDatagram {
            offset: datagram.time,
            source: datagram.source.into(),
            payload: datagram.payload,
        })
    }
}

/// A feed that has ended.
struct NoDatagrams;

impl DatagramFeed for NoDatagrams {
    fn next_datagram(&mut self) -> Option<FeedDatagram<'_>> {
        None
    }
}

/// The feed for `serve --demo`: the scenario (default: the built-in one) with `seed`, its
/// topology, and the demo flows and thresholds.
pub(crate) fn demo_feed(
    scenario: Option<&Path>,
    seed: Option<u64>,
) -> anyhow::Result<InternalFeed> {
    let (scenario, _) = load_scenario(scenario)?;
    let simulator = Simulator::new(&scenario, seed, None)?;
    let topology: Topology = serde_json::from_value(simulator.topology())
        .context("the simulated topology is not valid topology JSON")?;
    let flows = DEMO_FLOWS
        .iter()
        .map(|(name, body)| {
            let definition =
                FlowDefinition::from_json_str(body).with_context(|| format!("demo flow {name}"))?;
            Ok((name.to_string(), definition))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let thresholds = [
        (
            "elephant",
            json!({"metric": "pair", "value": ELEPHANT_BYTES_PER_SECOND, "byFlow": true}),
        ),
        (
            "dns_amplification",
            json!({"metric": "dns_responses", "value": DNS_RESPONSES_PER_SECOND, "byFlow": true}),
        ),
    ]
    .into_iter()
    .map(|(name, body)| {
        let threshold: Threshold =
            serde_json::from_value(body).with_context(|| format!("demo threshold {name}"))?;
        Ok((name.to_string(), threshold))
    })
    .collect::<anyhow::Result<Vec<_>>>()?;
    let name = format!("simulator ({} scenario)", scenario.name);
    let open_scenario = scenario.clone();
    Ok(InternalFeed {
        name,
        open: Arc::new(move || match Simulator::new(&open_scenario, seed, None) {
            Ok(simulator) => Box::new(SimulatorFeed(simulator)) as Box<dyn DatagramFeed>,
            // Checked by the first Simulator::new above; an empty feed rather than a panic.
            Err(err) => {
                tracing::error!("{err}");
                Box::new(NoDatagrams)
            }
        }),
        topology: Some(topology),
        flows,
        thresholds,
    })
}

/// Lines telling what the demo will show and where to look.
pub(crate) fn describe(scenario: Option<&Path>) -> anyhow::Result<Vec<String>> {
    let (scenario, _) = load_scenario(scenario)?;
    let f = &scenario.fabric;
    let mut lines = vec![format!(
        "demo: simulated {} fabric: {} spines, {} leaves, {} hosts; {}",
        scenario.name,
        f.spines,
        f.leaves,
        f.leaves * f.hosts_per_leaf,
        if scenario.cycle > 0.0 {
            format!("events every {} s:", scenario.cycle)
        } else {
            "events:".to_string()
        }
    )];
    for event in &scenario.events {
        let until = event
            .duration()
            .map(|d| format!(" for {d} s"))
            .unwrap_or_default();
        lines.push(match event {
            Event::Elephant { src, dst, rate, .. } => {
                format!("  t={} s: elephant {src} -> {dst} at {rate}bit/s{until}", event.at())
            }
            Event::DnsAmplification {
                target,
                sources,
                rate,
                ..
            } => format!(
                "  t={} s: DNS amplification on {target} from {sources} resolvers at {rate}bit/s{until}",
                event.at()
            ),
            Event::LinkDown { link, .. } => format!("  t={} s: link {link} down{until}", event.at()),
        });
    }
    lines.push(
        "demo: flows pair, dns_responses; thresholds elephant (1 Gbit/s), dns_amplification (20k packets/s): \
         try /activeflows/ALL/pair/json and /events/json"
            .into(),
    );
    Ok(lines)
}
