//! Preference pairs: TRL's DPO / reward format as text or as messages, OpenAI's preference
//! fine-tuning, and Anthropic HH transcripts.

use super::Conversation;
use crate::model::export::ExportFormat;
use crate::model::project::{ChatRole, Message};
use serde::Serialize;
use serde::ser::SerializeMap;

/// One pair; `transcripts` are the two HH texts (Anthropic HH only).
pub struct Pair<'a> {
    pub prompt: &'a str,
    pub messages: &'a [Message],
    pub chosen: &'a str,
    pub rejected: &'a str,
    pub transcripts: Option<&'a (String, String)>,
}

pub fn entries<M: SerializeMap>(
    map: &mut M,
    format: ExportFormat,
    pair: &Pair<'_>,
) -> Result<(), M::Error> {
    if let Some((chosen, rejected)) = pair.transcripts {
        map.serialize_entry("chosen", chosen)?;
        return map.serialize_entry("rejected", rejected);
    }
    let (c, r) = (
        Conversation(&[], Some(pair.chosen)),
        Conversation(&[], Some(pair.rejected)),
    );
    let prompt = Conversation(pair.messages, None);
    match format {
        ExportFormat::DpoConversational => {
            map.serialize_entry("prompt", &prompt)?;
            map.serialize_entry("chosen", &c)?;
            map.serialize_entry("rejected", &r)
        }
        ExportFormat::OpenaiPreference => {
            map.serialize_entry("input", &Input(prompt))?;
            map.serialize_entry("preferred_output", &c)?;
            map.serialize_entry("non_preferred_output", &r)
        }
        _ => {
            map.serialize_entry("prompt", pair.prompt)?;
            map.serialize_entry("chosen", pair.chosen)?;
            map.serialize_entry("rejected", pair.rejected)
        }
    }
}

/// OpenAI's `{"messages": …}` input.
struct Input<'a>(Conversation<'a>);

impl Serialize for Input<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("messages", &self.0)?;
        map.end()
    }
}

/// "\n\nHuman: …\n\nAssistant: …" ending with `answer`. System messages are folded into the
/// first Human turn (made up if the conversation does not start with a user turn).
pub fn hh_text(messages: &[Message], answer: &str) -> String {
    let is_system = |m: &&Message| m.role == ChatRole::System;
    let system: Vec<&str> = messages
        .iter()
        .filter(is_system)
        .map(|m| m.content.as_str())
        .collect();
    let mut turns: Vec<(bool, String)> = messages
        .iter()
        .filter(|m| !is_system(m))
        .map(|m| (m.role == ChatRole::User, m.content.clone()))
        .collect();
    if !system.is_empty() {
        let system = system.join("\n\n");
        if turns.first().is_some_and(|t| t.0) {
            turns[0].1 = format!("{system}\n\n{}", turns[0].1);
        } else {
            turns.insert(0, (true, system));
        }
    }
    turns.push((false, answer.to_owned()));
    let speaker = |human: bool| if human { "Human" } else { "Assistant" };
    // An empty turn is the bare marker, as HH writes an answer that says nothing.
    turns
        .iter()
        .map(|(human, text)| match text.as_str() {
            "" => format!("\n\n{}:", speaker(*human)),
            text => format!("\n\n{}: {text}", speaker(*human)),
        })
        .collect()
}
