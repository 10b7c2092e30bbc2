//! The sFlow-RT JavaScript API (spec sflow-rt-apps.md §5 and §7, tiers 1–3 plus tier-4 BGP stubs), installed
//! as ordinary writable globals of each script. Every function reaches the engine through [`crate::Host`]
//! with the same typed engine calls the REST handlers make, holding the engine lock only for that call.
//!
//! Arguments are coerced as sFlow-RT does (numbers given as strings, lists as strings or arrays); results are
//! plain JS values.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rquickjs::function::Rest;
use rquickjs::{Array, CatchResultExt, Ctx, Exception, Function, Object, Value};
use rtflow_engine::{
    ActiveFlowQuery, AgentSelector, AggMode, DataSource, Event, FlowDefinition, FlowRecord, Flows,
    Groups, HostLocation, Maps, MetricSelection, MetricSpec, QueryFilter, SortSpec, Threshold,
    Thresholds, Topology, parse_mac,
};
use serde_json::{Map, Value as Json, json};

use crate::baseline::Baseline;
use crate::command::{self, CommandCall};
use crate::convert::{float_json, from_js, to_js, to_text};
use crate::format::format_number;
use crate::net::{self, HttpCall, HttpReply};
use crate::request::ScriptRequest;
use crate::runtime::{AsyncJob, Env, as_callback, eval_file};
use crate::store::Store;

/// Why an API call failed; thrown into the script as an `Error`.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("{0}")]
    Message(String),
    #[error(transparent)]
    Js(#[from] rquickjs::Error),
}

type ApiResult<'js> = Result<Value<'js>, ApiError>;

fn fail<T>(message: impl Into<String>) -> Result<T, ApiError> {
    Err(ApiError::Message(message.into()))
}

/// Names of every installed API function (for `wrapglobals`).
const API_NAMES: &[&str] = &[
    "include",
    "scriptdir",
    "setHttpHandler",
    "clearHttpHandler",
    "setIntervalHandler",
    "clearIntervalHandler",
    "setFlowHandler",
    "clearFlowHandler",
    "setEventHandler",
    "clearEventHandler",
    "setFlow",
    "clearFlow",
    "activeFlows",
    "flowKeys",
    "flowValue",
    "metric",
    "table",
    "dump",
    "agents",
    "datasourceInfo",
    "getSystemProperty",
    "getSystemPropertyNames",
    "setThreshold",
    "clearThreshold",
    "thresholdTriggered",
    "setGroups",
    "setMap",
    "setTopology",
    "getTopology",
    "topologyVersion",
    "topologyDiameter",
    "topologyNodeNames",
    "topologyLinkNames",
    "topologyLink",
    "topologyNodeLinks",
    "topologyAgentForNode",
    "topologyNodesForAgent",
    "topologyInterfaceToPort",
    "topologyInterfacetoPort",
    "topologyInterfaceToLink",
    "topologyLinkMetric",
    "topologyLocatedHostMacs",
    "topologyLocateHostMac",
    "topologyLocateHostIP",
    "topologyLocateHostIP6",
    "storeGet",
    "storeSet",
    "storeDelete",
    "storeKeys",
    "sharedGet",
    "sharedSet",
    "sharedDelete",
    "sharedKeys",
    "logFine",
    "logDebug",
    "logInfo",
    "logWarning",
    "logSevere",
    "syslog",
    "http",
    "http2",
    "httpAsync",
    "dnsGetAllByName",
    "runCmd",
    "formatNumber",
    "version",
    "baselineCreate",
    "baselineCheck",
    "baselineStatistics",
    "baselineReset",
    "baselineDelete",
    "bgpAddNeighbor",
    "bgpRemoveNeighbor",
    "bgpAddSource",
    "bgpRemoveSource",
    "bgpAddRoute",
    "bgpRemoveRoute",
    "bgpRouteCount",
    "bgpAddFlow",
    "bgpRemoveFlow",
    "bgpFlowCount",
    "bgpTopPrefixes",
    "bgpTopPrefixes6",
    "bgpSetNextHops",
];

/// Helpers the runtime needs: `for each` values and engine-time `Date` (so scripts see the engine's clock,
/// which runs faster during a sped-up replay and equals wall-clock time otherwise).
const PRELUDE: &str = r#"
Object.defineProperty(globalThis, '__sfrtEach', {enumerable: false, writable: true, configurable: true,
  value: function(o) {
    if (o === null || o === undefined) return [];
    if (Array.isArray(o)) return o;
    var out = []; for (var k in o) out.push(o[k]); return out;
  }});
(function() {
  var RealDate = Date, now = __rtflowNow;
  function EngineDate() {
    if (!new.target) return new RealDate(now()).toString();
    if (arguments.length === 0) return new RealDate(now());
    return Reflect.construct(RealDate, arguments, new.target === EngineDate ? RealDate : new.target);
  }
  EngineDate.prototype = RealDate.prototype;
  EngineDate.now = now;
  EngineDate.UTC = RealDate.UTC;
  EngineDate.parse = RealDate.parse;
  Object.defineProperty(RealDate.prototype, 'constructor', {value: EngineDate, writable: true, configurable: true});
  Object.defineProperty(globalThis, 'Date', {value: EngineDate, writable: true, configurable: true, enumerable: false});
  delete globalThis.__rtflowNow;
})();
"#;

// ---------------------------------------------------------------------------------------------------------------
// Argument coercion

fn arg<'a, 'js>(args: &'a [Value<'js>], i: usize) -> Option<&'a Value<'js>> {
    args.get(i).filter(|v| !v.is_undefined() && !v.is_null())
}

/// A string argument; numbers and arrays coerce as `String(v)` does.
fn arg_str(args: &[Value<'_>], i: usize) -> Option<String> {
    arg(args, i).and_then(to_text)
}

fn need_str(args: &[Value<'_>], i: usize, what: &str) -> Result<String, ApiError> {
    arg_str(args, i).ok_or_else(|| ApiError::Message(format!("{what} is required")))
}

/// A numeric argument; numeric strings are parsed.
fn arg_f64(args: &[Value<'_>], i: usize) -> Option<f64> {
    let value = arg(args, i)?;
    if let Some(n) = value.as_number() {
        return Some(n);
    }
    to_text(value)?.trim().parse().ok()
}

/// A list given as a string (`"a,b"`) or an array (`["a","b"]`), as one comma-joined string.
fn arg_list(args: &[Value<'_>], i: usize) -> Option<String> {
    let value = arg(args, i)?;
    if let Some(array) = value.as_array() {
        let items: Vec<String> = array
            .iter::<Value>()
            .flatten()
            .filter_map(|v| to_text(&v))
            .collect();
        return Some(items.join(","));
    }
    to_text(value)
}

fn arg_names(args: &[Value<'_>], i: usize) -> Option<Vec<String>> {
    let value = arg(args, i)?;
    match value.as_array() {
        Some(array) => Some(
            array
                .iter::<Value>()
                .flatten()
                .filter_map(|v| to_text(&v))
                .collect(),
        ),
        None => to_text(value).map(|s| s.split(',').map(|x| x.trim().to_string()).collect()),
    }
}

fn agents_arg(args: &[Value<'_>], i: usize) -> Result<AgentSelector, ApiError> {
    let text = arg_list(args, i).unwrap_or_else(|| "ALL".to_string());
    AgentSelector::parse(&text).map_err(|e| ApiError::Message(e.to_string()))
}

fn ip_arg(args: &[Value<'_>], i: usize) -> Option<IpAddr> {
    arg_str(args, i)?.trim().parse().ok()
}

fn ifindex_arg(args: &[Value<'_>], i: usize) -> Option<u32> {
    let n = arg_f64(args, i)?;
    (n.is_finite() && n >= 0.0 && n <= f64::from(u32::MAX)).then_some(n as u32)
}

/// `{attr: [values]}` (scalars accepted) as a metric query filter.
fn filter_arg(args: &[Value<'_>], i: usize) -> QueryFilter {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(Json::Object(object)) = arg(args, i).and_then(from_js) {
        for (key, value) in object {
            let values = match value {
                Json::Array(items) => items.iter().filter_map(json_text).collect(),
                other => json_text(&other).into_iter().collect(),
            };
            map.insert(key, values);
        }
    }
    QueryFilter::from_map(&map)
}

fn json_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        }),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn js<'js>(ctx: &Ctx<'js>, value: impl serde::Serialize) -> ApiResult<'js> {
    let json = serde_json::to_value(value).map_err(|e| ApiError::Message(e.to_string()))?;
    Ok(to_js(ctx, &json)?)
}

fn undefined<'js>(ctx: &Ctx<'js>) -> ApiResult<'js> {
    Ok(Value::new_undefined(ctx.clone()))
}

fn boolean<'js>(ctx: &Ctx<'js>, b: bool) -> ApiResult<'js> {
    Ok(Value::new_bool(ctx.clone(), b))
}

fn null<'js>(ctx: &Ctx<'js>) -> ApiResult<'js> {
    Ok(Value::new_null(ctx.clone()))
}

fn number<'js>(ctx: &Ctx<'js>, n: f64) -> ApiResult<'js> {
    Ok(Value::new_number(ctx.clone(), n))
}

fn string<'js>(ctx: &Ctx<'js>, s: &str) -> ApiResult<'js> {
    Ok(rquickjs::String::from_str(ctx.clone(), s)?.into_value())
}

/// Coerces fields that scripts pass as strings (`t:"2"`, `log:"true"`) to the types definitions expect.
fn coerce_fields(spec: &mut Map<String, Json>, numbers: &[&str], booleans: &[&str]) {
    for field in numbers {
        if let Some(Json::String(text)) = spec.get(*field)
            && let Ok(n) = text.trim().parse::<f64>()
        {
            spec.insert((*field).to_string(), float_json(n));
        }
    }
    for field in booleans {
        if let Some(Json::String(text)) = spec.get(*field) {
            let b = text.trim().eq_ignore_ascii_case("true");
            spec.insert((*field).to_string(), Json::Bool(b));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Installation

/// Installs the prelude and every API function as writable, configurable globals.
pub(crate) fn install(ctx: &Ctx<'_>, env: &Rc<Env>) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    let env_now = env.clone();
    globals.set(
        "__rtflowNow",
        Function::new(ctx.clone(), move || env_now.host().now() as f64)?,
    )?;
    ctx.eval::<(), _>(PRELUDE)?;
    install_handlers(ctx, &globals, env)?;
    install_flows(ctx, &globals, env)?;
    install_metrics(ctx, &globals, env)?;
    install_topology(ctx, &globals, env)?;
    install_state(ctx, &globals, env)?;
    install_network(ctx, &globals, env)?;
    install_bgp(ctx, &globals)?;
    Ok(())
}

/// `// wrapglobals: NAME`: moves the API from the global scope into the object `NAME`.
pub(crate) fn wrap_globals(ctx: &Ctx<'_>, namespace: &str) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    let wrapper = Object::new(ctx.clone())?;
    for name in API_NAMES {
        let value: Value = globals.get(*name)?;
        wrapper.set(*name, value)?;
        globals.remove(*name)?;
    }
    globals.set(namespace, wrapper)
}

fn define<'js, F>(ctx: &Ctx<'js>, globals: &Object<'js>, name: &str, f: F) -> rquickjs::Result<()>
where
    F: Fn(&Ctx<'js>, &[Value<'js>]) -> ApiResult<'js> + 'js,
{
    let function = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> rquickjs::Result<Value<'js>> {
            match f(&ctx, &args.0) {
                Ok(value) => Ok(value),
                Err(ApiError::Js(error)) => Err(error),
                Err(ApiError::Message(message)) => Err(Exception::throw_message(&ctx, &message)),
            }
        },
    )?
    .with_name(name)?;
    globals.set(name, function)
}

fn install_handlers<'js>(ctx: &Ctx<'js>, g: &Object<'js>, env: &Rc<Env>) -> rquickjs::Result<()> {
    let e = env.clone();
    define(ctx, g, "include", move |ctx, args| {
        let file = need_str(args, 0, "include: path")?;
        let path = Path::new(&file);
        let path: PathBuf = if path.is_absolute() {
            path.to_path_buf()
        } else {
            e.spec.dir().join(path)
        };
        let source = std::fs::read_to_string(&path)
            .map_err(|err| ApiError::Message(format!("include {}: {err}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(file);
        match eval_file(ctx, &source, &name) {
            Ok(()) => undefined(ctx),
            Err(caught) => Err(ApiError::Js(caught.throw(ctx))),
        }
    })?;
    let e = env.clone();
    define(ctx, g, "scriptdir", move |ctx, _| {
        string(ctx, &e.spec.dir().display().to_string())
    })?;
    let e = env.clone();
    define(ctx, g, "setHttpHandler", move |ctx, args| {
        e.handlers.borrow_mut().http = args.first().and_then(|f| as_callback(ctx, f));
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "clearHttpHandler", move |ctx, _| {
        e.handlers.borrow_mut().http = None;
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "setIntervalHandler", move |ctx, args| {
        let seconds = arg_f64(args, 1)
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(1.0);
        let period = ((seconds * 1000.0) as u64).max(100);
        let mut handlers = e.handlers.borrow_mut();
        handlers.interval = args
            .first()
            .and_then(|f| as_callback(ctx, f))
            .map(|c| (c, period));
        handlers.next_interval = None;
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "clearIntervalHandler", move |ctx, _| {
        e.handlers.borrow_mut().interval = None;
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "setFlowHandler", move |ctx, args| {
        let callback = args.first().and_then(|f| as_callback(ctx, f));
        let names = arg_names(args, 1);
        let subscription = callback.as_ref().map(|_| {
            e.host()
                .engine()
                .subscribe_flows(e.shared.limits.max_flow_queue, names)
        });
        if let Some(subscription) = &subscription {
            e.status
                .flow_subscriptions
                .lock()
                .push(subscription.stats());
        }
        e.handlers.borrow_mut().flow = callback.zip(subscription);
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "clearFlowHandler", move |ctx, _| {
        e.handlers.borrow_mut().flow = None;
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "setEventHandler", move |ctx, args| {
        let callback = args.first().and_then(|f| as_callback(ctx, f));
        let names = arg_names(args, 1);
        let subscription = callback.as_ref().map(|_| {
            e.host()
                .engine()
                .subscribe_events(e.shared.limits.max_event_queue, names)
        });
        if let Some(subscription) = &subscription {
            e.status
                .event_subscriptions
                .lock()
                .push(subscription.stats());
        }
        e.handlers.borrow_mut().event = callback.zip(subscription);
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "clearEventHandler", move |ctx, _| {
        e.handlers.borrow_mut().event = None;
        undefined(ctx)
    })?;
    Ok(())
}

fn install_flows<'js>(ctx: &Ctx<'js>, g: &Object<'js>, env: &Rc<Env>) -> rquickjs::Result<()> {
    let e = env.clone();
    define(ctx, g, "setFlow", move |ctx, args| {
        let name = need_str(args, 0, "setFlow: name")?;
        let Some(Json::Object(mut spec)) = arg(args, 1).and_then(from_js) else {
            return fail(format!("setFlow {name}: the definition must be an object"));
        };
        coerce_fields(
            &mut spec,
            &["t", "n", "activeTimeout"],
            &["log", "flowStart", "dropped"],
        );
        let definition = FlowDefinition::from_json_value(&Json::Object(spec))
            .map_err(|err| ApiError::Message(format!("setFlow {name}: {err}")))?;
        let now = e.host().now();
        let mut engine = e.host().engine();
        // Setting the same definition again keeps the flow's state (as a REST PUT of it does).
        if engine.object::<Flows>(&name).as_ref() == Some(&definition) {
            return undefined(ctx);
        }
        engine
            .set_object::<Flows>(now, &name, definition)
            .map_err(|err| ApiError::Message(format!("setFlow {name}: {err}")))?;
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "clearFlow", move |ctx, args| {
        let name = need_str(args, 0, "clearFlow: name")?;
        let removed = e.host().engine().delete_object::<Flows>(&name).is_ok();
        boolean(ctx, removed)
    })?;
    let e = env.clone();
    define(ctx, g, "activeFlows", move |ctx, args| {
        let selector = agents_arg(args, 0)?;
        let name = need_str(args, 1, "activeFlows: flow name")?;
        let mut query = ActiveFlowQuery::default();
        if let Some(max) = arg_f64(args, 2).filter(|m| m.is_finite() && *m >= 0.0) {
            query.max_flows = max as usize;
        }
        if let Some(min) = arg_f64(args, 3).filter(|m| m.is_finite()) {
            query.min_value = min;
        }
        if let Some(mode) = arg_str(args, 4) {
            query.agg_mode = Some(AggMode::parse(&mode).ok_or_else(|| {
                ApiError::Message(format!("activeFlows: unknown aggMode {mode:?}"))
            })?);
        }
        let now = e.host().now();
        let flows = e
            .host()
            .engine()
            .active_flows(now, &selector, &name, &query);
        match flows {
            Ok(flows) => js(ctx, flows),
            Err(err) if err.is_not_found() => Ok(Array::new(ctx.clone())?.into_value()),
            Err(err) => fail(format!("activeFlows: {err}")),
        }
    })?;
    let e = env.clone();
    define(ctx, g, "flowKeys", move |ctx, _| {
        let now = e.host().now();
        let keys = e.host().engine().flow_keys(now);
        js(ctx, keys)
    })?;
    let e = env.clone();
    define(ctx, g, "flowValue", move |ctx, args| {
        let agent = ip_arg(args, 0);
        let name = need_str(args, 1, "flowValue: dataSource.flow")?;
        let key = arg_str(args, 2).unwrap_or_default();
        let (source, flow) = name.split_once('.').ok_or_else(|| {
            ApiError::Message(format!("flowValue: expected dataSource.flow, got {name:?}"))
        })?;
        let (Some(agent), Ok(source)) = (agent, source.parse::<DataSource>()) else {
            return number(ctx, 0.0);
        };
        let now = e.host().now();
        let found = e.host().engine().flow_value(now, agent, source, flow, &key);
        number(ctx, found.map_or(0.0, |f| f.value))
    })?;
    let e = env.clone();
    define(ctx, g, "setThreshold", move |ctx, args| {
        let name = need_str(args, 0, "setThreshold: name")?;
        let Some(Json::Object(mut spec)) = arg(args, 1).and_then(from_js) else {
            return fail(format!(
                "setThreshold {name}: the definition must be an object"
            ));
        };
        coerce_fields(&mut spec, &["value", "timeout"], &["byFlow"]);
        let threshold: Threshold = serde_json::from_value(Json::Object(spec))
            .map_err(|err| ApiError::Message(format!("setThreshold {name}: {err}")))?;
        let now = e.host().now();
        e.host()
            .engine()
            .set_object::<Thresholds>(now, &name, threshold)
            .map_err(|err| ApiError::Message(format!("setThreshold {name}: {err}")))?;
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "clearThreshold", move |ctx, args| {
        let name = need_str(args, 0, "clearThreshold: name")?;
        boolean(
            ctx,
            e.host().engine().delete_object::<Thresholds>(&name).is_ok(),
        )
    })?;
    let e = env.clone();
    define(ctx, g, "thresholdTriggered", move |ctx, args| {
        let name = need_str(args, 0, "thresholdTriggered: threshold")?;
        let agent = ip_arg(args, 1);
        let metric = arg_str(args, 2).unwrap_or_default();
        let source = metric.split_once('.').map_or(metric.as_str(), |(ds, _)| ds);
        let flow_key = arg_str(args, 3);
        let states = e
            .host()
            .engine()
            .threshold_triggered(&name)
            .unwrap_or_default();
        let triggered = states.iter().any(|s| {
            Some(s.agent) == agent
                && s.data_source == source
                && flow_key
                    .as_ref()
                    .is_none_or(|k| s.flow_key.as_ref() == Some(k))
        });
        boolean(ctx, triggered)
    })?;
    Ok(())
}

fn install_metrics<'js>(ctx: &Ctx<'js>, g: &Object<'js>, env: &Rc<Env>) -> rquickjs::Result<()> {
    let e = env.clone();
    define(ctx, g, "metric", move |ctx, args| {
        let selector = agents_arg(args, 0)?;
        let names = arg_list(args, 1).unwrap_or_default();
        let specs = MetricSpec::parse_list(&names)
            .map_err(|err| ApiError::Message(format!("metric: {err}")))?;
        let filter = filter_arg(args, 2);
        let now = e.host().now();
        let stats = e.host().engine().metric(now, &selector, &specs, &filter);
        js(ctx, stats)
    })?;
    let e = env.clone();
    define(ctx, g, "dump", move |ctx, args| {
        let selector = agents_arg(args, 0)?;
        let selection = MetricSelection::parse(&arg_list(args, 1).unwrap_or_else(|| "ALL".into()));
        let filter = filter_arg(args, 2);
        let now = e.host().now();
        let rows = e.host().engine().dump(now, &selector, &selection, &filter);
        js(ctx, rows)
    })?;
    let e = env.clone();
    define(ctx, g, "table", move |ctx, args| {
        let selector = agents_arg(args, 0)?;
        let text = arg_list(args, 1).unwrap_or_default();
        let (sort, names) = SortSpec::split_table_metrics(&text)
            .map_err(|err| ApiError::Message(format!("table: {err}")))?;
        let filter = filter_arg(args, 2);
        let now = e.host().now();
        let rows = e
            .host()
            .engine()
            .table(now, &selector, sort.as_ref(), &names, &filter);
        js(ctx, rows)
    })?;
    let e = env.clone();
    define(ctx, g, "agents", move |ctx, args| {
        let only: Vec<IpAddr> = arg_names(args, 0)
            .unwrap_or_default()
            .iter()
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        if arg(args, 0).is_some() && only.is_empty() {
            return Ok(Object::new(ctx.clone())?.into_value());
        }
        let now = e.host().now();
        let agents = e.host().engine().agents(now, &only);
        js(ctx, agents)
    })?;
    let e = env.clone();
    define(ctx, g, "datasourceInfo", move |ctx, args| {
        let (Some(agent), Some(source)) = (ip_arg(args, 0), arg_str(args, 1)) else {
            return null(ctx);
        };
        let Ok(source) = source.parse::<DataSource>() else {
            return null(ctx);
        };
        let info = e.host().engine().datasource_info(agent, source);
        match info {
            Some(info) => js(ctx, info),
            None => null(ctx),
        }
    })?;
    let e = env.clone();
    define(
        ctx,
        g,
        "getSystemProperty",
        move |ctx, args| match arg_str(args, 0).and_then(|name| e.host().property(&name)) {
            Some(value) => string(ctx, &value),
            None => null(ctx),
        },
    )?;
    let e = env.clone();
    define(ctx, g, "getSystemPropertyNames", move |ctx, _| {
        js(ctx, e.host().property_names())
    })?;
    let e = env.clone();
    define(ctx, g, "version", move |ctx, _| {
        string(ctx, &e.host().version())
    })?;
    let e = env.clone();
    define(ctx, g, "setGroups", move |ctx, args| {
        let name = need_str(args, 0, "setGroups: name")?;
        let groups = arg(args, 1).and_then(from_js).unwrap_or(Json::Null);
        let now = e.host().now();
        let result = Groups::parse(&name, &groups)
            .and_then(|group| e.host().engine().set_object::<Groups>(now, &name, group));
        if let Err(err) = &result {
            tracing::warn!("script {}: setGroups {name}: {err}", e.spec.id);
        }
        boolean(ctx, result.is_ok())
    })?;
    let e = env.clone();
    define(ctx, g, "setMap", move |ctx, args| {
        let name = need_str(args, 0, "setMap: name")?;
        let map = arg(args, 1).and_then(from_js).unwrap_or(Json::Null);
        let now = e.host().now();
        let result = Maps::parse(&name, &map)
            .and_then(|parsed| e.host().engine().set_object::<Maps>(now, &name, parsed));
        if let Err(err) = &result {
            tracing::warn!("script {}: setMap {name}: {err}", e.spec.id);
        }
        boolean(ctx, result.is_ok())
    })?;
    Ok(())
}

fn install_topology<'js>(ctx: &Ctx<'js>, g: &Object<'js>, env: &Rc<Env>) -> rquickjs::Result<()> {
    let e = env.clone();
    define(ctx, g, "setTopology", move |ctx, args| {
        let json = arg(args, 0).and_then(from_js).unwrap_or(Json::Null);
        let Ok(topology) = serde_json::from_value::<Topology>(json) else {
            return boolean(ctx, false);
        };
        let now = e.host().now();
        let result = e.host().engine().set_topology(now, topology);
        if let Err(err) = &result {
            tracing::warn!("script {}: setTopology: {err}", e.spec.id);
        }
        boolean(ctx, result.is_ok())
    })?;
    let e = env.clone();
    define(ctx, g, "getTopology", move |ctx, _| {
        let topology = e.host().engine().topology().clone();
        js(ctx, topology)
    })?;
    let e = env.clone();
    define(ctx, g, "topologyVersion", move |ctx, _| {
        let version = e.host().engine().topology_version();
        if version == 0 {
            null(ctx)
        } else {
            number(ctx, version as f64)
        }
    })?;
    let e = env.clone();
    define(ctx, g, "topologyDiameter", move |ctx, _| {
        number(ctx, f64::from(e.host().engine().topology_diameter()))
    })?;
    let e = env.clone();
    define(ctx, g, "topologyNodeNames", move |ctx, _| {
        js(ctx, e.host().engine().topology_node_names())
    })?;
    let e = env.clone();
    define(ctx, g, "topologyLinkNames", move |ctx, _| {
        let names: Vec<String> = e.host().engine().topology().links.keys().cloned().collect();
        js(ctx, names)
    })?;
    let e = env.clone();
    define(ctx, g, "topologyLink", move |ctx, args| {
        let name = arg_str(args, 0).unwrap_or_default();
        let link = e.host().engine().topology().links.get(&name).cloned();
        match link {
            Some(link) => js(ctx, link),
            None => null(ctx),
        }
    })?;
    let e = env.clone();
    define(ctx, g, "topologyNodeLinks", move |ctx, args| {
        let node = arg_str(args, 0).unwrap_or_default();
        js(ctx, e.host().engine().topology_node_links(&node))
    })?;
    let e = env.clone();
    define(ctx, g, "topologyAgentForNode", move |ctx, args| {
        let node = arg_str(args, 0).unwrap_or_default();
        match e.host().engine().topology_agent_for_node(&node) {
            Some(agent) => string(ctx, &agent.to_string()),
            None => null(ctx),
        }
    })?;
    let e = env.clone();
    define(ctx, g, "topologyNodesForAgent", move |ctx, args| {
        let Some(agent) = ip_arg(args, 0) else {
            return js(ctx, Vec::<String>::new());
        };
        js(
            ctx,
            e.host()
                .engine()
                .topology_nodes_for_agent(agent, ifindex_arg(args, 1)),
        )
    })?;
    for name in ["topologyInterfaceToPort", "topologyInterfacetoPort"] {
        let e = env.clone();
        define(ctx, g, name, move |ctx, args| {
            let (Some(agent), Some(ifindex)) = (ip_arg(args, 0), ifindex_arg(args, 1)) else {
                return null(ctx);
            };
            let port = e.host().engine().topology_interface_to_port(agent, ifindex);
            match port {
                Some(port) => Ok(to_js(ctx, &port)?),
                None => null(ctx),
            }
        })?;
    }
    let e = env.clone();
    define(ctx, g, "topologyInterfaceToLink", move |ctx, args| {
        let (Some(agent), Some(ifindex)) = (ip_arg(args, 0), ifindex_arg(args, 1)) else {
            return null(ctx);
        };
        let link = e.host().engine().topology_interface_to_link(agent, ifindex);
        match link {
            Some(link) => js(ctx, link),
            None => null(ctx),
        }
    })?;
    let e = env.clone();
    define(ctx, g, "topologyLinkMetric", move |ctx, args| {
        let link = arg_str(args, 0).unwrap_or_default();
        let names = arg_list(args, 1).unwrap_or_default();
        let names: Vec<&str> = names.split([',', ';']).filter(|n| !n.is_empty()).collect();
        let now = e.host().now();
        let engine = e.host().engine();
        let Some(link) = engine.topology().links.get(&link).cloned() else {
            return null(ctx);
        };
        let mut out: Vec<Json> = Vec::new();
        for (node, port) in [(&link.node1, &link.port1), (&link.node2, &link.port2)] {
            let interface = engine.topology_port_interface(node, port);
            for name in &names {
                let stat = interface.and_then(|(agent, ifindex)| {
                    let spec = MetricSpec::parse(&format!("{ifindex}.{name}")).ok()?;
                    let selector = AgentSelector::parse(&agent.to_string()).ok()?;
                    engine
                        .metric(now, &selector, &[spec], &QueryFilter::default())
                        .into_iter()
                        .next()
                });
                let mut json = stat
                    .and_then(|s| serde_json::to_value(s).ok())
                    .unwrap_or_else(|| json!({}));
                if let Json::Object(object) = &mut json {
                    object.insert("metricName".into(), Json::String((*name).to_string()));
                    object.insert("node".into(), Json::String(node.clone()));
                    object.insert("port".into(), Json::String(port.clone()));
                }
                out.push(json);
            }
        }
        drop(engine);
        Ok(to_js(ctx, &Json::Array(out))?)
    })?;
    // Host location: MACs learned from flow samples entering edge ports of the topology.
    let e = env.clone();
    define(ctx, g, "topologyLocatedHostMacs", move |ctx, args| {
        let now = e.host().now();
        let macs = e
            .host()
            .engine()
            .located_host_macs(now, ip_arg(args, 0), ifindex_arg(args, 1));
        js(ctx, macs)
    })?;
    let e = env.clone();
    define(ctx, g, "topologyLocateHostMac", move |ctx, args| {
        let Some(mac) = arg_str(args, 0).and_then(|text| parse_mac(&text)) else {
            return null(ctx);
        };
        let now = e.host().now();
        let locations = e.host().engine().locate_host_mac(now, mac);
        locations_or_null(ctx, locations)
    })?;
    for (name, want_v6) in [
        ("topologyLocateHostIP", false),
        ("topologyLocateHostIP6", true),
    ] {
        let e = env.clone();
        define(ctx, g, name, move |ctx, args| {
            let Some(ip) = ip_arg(args, 0).filter(|ip| ip.is_ipv6() == want_v6) else {
                return null(ctx);
            };
            let now = e.host().now();
            let locations = e.host().engine().locate_host_ip(now, ip);
            locations_or_null(ctx, locations)
        })?;
    }
    Ok(())
}

/// sFlow-RT answers `null` for a host it has not located (apps test `if(!locs)`).
fn locations_or_null<'js>(ctx: &Ctx<'js>, locations: Vec<HostLocation>) -> ApiResult<'js> {
    if locations.is_empty() {
        return null(ctx);
    }
    js(ctx, locations)
}

fn install_state<'js>(ctx: &Ctx<'js>, g: &Object<'js>, env: &Rc<Env>) -> rquickjs::Result<()> {
    let store = Rc::new(Store::new(&env.shared.store_root, &env.spec.id));
    let s = store.clone();
    define(ctx, g, "storeGet", move |ctx, args| {
        let key = need_str(args, 0, "storeGet: key")?;
        match s
            .get(&key)
            .map_err(|err| ApiError::Message(err.to_string()))?
        {
            Some(value) => Ok(to_js(ctx, &value)?),
            None => null(ctx),
        }
    })?;
    let s = store.clone();
    define(ctx, g, "storeSet", move |ctx, args| {
        let key = need_str(args, 0, "storeSet: key")?;
        let value = arg(args, 1).and_then(from_js);
        s.set(&key, value.as_ref())
            .map_err(|err| ApiError::Message(err.to_string()))?;
        undefined(ctx)
    })?;
    let s = store.clone();
    define(ctx, g, "storeDelete", move |ctx, args| {
        let key = need_str(args, 0, "storeDelete: key")?;
        s.set(&key, None)
            .map_err(|err| ApiError::Message(err.to_string()))?;
        undefined(ctx)
    })?;
    let s = store;
    define(ctx, g, "storeKeys", move |ctx, _| js(ctx, s.keys()))?;

    let namespace = env.spec.app.clone().unwrap_or_default();
    let (e, ns) = (env.clone(), namespace.clone());
    define(ctx, g, "sharedGet", move |ctx, args| {
        let key = need_str(args, 0, "sharedGet: key")?;
        let value = e
            .shared
            .shared_values
            .lock()
            .get(&(ns.clone(), key))
            .cloned();
        match value {
            Some(value) => Ok(to_js(ctx, &value)?),
            None => null(ctx),
        }
    })?;
    let (e, ns) = (env.clone(), namespace.clone());
    define(ctx, g, "sharedSet", move |ctx, args| {
        let key = need_str(args, 0, "sharedSet: key")?;
        let mut values = e.shared.shared_values.lock();
        match arg(args, 1).and_then(from_js) {
            Some(value) => values.insert((ns.clone(), key), value),
            None => values.remove(&(ns.clone(), key)),
        };
        undefined(ctx)
    })?;
    let (e, ns) = (env.clone(), namespace.clone());
    define(ctx, g, "sharedDelete", move |ctx, args| {
        let key = need_str(args, 0, "sharedDelete: key")?;
        e.shared.shared_values.lock().remove(&(ns.clone(), key));
        undefined(ctx)
    })?;
    let (e, ns) = (env.clone(), namespace);
    define(ctx, g, "sharedKeys", move |ctx, _| {
        let keys: Vec<String> = e
            .shared
            .shared_values
            .lock()
            .keys()
            .filter(|(n, _)| *n == ns)
            .map(|(_, k)| k.clone())
            .collect();
        js(ctx, keys)
    })?;

    for (name, level) in [
        ("logFine", tracing::Level::DEBUG),
        ("logDebug", tracing::Level::DEBUG),
        ("logInfo", tracing::Level::INFO),
        ("logWarning", tracing::Level::WARN),
        ("logSevere", tracing::Level::ERROR),
    ] {
        let e = env.clone();
        define(ctx, g, name, move |ctx, args| {
            let message = args
                .first()
                .and_then(to_text)
                .unwrap_or_else(|| "undefined".into());
            let id = &e.spec.id;
            match level {
                tracing::Level::ERROR => tracing::error!("script {id}: {message}"),
                tracing::Level::WARN => tracing::warn!("script {id}: {message}"),
                tracing::Level::INFO => tracing::info!("script {id}: {message}"),
                _ => tracing::debug!("script {id}: {message}"),
            }
            undefined(ctx)
        })?;
    }
    define(ctx, g, "formatNumber", |ctx, args| {
        let value = arg_f64(args, 0).unwrap_or(f64::NAN);
        let pattern = arg_str(args, 1).unwrap_or_else(|| "#,##0.###".into());
        string(ctx, &format_number(value, &pattern))
    })?;

    let e = env.clone();
    define(ctx, g, "baselineCreate", move |ctx, args| {
        let name = need_str(args, 0, "baselineCreate: name")?;
        let baseline = Baseline::new(arg_f64(args, 1), arg_f64(args, 2), arg_f64(args, 3));
        e.baselines.borrow_mut().insert(name, baseline);
        boolean(ctx, true)
    })?;
    let e = env.clone();
    define(ctx, g, "baselineCheck", move |ctx, args| {
        let name = need_str(args, 0, "baselineCheck: name")?;
        let value = arg_f64(args, 1).unwrap_or(f64::NAN);
        let mut baselines = e.baselines.borrow_mut();
        match baselines.get_mut(&name) {
            Some(baseline) => string(ctx, baseline.check(value)),
            None => null(ctx),
        }
    })?;
    let e = env.clone();
    define(ctx, g, "baselineStatistics", move |ctx, args| {
        let name = need_str(args, 0, "baselineStatistics: name")?;
        let stats = e
            .baselines
            .borrow()
            .get(&name)
            .and_then(Baseline::statistics);
        match stats {
            Some(stats) => Ok(to_js(ctx, &stats)?),
            None => null(ctx),
        }
    })?;
    let e = env.clone();
    define(ctx, g, "baselineReset", move |ctx, args| {
        let name = need_str(args, 0, "baselineReset: name")?;
        if let Some(baseline) = e.baselines.borrow_mut().get_mut(&name) {
            baseline.reset();
        }
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "baselineDelete", move |ctx, args| {
        let name = need_str(args, 0, "baselineDelete: name")?;
        e.baselines.borrow_mut().remove(&name);
        undefined(ctx)
    })?;
    Ok(())
}

/// `{url, operation, headers, body, user, password}` (http2/httpAsync) as a call.
fn http_call_from(object: &Json) -> Result<HttpCall, ApiError> {
    let text = |field: &str| object.get(field).and_then(json_text);
    let url = text("url").ok_or_else(|| ApiError::Message("url is required".into()))?;
    let headers = object
        .get("headers")
        .and_then(Json::as_object)
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| json_text(v).map(|v| (k.clone(), v)))
                .collect()
        })
        .unwrap_or_default();
    let body = match object.get("body") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    Ok(HttpCall {
        url,
        method: text("operation").unwrap_or_else(|| "GET".into()),
        headers,
        body,
        user: text("user"),
        password: text("password"),
    })
}

fn install_network<'js>(ctx: &Ctx<'js>, g: &Object<'js>, env: &Rc<Env>) -> rquickjs::Result<()> {
    let e = env.clone();
    define(ctx, g, "http", move |ctx, args| {
        let url = need_str(args, 0, "http: url")?;
        let method = arg_str(args, 1).unwrap_or_else(|| "get".into());
        let get = method.eq_ignore_ascii_case("get");
        let (content_type, body, user, password, accept) = if get {
            (
                None,
                None,
                arg_str(args, 2),
                arg_str(args, 3),
                arg_str(args, 4),
            )
        } else {
            (
                arg_str(args, 2),
                arg_str(args, 3),
                arg_str(args, 4),
                arg_str(args, 5),
                arg_str(args, 6),
            )
        };
        let mut headers = Vec::new();
        if let Some(content_type) = content_type {
            headers.push(("Content-Type".to_string(), content_type));
        }
        if let Some(accept) = accept {
            headers.push(("Accept".to_string(), accept));
        }
        let call = HttpCall {
            url,
            method,
            headers,
            body,
            user,
            password,
        };
        let local = e.host().local_url();
        let reply = e
            .shared
            .http
            .send(&call, local.as_deref())
            .map_err(|err| ApiError::Message(format!("http: {err}")))?;
        if reply.status >= 400 {
            return fail(format!(
                "http: {} answered status {}",
                reply.url, reply.status
            ));
        }
        string(ctx, &reply.body)
    })?;
    let e = env.clone();
    define(ctx, g, "http2", move |ctx, args| {
        let object = arg(args, 0).and_then(from_js).unwrap_or(Json::Null);
        let call =
            http_call_from(&object).map_err(|err| ApiError::Message(format!("http2: {err}")))?;
        let local = e.host().local_url();
        let reply = e
            .shared
            .http
            .send(&call, local.as_deref())
            .map_err(|err| ApiError::Message(format!("http2: {err}")))?;
        let headers: Map<String, Json> = reply
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), Json::String(v.clone())))
            .collect();
        Ok(to_js(
            ctx,
            &json!({"status": reply.status, "url": reply.url, "body": reply.body, "headers": headers}),
        )?)
    })?;
    let e = env.clone();
    define(ctx, g, "httpAsync", move |ctx, args| {
        let Some(request) = arg(args, 0).and_then(|v| v.as_object().cloned()) else {
            return fail("httpAsync: expected a request object");
        };
        let object = from_js(&request.clone().into_value()).unwrap_or(Json::Null);
        let call = http_call_from(&object)
            .map_err(|err| ApiError::Message(format!("httpAsync: {err}")))?;
        let callback = |name: &str| -> Option<crate::runtime::Callback> {
            let value: Value = request.get(name).ok()?;
            as_callback(ctx, &value)
        };
        let id = e.next_async_id.get();
        e.next_async_id.set(id + 1);
        e.handlers
            .borrow_mut()
            .pending
            .insert(id, (callback("success"), callback("error")));
        let job = AsyncJob {
            id,
            call,
            reply: e.control.clone(),
        };
        if e.shared.async_jobs.try_send(job).is_err() {
            e.handlers.borrow_mut().pending.remove(&id);
            return fail("httpAsync: too many requests in flight");
        }
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "syslog", move |ctx, args| {
        let host = need_str(args, 0, "syslog: host")?;
        let port = arg_f64(args, 1).map_or(514, |p| p as u16);
        let facility = arg_f64(args, 2).map_or(16, |f| f as u8);
        let severity = arg_f64(args, 3).map_or(5, |s| s as u8);
        let fields: Vec<(String, String)> = match arg(args, 4).and_then(from_js) {
            Some(Json::Object(object)) => object
                .iter()
                .map(|(k, v)| (k.clone(), json_text(v).unwrap_or_else(|| v.to_string())))
                .collect(),
            Some(other) => vec![("message".into(), json_text(&other).unwrap_or_default())],
            None => Vec::new(),
        };
        let message = net::syslog_message(
            e.host().now(),
            &e.shared.hostname,
            facility,
            severity,
            &fields,
        );
        net::send_syslog(&host, port, &message)
            .map_err(|err| ApiError::Message(format!("syslog: {err}")))?;
        undefined(ctx)
    })?;
    let e = env.clone();
    define(ctx, g, "runCmd", move |ctx, args| {
        let call = CommandCall {
            argv: arg_names(args, 0).unwrap_or_default(),
            env: arg_names(args, 1),
            dir: arg_str(args, 2).map(PathBuf::from),
        };
        let output = command::run(&call, e.shared.limits.command_timeout)
            .map_err(|err| ApiError::Message(format!("runCmd: {err}")))?;
        js(ctx, output)
    })?;
    define(ctx, g, "dnsGetAllByName", |ctx, args| {
        let name = need_str(args, 0, "dnsGetAllByName: name")?;
        let addresses = net::dns_all_by_name(&name)
            .map_err(|err| ApiError::Message(format!("dnsGetAllByName: {err}")))?;
        js(ctx, addresses)
    })?;
    Ok(())
}

/// BGP is not implemented: the functions exist so apps that call them load, and answer "not available".
fn install_bgp<'js>(ctx: &Ctx<'js>, g: &Object<'js>) -> rquickjs::Result<()> {
    for name in [
        "bgpAddNeighbor",
        "bgpRemoveNeighbor",
        "bgpAddSource",
        "bgpRemoveSource",
        "bgpAddRoute",
        "bgpRemoveRoute",
        "bgpAddFlow",
        "bgpRemoveFlow",
        "bgpSetNextHops",
    ] {
        define(ctx, g, name, |ctx, _| boolean(ctx, false))?;
    }
    for name in ["bgpRouteCount", "bgpFlowCount"] {
        define(ctx, g, name, |ctx, _| number(ctx, 0.0))?;
    }
    for name in ["bgpTopPrefixes", "bgpTopPrefixes6"] {
        define(ctx, g, name, |ctx, _| null(ctx))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Values handed to callbacks

/// The `rec` of a flow handler: `{flowID, name, agent, dataSource, flowKeys, value, start, end}`.
pub(crate) fn flow_record_object<'js>(
    ctx: &Ctx<'js>,
    record: &FlowRecord,
) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("flowID", record.flow_id as f64)?;
    object.set("name", record.name.as_str())?;
    object.set("agent", record.agent.to_string())?;
    object.set("dataSource", record.data_source.as_str())?;
    object.set("flowKeys", record.flow_keys.as_str())?;
    object.set("value", record.value)?;
    object.set("start", record.start as f64)?;
    object.set("end", record.end as f64)?;
    Ok(object)
}

/// The `evt` of an event handler, with sFlow-RT's field names.
pub(crate) fn event_object<'js>(ctx: &Ctx<'js>, event: &Event) -> rquickjs::Result<Value<'js>> {
    let json = serde_json::to_value(event).unwrap_or(Json::Null);
    to_js(ctx, &json)
}

/// The `res` of `httpAsync` callbacks: `{status, url, body}`.
pub(crate) fn reply_object<'js>(ctx: &Ctx<'js>, reply: &HttpReply) -> rquickjs::Result<Value<'js>> {
    to_js(
        ctx,
        &json!({"status": reply.status, "url": reply.url, "body": reply.body}),
    )
}

/// The `req` of an HTTP handler (spec §5.5): `{method, path, format, query: {name: [values]}, body, error}`.
pub(crate) fn request_object<'js>(
    ctx: &Ctx<'js>,
    request: &ScriptRequest,
) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("method", request.method.as_str())?;
    let path = Array::new(ctx.clone())?;
    for (i, segment) in request.path.iter().enumerate() {
        path.set(i, segment.as_str())?;
    }
    object.set("path", path)?;
    object.set("format", request.format.as_str())?;
    let query = Object::new(ctx.clone())?;
    for (name, value) in &request.query {
        let list: Array = match query.get::<_, Option<Array>>(name.as_str())? {
            Some(list) => list,
            None => {
                let list = Array::new(ctx.clone())?;
                query.set(name.as_str(), list.clone())?;
                list
            }
        };
        list.set(list.len(), value.as_str())?;
    }
    object.set("query", query)?;
    if let Some(body) = request.body.as_deref().filter(|b| !b.trim().is_empty()) {
        match ctx.json_parse(body).catch(ctx) {
            Ok(value) => object.set("body", value)?,
            Err(error) => {
                let message = match error {
                    rquickjs::CaughtError::Exception(e) => e.message().unwrap_or_default(),
                    other => other.to_string(),
                };
                object.set("body", body)?;
                object.set("error", format!("invalid JSON body: {message}"))?;
            }
        }
    }
    Ok(object)
}
