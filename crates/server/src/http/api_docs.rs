//! `/api-docs`: a hand-written OpenAPI 3 description of exactly the implemented endpoints.

use axum::Json;
use serde_json::{Map, Value, json};

pub(super) async fn api_docs() -> Json<Value> {
    Json(document())
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string"}})
}

fn query_param(name: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": {"type": kind}})
}

fn agent() -> Value {
    path_param(
        "agent",
        "ALL, TOPOLOGY, EDGE, CORE, or a comma-separated list of agent addresses",
    )
}

fn metric() -> Value {
    path_param(
        "metric",
        "comma-separated metric list, with optional max:/min:/sum:/avg:/… prefixes",
    )
}

fn name(kind: &str) -> Value {
    path_param(
        "name",
        &format!("{kind} name (letters, digits, '_' and '-')"),
    )
}

fn filter_query() -> Value {
    json!({"name": "filter", "in": "query", "required": false, "style": "form", "explode": true,
           "description": "data-source attribute filters, e.g. ifspeed=10000000000&host_name=*web*",
           "schema": {"type": "object", "additionalProperties": {"type": "string"}}})
}

fn json_ok(description: &str) -> Value {
    json!({"200": {"description": description, "content": {"application/json": {"schema": {}}}}})
}

fn text_ok(description: &str) -> Value {
    json!({"200": {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}})
}

fn event_stream_ok(description: &str) -> Value {
    json!({"200": {"description": description, "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
}

/// Parameters of an SSE stream: where it starts and which entries it carries.
fn stream_params(position: &str, filter: &str, filter_description: &str) -> Vec<Value> {
    vec![
        query_param(
            position,
            "integer",
            "start after this id (-1 or 0: the buffered entries first); default: only new entries; a Last-Event-ID header takes precedence",
        ),
        query_param(filter, "string", filter_description),
    ]
}

fn get(summary: &str, parameters: Vec<Value>, responses: Value) -> Value {
    let mut responses = responses;
    if let Value::Object(map) = &mut responses {
        map.insert("400".into(), json!({"description": "bad request"}));
        map.insert("404".into(), json!({"description": "unknown name"}));
    }
    json!({"summary": summary, "parameters": parameters, "responses": responses})
}

fn put(summary: &str, parameters: Vec<Value>, schema: &str) -> Value {
    json!({"summary": summary, "parameters": parameters,
           "requestBody": {"required": true,
                           "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}},
           "responses": {"204": {"description": "stored"}, "400": {"description": "bad request (the message names the field)"},
                         "403": {"description": "read-only mode"}, "413": {"description": "body too large"}}})
}

fn delete(summary: &str, parameters: Vec<Value>) -> Value {
    json!({"summary": summary, "parameters": parameters,
           "responses": {"204": {"description": "deleted (also when it did not exist)"},
                         "403": {"description": "read-only mode"}}})
}

/// A named object with GET, PUT (POST does the same) and DELETE.
fn crud(kind: &str, schema: &str) -> Value {
    json!({
        "get": get(&format!("Get a {kind}"), vec![name(kind)], json_ok(schema)),
        "put": put(&format!("Create or replace a {kind}"), vec![name(kind)], schema),
        "post": put(&format!("Create or replace a {kind} (as PUT)"), vec![name(kind)], schema),
        "delete": delete(&format!("Delete a {kind}"), vec![name(kind)]),
    })
}

fn long_poll(id: &str, max: &str, what: &str) -> Vec<Value> {
    vec![
        query_param(
            id,
            "integer",
            &format!(
                "absent: newest {what} at once; -1 or an id: wait up to timeout for {what} newer than it"
            ),
        ),
        query_param(
            max,
            "integer",
            &format!("most {what} returned (default 100)"),
        ),
        query_param(
            "timeout",
            "number",
            "seconds to wait for newer entries (default 0)",
        ),
    ]
}

/// The OpenAPI document.
pub(super) fn document() -> Value {
    let mut paths = Map::new();
    let mut add = |path: &str, item: Value| {
        paths.insert(path.to_string(), item);
    };
    add(
        "/version",
        json!({"get": get("Server version", vec![], text_ok("version string"))}),
    );
    add(
        "/status",
        json!({"get": get("Liveness", vec![], text_ok("OK"))}),
    );
    add(
        "/api-docs",
        json!({"get": get("This OpenAPI document", vec![], json_ok("OpenAPI 3"))}),
    );
    add(
        "/analyzer/json",
        json!({"get": get("Analyzer statistics", vec![], json_ok("counters, loads and memory"))}),
    );
    add(
        "/license/json",
        json!({"get": get("Licence status in sFlow-RT's shape (rtflow needs no licence: every check passes)",
                          vec![], json_ok("{license, analyzer}"))}),
    );
    add(
        "/agents/json",
        json!({"get": get("sFlow agents", vec![query_param("agent", "string", "repeatable: only these agents")], json_ok("object keyed by agent"))}),
    );
    add(
        "/metrics/json",
        json!({"get": get("Metric names → ms since last update", vec![], json_ok("object"))}),
    );
    add(
        "/metric/{agent}/json",
        json!({"get": get("All metrics of one agent", vec![path_param("agent", "agent address")], json_ok("\"<dataSource>.<metric>\" → value; {} for an unknown agent"))}),
    );
    add(
        "/metric/{agent}/{metric}/json",
        json!({"get": get("Summarized metrics", vec![agent(), metric(), filter_query()], json_ok("array of Statistic, in request order"))}),
    );
    add(
        "/dump/{agent}/{metric}/json",
        json!({"get": get("Every metric value", vec![agent(), path_param("metric", "metric list or ALL"), filter_query()], json_ok("array of Metric"))}),
    );
    add(
        "/table/{agent}/{metric}/json",
        json!({"get": get("Metric table", vec![agent(), path_param("metric", "metric list; the first may be sort:<metric>:<N>"), filter_query()], json_ok("array of rows"))}),
    );
    add(
        "/flowkeys/json",
        json!({"get": get("Flow keys seen recently", vec![], json_ok("key → ms since seen"))}),
    );
    add(
        "/flow/json",
        json!({"get": get("Flow definitions", vec![], json_ok("name → FlowDefinition"))}),
    );
    add("/flow/{name}/json", crud("flow", "FlowDefinition"));
    add(
        "/activeflows/{agent}/{name}/json",
        json!({"get": get("Largest active flows", vec![
        agent(), name("flow"),
        query_param("maxFlows", "integer", "most flows (default 100)"),
        query_param("minValue", "number", "smallest value returned"),
        query_param("aggMode", "string", "max (default), sum, avg, edge, core or agent"),
        query_param("filter", "string", "glob the flow key must match"),
    ], json_ok("array of {key, value, values, agent, dataSource}"))}),
    );
    add(
        "/flowvalue/{agent}/{name}/json",
        json!({"get": get("Value of one flow", vec![
        path_param("agent", "agent address"), path_param("name", "<dataSource>.<flow>, e.g. 3.tcp"),
        json!({"name": "key", "in": "query", "required": true, "description": "flow key", "schema": {"type": "string"}}),
    ], json_ok("number"))}),
    );
    add(
        "/flowlocations/{agent}/{name}/json",
        json!({"get": get("Where a flow is seen", vec![
        agent(), name("flow"),
        json!({"name": "key", "in": "query", "required": true, "description": "flow key", "schema": {"type": "string"}}),
    ], json_ok("array of {key, value, agent, dataSource} plus linkname, localnode, localport, remotenode, remoteport on a topology link"))}),
    );
    let mut flow_log = long_poll("flowID", "maxFlows", "flow records");
    flow_log.push(query_param(
        "name",
        "string",
        "only records of this flow definition",
    ));
    add(
        "/flows/json",
        json!({"get": get("Logged flow records, newest first (long-poll)", flow_log, json_ok("array of flow records"))}),
    );
    add(
        "/flows/sse",
        json!({"get": get("Logged flow records as server-sent events, oldest first (id = flowID)",
            stream_params("flowID", "name", "only records of this flow definition"),
            event_stream_ok("stream of flow records"))}),
    );
    add(
        "/threshold/json",
        json!({"get": get("Thresholds", vec![], json_ok("name → Threshold"))}),
    );
    add("/threshold/{name}/json", crud("threshold", "Threshold"));
    let mut events = long_poll("eventID", "maxEvents", "events");
    events.push(query_param(
        "thresholdID",
        "string",
        "only events of this threshold",
    ));
    add(
        "/events/json",
        json!({"get": get("Threshold events, newest first (long-poll)", events, json_ok("array of events"))}),
    );
    add(
        "/events/sse",
        json!({"get": get("Threshold events as server-sent events, oldest first (id = eventID)",
            stream_params("eventID", "thresholdID", "only events of this threshold"),
            event_stream_ok("stream of events"))}),
    );
    add(
        "/group/json",
        json!({"get": get("Address groups", vec![], json_ok("name → lastUpdate (ms epoch)"))}),
    );
    add("/group/{name}/json", crud("group", "Group"));
    add(
        "/map/json",
        json!({"get": get("Maps", vec![], json_ok("name → lastUpdate (ms epoch)"))}),
    );
    add("/map/{name}/json", crud("map", "Map"));
    add(
        "/topology/json",
        json!({
            "get": get("Topology", vec![], json_ok("Topology plus version (incremented by each PUT)")),
            "put": put("Set the topology", vec![], "Topology"),
            "post": put("Set the topology (as PUT)", vec![], "Topology"),
        }),
    );
    add(
        "/forwarding/json",
        json!({"get": get("sFlow forwarding sessions", vec![], json_ok("name → Forwarding"))}),
    );
    add("/forwarding/{name}/json", crud("forwarding", "Forwarding"));
    add(
        "/tenant/json",
        json!({"get": get("Tenants and what their collectors were sent", vec![],
                          json_ok("name → {samplesForwarded, datagramsForwarded}"))}),
    );
    add("/tenant/{name}/json", crud("tenant", "Tenant"));
    add(
        "/prometheus/metrics/{agent}/{metric}/txt",
        json!({"get": get("Metrics in Prometheus format",
        vec![agent(), path_param("metric", "metric list or ALL"), filter_query()], text_ok("Prometheus text format"))}),
    );
    add(
        "/prometheus/analyzer/txt",
        json!({"get": get("Analyzer statistics in Prometheus format", vec![], text_ok("Prometheus text format"))}),
    );
    for (path, summary, answer) in [
        (
            "/history/activeflows/{agent}/json",
            "Largest flows over a past range, from ClickHouse (rollups when the range allows)",
            "array of {key, value (average per second), agent, dataSource}; X-Rtflow-History-Table names the table read",
        ),
        (
            "/history/trend/{agent}/json",
            "Largest flows over a past range as time series, from ClickHouse",
            "{from, to, step, table, times, series: [{key, values}]}, '-other-' last",
        ),
    ] {
        add(
            path,
            json!({"get": get(summary, vec![
                path_param("agent", "ALL or a comma-separated list of agent addresses"),
                json!({"name": "keys", "in": "query", "required": true, "description": "comma-separated flow keys (ipsource, ipdestination, tcpdestinationport, inputifname, bgpsourceas, … or a column name)", "schema": {"type": "string"}}),
                query_param("value", "string", "bytes (default), bits, frames or samples"),
                query_param("filter", "string", "sFlow-RT filter over the keys, e.g. ipprotocol=6&ipsource=10.0.0.0/8"),
                query_param("from", "string", "Unix ms, or relative: -1h, -30m, -7d (default -1h)"),
                query_param("to", "string", "Unix ms, now, or relative (default now)"),
                query_param("maxFlows", "integer", "most flows (default 20)"),
                query_param("step", "integer", "trend: seconds per point (default: about 100 points)"),
                query_param("table", "string", "force flows, flows_1m, flows_5m or flows_1h"),
            ], json_ok(answer))}),
        );
    }
    add(
        "/scripts/json",
        json!({"get": get("Scripts and their state: alive, error, cpuMs, flows/events/requests received and lost",
                          vec![], json_ok("{scriptId: status}"))}),
    );
    add(
        "/apps/json",
        json!({"get": get("Installed apps: their scripts, `entry` when they have pages at /app/NAME/html/, `api` when they describe their API in api.yml (explorer at /app/NAME/api/)",
                          vec![], json_ok("{app: {entry, scripts, api}}"))}),
    );
    add(
        "/app/{name}/status",
        json!({"get": get("OK while the app's scripts run without error, else 503 UNAVAILABLE",
                          vec![name("app")], text_ok("OK"))}),
    );
    add(
        "/app/{name}/api-docs",
        json!({"get": get("The app's api.yml as shipped, or as JSON when Accept asks for application/json", vec![name("app")],
            json!({"200": {"description": "OpenAPI/Swagger YAML (or JSON)", "content": {
                "application/yaml": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}}))}),
    );
    json!({
        "openapi": "3.0.1",
        "info": {"title": "rtflow REST API (sFlow-RT compatible)", "version": crate::VERSION},
        "paths": Value::Object(paths),
        "components": {"schemas": {
            "FlowDefinition": {"type": "object", "properties": {
                "keys": {"type": "string"}, "value": {"type": "string"}, "values": {"type": "array", "items": {"type": "string"}},
                "filter": {"type": "string"}, "n": {"type": "integer"}, "t": {"type": "number"}, "fs": {"type": "string"},
                "log": {"type": "boolean"}, "flowStart": {"type": "boolean"}, "activeTimeout": {"type": "integer"},
                "dropped": {"type": "boolean"}, "aggMode": {"type": "string"},
                "ipfixCollectors": {"type": "array", "items": {"type": "string"}}}},
            "Threshold": {"type": "object", "required": ["metric", "value"], "properties": {
                "metric": {"type": "string"}, "value": {"type": "number"}, "byFlow": {"type": "boolean"},
                "timeout": {"type": "number"},
                "filter": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}},
            "Group": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "Map": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "Topology": {"type": "object", "properties": {"nodes": {"type": "object"}, "links": {"type": "object"}}},
            "Forwarding": {"type": "object", "required": ["address"], "properties": {
                "address": {"type": "string"}, "port": {"type": "integer"},
                "agents": {"type": "array", "items": {"type": "string"}}}},
            "Tenant": {"type": "object", "required": ["collectorAddress", "filters"], "properties": {
                "collectorAddress": {"type": "string"}, "collectorPort": {"type": "integer", "default": 6343},
                "filters": {"type": "object", "additionalProperties": false, "properties": {
                    "ifindex": {"type": "array", "items": {"type": "string"}, "example": ["10.0.0.1_2"]},
                    "ifname": {"type": "array", "items": {"type": "string"}, "example": ["10.0.0.1_eth3"]},
                    "cidr": {"type": "array", "items": {"type": "string"}, "example": ["10.0.0.0/24"]},
                    "mac": {"type": "array", "items": {"type": "string"}, "example": ["D8D385B2DD2B"]}}}}},
        }},
    })
}
