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

/// An HH pair: the shared turns become the prompt, the two final Assistant turns the
/// answers. Two transcripts that part at an earlier Assistant turn are cut there (the
/// later turns of both are left out, and the warning says so), unless `strict`, which
/// refuses them; transcripts that part at a Human turn are refused.
pub(super) fn hh(obj: &Obj, strict: bool) -> Result<(NewItem, Option<Fail>), Fail> {
    let side = |field: &str| -> Result<Vec<Message>, Fail> {
        let turns = obj.get(field).and_then(Value::as_str).and_then(hh_turns);
        let turns = turns.ok_or_else(|| bad(field, "must be a \"\\n\\nHuman: …\" transcript"))?;
        match turns.last() {
            Some(last) if last.role == ChatRole::Assistant => Ok(turns),
            _ => fail(field, "has no final Assistant turn"),
        }
    };
    let (mut chosen, mut rejected) = (side("chosen")?, side("rejected")?);
    let parted = chosen.iter().zip(&rejected).position(|(c, r)| c != r);
    let last = |turns: &[Message]| turns.len() - 1;
    let (at, warning) = match parted {
        Some(at) if at == last(&chosen) && at == last(&rejected) => (at, None),
        None if chosen.len() == rejected.len() => (last(&chosen), None),
        _ if strict => {
            return fail(
                "rejected",
                "differs from chosen before the final Assistant turn",
            );
        }
        Some(at)
            if chosen[at].role == ChatRole::Assistant
                && rejected[at].role == ChatRole::Assistant =>
        {
            let left_out = (chosen.len() - at - 1, rejected.len() - at - 1);
            let warning = bad(
                "rejected",
                format!(
                    "differs from chosen at turn {} (an Assistant turn), before the last: the \
                     pair is cut there, leaving out {} later turns of chosen and {} of rejected",
                    at + 1,
                    left_out.0,
                    left_out.1
                ),
            );
            (at, Some(warning))
        }
        _ => {
            return fail(
                "rejected",
                "differs from chosen at a Human turn, or continues past its end",
            );
        }
    };
    chosen.truncate(at + 1);
    rejected.truncate(at + 1);
    let (Some(chosen_answer), Some(rejected_answer)) = (chosen.pop(), rejected.pop()) else {
        return fail("chosen", "has no final Assistant turn");
    };
    let mut item = pair_item(
        obj,
        chosen,
        chosen_answer.content,
        rejected_answer.content,
        "hh",
    )?;
    if warning.is_some() {
        item.metadata["hh_cut_at_turn"] = json!(at + 1);
    }
    Ok((item, warning))
}
