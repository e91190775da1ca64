//! Preference pairs of an item: from the consensus ranking (by the pair strategy, kept when
//! enough rankers agree) or from rubric scores, from thumbs, and from edited ideal answers.

use super::consensus::{consensus, pair_agreement};
use super::record::{ExportAnnotation, ExportItem};
use super::spec::{ExportOptions, PairStrategy};
use super::split::stable_choice;
use std::collections::BTreeMap;
use uuid::Uuid;

pub(super) fn rankings_of(annotations: &[&ExportAnnotation]) -> Vec<Vec<Vec<Uuid>>> {
    annotations
        .iter()
        .filter_map(|a| a.body.ranking.clone())
        .collect()
}

/// A preference pair of texts and its margin (0 where no strength says more).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct TextPair<'a> {
    pub chosen: &'a str,
    pub rejected: &'a str,
    pub margin: f64,
}

/// The order an item's pairs come from: tiers of answers, best first, with how many
/// annotators agree with a pair and by how much it wins.
trait Order {
    fn tiers(&self) -> &[Vec<Uuid>];
    /// Share of the annotators who judged both that put `better` above `worse`.
    fn agreement(&self, better: Uuid, worse: Uuid) -> f64;
    /// The pair's margin, and whether every strength given for it says "about the same";
    /// `None` when nothing says how much better.
    fn margin(&self, better: Uuid, worse: Uuid) -> Option<(f64, bool)>;
}

/// The consensus of the annotators' rankings, margins from their strengths.
struct Rankings<'a, 'o> {
    annotations: Vec<&'a ExportAnnotation>,
    rankings: Vec<Vec<Vec<Uuid>>>,
    tiers: Vec<Vec<Uuid>>,
    opts: &'o ExportOptions,
}

impl Order for Rankings<'_, '_> {
    fn tiers(&self) -> &[Vec<Uuid>] {
        &self.tiers
    }

    fn agreement(&self, better: Uuid, worse: Uuid) -> f64 {
        pair_agreement(&self.rankings, better, worse)
    }

    fn margin(&self, better: Uuid, worse: Uuid) -> Option<(f64, bool)> {
        let given: Vec<f64> = self
            .annotations
            .iter()
            .filter_map(|a| {
                let schema = self.opts.schemas.get(&a.guideline_version?)?;
                let tiers = a.body.ranking.as_ref()?;
                a.body.judgments.margin(schema, tiers, better, worse)
            })
            .collect();
        if given.is_empty() {
            return None;
        }
        let mean = given.iter().sum::<f64>() / given.len() as f64;
        Some((mean.max(0.0), mean <= 0.0))
    }
}

/// Answers ordered by a weighted sum of their mean rubric scores.
struct Scores {
    /// Each annotator's weighted score of each answer they rated on every weighted criterion.
    by_annotator: Vec<BTreeMap<Uuid, f64>>,
    consensus: BTreeMap<Uuid, f64>,
    tiers: Vec<Vec<Uuid>>,
}

impl Scores {
    fn new(
        item: &ExportItem,
        annotations: &[&ExportAnnotation],
        weights: &[(String, f64)],
    ) -> Self {
        let weighted = |scores: &dyn Fn(&str) -> Option<f64>| -> Option<f64> {
            weights
                .iter()
                .map(|(key, w)| scores(key).map(|s| w * s))
                .sum::<Option<f64>>()
        };
        let by_annotator: Vec<BTreeMap<Uuid, f64>> = annotations
            .iter()
            .map(|a| {
                a.body
                    .judgments
                    .ratings
                    .iter()
                    .filter_map(|(answer, scores)| {
                        let score = weighted(&|key| scores.get(key).map(|&s| f64::from(s)))?;
                        Some((*answer, score))
                    })
                    .collect()
            })
            .collect();
        let means = mean_ratings(annotations);
        let mut consensus = BTreeMap::new();
        for answer in &item.answers {
            let id = answer.response_id;
            if let Some(score) = weighted(&|key| means.get(&id)?.get(key).copied()) {
                consensus.insert(id, score);
            }
        }
        let mut order: Vec<(Uuid, f64)> = item
            .answers
            .iter()
            .filter_map(|a| Some((a.response_id, *consensus.get(&a.response_id)?)))
            .collect();
        order.sort_by(|x, y| y.1.total_cmp(&x.1)); // stable: equal scores keep answer order
        let mut tiers: Vec<Vec<Uuid>> = Vec::new();
        let mut last: Option<f64> = None;
        for (id, score) in order {
            match tiers.last_mut() {
                Some(tier) if last == Some(score) => tier.push(id),
                _ => tiers.push(vec![id]),
            }
            last = Some(score);
        }
        Scores {
            by_annotator,
            consensus,
            tiers,
        }
    }
}

impl Order for Scores {
    fn tiers(&self) -> &[Vec<Uuid>] {
        &self.tiers
    }

    fn agreement(&self, better: Uuid, worse: Uuid) -> f64 {
        let (mut both, mut agree) = (0usize, 0usize);
        for scores in &self.by_annotator {
            if let (Some(b), Some(w)) = (scores.get(&better), scores.get(&worse)) {
                both += 1;
                agree += usize::from(b > w);
            }
        }
        if both == 0 {
            0.0
        } else {
            agree as f64 / both as f64
        }
    }

    fn margin(&self, better: Uuid, worse: Uuid) -> Option<(f64, bool)> {
        Some((
            self.consensus.get(&better)? - self.consensus.get(&worse)?,
            false,
        ))
    }
}

/// Each answer's mean score per criterion over the annotations that rated it so.
pub(super) fn mean_ratings(
    annotations: &[&ExportAnnotation],
) -> BTreeMap<Uuid, BTreeMap<String, f64>> {
    let mut sums: BTreeMap<Uuid, BTreeMap<&str, (f64, u32)>> = BTreeMap::new();
    for a in annotations {
        for (answer, scores) in &a.body.judgments.ratings {
            for (key, &score) in scores {
                let sum = sums.entry(*answer).or_default().entry(key).or_default();
                sum.0 += f64::from(score);
                sum.1 += 1;
            }
        }
    }
    sums.into_iter()
        .map(|(answer, keys)| {
            let means = keys
                .into_iter()
                .map(|(key, (sum, n))| (key.to_owned(), sum / f64::from(n)))
                .collect();
            (answer, means)
        })
        .collect()
}

/// The pairs of an item: from its order (the consensus ranking, or rubric scores when the
/// export asks for them) by the pair strategy, then from thumbs, then from edits; without
/// duplicates or pairs of two identical texts. Annotations saying no answer is acceptable
/// rank nothing; an item most of whose annotations say so gives no pairs.
pub(super) fn preference_pairs<'a>(
    item: &'a ExportItem,
    kept: &[&'a ExportAnnotation],
    opts: &ExportOptions,
) -> Vec<TextPair<'a>> {
    let ranked: Vec<&ExportAnnotation> = kept
        .iter()
        .copied()
        .filter(|a| a.body.judgments.none_acceptable.is_none())
        .collect();
    if 2 * ranked.len() < kept.len() {
        return Vec::new();
    }
    let order: Box<dyn Order> = match &opts.rubric {
        Some(weights) => Box::new(Scores::new(item, &ranked, weights)),
        None => {
            let rankings = rankings_of(&ranked);
            let ids: Vec<Uuid> = item.answers.iter().map(|a| a.response_id).collect();
            let tiers = if rankings.is_empty() {
                Vec::new()
            } else {
                consensus(&rankings, &ids)
            };
            Box::new(Rankings {
                annotations: ranked.clone(),
                rankings,
                tiers,
                opts,
            })
        }
    };
    let tiers = order.tiers();
    let mut by_id: Vec<(Uuid, Uuid, f64)> = Vec::new();
    let mut place: BTreeMap<Uuid, usize> = BTreeMap::new();
    for (t, tier) in tiers.iter().enumerate() {
        place.extend(tier.iter().map(|id| (*id, t)));
    }
    let mut candidates: Vec<(Uuid, Uuid)> = Vec::new();
    for (i, upper) in tiers.iter().enumerate() {
        let lower: &[Vec<Uuid>] = match opts.pairs {
            PairStrategy::AllPairs => &tiers[i + 1..],
            PairStrategy::BestVsRest if i == 0 => &tiers[1..],
            PairStrategy::BestVsRest | PairStrategy::BestVsRandom => &[],
            PairStrategy::Adjacent => &tiers[i + 1..(i + 2).min(tiers.len())],
        };
        candidates.extend(
            upper
                .iter()
                .flat_map(|b| lower.iter().flatten().map(move |w| (*b, *w))),
        );
    }
    if opts.pairs == PairStrategy::BestVsRandom
        && let [top, rest @ ..] = tiers
        && let Some(&best) = top.first()
    {
        let others: Vec<Uuid> = rest.iter().flatten().copied().collect();
        if !others.is_empty() {
            candidates.push((best, others[stable_choice(item.item_id, others.len())]));
        }
    }
    for (better, worse) in candidates {
        if order.agreement(better, worse) < opts.min_agreement {
            continue;
        }
        let (margin, about_same) = order.margin(better, worse).unwrap_or((0.0, false));
        if !(about_same && opts.drop_about_same) {
            by_id.push((better, worse, margin));
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
                    if !contradicts && !by_id.iter().any(|p| (p.0, p.1) == (up, down)) {
                        by_id.push((up, down, 0.0));
                    }
                }
            }
        }
    }
    let mut pairs: Vec<TextPair<'a>> = Vec::new();
    let mut push = |chosen: &'a str, rejected: &'a str, margin: f64| {
        if chosen != rejected
            && !pairs
                .iter()
                .any(|p| (p.chosen, p.rejected) == (chosen, rejected))
        {
            pairs.push(TextPair {
                chosen,
                rejected,
                margin,
            });
        }
    };
    for (better, worse, margin) in by_id {
        if let (Some(chosen), Some(rejected)) =
            (answer_text(item, better), answer_text(item, worse))
        {
            push(chosen, rejected, margin);
        }
    }
    for a in kept.iter().filter(|_| opts.from_edits) {
        if let (Some(ideal), Some(from)) = (a.body.ideal_answer.as_deref(), a.body.ideal_from)
            && let Some(original) = answer_text(item, from)
            && ideal.trim() != original.trim()
        {
            push(ideal, original, 0.0);
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
