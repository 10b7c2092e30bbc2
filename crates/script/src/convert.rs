//! Conversions between JavaScript values and JSON (`serde_json::Value`), the currency of the API: results are
//! built as plain JS objects, arrays, strings, numbers and `null`, never host wrappers (spec §3.4.6).

use rquickjs::{Array, Ctx, Object, Value};
use serde_json::{Map, Number, Value as Json};

/// Deepest nesting converted (deeper values, e.g. cycles, become `null`).
const MAX_DEPTH: usize = 64;

/// A JSON value as a fresh JS value.
pub(crate) fn to_js<'js>(ctx: &Ctx<'js>, json: &Json) -> rquickjs::Result<Value<'js>> {
    Ok(match json {
        Json::Null => Value::new_null(ctx.clone()),
        Json::Bool(b) => Value::new_bool(ctx.clone(), *b),
        Json::Number(n) => number_to_js(ctx, n),
        Json::String(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        Json::Array(items) => {
            let array = Array::new(ctx.clone())?;
            for (i, item) in items.iter().enumerate() {
                array.set(i, to_js(ctx, item)?)?;
            }
            array.into_value()
        }
        Json::Object(map) => {
            let object = Object::new(ctx.clone())?;
            for (key, value) in map {
                object.set(key.as_str(), to_js(ctx, value)?)?;
            }
            object.into_value()
        }
    })
}

fn number_to_js<'js>(ctx: &Ctx<'js>, n: &Number) -> Value<'js> {
    if let Some(i) = n.as_i64()
        && let Ok(small) = i32::try_from(i)
    {
        return Value::new_int(ctx.clone(), small);
    }
    Value::new_float(ctx.clone(), n.as_f64().unwrap_or(f64::NAN))
}

/// A JS value as JSON, as `JSON.stringify` would see it: `undefined` and functions become `None` (dropped
/// from objects, `null` in arrays), non-finite numbers `null`.
pub(crate) fn from_js(value: &Value<'_>) -> Option<Json> {
    from_js_at(value, 0)
}

fn from_js_at(value: &Value<'_>, depth: usize) -> Option<Json> {
    if depth > MAX_DEPTH {
        return Some(Json::Null);
    }
    if value.is_undefined() || value.is_function() || value.is_symbol() {
        return None;
    }
    if value.is_null() {
        return Some(Json::Null);
    }
    if let Some(b) = value.as_bool() {
        return Some(Json::Bool(b));
    }
    if let Some(i) = value.as_int() {
        return Some(Json::from(i));
    }
    if let Some(f) = value.as_float() {
        return Some(float_json(f));
    }
    if let Some(s) = value.as_string() {
        return Some(Json::String(s.to_string().unwrap_or_default()));
    }
    if let Some(array) = value.as_array() {
        let items = (0..array.len())
            .map(|i| {
                array
                    .get::<Value>(i)
                    .ok()
                    .and_then(|v| from_js_at(&v, depth + 1))
                    .unwrap_or(Json::Null)
            })
            .collect();
        return Some(Json::Array(items));
    }
    if let Some(object) = value.as_object() {
        // Dates (`toJSON`) and boxed primitives (`new String(x)`: `valueOf`) convert as their JSON form.
        for method in ["toJSON", "valueOf"] {
            if let Ok(function) = object.get::<_, rquickjs::Function>(method)
                && let Ok(inner) =
                    function.call::<_, Value>((rquickjs::function::This(value.clone()),))
                && !inner.is_object()
            {
                return from_js_at(&inner, depth + 1);
            }
        }
        let mut map = Map::new();
        for (key, item) in object.props::<String, Value>().flatten() {
            if let Some(json) = from_js_at(&item, depth + 1) {
                map.insert(key, json);
            }
        }
        return Some(Json::Object(map));
    }
    None
}

/// An f64 as a JSON number: integral values as integers (`5`, not `5.0`), non-finite as `null`.
pub(crate) fn float_json(f: f64) -> Json {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        Json::from(f as i64)
    } else {
        Number::from_f64(f).map_or(Json::Null, Json::Number)
    }
}

/// The string form of a JS value as `String(v)` gives it (numbers without a trailing `.0`).
pub(crate) fn to_text(value: &Value<'_>) -> Option<String> {
    if value.is_undefined() || value.is_null() {
        return None;
    }
    if let Some(s) = value.as_string() {
        return s.to_string().ok();
    }
    rquickjs::convert::Coerced::<String>::from_js(value.ctx(), value.clone())
        .ok()
        .map(|c| c.0)
}

use rquickjs::FromJs;

#[cfg(test)]
mod tests {
    use super::*;
    use rquickjs::{Context, Runtime};

    #[test]
    fn json_round_trips_through_js() {
        let rt = Runtime::new().expect("runtime");
        let ctx = Context::full(&rt).expect("context");
        ctx.with(|ctx| {
            let json = serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": -7}, "big": 1_000_000_000_000i64});
            let value = to_js(&ctx, &json).expect("to js");
            assert_eq!(from_js(&value), Some(json));
            let value: Value = ctx
                .eval("({f: function(){}, u: undefined, n: NaN, d: [undefined], s: new String('q')})")
                .expect("eval");
            assert_eq!(
                from_js(&value),
                Some(serde_json::json!({"n": null, "d": [null], "s": "q"}))
            );
        });
    }
}
