//! The ingest path in two stages, so that the engine is locked only for the state update:
//!
//! 1. [`IngestWorker::prepare`] decodes a datagram's header (agent, sequence number) and checks the framing of
//!    its samples. It reads no engine state, so callers run it outside the engine lock, on as many threads as
//!    they like (one worker each).
//! 2. [`IngestWorker::apply`] updates the engine under the datagram's agent's shard lock: datagram sequence
//!    accounting and the agent's admission (an unknown agent may be held on probation, `probation.rs`); then,
//!    only for an admitted datagram and with the shard lock released, the samples are decoded (sFlow
//!    structures and sampled headers) and the flow definitions evaluated on each flow sample against a
//!    [`FlowView`] (a snapshot of the definitions and the lookup tables they read); then, under the shard lock
//!    again, the agent's state is created when it is new, and sample accounting, counter rates, and the
//!    evaluated flows are added to the active-flow tables. A flood of spoofed agents on probation so costs
//!    the reading of its headers only, neither the decoding of its samples nor the evaluation of every
//!    definition on them.
//!
//! A worker takes the engine's current view before each datagram (without the lock: see [`ViewCell`]); a
//! definition replaced between the two stages is recognised by its generation, and the flows evaluated with
//! the old one are dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use rtflow_sflow::Datagram;

use crate::adapter::{DecodedDatagram, DecodedSample, IngestError, IngestSummary};
use crate::attributes::SampleAttributes;
use crate::engine::Engine;
use crate::sample::{FlowSample, Millis};
use crate::shards::Shard;
use crate::tenant::{SampleFacts, TenantDatagram, offer_to_tenants};
use rtflow_flowlang::{FlowProgram, FlowValues, Lookups, SampleMemo, SampleValue};

/// What evaluating flow definitions needs, as of one moment: the installed definitions compiled together,
/// each slot's generation, and the lookup tables (groups, maps, links, OUI names; learned hosts are shared
/// live). Replaced by the engine whenever one of them changes.
#[derive(Debug, Default)]
pub struct FlowView {
    pub(crate) program: FlowProgram,
    /// Generation of the definition in each slot (0: empty).
    pub(crate) generations: Box<[u64]>,
    pub(crate) lookups: Lookups,
}

/// The engine's current [`FlowView`], readable without the engine lock: a worker compares `version` (one
/// atomic load) before each datagram and takes the view again only when it changed.
#[derive(Debug, Default)]
pub(crate) struct ViewCell {
    version: AtomicU64,
    view: RwLock<Arc<FlowView>>,
}

impl ViewCell {
    pub(crate) fn get(&self) -> Arc<FlowView> {
        Arc::clone(&self.view.read())
    }

    pub(crate) fn publish(&self, view: FlowView) {
        *self.view.write() = Arc::new(view);
        self.version.fetch_add(1, Ordering::Release);
    }
}

/// One definition's result for one flow sample.
#[derive(Clone, Copy, Debug)]
struct EvaluatedFlow {
    slot: u32,
    generation: u64,
    /// Byte range of the flow key in the memo's text (see [`SampleMemo::text`]).
    key: (u32, u32),
    value: SampleValue,
    /// Range of the `values` entries in [`EvaluatedFlows::extra`].
    extra: (u32, u32),
}

/// The flows of every flow sample of one datagram, in sample order. Flow keys stay in the memo's text, which
/// is cleared per datagram.
#[derive(Debug, Default)]
pub(crate) struct EvaluatedFlows {
    /// Per flow sample, the range of its entries in `entries`.
    samples: Vec<(u32, u32)>,
    entries: Vec<EvaluatedFlow>,
    extra: Vec<SampleValue>,
    memo: SampleMemo,
}

impl EvaluatedFlows {
    pub(crate) fn clear(&mut self) {
        self.samples.clear();
        self.entries.clear();
        self.extra.clear();
        self.memo.clear_text();
    }

    /// Evaluates every definition of `view` on `sample` (seen at `agent`'s data source) and appends the
    /// results as the next flow sample's.
    pub(crate) fn evaluate(
        &mut self,
        view: &FlowView,
        agent: std::net::IpAddr,
        sample: &FlowSample,
    ) {
        let first = self.entries.len() as u32;
        let attributes = SampleAttributes::new(agent, sample.source, sample);
        let Self {
            entries,
            extra,
            memo,
            ..
        } = self;
        view.program.evaluate_into_memo(
            &attributes,
            sample.dropped.is_some(),
            &view.lookups,
            memo,
            |slot, key, values, _| {
                let extra_start = extra.len() as u32;
                extra.extend_from_slice(values.values());
                entries.push(EvaluatedFlow {
                    slot: slot as u32,
                    generation: view.generations.get(slot).copied().unwrap_or(0),
                    key: (key.0 as u32, key.1 as u32),
                    value: values.value,
                    extra: (extra_start, extra.len() as u32),
                });
            },
        );
        self.samples.push((first, self.entries.len() as u32));
    }

    /// The flows of flow sample `index`: (slot, generation, key, values) each, `values` rebuilt in `buffer`.
    pub(crate) fn for_each(
        &self,
        index: usize,
        buffer: &mut FlowValues,
        mut f: impl FnMut(usize, u64, &str, &FlowValues),
    ) {
        let Some(&(first, end)) = self.samples.get(index) else {
            return;
        };
        let text = self.memo.text();
        for entry in self
            .entries
            .get(first as usize..end as usize)
            .unwrap_or_default()
        {
            buffer.reset(entry.value);
            for value in self
                .extra
                .get(entry.extra.0 as usize..entry.extra.1 as usize)
                .unwrap_or_default()
            {
                buffer.push(*value);
            }
            let key = text
                .get(entry.key.0 as usize..entry.key.1 as usize)
                .unwrap_or_default();
            f(entry.slot as usize, entry.generation, key, buffer);
        }
    }
}

/// The reusable state of one ingest thread: decode buffers, evaluated flows, the flow-language memo and the
/// engine's [`FlowView`] as last seen.
#[derive(Debug)]
pub struct IngestWorker {
    decoded: DecodedDatagram,
    flows: EvaluatedFlows,
    values: FlowValues,
    cell: Arc<ViewCell>,
    /// `cell`'s version when `view` was taken.
    version: u64,
    view: Arc<FlowView>,
}

impl IngestWorker {
    /// A worker for `engine` (it takes the engine's current flow view).
    pub fn new(engine: &Engine) -> Self {
        Self {
            decoded: DecodedDatagram::default(),
            flows: EvaluatedFlows::default(),
            values: FlowValues::new(SampleValue::Missing),
            cell: Arc::clone(engine.view_cell()),
            version: u64::MAX,
            view: Arc::default(),
        }
    }

    /// Stage 1, outside the engine lock: decodes the header of `bytes` received from `source` and checks the
    /// framing of its samples (and takes the engine's current flow view, with which stage 2 evaluates the flow
    /// definitions). Returns the datagram's agent when its header decoded.
    pub fn prepare(&mut self, source: SocketAddr, bytes: &[u8]) -> Option<std::net::IpAddr> {
        let version = self.cell.version.load(Ordering::Acquire);
        if version != self.version {
            self.view = self.cell.get();
            self.version = version;
        }
        self.decoded.decode_header(source, bytes);
        self.decoded.agent()
    }

    /// Stage 2, under the engine lock: applies the datagram last prepared (`bytes` are its bytes: its samples
    /// are decoded from them when it is analysed, and read again to re-encode samples for `/tenant`
    /// collectors, into `tenant_out`). Malformed datagrams are counted (per agent when the agent is known)
    /// and reported as [`IngestError`].
    pub fn apply(
        &mut self,
        engine: &mut Engine,
        now: Millis,
        bytes: &[u8],
        tenant_out: &mut Vec<TenantDatagram>,
    ) -> Result<IngestSummary, IngestError> {
        engine.rebase_if_due(now);
        self.apply_shared(engine, now, bytes, tenant_out)
    }

    /// [`apply`](Self::apply) with the engine shared (held for reading): only the shard of the datagram's
    /// agent is locked, so threads applying datagrams of agents in different shards run in parallel. The
    /// engine's decay epochs are moved forward by [`Engine::tick`], which must run (every few seconds at
    /// least) while datagrams are applied this way.
    pub fn apply_shared(
        &mut self,
        engine: &Engine,
        now: Millis,
        bytes: &[u8],
        tenant_out: &mut Vec<TenantDatagram>,
    ) -> Result<IngestSummary, IngestError> {
        engine.apply_decoded(now, self.parts(bytes), Some(tenant_out))
    }

    /// [`apply`](Self::apply), selecting samples for tenants only when `tenant_out` is given.
    fn apply_selecting(
        &mut self,
        engine: &mut Engine,
        now: Millis,
        bytes: &[u8],
        tenant_out: Option<&mut Vec<TenantDatagram>>,
    ) -> Result<IngestSummary, IngestError> {
        engine.rebase_if_due(now);
        engine.apply_decoded(now, self.parts(bytes), tenant_out)
    }

    /// Flow samples of the last datagram applied on which the definitions were evaluated.
    #[cfg(test)]
    pub(crate) fn evaluated_samples(&self) -> usize {
        self.flows.samples.len()
    }

    fn parts<'w>(&'w mut self, bytes: &'w [u8]) -> WorkerParts<'w> {
        WorkerParts {
            decoded: &mut self.decoded,
            bytes,
            view: &self.view,
            flows: &mut self.flows,
            values: &mut self.values,
        }
    }
}

/// What [`Engine::apply_decoded`] needs of a worker: the datagram (its bytes, and what of them is decoded), the
/// view to evaluate its flow samples with, and the buffers for the evaluation.
struct WorkerParts<'w> {
    decoded: &'w mut DecodedDatagram,
    bytes: &'w [u8],
    view: &'w FlowView,
    flows: &'w mut EvaluatedFlows,
    values: &'w mut FlowValues,
}

impl Engine {
    /// Applies a datagram whose header was decoded at `now` (see [`IngestWorker::apply_shared`]), locking only
    /// its agent's shard (and the tenants, when some are defined).
    fn apply_decoded(
        &self,
        now: Millis,
        worker: WorkerParts<'_>,
        tenant_out: Option<&mut Vec<TenantDatagram>>,
    ) -> Result<IngestSummary, IngestError> {
        let WorkerParts {
            decoded,
            bytes,
            view,
            flows,
            values,
        } = worker;
        let Some(info) = decoded.info else {
            let mut shard = self.agents.lock(decoded.source.ip());
            self.record_decode_error_in(&mut shard, now, decoded.source, None, decoded.size);
            return Err(decoded
                .error
                .clone()
                .unwrap_or(IngestError::UnknownAgentAddress {
                    source_addr: decoded.source,
                }));
        };
        let agent = info.agent;
        let mut guard = self.agents.lock(agent);
        let known = guard.agents.contains_key(&agent);
        if !known {
            if let Some(error) = &decoded.error {
                // Its samples are not framed within it: the datagram is counted as undecodable and creates
                // no state (nor a place on probation).
                self.record_decode_error_in(&mut guard, now, decoded.source, None, decoded.size);
                return Err(error.clone());
            }
            if !self.admit_in(&mut guard, now, &info) {
                return Ok(decoded.summary);
            }
        } else {
            self.begin_datagram_in(&mut guard, now, &info);
        }
        // Analysed: decode the samples and evaluate the flow definitions on them with the shard unlocked
        // (other threads, the tick and queries use it meanwhile). A known agent evicted in between is
        // recreated by its samples, as after any eviction (the budget's next `make_room` accounts for it).
        drop(guard);
        decoded.decode_samples(bytes);
        flows.clear();
        for sample in &decoded.flows {
            flows.evaluate(view, agent, sample);
        }
        guard = self.agents.lock(agent);
        if !known {
            if let Some(error) = &decoded.error {
                // A datagram that does not decode creates no state: an unknown agent becomes known only by a
                // datagram that decodes whole. (`admit_in` counted it as received.)
                guard.stats.sflow_datagrams_discarded += 1;
                count_record_decode_errors(&mut guard, agent, decoded.summary.record_decode_errors);
                return Err(error.clone());
            }
            self.open_agent_in(&mut guard, now, &info);
        }
        let shard = &mut *guard;
        // Agents beyond the limits are not analysed, nor is per-agent tenant state kept for them. The samples
        // to re-encode for tenants are read again from the bytes (only when some tenant is defined).
        let (tenant_bytes, tenant_out) = match tenant_out {
            Some(out) if self.tenants_defined && shard.agents.contains_key(&agent) => {
                (Some(bytes), Some(out))
            }
            _ => (None, None),
        };
        let tenant_samples = tenant_bytes
            .and_then(|bytes| Datagram::decode(bytes).ok())
            .map(|d| (d.header, d));
        let mut tenant_iter = tenant_samples
            .as_ref()
            .map(|(header, datagram)| (*header, datagram.samples()));
        let mut tenant_state = tenant_samples.as_ref().map(|_| self.tenants.lock());
        for sample in &decoded.samples {
            let raw = tenant_iter
                .as_mut()
                .and_then(|(header, samples)| Some((*header, samples.next()?.ok()?)));
            match *sample {
                DecodedSample::Flow(index) => {
                    let Some(flow) = decoded.flows.get(index) else {
                        continue;
                    };
                    self.apply_flow_sample(shard, now, &info, flow, flows, index, values);
                    if let Some((header, raw)) = raw
                        && let Some(tenants) = tenant_state.as_deref_mut()
                    {
                        let facts = SampleFacts::of_flow(flow);
                        offer_to_tenants(tenants, &shard.agents, &header, agent, &facts, &raw);
                    }
                }
                DecodedSample::Counter(index) => {
                    let Some(counters) = decoded.counters().get(index) else {
                        continue;
                    };
                    self.apply_counter_sample(shard, now, &info, counters);
                    if let Some((header, raw)) = raw
                        && let Some(tenants) = tenant_state.as_deref_mut()
                    {
                        let facts = SampleFacts::of_counter(counters.source);
                        offer_to_tenants(tenants, &shard.agents, &header, agent, &facts, &raw);
                    }
                }
                DecodedSample::Unknown => {}
            }
        }
        if let Some(out) = tenant_out
            && let Some(tenants) = tenant_state.as_deref_mut()
        {
            tenants.finish_datagram(out);
        }
        drop(tenant_state);
        count_record_decode_errors(shard, agent, decoded.summary.record_decode_errors);
        if let Some(error) = &decoded.error {
            self.record_decode_error_in(shard, now, decoded.source, Some(agent), decoded.size);
            return Err(error.clone());
        }
        Ok(decoded.summary)
    }

    /// Decodes and ingests one sFlow datagram received from `source` at `now`. Malformed datagrams are counted
    /// (per agent when the agent is known, globally otherwise) and reported as [`IngestError`].
    ///
    /// Samples are not selected for `/tenant` collectors here; the server uses
    /// [`ingest_sflow_for_tenants`](Self::ingest_sflow_for_tenants), or an [`IngestWorker`] of its own to
    /// decode outside the engine lock.
    pub fn ingest_sflow(
        &mut self,
        now: Millis,
        source: SocketAddr,
        bytes: &[u8],
    ) -> Result<IngestSummary, IngestError> {
        self.ingest_with_own_worker(now, source, bytes, &mut Vec::new(), false)
    }

    /// [`ingest_sflow`](Self::ingest_sflow), then appends to `tenant_out` one re-encoded datagram per tenant
    /// that some sample of this datagram belongs to (see `tenant.rs`). When decoding fails part-way, the
    /// samples selected before the error are still sent, so a tenant's sequence numbers stay gap-free.
    pub fn ingest_sflow_for_tenants(
        &mut self,
        now: Millis,
        source: SocketAddr,
        bytes: &[u8],
        tenant_out: &mut Vec<TenantDatagram>,
    ) -> Result<IngestSummary, IngestError> {
        self.ingest_with_own_worker(now, source, bytes, tenant_out, true)
    }

    fn ingest_with_own_worker(
        &mut self,
        now: Millis,
        source: SocketAddr,
        bytes: &[u8],
        tenant_out: &mut Vec<TenantDatagram>,
        for_tenants: bool,
    ) -> Result<IngestSummary, IngestError> {
        let mut worker = match self.own_worker.take() {
            Some(worker) => worker,
            None => Box::new(IngestWorker::new(self)),
        };
        worker.prepare(source, bytes);
        let result = worker.apply_selecting(self, now, bytes, for_tenants.then_some(tenant_out));
        self.own_worker = Some(worker);
        result
    }
}

/// Counts records that failed to decode inside otherwise valid samples of `agent` (in total and per agent).
fn count_record_decode_errors(shard: &mut Shard, agent: std::net::IpAddr, count: u32) {
    if count == 0 {
        return;
    }
    shard.stats.sflow_record_decode_errors += u64::from(count);
    if let Some(state) = shard.agents.get_mut(&agent) {
        state.stats.record_decode_errors += u64::from(count);
    }
}
