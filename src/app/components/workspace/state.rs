use crate::model::annotation::{AnnotationBody, AnnotationInput, Flag, Task};
use crate::model::judgment::{Judgments, TurnFeedback};
use leptos::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// A strength not given yet (strengths are given in any order, sent in order).
pub const UNSET: u8 = u8::MAX;

/// The annotation being made, one signal per part.
#[derive(Clone, Copy)]
pub struct Form {
    pub annotation_id: RwSignal<Uuid>,
    pub base_version: RwSignal<Option<i32>>,
    /// Best to worst, as tiers (a tier of several is a tie).
    pub ranking: RwSignal<Vec<Vec<Uuid>>>,
    /// The next answer ranked joins the last tier.
    pub tie_next: RwSignal<bool>,
    pub thumbs: RwSignal<BTreeMap<Uuid, bool>>,
    pub ideal: RwSignal<String>,
    pub ideal_from: RwSignal<Option<Uuid>>,
    pub flags: RwSignal<BTreeSet<Flag>>,
    pub comment: RwSignal<String>,
    /// Strengths (one per two adjacent places; [`UNSET`] where not given yet), rubric
    /// scores, "none acceptable" and the rationale.
    pub judgments: RwSignal<Judgments>,
    /// Rating mode: the criterion the digits score on the focused answer.
    pub rating: RwSignal<Option<usize>>,
    /// The assistant turn of the conversation the thumbs keys act on (`h`), instead of the
    /// focused answer.
    pub turn: RwSignal<Option<u16>>,
    /// Which answer the thumbs keys act on.
    pub focused: RwSignal<usize>,
    /// Answers folded away (by position), when there are more than two.
    pub collapsed: RwSignal<BTreeSet<usize>>,
    /// Time spent before this page was opened (from a draft), and when it was opened.
    pub earlier_ms: RwSignal<f64>,
    pub opened_at_ms: RwSignal<f64>,
    /// The model's proposal shown with this item (a new annotation only).
    pub proposal_id: RwSignal<Option<Uuid>>,
}

impl Form {
    pub fn new(task: &Task) -> Self {
        let existing = task.existing.as_ref();
        // A new annotation starts from the model's proposal, when there is one.
        let proposal = task.proposal.as_ref().filter(|_| existing.is_none());
        let form = Self {
            annotation_id: RwSignal::new(existing.map_or_else(Uuid::new_v4, |e| e.annotation_id)),
            base_version: RwSignal::new(existing.map(|e| e.version)),
            ranking: RwSignal::new(Vec::new()),
            tie_next: RwSignal::new(false),
            thumbs: RwSignal::new(BTreeMap::new()),
            ideal: RwSignal::new(String::new()),
            ideal_from: RwSignal::new(None),
            flags: RwSignal::new(BTreeSet::new()),
            comment: RwSignal::new(String::new()),
            judgments: RwSignal::new(Judgments::default()),
            rating: RwSignal::new(None),
            turn: RwSignal::new(None),
            focused: RwSignal::new(0),
            collapsed: RwSignal::new(BTreeSet::new()),
            earlier_ms: RwSignal::new(0.0),
            opened_at_ms: RwSignal::new(0.0),
            proposal_id: RwSignal::new(proposal.map(|p| p.proposal_id)),
        };
        if let Some(e) = existing {
            form.set_body(&e.body);
        } else if let Some(p) = proposal {
            form.ranking.set(p.ranking.clone());
            form.thumbs.set(p.thumbs.clone());
        }
        form
    }

    /// Fills the content signals from an annotation's body.
    pub fn set_body(&self, body: &AnnotationBody) {
        self.ranking.set(body.ranking.clone().unwrap_or_default());
        self.thumbs.set(body.thumbs.clone());
        self.ideal
            .set(body.ideal_answer.clone().unwrap_or_default());
        self.ideal_from.set(body.ideal_from);
        self.flags.set(body.flags.iter().copied().collect());
        self.comment.set(body.comment.clone().unwrap_or_default());
        self.judgments.set(body.judgments.clone());
    }

    /// The content as it stands (not tracked: see [`Form::track_body`]). Partial rankings
    /// and blank texts go as they are: the server says what is missing and drops blanks.
    pub fn body(&self) -> AnnotationBody {
        let ranking = self.ranking.get_untracked();
        let gaps = ranking.len().saturating_sub(1);
        AnnotationBody {
            ranking: (!ranking.is_empty()).then_some(ranking),
            thumbs: self.thumbs.get_untracked(),
            ideal_answer: Some(self.ideal.get_untracked()),
            ideal_from: self.ideal_from.get_untracked(),
            flags: self.flags.get_untracked().into_iter().collect(),
            comment: Some(self.comment.get_untracked()),
            judgments: {
                let mut j = self.judgments.get_untracked();
                // The strengths given so far, in order: the server names what is missing.
                let given = j.strengths.iter().take_while(|&&s| s != UNSET).count();
                j.strengths.truncate(given.min(gaps));
                j
            },
        }
    }

    /// Subscribes the running effect to every content signal.
    pub fn track_body(&self) {
        self.ranking.track();
        self.thumbs.track();
        self.ideal.track();
        self.ideal_from.track();
        self.flags.track();
        self.comment.track();
        self.judgments.track();
    }

    /// Whether the ranking and thumbs are still exactly the model's proposal.
    pub fn as_proposed(&self, task: &Task) -> bool {
        task.proposal.as_ref().is_some_and(|p| {
            self.proposal_id.get().is_some()
                && self.ranking.with(|r| *r == p.ranking)
                && self.thumbs.with(|t| *t == p.thumbs)
        })
    }

    /// Puts the proposal's ranking and thumbs back (before accepting it as is).
    pub fn restore_proposal(&self, task: &Task) {
        if let (Some(p), Some(_)) = (&task.proposal, self.proposal_id.get_untracked()) {
            self.ranking.set(p.ranking.clone());
            self.thumbs.set(p.thumbs.clone());
        }
    }

    pub fn rank_of(&self, id: Uuid) -> Option<usize> {
        self.ranking
            .with(|tiers| tiers.iter().position(|tier| tier.contains(&id)))
    }

    /// Puts the answer next in the ranking (or into the last tier, after `=`). Once every
    /// answer of `answers` but one is ranked, the last one is implied: it is ranked last, on
    /// its own (Backspace takes it back, to tie it or rank it otherwise).
    pub fn rank(&self, id: Uuid, answers: &[Uuid]) {
        if self.rank_of(id).is_some() {
            return;
        }
        let tie = self.tie_next.get_untracked();
        self.ranking.update(|tiers| {
            match tiers.last_mut() {
                Some(last) if tie => last.push(id),
                _ => tiers.push(vec![id]),
            }
            let mut unranked = answers
                .iter()
                .filter(|a| !tiers.iter().any(|t| t.contains(a)));
            if let (Some(last), None) = (unranked.next(), unranked.next()) {
                tiers.push(vec![*last]);
            }
        });
        self.tie_next.set(false);
    }

    #[cfg_attr(
        not(feature = "hydrate"),
        allow(dead_code, reason = "a key binding, browser only")
    )]
    pub fn unrank_last(&self) {
        self.ranking.update(|tiers| {
            if let Some(last) = tiers.last_mut() {
                last.pop();
                if last.is_empty() {
                    tiers.pop();
                }
            }
        });
        let gaps = self.ranking.with_untracked(|t| t.len().saturating_sub(1));
        self.judgments.update(|j| j.strengths.truncate(gaps));
    }

    /// Moves the tier at `from` to position `to` (drag and drop); the strengths, which
    /// belonged to the old order, are cleared.
    pub fn move_tier(&self, from: usize, to: usize) {
        self.ranking.update(|tiers| {
            if from < tiers.len() && to < tiers.len() && from != to {
                let tier = tiers.remove(from);
                tiers.insert(to, tier);
            }
        });
        self.judgments.update(|j| j.strengths.clear());
    }

    /// Empties the ranking and its strengths.
    pub fn clear_ranking(&self) {
        self.ranking.set(Vec::new());
        self.judgments.update(|j| j.strengths.clear());
    }

    /// The strength between places `gap` and `gap + 1` (a step index), if given.
    pub fn strength(&self, gap: usize) -> Option<u8> {
        self.judgments
            .with(|j| j.strengths.get(gap).copied().filter(|&s| s != UNSET))
    }

    /// Sets the strength between places `gap` and `gap + 1`.
    pub fn set_strength_at(&self, gap: usize, step: u8) {
        self.judgments.update(|j| {
            if j.strengths.len() <= gap {
                j.strengths.resize(gap + 1, UNSET);
            }
            j.strengths[gap] = step;
        });
    }

    /// Sets the first strength of the ranking not given yet (the last one when all are).
    #[cfg_attr(
        not(feature = "hydrate"),
        allow(dead_code, reason = "a key binding, browser only")
    )]
    pub fn set_next_strength(&self, step: u8) {
        let gaps = self.ranking.with_untracked(|t| t.len().saturating_sub(1));
        if gaps == 0 {
            return;
        }
        let gap = (0..gaps)
            .find(|&g| self.strength(g).is_none())
            .unwrap_or(gaps - 1);
        self.set_strength_at(gap, step);
    }

    /// The answer's score on a criterion.
    pub fn score(&self, answer: Uuid, key: &str) -> Option<u8> {
        self.judgments
            .with(|j| j.ratings.get(&answer).and_then(|s| s.get(key)).copied())
    }

    /// Scores the answer on a criterion; the same score again clears it.
    pub fn rate(&self, answer: Uuid, key: &str, score: u8) {
        self.judgments.update(|j| {
            let scores = j.ratings.entry(answer).or_default();
            if scores.get(key) == Some(&score) {
                scores.remove(key);
            } else {
                scores.insert(key.to_owned(), score);
            }
            if scores.is_empty() {
                j.ratings.remove(&answer);
            }
        });
    }

    /// The thumb given to a turn of the conversation.
    pub fn turn_thumb(&self, turn: u16) -> Option<bool> {
        self.judgments.with(|j| {
            j.turns
                .iter()
                .find(|f| f.turn == turn)
                .and_then(|f| f.thumb)
        })
    }

    /// Thumbs up (`true`) or down on a turn; the same thumb again clears it.
    pub fn thumb_turn(&self, turn: u16, up: bool) {
        self.update_turn(turn, |f| f.thumb = (f.thumb != Some(up)).then_some(up));
    }

    pub fn comment_turn(&self, turn: u16, text: String) {
        self.update_turn(turn, |f| f.comment = (!text.is_empty()).then_some(text));
    }

    /// The comment on a turn.
    pub fn turn_comment(&self, turn: u16) -> String {
        self.judgments.with(|j| {
            j.turns
                .iter()
                .find(|f| f.turn == turn)
                .and_then(|f| f.comment.clone())
                .unwrap_or_default()
        })
    }

    fn update_turn(&self, turn: u16, change: impl FnOnce(&mut TurnFeedback)) {
        self.judgments.update(|j| {
            // Kept in turn order: insert where the turn belongs.
            let at = j.turns.partition_point(|f| f.turn < turn);
            if j.turns.get(at).is_none_or(|f| f.turn != turn) {
                j.turns.insert(
                    at,
                    TurnFeedback {
                        turn,
                        ..TurnFeedback::default()
                    },
                );
            }
            change(&mut j.turns[at]);
            if j.turns[at].thumb.is_none() && j.turns[at].comment.is_none() {
                j.turns.remove(at);
            }
        });
    }

    /// Whether the annotator says that no answer is acceptable.
    pub fn none_acceptable(&self) -> bool {
        self.judgments.with(|j| j.none_acceptable.is_some())
    }

    pub fn toggle_none_acceptable(&self) {
        self.judgments.update(|j| {
            j.none_acceptable = match j.none_acceptable {
                Some(_) => None,
                None => Some(String::new()),
            }
        });
    }

    /// Thumbs up (`true`) or down; the same thumb again clears it.
    pub fn thumb(&self, id: Uuid, up: bool) {
        self.thumbs.update(|t| {
            if t.get(&id) == Some(&up) {
                t.remove(&id);
            } else {
                t.insert(id, up);
            }
        });
    }

    pub fn toggle_collapsed(&self, index: usize) {
        self.collapsed.update(|c| {
            if !c.remove(&index) {
                c.insert(index);
            }
        });
    }

    pub fn toggle_flag(&self, flag: Flag) {
        self.flags.update(|f| {
            if !f.remove(&flag) {
                f.insert(flag);
            }
        });
    }

    pub fn to_input(self, task: &Task) -> AnnotationInput {
        AnnotationInput {
            annotation_id: self.annotation_id.get_untracked(),
            item_id: task.item_id,
            body: self.body(),
            shown_order: task.answers.iter().map(|a| a.response_id).collect(),
            time_spent_ms: self.time_spent_ms(),
            base_version: self.base_version.get_untracked(),
            proposal_id: self.proposal_id.get_untracked(),
            guideline_version: Some(task.guideline_version),
        }
    }

    fn time_spent_ms(self) -> u32 {
        let opened = self.opened_at_ms.get_untracked();
        let now = super::draft::now_ms();
        let session = if opened > 0.0 && now > opened {
            now - opened
        } else {
            0.0
        };
        (self.earlier_ms.get_untracked() + session).min(f64::from(u32::MAX)) as u32
    }
}
