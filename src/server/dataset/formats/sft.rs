//! Supervised fine-tuning from ideal answers: TRL's `{"messages"}` (also OpenAI's chat
//! fine-tuning file) and `{"prompt", "completion"}`.

use super::Conversation;
use crate::model::export::ExportFormat;
use crate::model::project::Message;
use serde::ser::SerializeMap;

pub fn entries<M: SerializeMap>(
    map: &mut M,
    format: ExportFormat,
    prompt: &str,
    messages: &[Message],
    ideal: &str,
) -> Result<(), M::Error> {
    if format == ExportFormat::SftPromptCompletion {
        map.serialize_entry("prompt", prompt)?;
        map.serialize_entry("completion", ideal)
    } else {
        map.serialize_entry("messages", &Conversation(messages, Some(ideal)))
    }
}
