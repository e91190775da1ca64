//! Parsing of import files (JSON Lines in several dataset formats, or CSV records already
//! split into fields) into [`NewItem`]s, each checked with [`NewItem::validate`]: one file
//! per format, detection and the shared field readers here.

mod csv;
mod hh;
mod openai;
#[cfg(test)]
mod tests;
mod trl;
mod verdict;

pub use self::csv::{CsvLayout, csv_layout, parse_csv_record};

pub use self::openai::{ChatParts, openai_chat_parts};
pub use crate::model::import::{ImportFormat, ImportReport, LineError};

use crate::model::AppError;
use crate::model::project::{ChatRole, Message, NewItem, NewResponse};
use serde_json::{Map, Value, json};

/// (field, message), before the line number is attached.
type Fail = (String, String);
type Obj = Map<String, Value>;

fn bad(field: impl Into<String>, message: impl Into<String>) -> Fail {
    (field.into(), message.into())
}

fn fail<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, Fail> {
    Err(bad(field, message))
}

fn at(line: usize) -> impl Fn(Fail) -> LineError {
    move |(field, message): Fail| LineError {
        line,
        field,
        message,
    }
}

/// Checks a finished item; its error becomes a [`LineError`] with the same field.
pub fn validate_at(line: usize, item: NewItem) -> Result<NewItem, LineError> {
    let to_fail = |e: AppError| (e.field.unwrap_or_else(|| "item".into()), e.message);
    item.validate().map_err(to_fail).map_err(at(line))?;
    Ok(item)
}

fn parse_object(text: &str) -> Result<Obj, Fail> {
    match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => fail("json", "each line must be a JSON object"),
        Err(e) => fail("json", format!("invalid JSON: {e}")),
    }
}

/// Detects a JSON Lines format from the first non-empty line's JSON object keys.
pub fn detect_jsonl(first_line: &str) -> Option<ImportFormat> {
    let obj = parse_object(first_line).ok()?;
    let has = |key: &str| obj.contains_key(key);
    if has("chosen") && has("rejected") {
        let transcript = obj.get("chosen").and_then(Value::as_str);
        let hh = !has("prompt") && transcript.is_some_and(|t| t.contains("Human:"));
        Some(if hh {
            ImportFormat::AnthropicHh
        } else {
            ImportFormat::TrlPreference
        })
    } else if has("responses") {
        Some(ImportFormat::Verdict)
    } else if has("messages") {
        Some(ImportFormat::OpenaiChat)
    } else {
        None
    }
}

/// A parsed line: its item, and what was changed to make the line importable.
#[derive(Debug, PartialEq)]
pub struct ParsedLine {
    pub item: NewItem,
    pub warning: Option<LineError>,
}

/// Parses one JSON line into a validated item. `OpenaiChat` lines hold one answer each, so
/// they only parse here with an extra `responses` array; otherwise see [`openai_chat_parts`].
/// `strict` refuses what would otherwise be imported with a warning (HH pairs whose
/// transcripts part before their last turn).
pub fn parse_jsonl_line(
    format: ImportFormat,
    line: usize,
    text: &str,
    strict: bool,
) -> Result<ParsedLine, LineError> {
    let obj = parse_object(text).map_err(at(line))?;
    let parsed = match format {
        ImportFormat::Verdict => verdict::verdict(&obj).map(|item| (item, None)),
        ImportFormat::TrlPreference => trl::trl(&obj).map(|item| (item, None)),
        ImportFormat::AnthropicHh => hh::hh(&obj, strict),
        ImportFormat::OpenaiChat if obj.contains_key("responses") => {
            verdict::verdict(&obj).map(|item| (item, None))
        }
        ImportFormat::OpenaiChat => fail("messages", openai::GROUP_OPENAI),
        ImportFormat::Csv => fail("format", "CSV is not JSON Lines"),
    };
    let (item, warning) = parsed.map_err(at(line))?;
    Ok(ParsedLine {
        item: validate_at(line, item)?,
        warning: warning.map(at(line)),
    })
}

/// Parses one item of Verdict's own schema given as a JSON value (an API push); `index` is
/// reported in place of a line number.
pub fn parse_verdict_item(index: usize, value: &Value) -> Result<NewItem, LineError> {
    let obj = match value {
        Value::Object(map) => map,
        _ => return Err(at(index)(bad("item", "must be a JSON object"))),
    };
    validate_at(index, verdict::verdict(obj).map_err(at(index))?)
}

fn user(content: String) -> Message {
    Message {
        role: ChatRole::User,
        content,
    }
}

fn answer(content: String) -> NewResponse {
    NewResponse {
        model: None,
        content,
    }
}

fn parse_role(role: &str) -> Option<ChatRole> {
    match role.trim().to_ascii_lowercase().as_str() {
        "system" => Some(ChatRole::System),
        "user" | "human" => Some(ChatRole::User),
        "assistant" | "gpt" | "bot" | "model" => Some(ChatRole::Assistant),
        _ => None,
    }
}

/// A string, or OpenAI content parts `[{"type": "text", "text": ..}]` joined by newlines.
fn text_content(value: Option<&Value>, field: &str) -> Result<String, Fail> {
    match value {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let text = |p: &Value| p.get("text").and_then(Value::as_str).map(str::to_owned);
            let texts: Option<Vec<String>> = parts.iter().map(text).collect();
            Ok(texts
                .ok_or_else(|| bad(field, "only text parts are supported"))?
                .join("\n"))
        }
        None | Some(Value::Null) => fail(field, "missing"),
        Some(_) => fail(field, "must be a string"),
    }
}

/// `[{"role", "content"}, ..]`; ShareGPT's `from`/`value` keys are accepted too.
fn parse_messages(value: &Value, field: &str) -> Result<Vec<Message>, Fail> {
    let list = value
        .as_array()
        .ok_or_else(|| bad(field, "must be an array of messages"))?;
    let mut messages = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let role = m
            .get("role")
            .or_else(|| m.get("from"))
            .and_then(Value::as_str);
        let role = role.and_then(parse_role).ok_or_else(|| {
            bad(
                format!("{field}[{i}].role"),
                "must be system, user or assistant",
            )
        })?;
        let content = m.get("content").or_else(|| m.get("value"));
        let content = text_content(content, &format!("{field}[{i}].content"))?;
        messages.push(Message { role, content });
    }
    Ok(messages)
}

fn optional_string(obj: &Obj, key: &str) -> Result<Option<String>, Fail> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => fail(key, "must be a string"),
    }
}

/// The first present key of `keys`, as a string (numbers are converted).
fn external_id(obj: &Obj, keys: &[&str]) -> Result<Option<String>, Fail> {
    for &key in keys {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => return Ok(Some(s.clone())),
            Some(Value::Number(n)) => return Ok(Some(n.to_string())),
            Some(_) => return fail(key, "must be a string or number"),
        }
    }
    Ok(None)
}

fn pair_item(
    obj: &Obj,
    messages: Vec<Message>,
    chosen: String,
    rejected: String,
    source: &str,
) -> Result<NewItem, Fail> {
    Ok(NewItem {
        external_id: external_id(obj, &["external_id", "id"])?,
        messages,
        responses: vec![answer(chosen), answer(rejected)],
        metadata: json!({"source_format": source, "chosen_index": 0}),
        gold: None,
    })
}
