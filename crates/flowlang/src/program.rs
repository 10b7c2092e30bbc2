//! All installed flow definitions compiled together for the ingest hot path.
//!
//! Definitions installed side by side share much: the six sFlow-RT apps' 19 definitions read `ipsource` in
//! eight places and repeat the filter `first:stack:.:ip:ipv6=ip` six times. A [`FlowProgram`] numbers every
//! distinct top-level key expression (definition keys, filter comparison keys, `count:` values) and every
//! distinct filter by its text, and [`FlowProgram::evaluate`] computes each of them at most once per sample,
//! on first use, into a [`SampleMemo`] that is reused from sample to sample (no allocation once warm).
//! What is evaluated, and in which order, is what evaluating each [`CompiledFlow`] alone would do, so the
//! results are the same.

use std::collections::HashMap;

use super::AttributeSource;
use super::definition::CompiledFlow;
use super::expr::KeyExpr;
use super::filter::{FilterPlan, KeyValues};
use super::groups::Lookups;
use super::keyname::FlowKey;
use super::value::{FlowValues, SampleValue, ValueSource, ValueSpec, distinct_hash};

/// One definition's evaluation plan: its parts as numbers into the program's tables.
#[derive(Debug, Clone)]
struct Plan {
    /// Counts discard samples (`dropped:true`) rather than packet samples.
    dropped: bool,
    filter: Option<u32>,
    keys: Box<[KeyPlan]>,
    separator: Box<str>,
    value: ValuePlan,
    values: Box<[ValuePlan]>,
}

/// One key of a definition: the number of its expression, and whether that expression is read anywhere else.
/// One only this key reads is written straight into the flow key, not through the memo.
#[derive(Debug, Clone, Copy)]
struct KeyPlan {
    expression: u32,
    shared: bool,
}

#[derive(Debug, Clone, Copy)]
enum ValuePlan {
    Numeric(FlowKey),
    /// `count:`: the hash of the numbered expression's text.
    Distinct(u32),
}

/// Flow definitions by slot, with their shared expressions and filters numbered.
#[derive(Debug, Clone, Default)]
pub struct FlowProgram {
    expressions: Vec<KeyExpr>,
    filters: Vec<FilterPlan>,
    plans: Vec<Option<Plan>>,
}

/// What one sample's expressions and filters evaluated to. Reused from sample to sample: a generation number
/// marks which entries belong to the current sample, so starting a sample costs nothing per entry.
#[derive(Debug, Default)]
pub struct SampleMemo {
    generation: u32,
    expressions: Vec<Memo>,
    filters: Vec<(u32, bool)>,
    text: String,
}

#[derive(Debug, Clone, Copy, Default)]
struct Memo {
    generation: u32,
    present: bool,
    start: u32,
    end: u32,
}

impl SampleMemo {
    /// Starts a new sample for `program`.
    fn begin(&mut self, program: &FlowProgram) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped: entries of 2^32 samples ago would look current.
            self.expressions.fill(Memo::default());
            self.filters.fill((0, false));
            self.generation = 1;
        }
        if self.expressions.len() < program.expressions.len() {
            self.expressions
                .resize(program.expressions.len(), Memo::default());
        }
        if self.filters.len() < program.filters.len() {
            self.filters.resize(program.filters.len(), (0, false));
        }
    }

    /// The text flow keys and expression values were written into since the last
    /// [`clear_text`](Self::clear_text).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Forgets the text (call before a new batch of [`FlowProgram::evaluate_into_memo`] calls).
    pub fn clear_text(&mut self) {
        self.text.clear();
    }
}

/// Builds a program, numbering expressions and filters by their text.
struct Builder {
    program: FlowProgram,
    expression_ids: HashMap<String, u32>,
    /// How many places (keys, filter comparisons, `count:` values) read each expression.
    uses: Vec<u32>,
    filter_ids: HashMap<String, u32>,
}

impl Builder {
    fn expression(&mut self, text: &str, expr: &KeyExpr) -> u32 {
        let id = match self.expression_ids.get(text) {
            Some(&id) => id,
            None => {
                let id = self.program.expressions.len() as u32;
                self.program.expressions.push(expr.clone());
                self.expression_ids.insert(text.to_owned(), id);
                self.uses.push(0);
                id
            }
        };
        if let Some(uses) = self.uses.get_mut(id as usize) {
            *uses += 1;
        }
        id
    }

    fn value(&mut self, spec: &ValueSpec, text: &str) -> ValuePlan {
        match &spec.source {
            ValueSource::Numeric(key) => ValuePlan::Numeric(*key),
            ValueSource::Distinct(expr) => {
                // `count:EXPR`: the expression text follows the prefix (`ValueSpec::parse`).
                let expr_text = text.trim().split_once(':').map_or(text, |(_, rest)| rest);
                ValuePlan::Distinct(self.expression(expr_text, expr))
            }
        }
    }

    fn plan(&mut self, compiled: &CompiledFlow) -> Plan {
        let definition = compiled.definition();
        let filter = compiled
            .filter()
            .zip(definition.filter.as_deref())
            .map(|(filter, text)| match self.filter_ids.get(text) {
                Some(&id) => id,
                None => {
                    let plan = filter.plan(&mut |text, expr| self.expression(text, expr));
                    let id = self.program.filters.len() as u32;
                    self.program.filters.push(plan);
                    self.filter_ids.insert(text.to_owned(), id);
                    id
                }
            });
        let keys = compiled
            .keys()
            .iter()
            .zip(&definition.keys)
            .map(|(expr, text)| KeyPlan {
                expression: self.expression(text, expr),
                shared: true,
            })
            .collect();
        let value = self.value(compiled.value_spec(), &definition.value);
        let values = compiled
            .value_specs()
            .iter()
            .zip(&definition.values)
            .map(|(spec, text)| self.value(spec, text))
            .collect();
        Plan {
            dropped: definition.dropped,
            filter,
            keys,
            separator: definition.fs.as_str().into(),
            value,
            values,
        }
    }
}

impl FlowProgram {
    /// Compiles the definitions installed in `slots` (slot number, definition) together.
    pub fn build<'a>(slots: impl IntoIterator<Item = (usize, &'a CompiledFlow)>) -> FlowProgram {
        let mut builder = Builder {
            program: FlowProgram::default(),
            expression_ids: HashMap::new(),
            uses: Vec::new(),
            filter_ids: HashMap::new(),
        };
        for (slot, compiled) in slots {
            let plan = builder.plan(compiled);
            let plans = &mut builder.program.plans;
            if plans.len() <= slot {
                plans.resize(slot + 1, None);
            }
            if let Some(entry) = plans.get_mut(slot) {
                *entry = Some(plan);
            }
        }
        let Builder {
            mut program, uses, ..
        } = builder;
        for plan in program.plans.iter_mut().flatten() {
            for key in plan.keys.iter_mut() {
                key.shared = uses.get(key.expression as usize).is_some_and(|&n| n > 1);
            }
        }
        program
    }

    /// Distinct key expressions the definitions read (each evaluated at most once per sample).
    pub fn expression_count(&self) -> usize {
        self.expressions.len()
    }

    /// Evaluates every definition for one sample (`dropped` for a discard sample). For each definition the
    /// sample counts in, `emit` gets its slot, the flow key (the keys' values joined with the definition's
    /// separator) and the sample's raw, unscaled values.
    pub fn evaluate<S: AttributeSource + ?Sized>(
        &self,
        src: &S,
        dropped: bool,
        lookups: &Lookups,
        memo: &mut SampleMemo,
        mut emit: impl FnMut(usize, &str, &FlowValues),
    ) {
        memo.text.clear();
        self.evaluate_into_memo(src, dropped, lookups, memo, |slot, key, values, text| {
            emit(slot, text.get(key.0..key.1).unwrap_or_default(), values);
        });
    }

    /// [`evaluate`](Self::evaluate) for several samples in a row: each flow key is left in the memo's text
    /// (see [`SampleMemo::text`]) and `emit` gets its byte range there, valid until
    /// [`SampleMemo::clear_text`]. Nothing is copied per definition.
    pub fn evaluate_into_memo<S: AttributeSource + ?Sized>(
        &self,
        src: &S,
        dropped: bool,
        lookups: &Lookups,
        memo: &mut SampleMemo,
        mut emit: impl FnMut(usize, (usize, usize), &FlowValues, &str),
    ) {
        memo.begin(self);
        let mut eval = Evaluation {
            program: self,
            src,
            lookups,
            memo,
        };
        // Filled in place: a `FlowValues` is ~150 bytes, too big to move around per definition.
        let mut values = FlowValues::new(SampleValue::Missing);
        for (slot, plan) in self.plans.iter().enumerate() {
            let Some(plan) = plan else { continue };
            if plan.dropped != dropped {
                continue;
            }
            if let Some(key) = eval.definition(plan, &mut values) {
                emit(slot, key, &values, &eval.memo.text);
            }
        }
    }
}

/// One sample being evaluated.
struct Evaluation<'a, S: ?Sized> {
    program: &'a FlowProgram,
    src: &'a S,
    lookups: &'a Lookups,
    memo: &'a mut SampleMemo,
}

impl<S: AttributeSource + ?Sized> KeyValues for Evaluation<'_, S> {
    fn value(&mut self, id: u32) -> Option<&str> {
        let index = id as usize;
        let cached = *self.memo.expressions.get(index)?;
        let (start, end) = if cached.generation == self.memo.generation {
            if !cached.present {
                return None;
            }
            (cached.start as usize, cached.end as usize)
        } else {
            let expression = self.program.expressions.get(index)?;
            let start = self.memo.text.len();
            let present = expression.eval(self.src, self.lookups, &mut self.memo.text);
            let end = self.memo.text.len();
            if let Some(slot) = self.memo.expressions.get_mut(index) {
                *slot = Memo {
                    generation: self.memo.generation,
                    present,
                    start: start as u32,
                    end: end as u32,
                };
            }
            if !present {
                return None;
            }
            (start, end)
        };
        self.memo.text.get(start..end)
    }
}

impl<S: AttributeSource + ?Sized> Evaluation<'_, S> {
    fn filter_passes(&mut self, id: u32) -> bool {
        let index = id as usize;
        let generation = self.memo.generation;
        if let Some(&(seen, passed)) = self.memo.filters.get(index)
            && seen == generation
        {
            return passed;
        }
        let program = self.program;
        let passed = program
            .filters
            .get(index)
            .is_some_and(|filter| filter.matches(self));
        if let Some(slot) = self.memo.filters.get_mut(index) {
            *slot = (generation, passed);
        }
        passed
    }

    fn sample_value(&mut self, plan: ValuePlan) -> SampleValue {
        match plan {
            ValuePlan::Numeric(key) => match self.src.numeric_attribute(key.name, key.layer) {
                Some(number) if number.is_finite() => SampleValue::Number(number),
                _ => SampleValue::Missing,
            },
            ValuePlan::Distinct(id) => match self.value(id) {
                Some(text) => SampleValue::Distinct(distinct_hash(text)),
                None => SampleValue::Missing,
            },
        }
    }

    /// The byte range of expression `id`'s text in the memo, evaluating it if needed.
    fn range(&mut self, id: u32) -> Option<(usize, usize)> {
        self.value(id)?;
        let memo = self.memo.expressions.get(id as usize)?;
        Some((memo.start as usize, memo.end as usize))
    }

    /// What [`CompiledFlow::evaluate`] computes, from shared evaluations: the values into `values`, and the
    /// byte range of the flow key in the memo's text (a one-key definition whose key is shared uses that
    /// expression's text as it is; other keys are joined at the end of the text). `None` when the sample does
    /// not count in this definition.
    fn definition(&mut self, plan: &Plan, values: &mut FlowValues) -> Option<(usize, usize)> {
        if let Some(filter) = plan.filter
            && !self.filter_passes(filter)
        {
            return None;
        }
        let key = match *plan.keys {
            [only] if only.shared => self.range(only.expression)?,
            _ => {
                // Shared parts first, so that joining below only appends.
                for part in plan.keys.iter().filter(|part| part.shared) {
                    self.value(part.expression)?;
                }
                let start = self.memo.text.len();
                for (index, part) in plan.keys.iter().enumerate() {
                    if index > 0 {
                        self.memo.text.push_str(&plan.separator);
                    }
                    let present = if part.shared {
                        let memo = self.memo.expressions.get(part.expression as usize);
                        memo.is_some_and(|m| m.present)
                            .then(|| {
                                let (from, to) = memo.map_or((0, 0), |m| (m.start, m.end));
                                self.memo
                                    .text
                                    .extend_from_within(from as usize..to as usize);
                            })
                            .is_some()
                    } else {
                        self.program
                            .expressions
                            .get(part.expression as usize)
                            .is_some_and(|expr| {
                                expr.eval(self.src, self.lookups, &mut self.memo.text)
                            })
                    };
                    if !present {
                        self.memo.text.truncate(start);
                        return None;
                    }
                }
                (start, self.memo.text.len())
            }
        };
        let value = self.sample_value(plan.value);
        if value == SampleValue::Missing {
            return None;
        }
        values.reset(value);
        for &extra in plan.values.iter() {
            values.push(self.sample_value(extra));
        }
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FlowDefinition, MapAttributeSource};

    fn compile(keys: &str, value: &str, filter: Option<&str>) -> CompiledFlow {
        let definition = FlowDefinition {
            filter: filter.map(str::to_owned),
            ..FlowDefinition::new(keys, value)
        };
        CompiledFlow::compile(&definition).unwrap_or_else(|e| panic!("{keys}: {e}"))
    }

    fn sample() -> MapAttributeSource {
        MapAttributeSource::new()
            .with("ipsource", "10.0.0.1")
            .with("ipdestination", "10.4.1.7")
            .with("ipprotocol", "6")
            .with("tcpdestinationport", "443")
            .with("stack", "eth.ip.tcp")
            .with("bytes", "1500")
            .with("frames", "1")
    }

    /// Everything the program emits, as (slot, key, values).
    fn run(program: &FlowProgram, src: &MapAttributeSource) -> Vec<(usize, String, FlowValues)> {
        let mut memo = SampleMemo::default();
        let mut out = Vec::new();
        program.evaluate(src, false, &Lookups::new(), &mut memo, |slot, key, v| {
            out.push((slot, key.to_owned(), *v));
        });
        out
    }

    #[test]
    fn shared_parts_are_numbered_once_and_results_match_each_definition_alone() {
        let definitions = [
            compile(
                "ipsource,ipdestination",
                "bytes",
                Some("first:stack:.:ip:ip6=ip"),
            ),
            compile("ipsource", "frames", Some("first:stack:.:ip:ip6=ip")),
            compile(
                "ipdestination,tcpdestinationport",
                "bytes",
                Some("ipprotocol=17"),
            ),
            compile("mask:ipdestination:24", "bytes", None),
            compile(
                "ipsource",
                "bytes",
                Some("ipprotocol!=17&first:stack:.:ip:ip6=ip"),
            ),
            compile("", "count:ipsource", None),
            compile("ipsource,vlan", "bytes", None),
        ];
        let program = FlowProgram::build(definitions.iter().enumerate());
        // ipsource, ipdestination, first:stack:…, ipprotocol, tcpdestinationport, mask:…, vlan.
        assert_eq!(program.expression_count(), 7);
        let src = sample();
        let expected: Vec<_> = definitions
            .iter()
            .enumerate()
            .filter_map(|(slot, compiled)| {
                let mut key = String::new();
                compiled
                    .evaluate(&src, &Lookups::new(), &mut key)
                    .map(|values| (slot, key, values))
            })
            .collect();
        assert_eq!(run(&program, &src), expected);
        let slots: Vec<usize> = expected.iter().map(|(slot, ..)| *slot).collect();
        assert_eq!(slots, [0, 1, 3, 4, 5]);
    }

    #[test]
    fn each_sample_starts_afresh() {
        let definitions = [compile("ipsource", "bytes", Some("ipprotocol=6"))];
        let program = FlowProgram::build(definitions.iter().enumerate());
        let mut memo = SampleMemo::default();
        let mut keys = Vec::new();
        for (source, protocol) in [("10.0.0.1", "6"), ("10.0.0.2", "17"), ("10.0.0.3", "6")] {
            let src = sample()
                .with("ipsource", source)
                .with("ipprotocol", protocol);
            program.evaluate(&src, false, &Lookups::new(), &mut memo, |_, key, _| {
                keys.push(key.to_owned());
            });
        }
        assert_eq!(keys, ["10.0.0.1", "10.0.0.3"]);
    }

    #[test]
    fn keys_of_several_samples_stay_in_the_memo_text_until_cleared() {
        let definitions = [
            compile("ipsource", "bytes", None),
            compile("ipsource,ipprotocol", "bytes", None),
            compile(
                "ipdestination,ipprotocol",
                "bytes",
                Some("ipsource=10.0.0.2"),
            ),
        ];
        let program = FlowProgram::build(definitions.iter().enumerate());
        let mut memo = SampleMemo::default();
        memo.clear_text();
        let mut ranges = Vec::new();
        for source in ["10.0.0.1", "10.0.0.2"] {
            let src = sample().with("ipsource", source);
            program.evaluate_into_memo(
                &src,
                false,
                &Lookups::new(),
                &mut memo,
                |slot, key, _, _| {
                    ranges.push((slot, key));
                },
            );
        }
        let keys: Vec<(usize, &str)> = ranges
            .iter()
            .map(|&(slot, (from, to))| (slot, memo.text().get(from..to).unwrap_or("?")))
            .collect();
        assert_eq!(
            keys,
            [
                (0, "10.0.0.1"),
                (1, "10.0.0.1,6"),
                (0, "10.0.0.2"),
                (1, "10.0.0.2,6"),
                (2, "10.4.1.7,6"),
            ]
        );
    }

    #[test]
    fn discard_definitions_see_only_discard_samples() {
        let definitions = [compile("ipsource", "bytes", None), {
            let definition = FlowDefinition {
                dropped: true,
                ..FlowDefinition::new("ipsource", "frames")
            };
            CompiledFlow::compile(&definition).unwrap_or_else(|e| panic!("{e}"))
        }];
        let program = FlowProgram::build(definitions.iter().enumerate());
        let mut memo = SampleMemo::default();
        for dropped in [false, true] {
            let mut slots = Vec::new();
            program.evaluate(
                &sample(),
                dropped,
                &Lookups::new(),
                &mut memo,
                |slot, _, _| {
                    slots.push(slot);
                },
            );
            assert_eq!(slots, [usize::from(dropped)]);
        }
    }

    #[test]
    fn generation_wrap_forgets_old_entries() {
        let definitions = [compile("ipsource", "bytes", None)];
        let program = FlowProgram::build(definitions.iter().enumerate());
        let mut memo = SampleMemo {
            generation: u32::MAX - 1,
            ..SampleMemo::default()
        };
        let mut keys = Vec::new();
        for source in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
            let src = sample().with("ipsource", source);
            program.evaluate(&src, false, &Lookups::new(), &mut memo, |_, key, _| {
                keys.push(key.to_owned());
            });
        }
        assert_eq!(keys, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    }
}
