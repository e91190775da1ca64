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

/// A text field, trimmed ('' when absent).
pub fn text(fields: &BTreeMap<String, String>, name: &str) -> String {
    fields
        .get(name)
        .map_or_else(String::new, |v| v.trim().to_owned())
}

/// Whether a checkbox is ticked (an unticked one is absent).
pub fn ticked(fields: &BTreeMap<String, String>, name: &str) -> bool {
    fields
        .get(name)
        .is_some_and(|v| v == "on" || v == "true" || v == "1")
}

/// A day (`YYYY-MM-DD`, UTC) as the midnight it starts, or — `through`, for the end of an
/// inclusive range — the midnight after it; blank is `None`. The error names the field.
pub fn day(
    field: &str,
    value: Option<&str>,
    through: bool,
) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| Error::invalid(field, format!("must be a day as YYYY-MM-DD, not {text:?}")))?;
    let d = if through {
        d + chrono::Duration::days(1)
    } else {
        d
    };
    Ok(Some(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()))
}
