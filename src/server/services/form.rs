//! Reading the fields of a posted settings form; refusals name the field.

use crate::server::{Error, Result};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

/// The field's number, `None` when the field is absent or blank; outside `range` (inclusive)
/// is refused.
pub fn optional_number<T: FromStr + PartialOrd + Copy + Display>(
    fields: &BTreeMap<String, String>,
    name: &str,
    range: (T, T),
) -> Result<Option<T>> {
    let Some(text) = fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let value: T = text
        .parse()
        .map_err(|_| Error::invalid(name, format!("not a number: {text:?}")))?;
    if value < range.0 || value > range.1 {
        return Err(Error::invalid(
            name,
            format!("must be between {} and {}", range.0, range.1),
        ));
    }
    Ok(Some(value))
}

/// The field's number, or `default` when it is absent or blank.
pub fn number<T: FromStr + PartialOrd + Copy + Display>(
    fields: &BTreeMap<String, String>,
    name: &str,
    default: T,
    range: (T, T),
) -> Result<T> {
    Ok(optional_number(fields, name, range)?.unwrap_or(default))
}

/// Whether a checkbox is ticked (an unticked one is absent).
pub fn ticked(fields: &BTreeMap<String, String>, name: &str) -> bool {
    fields
        .get(name)
        .is_some_and(|v| v == "on" || v == "true" || v == "1")
}
