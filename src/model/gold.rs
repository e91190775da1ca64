//! Gold items: what an item's correct label is, checked against annotators' labels. Answers
//! are named by their position in the item (0-based, in the item's own order), so that an
//! import or push can say it before the answers have ids.

use crate::model::AppError;
use crate::model::annotation::Flag;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most an explanation may hold.
pub const MAX_EXPLANATION_CHARS: usize = 5000;

/// The expected label of a gold item; each part given is checked, the others are not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Gold {
    /// The expected ranking, best first, as tiers of answer positions (a tier of several is
    /// a tie).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranking: Option<Vec<Vec<usize>>>,
    /// The expected best answer, when only that is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<usize>,
    /// Expected thumbs by answer position: `{"0": true, "2": false}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub thumbs: BTreeMap<usize, bool>,
    /// The flags expected, exactly (an empty list: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Vec<String>>))]
    pub flags: Option<Vec<Flag>>,
    /// Shown to an annotator whose label missed, when the project says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

impl Gold {
    /// Checks the expectation against the item's number of answers; the error names the
    /// field under `field` (e.g. `gold.ranking`).
    pub fn validate(&self, field: &str, answers: usize) -> Result<(), AppError> {
        let known = |i: usize| i < answers;
        if self.ranking.is_none()
            && self.best.is_none()
            && self.thumbs.is_empty()
            && self.flags.is_none()
        {
            return Err(AppError::invalid(
                field,
                "give at least one of ranking, best, thumbs or flags",
            ));
        }
        if let Some(tiers) = &self.ranking {
            let mut seen: Vec<usize> = tiers.iter().flatten().copied().collect();
            seen.sort_unstable();
            let complete = seen.len() == answers && seen.iter().enumerate().all(|(i, &p)| i == p);
            if tiers.iter().any(Vec::is_empty) || !complete {
                return Err(AppError::invalid(
                    format!("{field}.ranking"),
                    format!(
                        "must rank each of the item's {answers} answers (positions 0 to {}) once",
                        answers.saturating_sub(1)
                    ),
                ));
            }
        }
        if let Some(best) = self.best {
            if !known(best) {
                return Err(AppError::invalid(
                    format!("{field}.best"),
                    format!("the item has no answer at position {best} (it has {answers})"),
                ));
            }
            if let Some(tiers) = &self.ranking
                && tiers.first().is_none_or(|top| top != &vec![best])
            {
                return Err(AppError::invalid(
                    format!("{field}.best"),
                    "disagrees with the ranking's first place",
                ));
            }
        }
        if let Some(&p) = self.thumbs.keys().find(|&&p| !known(p)) {
            return Err(AppError::invalid(
                format!("{field}.thumbs"),
                format!("the item has no answer at position {p} (it has {answers})"),
            ));
        }
        if self
            .explanation
            .as_ref()
            .is_some_and(|e| e.chars().count() > MAX_EXPLANATION_CHARS)
        {
            return Err(AppError::invalid(
                format!("{field}.explanation"),
                format!("must be at most {MAX_EXPLANATION_CHARS} characters"),
            ));
        }
        Ok(())
    }

    /// Whether a label matches: its ranking (tiers of positions), thumbs by position and
    /// flags. A part the label leaves out where one is expected is a miss.
    pub fn matches(
        &self,
        ranking: Option<&[Vec<usize>]>,
        thumbs: &BTreeMap<usize, bool>,
        flags: &[Flag],
    ) -> bool {
        let normal = |tiers: &[Vec<usize>]| -> Vec<Vec<usize>> {
            tiers
                .iter()
                .map(|t| {
                    let mut t = t.clone();
                    t.sort_unstable();
                    t
                })
                .collect()
        };
        if let Some(expected) = &self.ranking
            && ranking.is_none_or(|r| normal(r) != normal(expected))
        {
            return false;
        }
        if let Some(best) = self.best
            && ranking
                .and_then(<[_]>::first)
                .is_none_or(|top| top != &vec![best])
        {
            return false;
        }
        if self.thumbs.iter().any(|(p, up)| thumbs.get(p) != Some(up)) {
            return false;
        }
        if let Some(expected) = &self.flags {
            let mut want = expected.clone();
            let mut got = flags.to_vec();
            want.sort();
            want.dedup();
            got.sort();
            got.dedup();
            if want != got {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(gold: &Gold, answers: usize) -> String {
        gold.validate("gold", answers).unwrap_err().field.unwrap()
    }

    #[test]
    fn an_expectation_names_only_the_items_answers() {
        let empty = Gold::default();
        assert_eq!(field(&empty, 3), "gold");
        let foreign = Gold {
            ranking: Some(vec![vec![0], vec![1], vec![3]]),
            ..Gold::default()
        };
        assert_eq!(field(&foreign, 3), "gold.ranking");
        let partial = Gold {
            ranking: Some(vec![vec![0], vec![1]]),
            ..Gold::default()
        };
        assert_eq!(field(&partial, 3), "gold.ranking");
        let twice = Gold {
            ranking: Some(vec![vec![0, 1], vec![1], vec![2]]),
            ..Gold::default()
        };
        assert_eq!(field(&twice, 3), "gold.ranking");
        let best = Gold {
            best: Some(5),
            ..Gold::default()
        };
        assert_eq!(field(&best, 3), "gold.best");
        let contradicting = Gold {
            ranking: Some(vec![vec![1], vec![0], vec![2]]),
            best: Some(0),
            ..Gold::default()
        };
        assert_eq!(field(&contradicting, 3), "gold.best");
        let thumbs = Gold {
            thumbs: [(7, true)].into(),
            ..Gold::default()
        };
        assert_eq!(field(&thumbs, 3), "gold.thumbs");
        let long = Gold {
            best: Some(0),
            explanation: Some("x".repeat(MAX_EXPLANATION_CHARS + 1)),
            ..Gold::default()
        };
        assert_eq!(field(&long, 3), "gold.explanation");
        let fine = Gold {
            ranking: Some(vec![vec![2], vec![0, 1]]),
            best: Some(2),
            thumbs: [(2, true), (0, false)].into(),
            flags: Some(vec![]),
            explanation: Some("Answer C cites the law.".into()),
        };
        assert!(fine.validate("gold", 3).is_ok());
    }

    #[test]
    fn a_label_matches_each_part_given() {
        let gold = Gold {
            best: Some(1),
            thumbs: [(0, false)].into(),
            ..Gold::default()
        };
        let none = BTreeMap::new();
        let down: BTreeMap<usize, bool> = [(0, false), (1, true)].into();
        let ranking = [vec![1], vec![0], vec![2]];
        assert!(gold.matches(Some(&ranking), &down, &[]));
        assert!(
            !gold.matches(Some(&ranking), &none, &[]),
            "the thumb is missing"
        );
        assert!(!gold.matches(Some(&[vec![0], vec![1], vec![2]]), &down, &[]));
        assert!(
            !gold.matches(Some(&[vec![1, 0], vec![2]]), &down, &[]),
            "a tie for first"
        );
        assert!(!gold.matches(None, &down, &[]));
        let tiers = Gold {
            ranking: Some(vec![vec![2], vec![0, 1]]),
            flags: Some(vec![Flag::Unsafe]),
            ..Gold::default()
        };
        assert!(tiers.matches(Some(&[vec![2], vec![1, 0]]), &none, &[Flag::Unsafe]));
        assert!(!tiers.matches(Some(&[vec![2], vec![1, 0]]), &none, &[]));
        assert!(!tiers.matches(Some(&[vec![2], vec![1], vec![0]]), &none, &[Flag::Unsafe]));
    }

    #[test]
    fn thumbs_are_keyed_by_position_in_json() {
        let gold: Gold = serde_json::from_str(
            r#"{"best": 0, "thumbs": {"1": false}, "explanation": "B is wrong"}"#,
        )
        .unwrap();
        assert_eq!(gold.thumbs.get(&1), Some(&false));
        assert!(serde_json::from_str::<Gold>(r#"{"bset": 0}"#).is_err());
    }
}
