//! Lenient JSON input, as sFlow-RT's REST API reads it: numbers and booleans may come as strings (`"t":"5"`,
//! `"value":"100"`, `"port":"6343"`).

use serde::{Deserialize, Deserializer};

/// A JSON number or a string holding one (`"100"`).
pub(crate) fn number_or_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(f64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(text) => text
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected a number, got {text:?}"))),
    }
}

/// `true`/`false`, or the strings `"true"`/`"false"`.
pub(crate) fn bool_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Bool(b) => Ok(b),
        Raw::Text(text) => match text.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(serde::de::Error::custom(format!(
                "expected true or false, got {text:?}"
            ))),
        },
    }
}

/// A UDP port: a number or a string holding one (`"6343"`).
pub(crate) fn port_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    let port = number_or_string(deserializer)?;
    if port.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&port) {
        Ok(port as u16)
    } else {
        Err(serde::de::Error::custom(format!(
            "expected a port number 0-65535, got {port}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Port {
        #[serde(deserialize_with = "super::port_or_string")]
        port: u16,
    }

    #[test]
    fn ports_may_be_strings_and_must_be_in_range() {
        let parse = |json: &str| serde_json::from_str::<Port>(json).map(|p| p.port);
        assert_eq!(parse(r#"{"port":6343}"#).ok(), Some(6343));
        assert_eq!(parse(r#"{"port":" 6343 "}"#).ok(), Some(6343));
        assert!(parse(r#"{"port":"65536"}"#).is_err());
        assert!(parse(r#"{"port":"6343.5"}"#).is_err());
        assert!(parse(r#"{"port":"x"}"#).is_err());
    }
}
