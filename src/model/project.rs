//! Projects, items (a prompt as chat messages) and their candidate answers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A project as listed on the home page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub project_id: Uuid,
    pub slug: String,
    pub name: String,
    /// Items for annotators (not those created by end-user feedback).
    pub item_count: i64,
    /// Feedback from model backends' end users.
    pub feedback_count: i64,
    /// At a glance on the home page (0 and none where not filled in): items complete, labels
    /// today, the signed-in person's labels and everyone's.
    #[serde(default)]
    pub completed: i64,
    #[serde(default)]
    pub labels_today: i64,
    #[serde(default)]
    pub my_labels: i64,
    #[serde(default)]
    pub all_labels: i64,
    /// Annotator pairs ordering answer pairs alike, of those compared, in whole percent
    /// (admins).
    #[serde(default)]
    pub agreement_percent: Option<i64>,
    /// Items with labels waiting for this reviewer (reviewers and admins, review on).
    #[serde(default)]
    pub review_due: Option<i64>,
}

/// Who speaks a chat turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
    /// A gold item (the admins' item list only; annotators never see this).
    pub gold: bool,
    pub html: RenderedItem,
}

/// An item's messages and answers as sanitised HTML, in their order: markdown is rendered
/// on the server (model text is untrusted: raw HTML becomes text, scripting links lose their
/// target), so the renderer stays out of the browser's bundle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedItem {
    pub messages: Vec<String>,
    pub answers: Vec<String>,
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewResponse {
    #[serde(default)]
    pub model: Option<String>,
    pub content: String,
}

/// An item to add: the prompt as chat messages and its candidate answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewItem {
    #[serde(default)]
    pub external_id: Option<String>,
    pub messages: Vec<Message>,
    pub responses: Vec<NewResponse>,
    #[serde(default = "empty_object")]
    pub metadata: serde_json::Value,
    /// Makes the item a gold item: its expected label, answers named by position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold: Option<crate::model::gold::Gold>,
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
        // An answer may be empty: saying nothing is sometimes the best answer (Anthropic's
        // HH data has such chosen answers); the workspace shows it as empty.
        for (i, response) in self.responses.iter().enumerate() {
            check_length(&format!("responses[{i}].content"), &response.content)?;
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
        if let Some(gold) = &self.gold {
            gold.validate("gold", self.responses.len())?;
        }
        Ok(())
    }
}

fn check_text(field: &str, text: &str) -> Result<(), crate::model::AppError> {
    if text.trim().is_empty() {
        return Err(crate::model::AppError::invalid(field, "must not be empty"));
    }
    check_length(field, text)
}

fn check_length(field: &str, text: &str) -> Result<(), crate::model::AppError> {
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
            gold: None,
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
        bad.messages[0].content = "  ".into();
        assert_eq!(
            bad.validate().unwrap_err().field.as_deref(),
            Some("messages[0].content")
        );
        // An empty answer is an answer (saying nothing), but not an endless one.
        let mut silent = item(3);
        silent.responses[2].content = String::new();
        assert!(silent.validate().is_ok());
        silent.responses[1].content = "x".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            silent.validate().unwrap_err().field.as_deref(),
            Some("responses[1].content")
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectSettings {
    pub project_id: Uuid,
    pub slug: String,
    pub name: String,
    pub guidelines: String,
    pub kinds: crate::model::annotation::FeedbackKinds,
    /// How many different annotators label each item.
    pub overlap: i32,
    /// The most annotators an item may get when its annotators disagree (adaptive overlap;
    /// the quality settings); `overlap` when that is off.
    pub max_overlap: i32,
    pub shuffle_answers: bool,
    pub lease_seconds: i32,
    /// The current guideline version: the guidelines and the judgment schema together.
    pub guideline_version: i32,
    pub judgment: crate::model::judgment::JudgmentSchema,
}

/// The admin's project settings form. Checkboxes are absent when unticked, hence `Option`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectForm {
    pub name: String,
    #[serde(default)]
    pub guidelines: String,
    pub overlap: i32,
    pub lease_minutes: i32,
    #[serde(default)]
    pub shuffle_answers: Option<String>,
    #[serde(default)]
    pub thumbs: Option<String>,
    #[serde(default)]
    pub ranking: Option<String>,
    #[serde(default)]
    pub ideal: Option<String>,
    #[serde(default)]
    pub flags: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub allow_ties: Option<String>,
    /// The judgment schema as JSON (README: "Judgment schema"); blank for none.
    #[serde(default)]
    pub judgment: String,
}

pub const MAX_GUIDELINES_CHARS: usize = 50_000;

impl ProjectForm {
    pub fn from_settings(s: &ProjectSettings) -> Self {
        let on = |b: bool| b.then(|| "on".to_owned());
        Self {
            name: s.name.clone(),
            guidelines: s.guidelines.clone(),
            overlap: s.overlap,
            lease_minutes: s.lease_seconds / 60,
            shuffle_answers: on(s.shuffle_answers),
            thumbs: on(s.kinds.thumbs),
            ranking: on(s.kinds.ranking),
            ideal: on(s.kinds.ideal),
            flags: on(s.kinds.flags),
            comment: on(s.kinds.comment),
            allow_ties: on(s.kinds.allow_ties),
            judgment: if s.judgment.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&s.judgment).unwrap_or_default()
            },
        }
    }

    /// Applies the form to `settings`; the error names the field.
    pub fn apply(
        &self,
        mut settings: ProjectSettings,
    ) -> Result<ProjectSettings, crate::model::AppError> {
        use crate::model::AppError;
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::invalid("name", "must be 1 to 200 characters"));
        }
        if self.guidelines.chars().count() > MAX_GUIDELINES_CHARS {
            return Err(AppError::invalid(
                "guidelines",
                format!("must be at most {MAX_GUIDELINES_CHARS} characters"),
            ));
        }
        if !(1..=100).contains(&self.overlap) {
            return Err(AppError::invalid(
                "overlap",
                "must be between 1 and 100 annotators",
            ));
        }
        if !(1..=1440).contains(&self.lease_minutes) {
            return Err(AppError::invalid(
                "lease_minutes",
                "must be between 1 and 1440 minutes",
            ));
        }
        let kinds = crate::model::annotation::FeedbackKinds {
            thumbs: self.thumbs.is_some(),
            ranking: self.ranking.is_some(),
            ideal: self.ideal.is_some(),
            flags: self.flags.is_some(),
            comment: self.comment.is_some(),
            allow_ties: self.allow_ties.is_some(),
        };
        if !(kinds.thumbs || kinds.ranking || kinds.ideal || kinds.flags) {
            return Err(AppError::invalid(
                "kinds",
                "switch on at least one kind of feedback",
            ));
        }
        settings.name = name.to_owned();
        settings.guidelines = self.guidelines.clone();
        settings.overlap = self.overlap;
        settings.lease_seconds = self.lease_minutes * 60;
        settings.shuffle_answers = self.shuffle_answers.is_some();
        settings.kinds = kinds;
        settings.judgment = parse_judgment(&self.judgment)?;
        Ok(settings)
    }
}

/// A judgment schema written as JSON (blank: none); errors name the field under
/// `judgment` (`judgment.rubric[0].key`).
pub fn parse_judgment(
    text: &str,
) -> Result<crate::model::judgment::JudgmentSchema, crate::model::AppError> {
    use crate::model::AppError;
    if text.trim().is_empty() {
        return Ok(Default::default());
    }
    let schema: crate::model::judgment::JudgmentSchema = serde_json::from_str(text)
        .map_err(|e| AppError::invalid("judgment", format!("is not a judgment schema: {e}")))?;
    schema.validate().map_err(|e| AppError {
        field: Some(match e.field {
            Some(f) => format!("judgment.{f}"),
            None => "judgment".to_owned(),
        }),
        ..e
    })?;
    Ok(schema)
}

/// Checks a project slug: lowercase letters, digits and dashes, 1 to 63 characters.
pub fn validate_slug(slug: &str) -> Result<(), crate::model::AppError> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && !slug.starts_with('-')
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(crate::model::AppError::invalid(
            "slug",
            "use 1 to 63 lowercase letters, digits and dashes",
        ))
    }
}

#[cfg(test)]
mod form_tests {
    use super::*;

    fn settings() -> ProjectSettings {
        ProjectSettings {
            project_id: Uuid::nil(),
            slug: "p".into(),
            name: "P".into(),
            guidelines: String::new(),
            kinds: crate::model::annotation::FeedbackKinds {
                thumbs: true,
                ranking: true,
                ideal: true,
                flags: true,
                comment: true,
                allow_ties: false,
            },
            overlap: 1,
            max_overlap: 1,
            shuffle_answers: true,
            lease_seconds: 900,
            guideline_version: 1,
            judgment: Default::default(),
        }
    }

    #[test]
    fn the_form_round_trips_settings() {
        let s = settings();
        assert_eq!(ProjectForm::from_settings(&s).apply(s.clone()).unwrap(), s);
    }

    #[test]
    fn the_form_names_bad_fields() {
        let base = ProjectForm::from_settings(&settings());
        let bad = |f: ProjectForm| f.apply(settings()).unwrap_err().field.unwrap();
        assert_eq!(
            bad(ProjectForm {
                overlap: 0,
                ..base.clone()
            }),
            "overlap"
        );
        assert_eq!(
            bad(ProjectForm {
                lease_minutes: 0,
                ..base.clone()
            }),
            "lease_minutes"
        );
        assert_eq!(
            bad(ProjectForm {
                name: " ".into(),
                ..base.clone()
            }),
            "name"
        );
        let none = ProjectForm {
            thumbs: None,
            ranking: None,
            ideal: None,
            flags: None,
            ..base
        };
        assert_eq!(bad(none), "kinds");
    }

    #[test]
    fn slugs() {
        assert!(validate_slug("support-v2").is_ok());
        for bad in ["", "Caps", "-x", "a b", "ü"] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }
}
