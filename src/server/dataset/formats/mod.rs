//! One file per format family: each writes the keys of its records into a JSON map.
//! Shared here: conversations as `[{"role", "content"}…]` and the text prompt.

pub mod kto;
pub mod preference;
pub mod raw;
pub mod rubric;
pub mod sft;

use crate::model::project::{ChatRole, Message};
use serde::Serialize;
use serde_json::value::RawValue;

/// Messages as `[{"role", "content"}…]`, then the assistant's `answer` if any.
pub struct Conversation<'a>(pub &'a [Message], pub Option<&'a str>);

impl Serialize for Conversation<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len() + usize::from(self.1.is_some())))?;
        for message in self.0 {
            seq.serialize_element(&Turn(message.role, &message.content))?;
        }
        if let Some(answer) = self.1 {
            seq.serialize_element(&Turn(ChatRole::Assistant, answer))?;
        }
        seq.end()
    }
}

struct Turn<'a>(ChatRole, &'a str);

impl Serialize for Turn<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("role", self.0.as_str())?;
        map.serialize_entry("content", self.1)?;
        map.end()
    }
}

/// `value` as JSON text, kept to be written into many records.
pub fn raw_json<T: Serialize>(value: &T) -> Box<RawValue> {
    // Plain data with string keys always serialises; `null` keeps the type total.
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// The prompt as one text (DPO standard, KTO, SFT prompt/completion): a conversation of a
/// single user message is that message's content; any other conversation is rendered as
/// "System: …\n\nUser: …\n\nAssistant: …\n\nUser: …" (turns separated by a blank line).
pub fn prompt_text(messages: &[Message]) -> String {
    if let [only] = messages
        && only.role == ChatRole::User
    {
        return only.content.clone();
    }
    let turns: Vec<String> = messages
        .iter()
        .map(|m| {
            let who = match m.role {
                ChatRole::System => "System",
                ChatRole::User => "User",
                ChatRole::Assistant => "Assistant",
            };
            format!("{who}: {}", m.content)
        })
        .collect();
    turns.join("\n\n")
}
