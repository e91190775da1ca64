//! A project's judgment schema (what its annotators say beyond thumbs and a ranking:
//! preference strength, rubric scores, "none is acceptable", a rationale) and the judgments
//! of one annotation, validated against the schema version the item was shown with.

use super::AppError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

pub const MAX_REASON_CHARS: usize = 5_000;
pub const MAX_CRITERIA: usize = 20;
pub const MAX_STEPS: usize = 9;
const MAX_NAME_CHARS: usize = 80;
const MAX_DESCRIPTION_CHARS: usize = 1_000;
/// Columns of the HelpSteer rows beside the criteria.
const RESERVED_KEYS: [&str; 4] = ["prompt", "response", "model", "split"];

/// What a project collects beyond the feedback kinds. Versioned with the guidelines: a
/// change makes a new version, and every label keeps the version it was made under.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgmentSchema {
    /// How much better each answer of a ranking is than the next; `None`: not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<StrengthScale>,
    /// Criteria rated per answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rubric: Vec<Criterion>,
    /// Whether annotators may say that no answer is acceptable (with a reason).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub none_acceptable: bool,
    /// Whether a ranking needs a rationale.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rationale_required: bool,
    /// Whether annotators may give a thumb and a comment on the assistant turns of the
    /// conversation (multi-turn chats), not only on the candidate answers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub turn_feedback: bool,
}

/// A preference-strength scale, strongest first. Each step's `margin` is the number the
/// pair exports carry (TRL's reward trainer reads a `margin` column); a step with margin 0
/// means "about the same".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrengthScale {
    /// Llama 2's four steps when not given (`"strength": {}`).
    #[serde(default = "default_steps")]
    pub steps: Vec<StrengthStep>,
}

fn default_steps() -> Vec<StrengthStep> {
    StrengthScale::default().steps
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrengthStep {
    pub label: String,
    pub margin: f64,
}

impl Default for StrengthScale {
    /// Llama 2's four steps.
    fn default() -> Self {
        let step = |label: &str, margin| StrengthStep {
            label: label.to_owned(),
            margin,
        };
        StrengthScale {
            steps: vec![
                step("much better", 3.0),
                step("better", 2.0),
                step("slightly better", 1.0),
                step("about the same", 0.0),
            ],
        }
    }
}

/// A rubric criterion, rated per answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// The name exports use (`helpfulness`): lowercase letters, digits and `_`.
    pub key: String,
    /// What the annotator reads.
    pub name: String,
    /// Shown on hover.
    #[serde(default)]
    pub description: String,
    pub scale: Scale,
    #[serde(default)]
    pub required: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// 1 to 5.
    OneToFive,
    /// 1 to 7.
    OneToSeven,
    /// 0 (no) or 1 (yes).
    YesNo,
}

impl Scale {
    pub fn range(self) -> (u8, u8) {
        match self {
            Scale::OneToFive => (1, 5),
            Scale::OneToSeven => (1, 7),
            Scale::YesNo => (0, 1),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scale::OneToFive => "one_to_five",
            Scale::OneToSeven => "one_to_seven",
            Scale::YesNo => "yes_no",
        }
    }
}

impl JudgmentSchema {
    /// Whether it asks for anything.
    pub fn is_empty(&self) -> bool {
        *self == JudgmentSchema::default()
    }

    /// Checks an admin's schema; the error names the field (`rubric[1].key`).
    pub fn validate(&self) -> Result<(), AppError> {
        if let Some(scale) = &self.strength {
            let n = scale.steps.len();
            if !(2..=MAX_STEPS).contains(&n) {
                return Err(AppError::invalid(
                    "strength.steps",
                    format!("must have 2 to {MAX_STEPS} steps"),
                ));
            }
            for (i, step) in scale.steps.iter().enumerate() {
                let field = |name: &str| format!("strength.steps[{i}].{name}");
                check_name(&field("label"), &step.label)?;
                if !step.margin.is_finite() || step.margin < 0.0 || step.margin > 1000.0 {
                    return Err(AppError::invalid(
                        field("margin"),
                        "must be a number from 0 to 1000",
                    ));
                }
                if i > 0 && step.margin > scale.steps[i - 1].margin {
                    return Err(AppError::invalid(
                        field("margin"),
                        "steps go from the strongest to the weakest: margins must not grow",
                    ));
                }
            }
        }
        if self.rubric.len() > MAX_CRITERIA {
            return Err(AppError::invalid(
                "rubric",
                format!("at most {MAX_CRITERIA} criteria"),
            ));
        }
        let mut keys = BTreeSet::new();
        for (i, c) in self.rubric.iter().enumerate() {
            let field = |name: &str| format!("rubric[{i}].{name}");
            let key_ok = !c.key.is_empty()
                && c.key.len() <= 40
                && c.key.starts_with(|ch: char| ch.is_ascii_lowercase())
                && c.key
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
            if !key_ok {
                return Err(AppError::invalid(
                    field("key"),
                    "must be 1-40 lowercase letters, digits or _, starting with a letter",
                ));
            }
            if RESERVED_KEYS.contains(&c.key.as_str()) {
                return Err(AppError::invalid(
                    field("key"),
                    format!(
                        "{} names a column of the rating exports; choose another key",
                        c.key
                    ),
                ));
            }
            if !keys.insert(c.key.as_str()) {
                return Err(AppError::invalid(
                    field("key"),
                    format!("{} is used twice", c.key),
                ));
            }
            check_name(&field("name"), &c.name)?;
            if c.description.chars().count() > MAX_DESCRIPTION_CHARS
                || c.description
                    .chars()
                    .any(|ch| ch.is_control() && ch != '\n')
            {
                return Err(AppError::invalid(
                    field("description"),
                    format!(
                        "must be at most {MAX_DESCRIPTION_CHARS} characters, without control characters"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The margin of a step, `None` for an index off the scale.
    pub fn margin(&self, step: u8) -> Option<f64> {
        self.strength
            .as_ref()
            .and_then(|s| s.steps.get(usize::from(step)))
            .map(|s| s.margin)
    }
}

fn check_name(field: &str, text: &str) -> Result<(), AppError> {
    if text.trim().is_empty()
        || text.chars().count() > MAX_NAME_CHARS
        || text.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            field,
            format!("must be 1 to {MAX_NAME_CHARS} characters, without control characters"),
        ));
    }
    Ok(())
}

/// What one annotation says under the project's judgment schema. Flattened into the
/// annotation's body on the wire; stored as one JSON column.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgments {
    /// For each two adjacent tiers of the ranking, best first: the step of the strength
    /// scale (0 the strongest) by which the upper tier beats the lower one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strengths: Vec<u8>,
    /// Rubric scores: answer id → criterion key → score.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ratings: BTreeMap<Uuid, BTreeMap<String, u8>>,
    /// Set when no answer is acceptable: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none_acceptable: Option<String>,
    /// Why the ranking is as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// Feedback on assistant turns of the conversation, by turn. (A list, not a map keyed
    /// by index: the judgments are flattened into the body, and serde's flatten cannot read
    /// number keys.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<TurnFeedback>,
}

/// A thumb and a comment on one assistant turn of the conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnFeedback {
    /// The turn: its index in the item's messages.
    pub turn: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Judgments {
    pub fn is_empty(&self) -> bool {
        *self == Judgments::default()
    }

    /// Checks the judgments against the schema, the item's answers and the ranking given
    /// (its tiers, `None` when unranked), and returns them normalised (blank texts
    /// dropped). `exempt` (the item is flagged not rankable) lifts the required ratings.
    /// The error names the field.
    pub fn validate(
        mut self,
        schema: &JudgmentSchema,
        known: &BTreeSet<Uuid>,
        tiers: Option<usize>,
        exempt: bool,
    ) -> Result<Self, AppError> {
        match (&schema.strength, tiers) {
            (None, _) if !self.strengths.is_empty() => {
                return Err(off("strengths"));
            }
            (Some(scale), Some(tiers)) => {
                if self.strengths.len() != tiers.saturating_sub(1) {
                    return Err(AppError::invalid(
                        "strengths",
                        format!(
                            "give one strength for each two adjacent places of the ranking ({})",
                            tiers.saturating_sub(1)
                        ),
                    ));
                }
                if let Some(i) = self
                    .strengths
                    .iter()
                    .position(|&s| usize::from(s) >= scale.steps.len())
                {
                    return Err(AppError::invalid(
                        format!("strengths[{i}]"),
                        format!("must be a step from 0 to {}", scale.steps.len() - 1),
                    ));
                }
            }
            (_, None) if !self.strengths.is_empty() => {
                return Err(AppError::invalid("strengths", "a strength needs a ranking"));
            }
            _ => {}
        }

        if !self.ratings.is_empty() && schema.rubric.is_empty() {
            return Err(off("ratings"));
        }
        for (answer, scores) in &self.ratings {
            if !known.contains(answer) {
                return Err(AppError::invalid(
                    "ratings",
                    format!("{answer} is not an answer of this item"),
                ));
            }
            for (key, &score) in scores {
                let Some(c) = schema.rubric.iter().find(|c| &c.key == key) else {
                    return Err(AppError::invalid(
                        format!("ratings.{answer}.{key}"),
                        "is not a criterion of this project",
                    ));
                };
                let (low, high) = c.scale.range();
                if !(low..=high).contains(&score) {
                    return Err(AppError::invalid(
                        format!("ratings.{answer}.{key}"),
                        format!("must be from {low} to {high}"),
                    ));
                }
            }
        }
        self.ratings.retain(|_, scores| !scores.is_empty());
        if !exempt {
            for c in schema.rubric.iter().filter(|c| c.required) {
                if let Some(answer) = known
                    .iter()
                    .find(|a| !self.ratings.get(a).is_some_and(|s| s.contains_key(&c.key)))
                {
                    return Err(AppError::invalid(
                        format!("ratings.{answer}.{}", c.key),
                        format!("rate every answer on {}", c.name),
                    ));
                }
            }
        }

        self.none_acceptable = non_blank(self.none_acceptable.take());
        if let Some(reason) = &self.none_acceptable {
            if !schema.none_acceptable {
                return Err(off("none_acceptable"));
            }
            check_text("none_acceptable", reason)?;
        }
        if !self.turns.is_empty() && !schema.turn_feedback {
            return Err(off("turns"));
        }
        for (i, feedback) in self.turns.iter_mut().enumerate() {
            feedback.comment = non_blank(feedback.comment.take());
            if let Some(comment) = &feedback.comment {
                check_text(&format!("turns[{i}].comment"), comment)?;
            }
        }
        let mut seen = BTreeSet::new();
        if let Some(i) = self.turns.iter().position(|f| !seen.insert(f.turn)) {
            return Err(AppError::invalid(
                format!("turns[{i}].turn"),
                "each turn once",
            ));
        }
        self.turns
            .retain(|f| f.thumb.is_some() || f.comment.is_some());
        self.turns.sort_by_key(|f| f.turn);
        self.rationale = non_blank(self.rationale.take());
        match &self.rationale {
            Some(text) => check_text("rationale", text)?,
            None if schema.rationale_required && tiers.is_some() => {
                return Err(AppError::invalid(
                    "rationale",
                    "say why you ranked the answers this way",
                ));
            }
            None => {}
        }
        Ok(self)
    }

    /// Refuses feedback on a message that is not an assistant turn (`assistant`: the
    /// indices of the conversation's assistant messages); the error names the turn.
    pub fn check_turns(&self, assistant: &BTreeSet<u16>) -> Result<(), AppError> {
        match self.turns.iter().position(|f| !assistant.contains(&f.turn)) {
            Some(i) => Err(AppError::invalid(
                format!("turns[{i}].turn"),
                format!(
                    "message {} is not an assistant turn of this conversation",
                    self.turns[i].turn
                ),
            )),
            None => Ok(()),
        }
    }

    /// The signed margin by which `a` beats `b` in this annotation's ranking (`tiers`,
    /// best first): the sum of the steps' margins between their tiers; `None` without
    /// strengths, or when either is not ranked.
    pub fn margin(
        &self,
        schema: &JudgmentSchema,
        tiers: &[Vec<Uuid>],
        a: Uuid,
        b: Uuid,
    ) -> Option<f64> {
        if self.strengths.is_empty() {
            return None;
        }
        let tier = |id: Uuid| tiers.iter().position(|t| t.contains(&id));
        let (ta, tb) = (tier(a)?, tier(b)?);
        let (low, high) = (ta.min(tb), ta.max(tb));
        let mut sum = 0.0;
        for &step in self.strengths.get(low..high)? {
            sum += schema.margin(step)?;
        }
        Some(if ta <= tb { sum } else { -sum })
    }
}

fn off(field: &str) -> AppError {
    AppError::invalid(field, "this judgment is not part of this project's schema")
}

fn non_blank(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

fn check_text(field: &str, text: &str) -> Result<(), AppError> {
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::invalid(
            field,
            format!("must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> JudgmentSchema {
        JudgmentSchema {
            strength: Some(StrengthScale::default()),
            rubric: vec![
                Criterion {
                    key: "helpfulness".into(),
                    name: "Helpfulness".into(),
                    description: "Does it help?".into(),
                    scale: Scale::OneToFive,
                    required: true,
                },
                Criterion {
                    key: "honest".into(),
                    name: "Honest".into(),
                    description: String::new(),
                    scale: Scale::YesNo,
                    required: false,
                },
            ],
            none_acceptable: true,
            rationale_required: false,
            turn_feedback: false,
        }
    }

    fn ids() -> BTreeSet<Uuid> {
        (1..=3).map(Uuid::from_u128).collect()
    }

    fn rated() -> Judgments {
        Judgments {
            strengths: vec![1, 3],
            ratings: ids()
                .into_iter()
                .map(|id| (id, BTreeMap::from([("helpfulness".to_owned(), 4)])))
                .collect(),
            ..Default::default()
        }
    }

    fn field(j: Judgments, schema: &JudgmentSchema, tiers: Option<usize>) -> String {
        j.validate(schema, &ids(), tiers, false)
            .unwrap_err()
            .field
            .unwrap()
    }

    #[test]
    fn a_complete_judgment_is_accepted() {
        assert!(rated().validate(&schema(), &ids(), Some(3), false).is_ok());
    }

    #[test]
    fn strengths_cover_each_adjacent_pair_with_a_step_of_the_scale() {
        let mut short = rated();
        short.strengths.pop();
        assert_eq!(field(short, &schema(), Some(3)), "strengths");
        let mut off_scale = rated();
        off_scale.strengths[1] = 4;
        assert_eq!(field(off_scale, &schema(), Some(3)), "strengths[1]");
        assert_eq!(field(rated(), &schema(), None), "strengths");
        let no_scale = JudgmentSchema {
            strength: None,
            ..schema()
        };
        assert_eq!(field(rated(), &no_scale, Some(3)), "strengths");
    }

    #[test]
    fn ratings_name_answers_criteria_and_scores_of_the_scale() {
        let first = Uuid::from_u128(1);
        let mut foreign = rated();
        foreign
            .ratings
            .insert(Uuid::from_u128(9), BTreeMap::from([("honest".into(), 1)]));
        assert_eq!(field(foreign, &schema(), Some(3)), "ratings");
        let mut unknown = rated();
        unknown
            .ratings
            .get_mut(&first)
            .unwrap()
            .insert("tone".into(), 3);
        assert_eq!(
            field(unknown, &schema(), Some(3)),
            format!("ratings.{first}.tone")
        );
        let mut high = rated();
        high.ratings
            .get_mut(&first)
            .unwrap()
            .insert("honest".into(), 2);
        assert_eq!(
            field(high, &schema(), Some(3)),
            format!("ratings.{first}.honest")
        );
        let mut zero = rated();
        zero.ratings
            .get_mut(&first)
            .unwrap()
            .insert("helpfulness".into(), 0);
        assert_eq!(
            field(zero, &schema(), Some(3)),
            format!("ratings.{first}.helpfulness")
        );
    }

    #[test]
    fn required_criteria_are_rated_on_every_answer_unless_not_rankable() {
        let mut missing = rated();
        missing.ratings.remove(&Uuid::from_u128(2));
        assert_eq!(
            field(missing.clone(), &schema(), Some(3)),
            format!("ratings.{}.helpfulness", Uuid::from_u128(2))
        );
        // Not rankable: no ranking, so no strengths, and the ratings are not required.
        missing.strengths.clear();
        assert!(missing.validate(&schema(), &ids(), None, true).is_ok());
    }

    #[test]
    fn none_acceptable_needs_the_schema_and_a_reason() {
        let mut none = rated();
        none.none_acceptable = Some("  ".into());
        let clean = none.validate(&schema(), &ids(), Some(3), false).unwrap();
        assert_eq!(clean.none_acceptable, None);
        let mut none = rated();
        none.none_acceptable = Some("All three are wrong about the date.".into());
        let off = JudgmentSchema {
            none_acceptable: false,
            ..schema()
        };
        assert_eq!(field(none.clone(), &off, Some(3)), "none_acceptable");
        assert!(none.validate(&schema(), &ids(), Some(3), false).is_ok());
    }

    #[test]
    fn a_required_rationale_goes_with_a_ranking() {
        let strict = JudgmentSchema {
            rationale_required: true,
            ..schema()
        };
        assert_eq!(field(rated(), &strict, Some(3)), "rationale");
        let mut why = rated();
        why.rationale = Some("B cites its source.".into());
        assert!(why.validate(&strict, &ids(), Some(3), false).is_ok());
        let unranked = Judgments {
            strengths: vec![],
            ..rated()
        };
        assert!(unranked.validate(&strict, &ids(), None, false).is_ok());
    }

    #[test]
    fn schemas_are_checked_naming_the_field() {
        assert!(schema().validate().is_ok());
        assert!(JudgmentSchema::default().validate().is_ok());
        let mut growing = schema();
        growing.strength.as_mut().unwrap().steps[2].margin = 5.0;
        assert_eq!(
            growing.validate().unwrap_err().field.unwrap(),
            "strength.steps[2].margin"
        );
        let mut twice = schema();
        twice.rubric[1].key = "helpfulness".into();
        assert_eq!(
            twice.validate().unwrap_err().field.unwrap(),
            "rubric[1].key"
        );
        let mut bad_key = schema();
        bad_key.rubric[0].key = "Help fulness".into();
        assert_eq!(
            bad_key.validate().unwrap_err().field.unwrap(),
            "rubric[0].key"
        );
        let mut one_step = schema();
        one_step.strength.as_mut().unwrap().steps.truncate(1);
        assert_eq!(
            one_step.validate().unwrap_err().field.unwrap(),
            "strength.steps"
        );
        let unknown: Result<JudgmentSchema, _> = serde_json::from_str(r#"{"rubrik": []}"#);
        assert!(unknown.is_err());
        let default: JudgmentSchema = serde_json::from_str(r#"{"strength": {}}"#).unwrap();
        assert_eq!(default.strength, Some(StrengthScale::default()));
        assert_eq!(default.margin(0), Some(3.0));
        let mut reserved = schema();
        reserved.rubric[1].key = "response".into();
        assert_eq!(
            reserved.validate().unwrap_err().field.unwrap(),
            "rubric[1].key"
        );
    }

    #[test]
    fn turn_feedback_needs_the_schema_and_an_assistant_turn() {
        let feedback = |turn, thumb, comment: &str| TurnFeedback {
            turn,
            thumb,
            comment: Some(comment.to_owned()),
        };
        let mut on_turns = rated();
        on_turns.turns = vec![feedback(3, None, " "), feedback(1, Some(true), "  ")];
        assert_eq!(field(on_turns.clone(), &schema(), Some(3)), "turns");
        let with_turns = JudgmentSchema {
            turn_feedback: true,
            ..schema()
        };
        let kept = on_turns
            .clone()
            .validate(&with_turns, &ids(), Some(3), false)
            .unwrap();
        // Blank comments are dropped, and with them a turn that says nothing else.
        let one = TurnFeedback {
            turn: 1,
            thumb: Some(true),
            comment: None,
        };
        assert_eq!(kept.turns, [one]);
        assert!(kept.check_turns(&BTreeSet::from([1])).is_ok());
        assert_eq!(
            kept.check_turns(&BTreeSet::from([3]))
                .unwrap_err()
                .field
                .unwrap(),
            "turns[0].turn"
        );
        let mut twice = rated();
        twice.turns = vec![feedback(1, Some(true), ""), feedback(1, Some(false), "")];
        assert_eq!(field(twice, &with_turns, Some(3)), "turns[1].turn");
        let mut long = rated();
        long.turns = vec![feedback(1, None, &"x".repeat(MAX_REASON_CHARS + 1))];
        assert_eq!(field(long, &with_turns, Some(3)), "turns[0].comment");
    }

    #[test]
    fn margins_add_up_the_steps_between_two_answers() {
        let [a, b, c] = [1, 2, 3].map(Uuid::from_u128);
        let tiers = vec![vec![a], vec![b], vec![c]];
        let j = rated(); // a better (2) than b, b about the same (0) as c
        let s = schema();
        assert_eq!(j.margin(&s, &tiers, a, b), Some(2.0));
        assert_eq!(j.margin(&s, &tiers, b, c), Some(0.0));
        assert_eq!(j.margin(&s, &tiers, a, c), Some(2.0));
        assert_eq!(j.margin(&s, &tiers, c, a), Some(-2.0));
        assert_eq!(Judgments::default().margin(&s, &tiers, a, b), None);
    }
}
