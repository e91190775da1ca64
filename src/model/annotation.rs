//! What an annotator submits, its validation against the item and the project's
//! settings, and what the labeling screen receives.

use super::AppError;
use super::judgment::{JudgmentSchema, Judgments};
use super::project::{Message, ResponseView};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

pub const MAX_COMMENT_CHARS: usize = 5_000;
pub const MAX_IDEAL_CHARS: usize = 100_000;
pub const MAX_TIME_SPENT_MS: u32 = 24 * 3600 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(
    feature = "ssr",
    sqlx(type_name = "annotation_flag", rename_all = "snake_case")
)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Favourite,
    Unsafe,
    FactuallyWrong,
    NotRankable,
}

impl Flag {
    pub const ALL: [Flag; 4] = [
        Flag::Favourite,
        Flag::Unsafe,
        Flag::FactuallyWrong,
        Flag::NotRankable,
    ];

    /// The flag's name as the API and exports spell it (`factually_wrong`).
    pub fn key(self) -> &'static str {
        match self {
            Flag::Favourite => "favourite",
            Flag::Unsafe => "unsafe",
            Flag::FactuallyWrong => "factually_wrong",
            Flag::NotRankable => "not_rankable",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Flag::Favourite => "Favourite",
            Flag::Unsafe => "Unsafe",
            Flag::FactuallyWrong => "Factually wrong",
            Flag::NotRankable => "Not rankable",
        }
    }
}

/// Which kinds of feedback a project collects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackKinds {
    pub thumbs: bool,
    pub ranking: bool,
    pub ideal: bool,
    pub flags: bool,
    pub comment: bool,
    pub allow_ties: bool,
}

/// What an annotation says about its item: the content its author gives. It owns the
/// content's validation, and is embedded (flattened: the wire shape has the fields at the
/// top level) in the submission, the author's view, the browser's draft and the exported
/// record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnotationBody {
    /// Best to worst as tiers of answer ids; a tier of several is a tie.
    #[serde(default)]
    pub ranking: Option<Vec<Vec<Uuid>>>,
    #[serde(default)]
    pub thumbs: BTreeMap<Uuid, bool>,
    #[serde(default)]
    pub ideal_answer: Option<String>,
    #[serde(default)]
    pub ideal_from: Option<Uuid>,
    #[serde(default)]
    pub flags: Vec<Flag>,
    #[serde(default)]
    pub comment: Option<String>,
    /// Strength, rubric scores, "none acceptable", rationale: under the judgment schema.
    #[serde(flatten)]
    pub judgments: Judgments,
}

impl AnnotationBody {
    /// Checks the content against the item's answers, the project's feedback kinds and the
    /// judgment schema the item was shown with, and returns it normalised (blank texts
    /// become `None`, flags sorted and unique). The error names the field.
    pub fn validate(
        mut self,
        known: &BTreeSet<Uuid>,
        kinds: &FeedbackKinds,
        schema: &JudgmentSchema,
    ) -> Result<Self, AppError> {
        self.flags.sort();
        self.flags.dedup();
        if !self.flags.is_empty() && !kinds.flags {
            return Err(switched_off("flags"));
        }

        match &self.ranking {
            Some(_) if !kinds.ranking => return Err(switched_off("ranking")),
            Some(tiers) => {
                let flat: Vec<Uuid> = tiers.iter().flatten().copied().collect();
                if tiers.iter().any(Vec::is_empty) || !is_permutation(&flat, known) {
                    return Err(AppError::invalid(
                        "ranking",
                        "must order every answer of the item exactly once",
                    ));
                }
                if !kinds.allow_ties && tiers.iter().any(|t| t.len() > 1) {
                    return Err(AppError::invalid(
                        "ranking",
                        "ties are not allowed in this project",
                    ));
                }
            }
            None if kinds.ranking
                && !self.flags.contains(&Flag::NotRankable)
                && !has_text(&self.judgments.none_acceptable) =>
            {
                return Err(AppError::invalid(
                    "ranking",
                    if schema.none_acceptable {
                        "rank the answers, say that none is acceptable, or flag the item as not rankable"
                    } else {
                        "rank the answers, or flag the item as not rankable"
                    },
                ));
            }
            None => {}
        }

        if !self.thumbs.is_empty() && !kinds.thumbs {
            return Err(switched_off("thumbs"));
        }
        if let Some(id) = self.thumbs.keys().find(|id| !known.contains(id)) {
            return Err(AppError::invalid(
                "thumbs",
                format!("{id} is not an answer of this item"),
            ));
        }

        self.ideal_answer = non_blank(self.ideal_answer.take());
        if let Some(ideal) = &self.ideal_answer {
            if !kinds.ideal {
                return Err(switched_off("ideal_answer"));
            }
            if ideal.chars().count() > MAX_IDEAL_CHARS {
                return Err(AppError::invalid(
                    "ideal_answer",
                    format!("must be at most {MAX_IDEAL_CHARS} characters"),
                ));
            }
        }
        if self.ideal_answer.is_none() {
            self.ideal_from = None;
        }
        if self.ideal_from.is_some_and(|id| !known.contains(&id)) {
            return Err(AppError::invalid(
                "ideal_from",
                "is not an answer of this item",
            ));
        }

        self.comment = non_blank(self.comment.take());
        if let Some(comment) = &self.comment {
            if !kinds.comment {
                return Err(switched_off("comment"));
            }
            if comment.chars().count() > MAX_COMMENT_CHARS {
                return Err(AppError::invalid(
                    "comment",
                    format!("must be at most {MAX_COMMENT_CHARS} characters"),
                ));
            }
        }
        let tiers = self.ranking.as_ref().map(Vec::len);
        let exempt = self.flags.contains(&Flag::NotRankable);
        self.judgments =
            std::mem::take(&mut self.judgments).validate(schema, known, tiers, exempt)?;
        if self.ranking.is_none()
            && self.thumbs.is_empty()
            && self.ideal_answer.is_none()
            && self.flags.is_empty()
            && self.judgments.is_empty()
        {
            return Err(AppError::invalid(
                "annotation",
                "give some feedback before submitting",
            ));
        }
        Ok(self)
    }

    /// Writes the fields into a map being serialised, in their declared order: for writers
    /// that build a record by hand around the body (the raw export).
    pub fn entries<M: serde::ser::SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("ranking", &self.ranking)?;
        map.serialize_entry("thumbs", &self.thumbs)?;
        map.serialize_entry("ideal_answer", &self.ideal_answer)?;
        map.serialize_entry("ideal_from", &self.ideal_from)?;
        map.serialize_entry("flags", &self.flags)?;
        map.serialize_entry("comment", &self.comment)?;
        // Only when given: records of labels without judgments stay as they were.
        let j = &self.judgments;
        if !j.strengths.is_empty() {
            map.serialize_entry("strengths", &j.strengths)?;
        }
        if !j.ratings.is_empty() {
            map.serialize_entry("ratings", &j.ratings)?;
        }
        if let Some(reason) = &j.none_acceptable {
            map.serialize_entry("none_acceptable", reason)?;
        }
        if let Some(rationale) = &j.rationale {
            map.serialize_entry("rationale", rationale)?;
        }
        if !j.turns.is_empty() {
            map.serialize_entry("turns", &j.turns)?;
        }
        Ok(())
    }
}

/// A submission (or, with `base_version`, an edit) from the labeling screen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnotationInput {
    /// Generated by the client once per item, so a retry is recognised.
    pub annotation_id: Uuid,
    pub item_id: Uuid,
    #[serde(flatten)]
    pub body: AnnotationBody,
    /// The order the answers were shown in.
    pub shown_order: Vec<Uuid>,
    #[serde(default)]
    pub time_spent_ms: u32,
    /// For an edit of an earlier annotation: the version it started from.
    #[serde(default)]
    pub base_version: Option<i32>,
    /// The model's proposal the annotator was shown, if any.
    #[serde(default)]
    pub proposal_id: Option<Uuid>,
    /// The guideline (and judgment schema) version the item was shown with; the current
    /// one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guideline_version: Option<i32>,
}

impl AnnotationInput {
    /// Checks the input against the item's answers and the project's feedback kinds (see
    /// [`AnnotationBody::validate`]), and returns it normalised. The error names the field.
    pub fn validate(
        mut self,
        answers: &[Uuid],
        kinds: &FeedbackKinds,
        schema: &JudgmentSchema,
    ) -> Result<Self, AppError> {
        let known: BTreeSet<Uuid> = answers.iter().copied().collect();
        if !is_permutation(&self.shown_order, &known) {
            return Err(AppError::invalid(
                "shown_order",
                "must list each answer of the item exactly once",
            ));
        }
        self.body = self.body.validate(&known, kinds, schema)?;
        if self.time_spent_ms > MAX_TIME_SPENT_MS {
            return Err(AppError::invalid(
                "time_spent_ms",
                "must be at most 24 hours",
            ));
        }
        Ok(self)
    }
}

fn switched_off(field: &str) -> AppError {
    AppError::invalid(
        field,
        "this kind of feedback is switched off in this project",
    )
}

fn has_text(text: &Option<String>) -> bool {
    text.as_deref().is_some_and(|t| !t.trim().is_empty())
}

fn non_blank(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

fn is_permutation(ids: &[Uuid], known: &BTreeSet<Uuid>) -> bool {
    let unique: BTreeSet<Uuid> = ids.iter().copied().collect();
    unique.len() == ids.len() && &unique == known
}

/// An annotation as its author sees it (history, editing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnotationView {
    pub annotation_id: Uuid,
    pub item_id: Uuid,
    #[serde(flatten)]
    pub body: AnnotationBody,
    pub shown_order: Vec<Uuid>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// Items done in the project, and by me today.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub completed: i64,
    pub total: i64,
    pub mine_today: i64,
}

/// Everything the labeling screen needs for one item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub project_slug: String,
    pub project_name: String,
    pub guidelines: String,
    pub kinds: FeedbackKinds,
    /// The guideline version shown, with its judgment schema: the submission names it.
    pub guideline_version: i32,
    pub judgment: JudgmentSchema,
    pub item_id: Uuid,
    pub messages: Vec<Message>,
    /// In the order this annotator is shown them.
    pub answers: Vec<ResponseView>,
    pub lease_expires_at: DateTime<Utc>,
    pub progress: Progress,
    /// Set when reopening an earlier annotation for editing.
    pub existing: Option<AnnotationView>,
    /// The model's proposal, unless there is none or this annotator is held out.
    #[serde(default)]
    pub proposal: Option<crate::model::proposal::ProposalView>,
    /// The guidelines, rendered on the server (see [`RenderedItem`]).
    pub guidelines_html: String,
    /// The messages and answers, in the order above, rendered on the server.
    pub html: crate::model::project::RenderedItem,
}

/// The answer to a submission or a skip: what was stored, and the next item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submitted {
    pub annotation_id: Option<Uuid>,
    pub version: Option<i32>,
    pub next: Option<Task>,
    /// Why there is no next item although the project has some (the annotator was paused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// About the label just stored: what it missed, when the project explains misses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

/// One row of "My history".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub annotation_id: Uuid,
    pub item_id: Uuid,
    pub prompt_excerpt: String,
    pub flags: Vec<Flag>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    /// The reviewer's decision on the label, if it was reviewed.
    #[serde(default)]
    pub review: Option<ReviewNote>,
    /// A reviewer rejected the label and it is gone (it can no longer be edited).
    #[serde(default)]
    pub removed: bool,
}

/// A review decision as the annotator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewNote {
    /// accepted, fixed or rejected.
    pub outcome: String,
    pub reason: Option<String>,
    /// What a fix changed, a line per field: `ranking: A > B → B > A`.
    pub changes: Vec<String>,
    pub decided_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_ON: FeedbackKinds = FeedbackKinds {
        thumbs: true,
        ranking: true,
        ideal: true,
        flags: true,
        comment: true,
        allow_ties: false,
    };

    fn ids() -> Vec<Uuid> {
        (1..=3).map(Uuid::from_u128).collect()
    }

    fn ranked() -> AnnotationInput {
        let ids = ids();
        AnnotationInput {
            annotation_id: Uuid::from_u128(99),
            item_id: Uuid::from_u128(50),
            body: AnnotationBody {
                ranking: Some(vec![vec![ids[2]], vec![ids[0]], vec![ids[1]]]),
                ..Default::default()
            },
            shown_order: vec![ids[1], ids[2], ids[0]],
            ..Default::default()
        }
    }

    fn field(input: AnnotationInput, kinds: FeedbackKinds) -> String {
        input
            .validate(&ids(), &kinds, &JudgmentSchema::default())
            .unwrap_err()
            .field
            .unwrap()
    }

    #[test]
    fn a_full_ranking_is_accepted() {
        assert!(
            ranked()
                .validate(&ids(), &ALL_ON, &JudgmentSchema::default())
                .is_ok()
        );
    }

    #[test]
    fn rankings_must_cover_each_answer_once() {
        let ids = ids();
        let mut missing = ranked();
        missing.body.ranking = Some(vec![vec![ids[0]], vec![ids[1]]]);
        assert_eq!(field(missing, ALL_ON), "ranking");
        let mut repeated = ranked();
        repeated.body.ranking = Some(vec![vec![ids[0]], vec![ids[0]], vec![ids[1]]]);
        assert_eq!(field(repeated, ALL_ON), "ranking");
        let mut foreign = ranked();
        foreign.body.ranking = Some(vec![vec![ids[0]], vec![ids[1]], vec![Uuid::from_u128(7)]]);
        assert_eq!(field(foreign, ALL_ON), "ranking");
        let mut empty_tier = ranked();
        empty_tier.body.ranking.as_mut().unwrap().push(vec![]);
        assert_eq!(field(empty_tier, ALL_ON), "ranking");
    }

    #[test]
    fn ties_only_where_allowed() {
        let ids = ids();
        let mut tie = ranked();
        tie.body.ranking = Some(vec![vec![ids[0], ids[1]], vec![ids[2]]]);
        assert_eq!(field(tie.clone(), ALL_ON), "ranking");
        assert!(
            tie.validate(
                &ids,
                &FeedbackKinds {
                    allow_ties: true,
                    ..ALL_ON
                },
                &JudgmentSchema::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn ranking_is_required_unless_not_rankable() {
        let mut unranked = ranked();
        unranked.body.ranking = None;
        assert_eq!(field(unranked.clone(), ALL_ON), "ranking");
        unranked.body.flags = vec![Flag::NotRankable];
        assert!(
            unranked
                .validate(&ids(), &ALL_ON, &JudgmentSchema::default())
                .is_ok()
        );
    }

    #[test]
    fn switched_off_kinds_are_refused() {
        let mut with_comment = ranked();
        with_comment.body.comment = Some("nice".into());
        assert_eq!(
            field(
                with_comment,
                FeedbackKinds {
                    comment: false,
                    ..ALL_ON
                }
            ),
            "comment"
        );
        let mut with_thumbs = ranked();
        with_thumbs.body.thumbs.insert(ids()[0], true);
        assert_eq!(
            field(
                with_thumbs,
                FeedbackKinds {
                    thumbs: false,
                    ..ALL_ON
                }
            ),
            "thumbs"
        );
        assert_eq!(
            field(
                ranked(),
                FeedbackKinds {
                    ranking: false,
                    ..ALL_ON
                }
            ),
            "ranking"
        );
    }

    #[test]
    fn thumbs_and_ideal_source_must_be_answers_of_the_item() {
        let mut thumbs = ranked();
        thumbs.body.thumbs.insert(Uuid::from_u128(42), false);
        assert_eq!(field(thumbs, ALL_ON), "thumbs");
        let mut ideal = ranked();
        ideal.body.ideal_answer = Some("Better.".into());
        ideal.body.ideal_from = Some(Uuid::from_u128(42));
        assert_eq!(field(ideal, ALL_ON), "ideal_from");
    }

    #[test]
    fn shown_order_must_be_a_permutation() {
        let mut order = ranked();
        order.shown_order.pop();
        assert_eq!(field(order, ALL_ON), "shown_order");
    }

    #[test]
    fn blank_texts_are_dropped_and_flags_deduplicated() {
        let mut input = ranked();
        input.body.comment = Some("   ".into());
        input.body.ideal_answer = Some("\n".into());
        input.body.ideal_from = Some(ids()[0]);
        input.body.flags = vec![Flag::Unsafe, Flag::Favourite, Flag::Unsafe];
        let clean = input
            .validate(&ids(), &ALL_ON, &JudgmentSchema::default())
            .unwrap();
        assert_eq!(clean.body.comment, None);
        assert_eq!(clean.body.ideal_answer, None);
        assert_eq!(clean.body.ideal_from, None);
        assert_eq!(clean.body.flags, vec![Flag::Favourite, Flag::Unsafe]);
    }

    #[test]
    fn empty_feedback_is_refused() {
        let mut input = ranked();
        input.body.ranking = None;
        let kinds = FeedbackKinds {
            ranking: false,
            ..ALL_ON
        };
        assert_eq!(field(input, kinds), "annotation");
    }

    #[test]
    fn the_body_is_flat_on_the_wire() {
        let input = ranked();
        let json = serde_json::to_value(&input).unwrap();
        assert_eq!(json["ranking"], serde_json::json!(input.body.ranking));
        assert!(json.get("body").is_none());
        let sparse = serde_json::json!({
            "annotation_id": input.annotation_id, "item_id": input.item_id,
            "ranking": input.body.ranking, "shown_order": input.shown_order,
        });
        assert_eq!(
            serde_json::from_value::<AnnotationInput>(sparse).unwrap(),
            input
        );
    }
}
