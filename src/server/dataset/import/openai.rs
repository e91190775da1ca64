//! OpenAI chat fine-tuning lines `{"messages": [...]}`, one answer per line.

use super::*;

pub(super) const GROUP_OPENAI: &str =
    "holds one answer: group lines with equal prompts, or add \"responses\"";

/// (prompt messages, the answer, external id) of one OpenAI chat line.
pub type ChatParts = (Vec<Message>, NewResponse, Option<String>);

/// Splits an OpenAI chat line `{"messages": [...]}`: the messages before the final assistant
/// message are the prompt, that message is the answer (`model` from a top-level `"model"`).
/// The caller groups consecutive lines with equal prompts into one item (2 to 8 answers) and
/// checks it with [`validate_at`].
pub fn openai_chat_parts(line: usize, text: &str) -> Result<ChatParts, LineError> {
    openai_parts(&parse_object(text).map_err(at(line))?).map_err(at(line))
}

pub(super) fn openai_parts(obj: &Obj) -> Result<ChatParts, Fail> {
    let list = obj
        .get("messages")
        .ok_or_else(|| bad("messages", "missing"))?;
    let mut messages = parse_messages(list, "messages")?;
    let last = messages.pop().filter(|m| m.role == ChatRole::Assistant);
    let content = last
        .ok_or_else(|| bad("messages", "must end with an assistant answer"))?
        .content;
    if messages.is_empty() {
        return fail("messages", "needs a prompt before the answer");
    }
    let model = optional_string(obj, "model")?;
    Ok((
        messages,
        NewResponse { model, content },
        external_id(obj, &["external_id", "id"])?,
    ))
}
