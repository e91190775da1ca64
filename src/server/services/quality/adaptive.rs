//! Adaptive overlap. A project labels each item by at least its overlap and at most the
//! rule's maximum: when a submission brings an item to its current target, the item's labels
//! (the new one among them) are judged, and an item whose annotators disagree (pairwise
//! agreement or Kendall's W below the rule's threshold), or whose human consensus contradicts
//! the model's proposal, gets one more annotator. A clear item stops at its target.
//!
//! The decision is taken in the submission's transaction while it holds the item's row lock,
//! and written in the same statement that counts the label, so the queue (which reads the
//! target beside the count) never sees an item above its target, however many servers
//! serve it. Edits after an item is complete do not reopen it.

use super::consensus::Consensus;
use super::item::{ItemPart, Label, metric};
use crate::model::annotation::AnnotationInput;
use crate::model::proposal::ProposalView;
use crate::model::user::Role;
use crate::server::Error;
use crate::server::services::form::{optional_number, ticked};
use crate::server::services::projects::authorize;
use crate::server::services::{Actor, Result};
use crate::server::store::{adaptive, agreement, items, proposals};
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;
use uuid::Uuid;

pub use crate::server::store::adaptive::Rule;

/// Why an item gets another annotator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Escalation {
    /// The share of annotator pairs x answer pairs ordered alike.
    RankingAgreement(f64),
    /// The share of annotator pairs that thumbed an answer alike.
    ThumbsAgreement(f64),
    KendallW(f64),
    /// The human consensus contradicts the model's proposal.
    ProposalConflict,
}

/// Whether these labels of one item call for another annotator under `rule`.
pub fn escalation(
    rule: &Rule,
    labels: &[Label],
    proposal: Option<&ProposalView>,
) -> Option<Escalation> {
    let part = ItemPart::of(labels, None);
    let below = |threshold: Option<f64>, value: Option<f64>| match (threshold, value) {
        (Some(t), Some(v)) => v < t,
        _ => false,
    };
    let ranking = part.preference.share();
    if below(rule.min_agreement, ranking) {
        return ranking.map(Escalation::RankingAgreement);
    }
    let cell = |m: &str| {
        part.cells
            .get(&(m.to_owned(), 0, 0))
            .copied()
            .unwrap_or(0.0)
    };
    let pairs = cell(metric::THUMBS_PAIRS);
    let thumbs = (pairs > 0.0).then(|| cell(metric::THUMBS_SAME) / pairs);
    if below(rule.min_agreement, thumbs) {
        return thumbs.map(Escalation::ThumbsAgreement);
    }
    if below(rule.min_kendall_w, part.kendall_w) {
        return part.kendall_w.map(Escalation::KendallW);
    }
    match proposal {
        Some(p)
            if rule.on_proposal_conflict
                && !labels.is_empty()
                && Consensus::of(labels).contradicts(&p.ranking, &p.thumbs) =>
        {
            Some(Escalation::ProposalConflict)
        }
        _ => None,
    }
}

/// The item's new target when the label `input` (by `user_id`) brings it to its current
/// `target` and its labels call for another annotator; `None` to stop at the target. The
/// caller holds the item's row lock.
pub async fn raised_target(
    db: &mut PgConnection,
    project_id: Uuid,
    max_overlap: i32,
    target: i32,
    user_id: Uuid,
    input: &AnnotationInput,
) -> Result<Option<i32>> {
    if target >= max_overlap {
        return Ok(None);
    }
    let Some(rule) = adaptive::rule(&mut *db, project_id).await? else {
        return Ok(None);
    };
    let mut labels: Vec<Label> = agreement::labels(&mut *db, &[input.item_id])
        .await?
        .into_iter()
        .map(Label::from)
        .collect();
    labels.push(Label {
        user_id,
        ranking: input.body.ranking.clone(),
        thumbs: input.body.thumbs.clone(),
        flags: input.body.flags.clone(),
        ..Label::default()
    });
    let proposal = if rule.on_proposal_conflict {
        proposals::for_item(&mut *db, input.item_id)
            .await?
            .map(|(p, _)| p)
    } else {
        None
    };
    Ok(escalation(&rule, &labels, proposal.as_ref()).map(|why| {
        tracing::info!(item.id = %input.item_id, ?why, target = target + 1, "the item gets another annotator");
        target + 1
    }))
}

/// The settings form's fields as a rule; a blank maximum switches adaptive overlap off
/// (the maximum is then the overlap). Refusals name the field.
pub fn parse_rule(fields: &BTreeMap<String, String>, overlap: i32) -> Result<Rule> {
    let max_overlap = optional_number(fields, "max_overlap", (1, 100))?.unwrap_or(overlap);
    if max_overlap < overlap {
        return Err(Error::invalid(
            "max_overlap",
            format!("must be at least the project's overlap ({overlap})"),
        ));
    }
    Ok(Rule {
        max_overlap,
        min_agreement: optional_number(fields, "min_agreement", (0.0, 1.0))?,
        min_kendall_w: optional_number(fields, "min_kendall_w", (0.0, 1.0))?,
        on_proposal_conflict: ticked(fields, "on_proposal_conflict"),
    })
}

/// The project's rule, and its overlap (the least number of annotators per item).
pub async fn rule(pool: &PgPool, actor: &Actor, slug: &str) -> Result<(Option<Rule>, i32)> {
    actor.require(Role::Admin)?;
    let project = authorize(pool, actor, slug, &[]).await?;
    let settings = crate::server::store::projects::find_settings(pool, slug, None)
        .await?
        .ok_or(Error::NotFound("project"))?;
    Ok((
        adaptive::rule(pool, project.project_id).await?,
        settings.overlap,
    ))
}

/// Saves the rule from the settings form. Items raised above a lowered maximum come down to
/// it, and items' completion follows.
pub async fn save_rule(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    fields: &BTreeMap<String, String>,
) -> Result<Rule> {
    actor.require(Role::Admin)?;
    authorize(pool, actor, slug, &[]).await?;
    let mut tx = pool.begin().await?;
    let project = crate::server::store::projects::find_settings(&mut *tx, slug, None)
        .await?
        .ok_or(Error::NotFound("project"))?;
    let rule = parse_rule(fields, project.overlap)?;
    adaptive::save_rule(&mut *tx, project.project_id, &rule).await?;
    adaptive::cap_targets(&mut *tx, project.project_id, rule.max_overlap).await?;
    items::recompute_completion(&mut *tx, project.project_id, project.overlap).await?;
    crate::server::services::audit::record(
        &mut *tx,
        actor,
        "overlap.settings",
        Some(project.project_id),
        Some(slug),
        None,
        crate::server::services::audit::json(&rule),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(project = slug, ?rule, "adaptive overlap saved");
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn ranked(user: u128, tiers: &[&[u128]]) -> Label {
        Label {
            user_id: id(100 + user),
            ranking: Some(
                tiers
                    .iter()
                    .map(|t| t.iter().copied().map(id).collect())
                    .collect(),
            ),
            thumbs: BTreeMap::new(),
            flags: vec![],
            ..Label::default()
        }
    }

    fn rule() -> Rule {
        Rule {
            max_overlap: 4,
            min_agreement: Some(0.75),
            min_kendall_w: None,
            on_proposal_conflict: false,
        }
    }

    #[test]
    fn disagreeing_rankings_ask_for_another_annotator() {
        let agree = [
            ranked(1, &[&[1], &[2], &[3]]),
            ranked(2, &[&[1], &[2], &[3]]),
        ];
        assert_eq!(escalation(&rule(), &agree, None), None);
        // One of three answer pairs ordered differently: 2/3 < 0.75.
        let split = [
            ranked(1, &[&[1], &[2], &[3]]),
            ranked(2, &[&[2], &[1], &[3]]),
        ];
        match escalation(&rule(), &split, None) {
            Some(Escalation::RankingAgreement(a)) => assert!((a - 2.0 / 3.0).abs() < 1e-12),
            other => panic!("{other:?}"),
        }
        // Kendall's W of two reversed rankings is 0.
        let w_rule = Rule {
            min_agreement: None,
            min_kendall_w: Some(0.5),
            ..rule()
        };
        let reversed = [
            ranked(1, &[&[1], &[2], &[3]]),
            ranked(2, &[&[3], &[2], &[1]]),
        ];
        assert_eq!(
            escalation(&w_rule, &reversed, None),
            Some(Escalation::KendallW(0.0))
        );
        assert_eq!(escalation(&w_rule, &agree, None), None);
    }

    #[test]
    fn a_contradicted_proposal_asks_for_another_annotator_when_the_rule_says_so() {
        let labels = [ranked(1, &[&[2], &[1]]), ranked(2, &[&[2], &[1]])];
        let proposal = ProposalView {
            proposal_id: Uuid::nil(),
            model: "m".into(),
            ranking: vec![vec![id(1)], vec![id(2)]],
            thumbs: BTreeMap::new(),
            rationale: String::new(),
            confidence: 0.9,
        };
        assert_eq!(escalation(&rule(), &labels, Some(&proposal)), None);
        let conflict = Rule {
            on_proposal_conflict: true,
            ..rule()
        };
        assert_eq!(
            escalation(&conflict, &labels, Some(&proposal)),
            Some(Escalation::ProposalConflict)
        );
        let agreeing = ProposalView {
            ranking: vec![vec![id(2)], vec![id(1)]],
            ..proposal
        };
        assert_eq!(escalation(&conflict, &labels, Some(&agreeing)), None);
    }

    #[test]
    fn bad_rules_name_the_field() {
        let fields = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let field = |pairs: &[(&str, &str)]| match parse_rule(&fields(pairs), 2) {
            Err(Error::Invalid(e)) => e.field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(&[("max_overlap", "1")]), Some("max_overlap".into()));
        assert_eq!(field(&[("max_overlap", "101")]), Some("max_overlap".into()));
        assert_eq!(field(&[("max_overlap", "x")]), Some("max_overlap".into()));
        assert_eq!(
            field(&[("max_overlap", "3"), ("min_agreement", "1.5")]),
            Some("min_agreement".into())
        );
        assert_eq!(
            field(&[("min_kendall_w", "-0.1")]),
            Some("min_kendall_w".into())
        );
        let off = parse_rule(&fields(&[]), 2).unwrap();
        assert_eq!(off.max_overlap, 2);
        let on = parse_rule(
            &fields(&[
                ("max_overlap", "4"),
                ("min_agreement", "0.8"),
                ("on_proposal_conflict", "on"),
            ]),
            2,
        )
        .unwrap();
        assert_eq!(
            on,
            Rule {
                max_overlap: 4,
                min_agreement: Some(0.8),
                min_kendall_w: None,
                on_proposal_conflict: true
            }
        );
    }
}
