//! Preference pairs of an item: from the consensus ranking (by the pair strategy, kept when
//! enough rankers agree), from thumbs, and from edited ideal answers.

use super::consensus::{consensus, pair_agreement};
use super::record::{ExportAnnotation, ExportItem};
use super::spec::{ExportOptions, PairStrategy};
use std::collections::BTreeMap;
use uuid::Uuid;

pub(super) fn rankings_of(annotations: &[&ExportAnnotation]) -> Vec<Vec<Vec<Uuid>>> {
    annotations
        .iter()
        .filter_map(|a| a.body.ranking.clone())
        .collect()
}

/// (chosen, rejected) texts: consensus pairs, then thumbs pairs, then edit pairs; without
/// duplicates or pairs of two identical texts.
pub(super) fn preference_pairs<'a>(
    item: &'a ExportItem,
    kept: &[&'a ExportAnnotation],
    opts: &ExportOptions,
) -> Vec<(&'a str, &'a str)> {
    let rankings = rankings_of(kept);
    let mut by_id: Vec<(Uuid, Uuid)> = Vec::new();
    let mut place: BTreeMap<Uuid, usize> = BTreeMap::new();
    if !rankings.is_empty() {
        let ids: Vec<Uuid> = item.answers.iter().map(|a| a.response_id).collect();
        let tiers = consensus(&rankings, &ids);
        for (t, tier) in tiers.iter().enumerate() {
            place.extend(tier.iter().map(|id| (*id, t)));
        }
        for (i, upper) in tiers.iter().enumerate() {
            let lower: &[Vec<Uuid>] = match opts.pairs {
                PairStrategy::AllPairs => &tiers[i + 1..],
                PairStrategy::BestVsRest if i == 0 => &tiers[1..],
                PairStrategy::BestVsRest => &[],
                PairStrategy::Adjacent => &tiers[i + 1..(i + 2).min(tiers.len())],
            };
            for (&better, &worse) in upper
                .iter()
                .flat_map(|b| lower.iter().flatten().map(move |w| (b, w)))
            {
                if pair_agreement(&rankings, better, worse) >= opts.min_agreement {
                    by_id.push((better, worse));
                }
            }
        }
    }
    if opts.from_thumbs {
        for a in kept {
            let with = |value: bool| {
                a.body
                    .thumbs
                    .iter()
                    .filter(move |t| *t.1 == value)
                    .map(|t| *t.0)
            };
            for up in with(true) {
                for down in with(false) {
                    let contradicts =
                        matches!((place.get(&up), place.get(&down)), (Some(u), Some(d)) if d < u);
                    if !contradicts && !by_id.contains(&(up, down)) {
                        by_id.push((up, down));
                    }
                }
            }
        }
    }
    let mut pairs: Vec<(&'a str, &'a str)> = Vec::new();
    let mut push = |chosen: &'a str, rejected: &'a str| {
        if chosen != rejected && !pairs.contains(&(chosen, rejected)) {
            pairs.push((chosen, rejected));
        }
    };
    for (better, worse) in by_id {
        if let (Some(chosen), Some(rejected)) =
            (answer_text(item, better), answer_text(item, worse))
        {
            push(chosen, rejected);
        }
    }
    for a in kept.iter().filter(|_| opts.from_edits) {
        if let (Some(ideal), Some(from)) = (a.body.ideal_answer.as_deref(), a.body.ideal_from)
            && let Some(original) = answer_text(item, from)
            && ideal.trim() != original.trim()
        {
            push(ideal, original);
        }
    }
    pairs
}

pub(super) fn answer_text(item: &ExportItem, id: Uuid) -> Option<&str> {
    item.answers
        .iter()
        .find(|a| a.response_id == id)
        .map(|a| a.content.as_str())
}
