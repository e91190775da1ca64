//! Anthropic HH lines: `{"chosen", "rejected"}` as "\n\nHuman: …\n\nAssistant: …" transcripts.

use super::*;

pub(super) const HUMAN: &str = "\n\nHuman:";
pub(super) const ASSISTANT: &str = "\n\nAssistant:";

/// The next turn marker in `s`: (position, marker length, role).
pub(super) fn next_marker(s: &str) -> Option<(usize, usize, ChatRole)> {
    let h = s.find(HUMAN).map(|p| (p, HUMAN.len(), ChatRole::User));
    let a = s
        .find(ASSISTANT)
        .map(|p| (p, ASSISTANT.len(), ChatRole::Assistant));
    match (h, a) {
        (Some(h), Some(a)) => Some(if h.0 <= a.0 { h } else { a }),
        (h, a) => h.or(a),
    }
}

/// Splits an HH transcript into trimmed turns; `None` if text precedes the first marker.
pub(super) fn hh_turns(text: &str) -> Option<Vec<Message>> {
    let text = format!("\n\n{}", text.trim_start());
    let (mut rest, mut role, mut turns) = (text.as_str(), None, Vec::new());
    loop {
        let next = next_marker(rest);
        let content = rest[..next.map_or(rest.len(), |n| n.0)].trim();
        match role {
            Some(role) => turns.push(Message {
                role,
                content: content.to_owned(),
            }),
            None if !content.is_empty() => return None,
            None => {}
        }
        let Some((pos, len, next_role)) = next else {
            return Some(turns);
        };
        role = Some(next_role);
        rest = &rest[pos + len..];
    }
}

pub(super) fn hh(obj: &Obj) -> Result<NewItem, Fail> {
    let side = |field: &str| -> Result<(Vec<Message>, String), Fail> {
        let turns = obj.get(field).and_then(Value::as_str).and_then(hh_turns);
        let mut turns =
            turns.ok_or_else(|| bad(field, "must be a \"\\n\\nHuman: …\" transcript"))?;
        match turns.pop() {
            Some(last) if last.role == ChatRole::Assistant => Ok((turns, last.content)),
            _ => fail(field, "has no final Assistant turn"),
        }
    };
    let ((messages, chosen), (prefix, rejected)) = (side("chosen")?, side("rejected")?);
    if prefix != messages {
        return fail(
            "rejected",
            "differs from chosen before the final Assistant turn",
        );
    }
    pair_item(obj, messages, chosen, rejected, "hh")
}
