//! Verdict's own JSONL: `{"external_id"?, "messages" | "prompt", "responses", "metadata"?,
//! "gold"?}`; `gold` makes a gold item (see `model::gold::Gold`).

use super::*;

pub(super) const VERDICT_KEYS: [&str; 6] = [
    "messages",
    "prompt",
    "responses",
    "external_id",
    "metadata",
    "gold",
];
pub(super) const UNKNOWN_KEY: &str =
    "unknown key (use messages or prompt, responses, external_id, metadata, gold)";

pub(super) fn verdict(obj: &Obj) -> Result<NewItem, Fail> {
    if let Some(key) = obj.keys().find(|k| !VERDICT_KEYS.contains(&k.as_str())) {
        return fail(key, UNKNOWN_KEY);
    }
    let messages = match (obj.get("messages"), obj.get("prompt")) {
        (Some(m), None) => parse_messages(m, "messages")?,
        (None, Some(p)) => vec![user(text_content(Some(p), "prompt")?)],
        _ => return fail("messages", "give either messages or prompt"),
    };
    let list = obj.get("responses").and_then(Value::as_array);
    let list = list.ok_or_else(|| bad("responses", "must be an array of answers"))?;
    let responses = list.iter().enumerate().map(|(i, r)| parse_response(r, i));
    let responses = responses.collect::<Result<Vec<_>, _>>()?;
    // A non-object is reported by `validate`.
    let metadata = obj.get("metadata").filter(|m| !m.is_null()).cloned();
    let metadata = metadata.unwrap_or_else(|| json!({}));
    let external_id = external_id(obj, &["external_id"])?;
    // The answers it names are checked by `validate`.
    let gold = match obj.get("gold").filter(|g| !g.is_null()) {
        Some(g) => Some(
            serde_json::from_value(g.clone())
                .map_err(|e| bad("gold", format!("not a gold label: {e}")))?,
        ),
        None => None,
    };
    Ok(NewItem {
        external_id,
        messages,
        responses,
        metadata,
        gold,
    })
}

pub(super) fn parse_response(value: &Value, i: usize) -> Result<NewResponse, Fail> {
    let field = format!("responses[{i}]");
    match value {
        Value::String(s) => Ok(answer(s.clone())),
        Value::Object(m) => {
            if let Some(k) = m
                .keys()
                .find(|k| !matches!(k.as_str(), "content" | "model"))
            {
                return fail(format!("{field}.{k}"), "unknown key (use content, model)");
            }
            let model = optional_string(m, "model").map_err(|e| (format!("{field}.model"), e.1))?;
            let content = text_content(m.get("content"), &format!("{field}.content"))?;
            Ok(NewResponse { model, content })
        }
        _ => fail(field, "must be a string or {content, model}"),
    }
}
