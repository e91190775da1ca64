//! TRL preference lines: `{"prompt"?, "chosen", "rejected"}` as text or messages.

use super::*;

pub(super) fn assistant_text(messages: &[Message], field: &str) -> Result<String, Fail> {
    let assistant = messages.iter().filter(|m| m.role == ChatRole::Assistant);
    let texts: Vec<&str> = assistant.map(|m| m.content.as_str()).collect();
    if texts.is_empty() {
        return fail(field, "has no assistant message");
    }
    Ok(texts.join("\n\n"))
}

/// A TRL answer: a string, or messages whose assistant contents are joined.
pub(super) fn trl_answer(obj: &Obj, field: &str) -> Result<String, Fail> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => assistant_text(&parse_messages(v, field)?, field),
        None => fail(field, "missing"),
    }
}

pub(super) fn trl(obj: &Obj) -> Result<NewItem, Fail> {
    let messages = match obj.get("prompt") {
        Some(Value::String(p)) => vec![user(p.clone())],
        Some(p) => parse_messages(p, "prompt")?,
        None => return trl_implicit(obj),
    };
    let chosen = trl_answer(obj, "chosen")?;
    pair_item(obj, messages, chosen, trl_answer(obj, "rejected")?, "trl")
}

/// No prompt: chosen and rejected are whole conversations whose shared prefix is the prompt.
pub(super) fn trl_implicit(obj: &Obj) -> Result<NewItem, Fail> {
    let conversation = |field: &str| match obj.get(field) {
        Some(Value::String(_)) => fail("prompt", "missing"),
        Some(v) => parse_messages(v, field),
        None => fail(field, "missing"),
    };
    let (c, r) = (conversation("chosen")?, conversation("rejected")?);
    let shared = c.iter().zip(&r).take_while(|(a, b)| a == b).count();
    let k = shared
        .min(c.len().saturating_sub(1))
        .min(r.len().saturating_sub(1));
    if k == 0 {
        return fail("prompt", "chosen and rejected share no prompt messages");
    }
    let tail = |rest: &[Message], field: &str| {
        if rest.iter().all(|m| m.role == ChatRole::Assistant) {
            assistant_text(rest, field)
        } else {
            fail(
                field,
                "must differ from the other only in the final assistant turn",
            )
        }
    };
    let chosen = tail(&c[k..], "chosen")?;
    pair_item(
        obj,
        c[..k].to_vec(),
        chosen,
        tail(&r[k..], "rejected")?,
        "trl",
    )
}
