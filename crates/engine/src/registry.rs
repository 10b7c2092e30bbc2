//! One shape for every kind of named configuration object the engine keeps: flow definitions, thresholds,
//! address groups, maps, forwarding sessions and tenants.
//!
//! Each kind is a [`Registry`] (a marker type: [`Flows`], [`Thresholds`], [`Groups`], [`Maps`],
//! [`Forwardings`], [`Tenants`]) with the same four operations: create or replace by name, read one, list, and
//! delete. The REST handlers (`rtflow-server`'s `http/objects.rs`), the JavaScript API (`rtflow-script`) and the
//! UI go through [`Engine::set_object`], [`Engine::object`], [`Engine::objects`] and [`Engine::delete_object`],
//! so adding a kind means one `impl Registry` here and one line per surface, not another copy of the CRUD.
//!
//! What differs between kinds stays with the kind: validation and limits (each `set` checks the name, the
//! kind's limit and the object), what changing it does (a changed flow definition resets its flows; groups,
//! maps and definitions republish the flow view ingest reads), and what the list shows (sFlow-RT lists groups
//! and maps by when they were last set, tenants by what was forwarded to them).
//!
//! The topology is one document, not a set of named objects: it keeps its own `set_topology`/`topology`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::engine::Engine;
use crate::error::{EngineError, ObjectKind};
use crate::forwarding::Forwarding;
use crate::sample::Millis;
use crate::tenant::{Tenant, TenantStats};
use crate::thresholds::Threshold;
use rtflow_flowlang::{AddressGroup, FlowDefinition, LookupMap};

/// A kind of named configuration object the engine keeps.
pub trait Registry {
    /// The kind, as errors name it (`group "x" not found`).
    const KIND: ObjectKind;
    /// The object, typed.
    type Object: Clone;
    /// One entry of the kind's list (`GET /{kind}/json`): the object itself, or what sFlow-RT lists for the
    /// kind.
    type Listed: Serialize;

    /// Creates or replaces `name` at `now`. Setting an identical object again changes nothing (clients that
    /// "ensure" their objects keep the state that depends on them).
    fn set(
        engine: &mut Engine,
        now: Millis,
        name: &str,
        object: Self::Object,
    ) -> Result<(), EngineError>;
    /// The object named `name`.
    fn get(engine: &Engine, name: &str) -> Option<Self::Object>;
    /// Every object's list entry, by name.
    fn list(engine: &Engine) -> BTreeMap<String, Self::Listed>;
    /// Deletes `name` (a [`EngineError::NotFound`] when there is none).
    fn delete(engine: &mut Engine, name: &str) -> Result<(), EngineError>;
}

/// Flow definitions (`/flow/{name}/json`, `setFlow`): listed as their definitions.
#[derive(Debug)]
pub enum Flows {}

/// Thresholds (`/threshold/{name}/json`, `setThreshold`): listed as their definitions.
#[derive(Debug)]
pub enum Thresholds {}

/// Address groups (`/group/{name}/json`, `setGroups`): listed as when each was last set (ms epoch).
#[derive(Debug)]
pub enum Groups {}

/// Maps (`/map/{name}/json`, `setMap`): listed as when each was last set (ms epoch).
#[derive(Debug)]
pub enum Maps {}

/// sFlow forwarding sessions (`/forwarding/{name}/json`): listed as their definitions.
#[derive(Debug)]
pub enum Forwardings {}

/// Tenants (`/tenant/{name}/json`): listed as what was forwarded to each.
#[derive(Debug)]
pub enum Tenants {}

/// `impl Registry for $kind`, delegating to the engine's per-kind methods (`$set` takes `now` first unless
/// marked `untimed`).
macro_rules! registry {
    ($kind:ty, $object_kind:ident, $object:ty, $listed:ty,
     $set:ident $(($untimed:ident))?, $get:ident, $list:ident, $delete:ident) => {
        impl Registry for $kind {
            const KIND: ObjectKind = ObjectKind::$object_kind;
            type Object = $object;
            type Listed = $listed;

            fn set(engine: &mut Engine, now: Millis, name: &str, object: $object) -> Result<(), EngineError> {
                registry!(@set engine, now, name, object, $set $(, $untimed)?)
            }
            fn get(engine: &Engine, name: &str) -> Option<$object> {
                engine.$get(name)
            }
            fn list(engine: &Engine) -> BTreeMap<String, $listed> {
                engine.$list()
            }
            fn delete(engine: &mut Engine, name: &str) -> Result<(), EngineError> {
                engine.$delete(name)
            }
        }
    };
    (@set $engine:ident, $now:ident, $name:ident, $object:ident, $set:ident) => {
        $engine.$set($now, $name, $object)
    };
    (@set $engine:ident, $now:ident, $name:ident, $object:ident, $set:ident, untimed) => {{
        let _ = $now;
        $engine.$set($name, $object)
    }};
}

registry!(
    Flows,
    Flow,
    FlowDefinition,
    FlowDefinition,
    set_flow,
    flow,
    flows,
    delete_flow
);
registry!(
    Thresholds,
    Threshold,
    Threshold,
    Threshold,
    set_threshold,
    threshold,
    thresholds,
    delete_threshold
);
registry!(
    Groups,
    Group,
    AddressGroup,
    Millis,
    set_group,
    group,
    group_updates,
    delete_group
);
registry!(
    Maps,
    Map,
    LookupMap,
    Millis,
    set_map,
    map,
    map_updates,
    delete_map
);
registry!(
    Forwardings,
    Forwarding,
    Forwarding,
    Forwarding,
    set_forwarding(untimed),
    forwarding,
    forwardings,
    delete_forwarding
);
registry!(
    Tenants,
    Tenant,
    Tenant,
    TenantStats,
    set_tenant(untimed),
    tenant,
    tenants,
    delete_tenant
);

impl Groups {
    /// A group from its JSON (`{label: [cidr, …]}`), as PUT or set by a script.
    pub fn parse(name: &str, json: &Value) -> Result<AddressGroup, EngineError> {
        AddressGroup::from_json(json).map_err(|cause| EngineError::Lookup {
            kind: ObjectKind::Group,
            name: name.to_string(),
            cause,
        })
    }
}

impl Maps {
    /// A map from its JSON (`{label: [value, …]}`), as PUT or set by a script.
    pub fn parse(name: &str, json: &Value) -> Result<LookupMap, EngineError> {
        LookupMap::from_json(json).map_err(|cause| EngineError::Lookup {
            kind: ObjectKind::Map,
            name: name.to_string(),
            cause,
        })
    }
}

impl Engine {
    /// Creates or replaces the object `name` of kind `R` at `now` (see [`Registry::set`]).
    pub fn set_object<R: Registry>(
        &mut self,
        now: Millis,
        name: &str,
        object: R::Object,
    ) -> Result<(), EngineError> {
        R::set(self, now, name, object)
    }

    /// The object `name` of kind `R`.
    pub fn object<R: Registry>(&self, name: &str) -> Option<R::Object> {
        R::get(self, name)
    }

    /// Every object of kind `R`, as the kind lists them.
    pub fn objects<R: Registry>(&self) -> BTreeMap<String, R::Listed> {
        R::list(self)
    }

    /// Deletes the object `name` of kind `R`.
    pub fn delete_object<R: Registry>(&mut self, name: &str) -> Result<(), EngineError> {
        R::delete(self, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EngineError;

    const NOW: Millis = 1_700_000_000_000;

    /// The same create / read / replace / list / delete cycle on one kind; `view` shows an object as JSON
    /// (to compare them).
    fn cycle<R: Registry>(first: R::Object, second: R::Object, view: fn(&R::Object) -> Value) {
        let mut engine = Engine::default();
        let kind = R::KIND;
        let read = |engine: &Engine, name: &str| engine.object::<R>(name).as_ref().map(view);
        assert!(read(&engine, "a").is_none(), "{kind}: empty at first");
        assert!(engine.objects::<R>().is_empty());
        engine
            .set_object::<R>(NOW, "a", first.clone())
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(read(&engine, "a"), Some(view(&first)));
        engine
            .set_object::<R>(NOW + 1, "a", second.clone())
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(read(&engine, "a"), Some(view(&second)), "{kind}: replaced");
        assert_ne!(view(&first), view(&second));
        engine
            .set_object::<R>(NOW + 2, "b", second.clone())
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let names: Vec<String> = engine.objects::<R>().into_keys().collect();
        assert_eq!(names, ["a", "b"], "{kind}");
        engine
            .delete_object::<R>("a")
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(read(&engine, "a").is_none());
        assert!(
            matches!(
                engine.delete_object::<R>("a"),
                Err(EngineError::NotFound { kind: k, .. }) if k == kind
            ),
            "{kind}: deleting twice is not found"
        );
        let invalid = engine.set_object::<R>(NOW, "", second);
        assert!(
            matches!(invalid, Err(EngineError::InvalidName { .. })),
            "{kind}: an empty name is refused: {invalid:?}"
        );
    }

    fn serialized<T: Serialize>(object: &T) -> Value {
        serde_json::to_value(object).unwrap_or_default()
    }

    fn json<T: serde::de::DeserializeOwned>(text: &str) -> T {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn every_kind_has_the_same_create_read_replace_list_delete_cycle() {
        cycle::<Flows>(
            FlowDefinition::new("ipsource", "bytes"),
            FlowDefinition::new("ipsource,ipdestination", "frames"),
            serialized,
        );
        cycle::<Thresholds>(
            json(r#"{"metric":"ifinutilization","value":80}"#),
            json(r#"{"metric":"ifoututilization","value":90}"#),
            serialized,
        );
        let group =
            |text: &str| Groups::parse("g", &json::<Value>(text)).unwrap_or_else(|e| panic!("{e}"));
        cycle::<Groups>(
            group(r#"{"lan":["10.0.0.0/8"]}"#),
            group(r#"{"lan":["192.168.0.0/16"]}"#),
            AddressGroup::to_json,
        );
        let map =
            |text: &str| Maps::parse("m", &json::<Value>(text)).unwrap_or_else(|e| panic!("{e}"));
        cycle::<Maps>(
            map(r#"{"web":["80"]}"#),
            map(r#"{"dns":["53"]}"#),
            LookupMap::to_json,
        );
        cycle::<Forwardings>(
            json(r#"{"address":"127.0.0.1","port":7001}"#),
            json(r#"{"address":"127.0.0.1","port":7002}"#),
            serialized,
        );
        cycle::<Tenants>(
            json(
                r#"{"collectorAddress":"127.0.0.1","collectorPort":7003,"filters":{"cidr":["10.0.0.0/8"]}}"#,
            ),
            json(
                r#"{"collectorAddress":"127.0.0.1","collectorPort":7004,"filters":{"cidr":["10.0.0.0/8"]}}"#,
            ),
            serialized,
        );
    }

    #[test]
    fn groups_and_maps_are_listed_by_when_they_were_last_set() {
        let mut engine = Engine::default();
        let group = Groups::parse("g", &json::<Value>(r#"{"lan":["10.0.0.0/8"]}"#))
            .unwrap_or_else(|e| panic!("{e}"));
        engine
            .set_object::<Groups>(NOW + 5, "g", group)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(engine.objects::<Groups>().get("g"), Some(&(NOW + 5)));
        let bad = Groups::parse("g", &json::<Value>(r#"{"lan":["not an address"]}"#));
        assert!(
            matches!(
                bad,
                Err(EngineError::Lookup {
                    kind: ObjectKind::Group,
                    ..
                })
            ),
            "{bad:?}"
        );
    }
}
