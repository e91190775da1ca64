//! Types of the model-backend API (`/api/v1`) and of API tokens, shared with the admin pages.

use crate::model::AppError;
use crate::model::project::Message;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// What an API token may do. Stored as these strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Scope {
    /// Push items.
    #[serde(rename = "items:write")]
    ItemsWrite,
    /// Send feedback from the backend's own end users.
    #[serde(rename = "feedback:write")]
    FeedbackWrite,
    /// Pull feedback batches and read item status.
    #[serde(rename = "feedback:read")]
    FeedbackRead,
    /// Export whole projects.
    #[serde(rename = "export:read")]
    ExportRead,
    /// List, add and remove a project's members.
    #[serde(rename = "members:write")]
    MembersWrite,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::ItemsWrite,
        Scope::FeedbackWrite,
        Scope::FeedbackRead,
        Scope::ExportRead,
        Scope::MembersWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ItemsWrite => "items:write",
            Scope::FeedbackWrite => "feedback:write",
            Scope::FeedbackRead => "feedback:read",
            Scope::ExportRead => "export:read",
            Scope::MembersWrite => "members:write",
        }
    }

    pub fn parse(s: &str) -> Result<Self, AppError> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| {
                AppError::invalid(
                    "scopes",
                    format!("unknown scope {s:?} (items:write, feedback:write, feedback:read, export:read, members:write)"),
                )
            })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const MAX_TOKEN_NAME_CHARS: usize = 100;

/// An admin's request for a new token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Limits the token to this project.
    pub project: Option<String>,
}

impl NewToken {
    pub fn validate(&self) -> Result<(), AppError> {
        let chars = self.name.trim().chars().count();
        if chars == 0 || chars > MAX_TOKEN_NAME_CHARS {
            return Err(AppError::invalid(
                "name",
                format!("must be 1 to {MAX_TOKEN_NAME_CHARS} characters"),
            ));
        }
        if self.scopes.is_empty() {
            return Err(AppError::invalid("scopes", "choose at least one scope"));
        }
        Ok(())
    }
}

/// A token as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub token_id: Uuid,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub project: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just created: the only time its secret is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: String,
}

/// What happened to one pushed item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    Created,
    AlreadyPresent,
    Invalid,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PushResult {
    /// Position of the item in the request (0-based).
    pub index: usize,
    pub status: PushStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Set when the item was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<FieldError>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PushReport {
    pub created: usize,
    pub already_present: usize,
    pub invalid: usize,
    pub results: Vec<PushResult>,
}

/// An item's labeling state, for the backend that pushed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ItemStatus {
    pub item_id: Uuid,
    pub external_id: String,
    pub answers: Vec<AnswerRef>,
    /// Annotations by annotators.
    pub annotations: usize,
    /// Feedback from the backend's end users.
    pub end_user_feedback: usize,
    /// Annotations the item needs: the project's overlap, or more when its annotators
    /// disagreed (adaptive overlap).
    pub overlap: i32,
    pub complete: bool,
    /// Best to worst, tiers of answer ids (Borda count over annotators' rankings); only when
    /// the item is complete and was ranked.
    pub consensus: Option<Vec<Vec<Uuid>>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AnswerRef {
    pub response_id: Uuid,
    pub ordinal: i16,
    pub model: Option<String>,
}

/// Thumbs from an end user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Thumb {
    Up,
    Down,
}

pub const MAX_END_USER_CHARS: usize = 200;
pub const MAX_CORRECTION_CHARS: usize = 100_000;
pub const MAX_COMMENT_CHARS: usize = 5_000;

/// What a model backend's end user said about one answer (a thumbs button, a correction box).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EndUserFeedback {
    /// Client-generated; sending the same id again updates that feedback instead of adding one.
    #[serde(default)]
    pub feedback_id: Option<Uuid>,
    /// The backend's id of the conversation turn; feedback with equal ids lands on one item.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The prompt as chat messages; or give `prompt`.
    #[serde(default)]
    pub messages: Option<Vec<Message>>,
    #[serde(default)]
    pub prompt: Option<String>,
    /// The answer the model gave.
    pub answer: String,
    /// The model that gave it.
    #[serde(default)]
    pub model: Option<String>,
    /// The backend's opaque id of its user.
    pub end_user: String,
    #[serde(default)]
    pub thumb: Option<Thumb>,
    /// The answer the user would have wanted.
    #[serde(default)]
    pub correction: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

impl EndUserFeedback {
    /// The prompt as messages; the error names the field.
    pub fn prompt_messages(&self) -> Result<Vec<Message>, AppError> {
        let messages = match (&self.messages, &self.prompt) {
            (Some(m), None) => m.clone(),
            (None, Some(p)) => vec![Message {
                role: crate::model::project::ChatRole::User,
                content: p.clone(),
            }],
            _ => {
                return Err(AppError::invalid(
                    "messages",
                    "give either messages or prompt",
                ));
            }
        };
        if messages.is_empty() {
            return Err(AppError::invalid("messages", "must not be empty"));
        }
        Ok(messages)
    }

    pub fn validate(&self) -> Result<(), AppError> {
        let within = |field: &str, value: &Option<String>, max: usize| match value {
            Some(v) if v.chars().count() > max => Err(AppError::invalid(
                field,
                format!("must be at most {max} characters"),
            )),
            _ => Ok(()),
        };
        let end_user = self.end_user.chars().count();
        if end_user == 0 || end_user > MAX_END_USER_CHARS {
            return Err(AppError::invalid(
                "end_user",
                format!("must be 1 to {MAX_END_USER_CHARS} characters"),
            ));
        }
        if self.answer.trim().is_empty() {
            return Err(AppError::invalid("answer", "must not be empty"));
        }
        within("answer", &Some(self.answer.clone()), MAX_CORRECTION_CHARS)?;
        within("correction", &self.correction, MAX_CORRECTION_CHARS)?;
        within("comment", &self.comment, MAX_COMMENT_CHARS)?;
        if let Some(id) = &self.external_id
            && (id.is_empty() || id.chars().count() > 200)
        {
            return Err(AppError::invalid(
                "external_id",
                "must be 1 to 200 characters",
            ));
        }
        if self.thumb.is_none() && self.correction.is_none() && self.comment.is_none() {
            return Err(AppError::invalid(
                "thumb",
                "give at least one of thumb, correction or comment",
            ));
        }
        self.prompt_messages().map(|_| ())
    }
}

/// Where feedback capture put it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FeedbackReceipt {
    pub feedback_id: Uuid,
    pub item_id: Uuid,
    pub response_id: Uuid,
    /// 1 for new feedback; higher when it updated earlier feedback of the same user.
    pub version: i32,
}

/// What happened to one event of a feedback batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Stored,
    Invalid,
}

/// One event's result, by its position in the batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BatchResult {
    /// Position of the event in the request (0-based).
    pub index: usize,
    pub status: BatchStatus,
    /// Where it was stored (`stored` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<FeedbackReceipt>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// A feedback batch's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BatchReport {
    pub stored: usize,
    pub invalid: usize,
    /// True when this is the stored answer to an earlier request with the same
    /// `Idempotency-Key`: nothing was stored again.
    pub replayed: bool,
    pub results: Vec<BatchResult>,
}

/// A position in a project's feedback stream. Opaque to clients: `"<tx>-<seq>"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub tx: i64,
    pub seq: i64,
}

impl Cursor {
    pub fn parse(s: &str, field: &str) -> Result<Self, AppError> {
        let bad = || AppError::invalid(field, "not a cursor this API returned");
        let (tx, seq) = s.split_once('-').ok_or_else(bad)?;
        Ok(Self {
            tx: tx.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.tx, self.seq)
    }
}

/// One annotation (or end-user feedback) in a pulled batch, with the records it gives in
/// the requested export format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FeedbackEntry {
    /// Pass as `after` to continue from here.
    pub cursor: String,
    pub annotation_id: Uuid,
    pub item_id: Uuid,
    pub external_id: Option<String>,
    /// `annotator` or `end_user`.
    pub source: String,
    /// Increases with every edit; an edited annotation is delivered again.
    pub version: i32,
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Object>))]
    pub records: Vec<serde_json::Value>,
}

/// A page of the feedback stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FeedbackPage {
    pub feedback: Vec<FeedbackEntry>,
    /// Where the next request continues (`after`); unchanged when nothing was new.
    pub next_cursor: String,
    pub has_more: bool,
}

/// A batch delivered to a named consumer; ack its id to move the consumer's cursor past it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConsumerBatch {
    /// Absent when there was nothing to deliver.
    pub batch_id: Option<Uuid>,
    /// Unacked by then, the batch is delivered again.
    pub expires_at: Option<DateTime<Utc>>,
    pub feedback: Vec<FeedbackEntry>,
    pub has_more: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Ack {
    pub batch_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AckReceipt {
    /// The consumer's cursor after the ack.
    pub cursor: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_names() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()).unwrap(), scope);
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{}\"", scope.as_str()));
        }
        assert_eq!(
            Scope::parse("admin").unwrap_err().field.as_deref(),
            Some("scopes")
        );
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor { tx: 812, seq: 44 };
        assert_eq!(Cursor::parse(&c.to_string(), "after").unwrap(), c);
        assert!(Cursor { tx: 812, seq: 45 } > c);
        assert!(Cursor { tx: 813, seq: 1 } > c);
        for bad in ["", "12", "a-b", "1-2-3"] {
            assert_eq!(
                Cursor::parse(bad, "after").unwrap_err().field.as_deref(),
                Some("after"),
                "{bad:?}"
            );
        }
    }

    fn feedback() -> EndUserFeedback {
        EndUserFeedback {
            feedback_id: None,
            external_id: Some("conv-1".into()),
            messages: None,
            prompt: Some("What is 2+2?".into()),
            answer: "4".into(),
            model: None,
            end_user: "u-1".into(),
            thumb: Some(Thumb::Up),
            correction: None,
            comment: None,
        }
    }

    #[test]
    fn feedback_validation_names_the_field() {
        assert!(feedback().validate().is_ok());
        let field = |f: EndUserFeedback| f.validate().unwrap_err().field.unwrap();
        assert_eq!(
            field(EndUserFeedback {
                end_user: String::new(),
                ..feedback()
            }),
            "end_user"
        );
        assert_eq!(
            field(EndUserFeedback {
                answer: " ".into(),
                ..feedback()
            }),
            "answer"
        );
        assert_eq!(
            field(EndUserFeedback {
                thumb: None,
                ..feedback()
            }),
            "thumb"
        );
        assert_eq!(
            field(EndUserFeedback {
                prompt: None,
                ..feedback()
            }),
            "messages"
        );
        assert_eq!(
            field(EndUserFeedback {
                comment: Some("x".repeat(5001)),
                ..feedback()
            }),
            "comment"
        );
        assert_eq!(
            field(EndUserFeedback {
                external_id: Some(String::new()),
                ..feedback()
            }),
            "external_id"
        );
    }
}
