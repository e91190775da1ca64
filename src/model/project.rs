//! Projects, items (a prompt as chat messages) and their candidate answers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A project as listed on the home page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub project_id: Uuid,
    pub slug: String,
    pub name: String,
    pub item_count: i64,
}

/// Who speaks a chat turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

impl ChatRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatRole::System => "system",
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: ChatRole,
    pub content: String,
}

/// One candidate answer of an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseView {
    pub response_id: Uuid,
    pub ordinal: i16,
    pub model: Option<String>,
    pub content: String,
}

/// An item with its answers, as the admin's item list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemView {
    pub item_id: Uuid,
    pub item_seq: i64,
    pub external_id: Option<String>,
    pub messages: Vec<Message>,
    pub responses: Vec<ResponseView>,
}

/// One page of a project's items, in insertion order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemPage {
    pub project: ProjectSummary,
    pub items: Vec<ItemView>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_after: Option<i64>,
}

pub const MIN_ANSWERS: usize = 2;
pub const MAX_ANSWERS: usize = 8;
pub const MAX_MESSAGES: usize = 200;
pub const MAX_TEXT_CHARS: usize = 100_000;
pub const MAX_EXTERNAL_ID_CHARS: usize = 200;

/// An answer to add to an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewResponse {
    #[serde(default)]
    pub model: Option<String>,
    pub content: String,
}

/// An item to add: the prompt as chat messages and its candidate answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewItem {
    #[serde(default)]
    pub external_id: Option<String>,
    pub messages: Vec<Message>,
    pub responses: Vec<NewResponse>,
    #[serde(default = "empty_object")]
    pub metadata: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

impl NewItem {
    /// Checks the limits; the error names the offending field, e.g. `responses[2].content`.
    pub fn validate(&self) -> Result<(), crate::model::AppError> {
        use crate::model::AppError;
        if let Some(id) = &self.external_id {
            let chars = id.chars().count();
            if chars == 0 || chars > MAX_EXTERNAL_ID_CHARS {
                return Err(AppError::invalid(
                    "external_id",
                    format!("must be 1 to {MAX_EXTERNAL_ID_CHARS} characters"),
                ));
            }
        }
        if self.messages.is_empty() || self.messages.len() > MAX_MESSAGES {
            return Err(AppError::invalid(
                "messages",
                format!("must hold 1 to {MAX_MESSAGES} messages"),
            ));
        }
        for (i, message) in self.messages.iter().enumerate() {
            check_text(&format!("messages[{i}].content"), &message.content)?;
        }
        if !(MIN_ANSWERS..=MAX_ANSWERS).contains(&self.responses.len()) {
            return Err(AppError::invalid(
                "responses",
                format!(
                    "must hold {MIN_ANSWERS} to {MAX_ANSWERS} answers, not {}",
                    self.responses.len()
                ),
            ));
        }
        for (i, response) in self.responses.iter().enumerate() {
            check_text(&format!("responses[{i}].content"), &response.content)?;
            if response
                .model
                .as_ref()
                .is_some_and(|m| m.chars().count() > 200)
            {
                return Err(AppError::invalid(
                    format!("responses[{i}].model"),
                    "must be at most 200 characters",
                ));
            }
        }
        if !self.metadata.is_object() {
            return Err(AppError::invalid("metadata", "must be a JSON object"));
        }
        Ok(())
    }
}

fn check_text(field: &str, text: &str) -> Result<(), crate::model::AppError> {
    if text.trim().is_empty() {
        return Err(crate::model::AppError::invalid(field, "must not be empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(crate::model::AppError::invalid(
            field,
            format!("must be at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(answers: usize) -> NewItem {
        NewItem {
            external_id: Some("q-1".into()),
            messages: vec![Message {
                role: ChatRole::User,
                content: "Why is the sky blue?".into(),
            }],
            responses: (0..answers)
                .map(|i| NewResponse {
                    model: None,
                    content: format!("answer {i}"),
                })
                .collect(),
            metadata: empty_object(),
        }
    }

    #[test]
    fn accepts_two_to_eight_answers() {
        assert!(item(2).validate().is_ok());
        assert!(item(8).validate().is_ok());
        assert_eq!(
            item(1).validate().unwrap_err().field.as_deref(),
            Some("responses")
        );
        assert_eq!(
            item(9).validate().unwrap_err().field.as_deref(),
            Some("responses")
        );
    }

    #[test]
    fn names_the_empty_text() {
        let mut bad = item(3);
        bad.responses[2].content = "  ".into();
        assert_eq!(
            bad.validate().unwrap_err().field.as_deref(),
            Some("responses[2].content")
        );
        let mut bad = item(2);
        bad.messages.clear();
        assert_eq!(
            bad.validate().unwrap_err().field.as_deref(),
            Some("messages")
        );
    }

    #[test]
    fn metadata_must_be_an_object() {
        let mut bad = item(2);
        bad.metadata = serde_json::json!([1, 2]);
        assert_eq!(
            bad.validate().unwrap_err().field.as_deref(),
            Some("metadata")
        );
    }

    #[test]
    fn parses_the_documented_json_shape() {
        let parsed: NewItem = serde_json::from_str(
            r#"{"messages":[{"role":"user","content":"hi"}],"responses":[{"content":"a"},{"model":"m","content":"b"}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.responses[1].model.as_deref(), Some("m"));
        assert!(parsed.metadata.is_object());
        assert!(parsed.validate().is_ok());
    }
}

/// A project's labeling settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSettings {
    pub project_id: Uuid,
    pub slug: String,
    pub name: String,
    pub guidelines: String,
    pub kinds: crate::model::annotation::FeedbackKinds,
    /// How many different annotators label each item.
    pub overlap: i32,
    pub shuffle_answers: bool,
    pub lease_seconds: i32,
}
