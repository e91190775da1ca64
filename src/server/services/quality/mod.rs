//! Quality: how well the annotators of a project agree. The figures are sums over items
//! (see [`item`]), kept current by every submission and edit in its own transaction, so a
//! report reads the project's running totals (a few hundred rows) whatever its size.

pub mod adaptive;
pub mod consensus;
pub mod item;
pub mod judge;

use super::Actor;
use super::projects::authorize;
use crate::model::annotation::Flag;
use crate::model::api::Scope;
use crate::model::proposal::ProposalView;
use crate::server::stats::{Coincidences, Contingency, Level};
use crate::server::store::{agreement, proposals, users};
use crate::server::{Error, Result};
use item::{ItemPart, Label, metric};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// A running total's cells: ((a, b), n).
type Cells = Vec<((i64, i64), f64)>;
/// A running total's cells by metric.
type ByMetric = BTreeMap<String, Cells>;

/// How many marked items one transaction counts.
const MARKED_BATCH: i64 = 500;

/// How many items a rebuild counts per transaction.
const REBUILD_BATCH: i64 = 500;
/// How many contentious items a report lists.
const CONTENTIOUS: i64 = 20;

/// Counts the items' labels anew and adds what changed to the project's sums. The caller
/// holds the items' locks (a submission holds its item's), so two transactions never count
/// one item at once.
pub async fn recount(db: &mut PgConnection, project_id: Uuid, item_ids: &[Uuid]) -> Result<()> {
    let labels = agreement::labels(&mut *db, item_ids).await?;
    let mut proposals: BTreeMap<Uuid, ProposalView> = proposals::done_for_items(&mut *db, item_ids)
        .await?
        .into_iter()
        .collect();
    let mut old = stored_parts(db, item_ids).await?;
    let mut by_item: BTreeMap<Uuid, Vec<Label>> = item_ids.iter().map(|&id| (id, vec![])).collect();
    for row in labels {
        by_item
            .entry(row.item_id)
            .or_default()
            .push(Label::from(row));
    }
    let mut totals = Totals::default();
    let mut rows = Vec::new();
    for (item_id, labels) in by_item {
        let part = ItemPart::of(&labels, proposals.remove(&item_id).as_ref());
        let before = old.remove(&item_id);
        if part.is_empty() && before.is_none() {
            continue; // one annotator so far: nothing to compare
        }
        totals.add(item_id, part.minus(&before.unwrap_or_default()));
        rows.push(agreement::ItemRow {
            item_id,
            annotators: part.annotators,
            kendall_w: part.kendall_w,
            pref_agree: part.preference.agree as i32,
            pref_compared: part.preference.compared as i32,
            part: part.to_json(),
        });
    }
    totals.apply(db, project_id).await?;
    agreement::save_items(&mut *db, project_id, &rows).await?;
    Ok(())
}

/// The parts the items added to the sums when they were last counted.
async fn stored_parts(
    db: &mut PgConnection,
    item_ids: &[Uuid],
) -> Result<BTreeMap<Uuid, ItemPart>> {
    let mut parts = BTreeMap::new();
    for (item_id, part) in agreement::parts(&mut *db, item_ids).await? {
        let part = ItemPart::from_json(part.0).map_err(|e| {
            Error::Internal(anyhow::anyhow!("item {item_id}'s agreement part: {e}"))
        })?;
        parts.insert(item_id, part);
    }
    Ok(parts)
}

/// Differences to add to a project's totals, gathered over items: each item's cells go to
/// its slot (as its progress counters do), its pairs to the annotator pairs' totals.
#[derive(Default)]
struct Totals {
    cells: BTreeMap<(i16, String, i64, i64), f64>,
    pairs: BTreeMap<item::PairCell, f64>,
}

impl Totals {
    fn add(&mut self, item_id: Uuid, delta: ItemPart) {
        let slot = i16::from(item_id.as_bytes()[15] % 16);
        for ((m, a, b), n) in delta.cells {
            *self.cells.entry((slot, m, a, b)).or_insert(0.0) += n;
        }
        for (key, n) in delta.pairs {
            *self.pairs.entry(key).or_insert(0.0) += n;
        }
    }

    async fn apply(self, db: &mut PgConnection, project_id: Uuid) -> Result<()> {
        agreement::add_cells(&mut *db, project_id, &self.cells).await?;
        agreement::add_pairs(&mut *db, project_id, &self.pairs).await?;
        Ok(())
    }
}

/// Counts the items that submissions and edits marked (see the migration `gold`), a batch
/// per transaction, until none is left that no running transaction holds. Returns the
/// items counted.
pub async fn count_marked(pool: &PgPool) -> Result<u64> {
    let mut counted = 0;
    loop {
        let mut tx = pool.begin().await?;
        let taken = agreement::take_marked(&mut *tx, MARKED_BATCH).await?;
        if taken.is_empty() {
            break;
        }
        let mut by_project: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
        for &(item_id, project_id) in &taken {
            by_project.entry(project_id).or_default().push(item_id);
        }
        for (project_id, items) in by_project {
            recount(&mut tx, project_id, &items).await?;
        }
        tx.commit().await?;
        counted += taken.len() as u64;
        if (taken.len() as i64) < MARKED_BATCH {
            break;
        }
    }
    Ok(counted)
}

/// Counts marked items every `every`, in every server (they share the work); a failure is
/// only logged (the marks wait for the next pass).
pub async fn count_marked_forever(pool: PgPool, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match count_marked(&pool).await {
            Ok(0) => {}
            Ok(items) => tracing::debug!(items, "agreement counted"),
            Err(e) => tracing::warn!(error = %e, "counting agreement failed"),
        }
    }
}

/// Takes the item's part out of the sums (it is about to be deleted); the caller holds the
/// item's lock.
pub async fn forget(db: &mut PgConnection, project_id: Uuid, item_id: Uuid) -> Result<()> {
    let Some(part) = stored_parts(db, &[item_id]).await?.remove(&item_id) else {
        return Ok(());
    };
    let mut totals = Totals::default();
    totals.add(item_id, ItemPart::default().minus(&part));
    totals.apply(db, project_id).await
}

/// Counts every labeled item of the projects still waiting for it (labeled before the sums
/// existed), a batch per transaction; submissions may go on meanwhile. Returns the items
/// counted.
pub async fn rebuild_pending(pool: &PgPool) -> Result<u64> {
    let mut counted = 0;
    for project_id in agreement::pending_rebuilds(pool).await? {
        counted += rebuild(pool, project_id).await?;
        agreement::finish_rebuild(pool, project_id).await?;
        tracing::info!(project.id = %project_id, counted, "agreement counted");
    }
    Ok(counted)
}

/// Counts every item of the project with two or more labels again (a no-op where the sums
/// are right). Returns the items counted.
pub async fn rebuild(pool: &PgPool, project_id: Uuid) -> Result<u64> {
    let mut after = 0;
    let mut counted = 0;
    loop {
        let mut tx = pool.begin().await?;
        let batch =
            agreement::lock_labeled_items(&mut *tx, project_id, after, REBUILD_BATCH).await?;
        let Some(&(_, last)) = batch.last() else {
            break;
        };
        let ids: Vec<Uuid> = batch.iter().map(|&(id, _)| id).collect();
        recount(&mut tx, project_id, &ids).await?;
        tx.commit().await?;
        counted += ids.len() as u64;
        after = last;
    }
    Ok(counted)
}

/// The CLI's `verdict quality rebuild`.
pub async fn rebuild_project(pool: &PgPool, actor: &Actor, slug: &str) -> Result<u64> {
    let project = authorize(pool, actor, slug, &[]).await?;
    rebuild(pool, project.project_id).await
}

/// A project's agreement figures. Undefined figures (too few labels to compare, or no
/// variation to expect disagreement from) are `null`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualityReport {
    pub project: String,
    /// Items with labels from two or more annotators: the items compared.
    pub items_compared: u64,
    /// Items whose latest labels are not counted yet (they are, within seconds).
    pub pending_items: u64,
    pub thumbs: ThumbsAgreement,
    pub ranking: RankingAgreement,
    /// Preference strengths (projects whose judgment schema asks for them).
    pub strength: StrengthAgreement,
    /// Rubric scores, per criterion rated on items with two or more annotators.
    pub rubric: Vec<RubricAgreement>,
    pub flags: Vec<FlagAgreement>,
    /// Every pair of annotators who labeled an item in common.
    pub pairs: Vec<PairAgreement>,
    /// The items whose rankings agree least (lowest Kendall's W), at most 20.
    pub contentious: Vec<ContentiousItem>,
    /// Accuracy on gold items, per annotator who labeled one.
    pub gold: Vec<GoldAccuracy>,
    /// The model's proposals against the annotators, per model.
    pub judges: Vec<judge::JudgeCalibration>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GoldAccuracy {
    pub annotator: Annotator,
    /// Gold labels checked, and right.
    pub checked: u64,
    pub correct: u64,
    pub accuracy: Option<f64>,
    /// Over their last N gold labels (N: the project's `recent` setting).
    pub recent_checked: u64,
    pub recent_accuracy: Option<f64>,
    /// Below the project's threshold after its minimum number of gold items.
    pub flagged: bool,
    /// Paused on the project until an admin resumes them.
    pub paused: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThumbsAgreement {
    /// Krippendorff's alpha (nominal) over answers: the units are the answers, the values
    /// the annotators' thumbs.
    pub alpha: Option<f64>,
    /// The share of annotator pairs that gave an answer the same thumb.
    pub raw_agreement: Option<f64>,
    /// Thumbs in answers that two or more annotators thumbed.
    pub pairable: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RankingAgreement {
    /// Krippendorff's alpha (ordinal) over answers: the units are the answers, the values
    /// their ranks within the item (tied answers share the mean of the ranks they span).
    pub alpha_ordinal: Option<f64>,
    /// Over every pair of annotators and pair of answers both ranked: the share ordered
    /// alike. A tie agrees only with a tie.
    pub pairwise_agreement: Option<f64>,
    pub pairs_compared: u64,
    /// The mean of the items' Kendall's W (with the tie correction).
    pub mean_kendall_w: Option<f64>,
    pub items_ranked: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StrengthAgreement {
    /// Krippendorff's alpha (ordinal) over answer pairs that labels put in adjacent
    /// places: the values are signed strengths (Llama 2's scale: -3 "much better" the other
    /// way ... 0 "about the same" ... 3 "much better"), so that disagreeing on the order
    /// counts more than on how much.
    pub alpha_ordinal: Option<f64>,
    /// Strengths in answer pairs that two or more annotators judged.
    pub pairable: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RubricAgreement {
    /// The criterion's key.
    pub criterion: String,
    /// Krippendorff's alpha over answers, the values the annotators' scores: interval
    /// (squared differences) and ordinal.
    pub alpha_interval: Option<f64>,
    pub alpha_ordinal: Option<f64>,
    /// Scores in answers that two or more annotators scored.
    pub pairable: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagAgreement {
    #[schema(value_type = String)]
    pub flag: Flag,
    /// Krippendorff's alpha (nominal) of flagged or not, over items.
    pub alpha: Option<f64>,
    /// Labels that carry the flag, among the items compared.
    pub flagged: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PairAgreement {
    pub annotator_a: Annotator,
    pub annotator_b: Annotator,
    /// Items both labeled.
    pub items: u64,
    /// Cohen's kappa of their thumbs on the answers both thumbed.
    pub thumbs_kappa: Option<f64>,
    /// The share of those answers they gave the same thumb.
    pub thumbs_agreement: Option<f64>,
    pub thumbs_compared: u64,
    /// The share of answer pairs both ranked that they ordered alike.
    pub pairwise_agreement: Option<f64>,
    pub pairs_compared: u64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Annotator {
    pub user_id: Uuid,
    pub display_name: String,
}

impl Annotator {
    /// Everyone's display name, by user id.
    async fn names(pool: &PgPool) -> Result<BTreeMap<Uuid, String>> {
        Ok(users::list(pool)
            .await?
            .into_iter()
            .map(|u| (u.user_id, u.display_name))
            .collect())
    }

    fn of(names: &BTreeMap<Uuid, String>, user_id: Uuid) -> Self {
        Self {
            user_id,
            display_name: names.get(&user_id).cloned().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContentiousItem {
    pub item_id: Uuid,
    pub external_id: Option<String>,
    pub annotators: i32,
    pub kendall_w: Option<f64>,
    pub pairwise_agreement: Option<f64>,
}

/// The project's agreement report (admins, and tokens that may export the project).
pub async fn report(pool: &PgPool, actor: &Actor, slug: &str) -> Result<QualityReport> {
    let project = authorize(pool, actor, slug, &[Scope::ExportRead]).await?;
    let totals = agreement::totals(pool, project.project_id).await?;
    let mut by_metric = ByMetric::new();
    for (m, a, b, n) in totals {
        by_metric.entry(m).or_default().push(((a, b), n));
    }
    let cells = |m: &str| by_metric.get(m).cloned().unwrap_or_default();
    let count = |m: &str| cells(m).iter().map(|(_, n)| n).sum::<f64>();
    let ratio = |num: f64, den: f64| (den > 0.5).then(|| num / den);

    let thumbs = Coincidences::from_cells(cells(metric::THUMBS));
    let rank = Coincidences::from_cells(cells(metric::RANK));
    let strength = Coincidences::from_cells(cells(metric::STRENGTH));
    let rubric = by_metric
        .iter()
        .filter_map(|(m, c)| Some((m.strip_prefix(metric::RUBRIC)?, c)))
        .map(|(key, c)| {
            let matrix = Coincidences::from_cells(c.iter().copied());
            RubricAgreement {
                criterion: key.to_owned(),
                alpha_interval: matrix.alpha(Level::Interval),
                alpha_ordinal: matrix.alpha(Level::Ordinal),
                pairable: round_count(matrix.pairable()),
            }
        })
        .filter(|r| r.pairable > 0.0)
        .collect();
    let flags = Flag::ALL
        .into_iter()
        .map(|flag| {
            let matrix = Coincidences::from_cells(cells(metric::flag(flag)));
            let flagged = matrix
                .cells()
                .filter(|((c, _), _)| *c == 1)
                .map(|(_, o)| o)
                .sum();
            FlagAgreement {
                flag,
                alpha: matrix.alpha(Level::Nominal),
                flagged: round_count(flagged),
            }
        })
        .collect();

    let names = Annotator::names(pool).await?;
    let annotator = |user_id: Uuid| Annotator::of(&names, user_id);
    let mut per_pair: BTreeMap<(Uuid, Uuid), ByMetric> = BTreeMap::new();
    // (user, user) rows are one annotator's leave-one-out counters, for the scorecards.
    for row in agreement::pair_totals(pool, project.project_id).await? {
        if row.user_a == row.user_b {
            continue;
        }
        per_pair
            .entry((row.user_a, row.user_b))
            .or_default()
            .entry(row.metric)
            .or_default()
            .push(((i64::from(row.a), i64::from(row.b)), row.n));
    }
    let pairs = per_pair
        .into_iter()
        .filter_map(|((a, b), metrics)| {
            let sum = |m: &str| {
                metrics
                    .get(m)
                    .map_or(0.0, |c| c.iter().map(|(_, n)| n).sum())
            };
            let items = round_count(sum(metric::ITEMS)) as u64;
            (items > 0).then(|| {
                let table = Contingency::from_cells(
                    metrics.get(metric::THUMBS).cloned().unwrap_or_default(),
                );
                let compared = round_count(sum(metric::PREF_COMPARED));
                PairAgreement {
                    annotator_a: annotator(a),
                    annotator_b: annotator(b),
                    items,
                    thumbs_kappa: table.kappa(),
                    thumbs_agreement: table.observed(),
                    thumbs_compared: round_count(table.units()) as u64,
                    pairwise_agreement: ratio(sum(metric::PREF_AGREE), compared),
                    pairs_compared: compared as u64,
                }
            })
        })
        .collect();

    let contentious = agreement::contentious(pool, project.project_id, CONTENTIOUS)
        .await?
        .into_iter()
        .map(|c| ContentiousItem {
            item_id: c.item_id,
            external_id: c.external_id,
            annotators: c.annotators,
            kendall_w: c.kendall_w,
            pairwise_agreement: ratio(f64::from(c.pref_agree), f64::from(c.pref_compared)),
        })
        .collect();

    let (_, records) = super::gold::accuracy(pool, project.project_id).await?;
    let gold = records
        .into_iter()
        .map(|r| GoldAccuracy {
            annotator: annotator(r.user_id),
            checked: r.checked as u64,
            correct: r.correct as u64,
            accuracy: ratio(r.correct as f64, r.checked as f64),
            recent_checked: r.recent_checked as u64,
            recent_accuracy: ratio(r.recent_correct as f64, r.recent_checked as f64),
            flagged: r.flagged,
            paused: r.paused,
            reason: r.reason.filter(|_| r.flagged),
        })
        .collect();

    let judges = judge::calibrations(
        &by_metric,
        &proposals::swaps(pool, project.project_id).await?,
    );
    let w_items = round_count(count(metric::W_ITEMS));
    let compared = round_count(count(metric::PREF_COMPARED));
    Ok(QualityReport {
        project: project.slug,
        items_compared: round_count(count(metric::ITEMS)) as u64,
        pending_items: agreement::marked(pool, Some(project.project_id)).await? as u64,
        thumbs: ThumbsAgreement {
            alpha: thumbs.alpha(Level::Nominal),
            raw_agreement: ratio(count(metric::THUMBS_SAME), count(metric::THUMBS_PAIRS)),
            pairable: round_count(thumbs.pairable()),
        },
        ranking: RankingAgreement {
            alpha_ordinal: rank.alpha(Level::Ordinal),
            pairwise_agreement: ratio(count(metric::PREF_AGREE), compared),
            pairs_compared: compared as u64,
            mean_kendall_w: ratio(count(metric::W_SUM), w_items),
            items_ranked: w_items as u64,
        },
        strength: StrengthAgreement {
            alpha_ordinal: strength.alpha(Level::Ordinal),
            pairable: round_count(strength.pairable()),
        },
        rubric,
        flags,
        pairs,
        contentious,
        gold,
        judges,
    })
}

/// Counts kept as running sums of floating-point parts come back within rounding of an
/// integer.
fn round_count(n: f64) -> f64 {
    n.round().max(0.0)
}

/// A figure for people: three decimals, or "n/a" when undefined.
pub fn figure(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"))
}

/// The report as the CLI prints it.
pub fn summary(r: &QualityReport) -> String {
    let mut out = format!(
        "{}: {} items with two or more annotators\n\
         thumbs   alpha (nominal) {}  raw agreement {}  ({} pairable thumbs)\n\
         ranking  alpha (ordinal) {}  pairwise agreement {} ({} compared)  mean Kendall's W {} ({} items)\n",
        r.project,
        r.items_compared,
        figure(r.thumbs.alpha),
        figure(r.thumbs.raw_agreement),
        r.thumbs.pairable,
        figure(r.ranking.alpha_ordinal),
        figure(r.ranking.pairwise_agreement),
        r.ranking.pairs_compared,
        figure(r.ranking.mean_kendall_w),
        r.ranking.items_ranked,
    );
    if r.strength.pairable > 0.0 {
        out += &format!(
            "strength alpha (ordinal) {}  ({} pairable strengths)\n",
            figure(r.strength.alpha_ordinal),
            r.strength.pairable
        );
    }
    for c in &r.rubric {
        out += &format!(
            "rubric   {:<16} alpha (interval) {}  (ordinal) {}  ({} pairable scores)\n",
            c.criterion,
            figure(c.alpha_interval),
            figure(c.alpha_ordinal),
            c.pairable
        );
    }
    for f in &r.flags {
        out += &format!(
            "flag     {:<16} alpha (nominal) {}  ({} flagged)\n",
            f.flag.label(),
            figure(f.alpha),
            f.flagged
        );
    }
    for p in &r.pairs {
        out += &format!(
            "pair     {} / {}: {} items, thumbs kappa {} (agreement {}), pairwise {}\n",
            p.annotator_a.display_name,
            p.annotator_b.display_name,
            p.items,
            figure(p.thumbs_kappa),
            figure(p.thumbs_agreement),
            figure(p.pairwise_agreement)
        );
    }
    out
}

/// One annotator's scorecard on a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct Scorecard {
    pub annotator: Annotator,
    pub labels: u64,
    pub skips: u64,
    /// Median time spent per label, in seconds.
    pub median_seconds: Option<f64>,
    /// Over every other annotator and answer pair both ranked: the share ordered alike.
    pub pairwise_agreement_with_others: Option<f64>,
    /// Over every answer both this annotator and another thumbed: the share thumbed alike.
    pub thumbs_agreement_with_others: Option<f64>,
    /// Against the consensus of each item's other labels (leave one out: mean rank,
    /// majority thumb): answer pairs ordered alike, and compared.
    pub consensus_pairwise_agreement: Option<f64>,
    pub consensus_pairs_compared: u64,
    /// Their thumbs against the others' majority thumb (answers with a strict majority):
    /// the share alike, and Cohen's kappa.
    pub consensus_thumbs_agreement: Option<f64>,
    pub consensus_thumbs_kappa: Option<f64>,
    pub consensus_thumbs_compared: u64,
    pub gold_checked: u64,
    pub gold_accuracy: Option<f64>,
    pub gold_recent_accuracy: Option<f64>,
    /// How often their sole first place is the answer shown first, by number of answers.
    pub position_bias: Vec<PositionBias>,
    /// Labels shown a model proposal, and the share that took it as it was.
    pub proposals_shown: u64,
    pub proposals_accepted_as_is: Option<f64>,
    /// Their labels of items with a proposal made without seeing it, and the share identical
    /// to it.
    pub unprompted_labels: u64,
    pub unprompted_match: Option<f64>,
    /// Anchoring: `proposals_accepted_as_is` minus the share of every annotator's labels made
    /// without seeing the proposal that are identical to it (the project's hold-out
    /// baseline, `holdout_match`). Well above 0: they take proposals more often than
    /// independent judgement agrees with them.
    pub holdout_match: Option<f64>,
    pub anchoring: Option<f64>,
    /// Their last weeks (Monday, UTC), oldest first, at most [`TREND_WEEKS`].
    pub trend: Vec<WeekTrend>,
    /// Reviewers' decisions on their labels, and the share accepted as they were.
    pub reviewed: u64,
    pub review_accepted: u64,
    pub review_fixed: u64,
    pub review_rejected: u64,
    pub review_acceptance: Option<f64>,
}

/// How many weeks a scorecard's trend shows.
pub const TREND_WEEKS: i64 = 12;

/// One week of an annotator's work.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeekTrend {
    pub week: chrono::NaiveDate,
    pub labels: u64,
    pub median_seconds: Option<f64>,
    pub gold_checked: u64,
    pub gold_accuracy: Option<f64>,
    pub proposals_shown: u64,
    pub proposals_accepted_as_is: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PositionBias {
    /// Items with this many answers.
    pub answers: u32,
    pub rankings: u64,
    /// Rankings whose sole first place is the answer shown first.
    pub first_shown: u64,
    pub share: f64,
    /// What chance gives: 1 / answers.
    pub expected: f64,
    /// The exact two-sided binomial test of `first_shown` in `rankings` against `expected`.
    pub p_value: f64,
}

/// Every annotator's scorecard (admins, and tokens that may export the project).
pub async fn scorecards(pool: &PgPool, actor: &Actor, slug: &str) -> Result<Vec<Scorecard>> {
    let project = authorize(pool, actor, slug, &[Scope::ExportRead]).await?;
    cards(pool, project.project_id, None).await
}

/// The signed-in annotator's own scorecard on the project.
pub async fn my_scorecard(pool: &PgPool, actor: &Actor, slug: &str) -> Result<Option<Scorecard>> {
    if actor.grant.is_some() {
        return Err(Error::Forbidden);
    }
    let project = super::projects::visible(pool, actor, slug).await?;
    Ok(cards(pool, project.project_id, Some(actor.user_id))
        .await?
        .pop())
}

async fn cards(pool: &PgPool, project_id: Uuid, only: Option<Uuid>) -> Result<Vec<Scorecard>> {
    let names = Annotator::names(pool).await?;
    let skips: BTreeMap<Uuid, i64> = agreement::skips(pool, project_id, only)
        .await?
        .into_iter()
        .collect();
    let (_, gold) = super::gold::accuracy(pool, project_id).await?;
    let gold: BTreeMap<Uuid, _> = gold.into_iter().map(|g| (g.user_id, g)).collect();
    // Agreement with the others, from the pairs' totals; with the others' consensus, from
    // each annotator's own (user, user) counters.
    let mut with_others: BTreeMap<Uuid, [f64; 4]> = BTreeMap::new();
    let mut with_consensus: BTreeMap<Uuid, ([f64; 2], Cells)> = BTreeMap::new();
    for row in agreement::pair_totals(pool, project_id).await? {
        if row.user_a == row.user_b {
            let sums = with_consensus.entry(row.user_a).or_default();
            match row.metric.as_str() {
                metric::LOO_PREF_AGREE => sums.0[0] += row.n,
                metric::LOO_PREF_COMPARED => sums.0[1] += row.n,
                metric::LOO_THUMBS => sums.1.push(((i64::from(row.a), i64::from(row.b)), row.n)),
                _ => {}
            }
            continue;
        }
        for user in [row.user_a, row.user_b] {
            let sums = with_others.entry(user).or_default();
            match row.metric.as_str() {
                metric::PREF_AGREE => sums[0] += row.n,
                metric::PREF_COMPARED => sums[1] += row.n,
                metric::THUMBS => {
                    sums[3] += row.n;
                    if row.a == row.b {
                        sums[2] += row.n;
                    }
                }
                _ => {}
            }
        }
    }
    let mut picks: BTreeMap<Uuid, Vec<PositionBias>> = BTreeMap::new();
    for row in agreement::first_picks(pool, project_id, only).await? {
        let expected = 1.0 / f64::from(row.answers);
        picks.entry(row.user_id).or_default().push(PositionBias {
            answers: row.answers as u32,
            rankings: row.rankings as u64,
            first_shown: row.first_shown as u64,
            share: row.first_shown as f64 / row.rankings.max(1) as f64,
            expected,
            p_value: crate::server::stats::significance::binomial_two_sided(
                row.first_shown as u64,
                row.rankings as u64,
                expected,
            ),
        });
    }
    let ratio = |num: f64, den: f64| (den > 0.5).then(|| num / den);
    let unprompted = agreement::unprompted(pool, project_id).await?;
    let holdout_match = ratio(
        unprompted.iter().map(|u| u.matched as f64).sum(),
        unprompted.iter().map(|u| u.labels as f64).sum(),
    );
    let unprompted: BTreeMap<Uuid, (i64, i64)> = unprompted
        .into_iter()
        .map(|u| (u.user_id, (u.labels, u.matched)))
        .collect();
    let reviewed: BTreeMap<Uuid, crate::server::store::reviews::CountRow> =
        crate::server::store::reviews::counts(pool, project_id, only)
            .await?
            .into_iter()
            .map(|c| (c.annotator_id, c))
            .collect();
    let since = chrono::Utc::now().date_naive() - chrono::Duration::weeks(TREND_WEEKS);
    let mut gold_weeks: BTreeMap<(Uuid, chrono::NaiveDate), (i64, i64)> =
        super::gold::weeks(pool, project_id, only, since).await?;
    let mut trends: BTreeMap<Uuid, Vec<WeekTrend>> = BTreeMap::new();
    let (overall, weeks): (Vec<_>, Vec<_>) = agreement::work(pool, project_id, only, since)
        .await?
        .into_iter()
        .partition(|w| w.week.is_none());
    for w in weeks {
        let Some(week) = w.week else { continue };
        let (checked, correct) = gold_weeks.remove(&(w.user_id, week)).unwrap_or_default();
        trends.entry(w.user_id).or_default().push(WeekTrend {
            week,
            labels: w.labels as u64,
            median_seconds: w.median_ms.map(|ms| ms / 1000.0),
            gold_checked: checked as u64,
            gold_accuracy: ratio(correct as f64, checked as f64),
            proposals_shown: w.proposals as u64,
            proposals_accepted_as_is: ratio(w.accepted as f64, w.proposals as f64),
        });
    }
    Ok(overall
        .into_iter()
        .map(|w| {
            let others = with_others.get(&w.user_id).copied().unwrap_or_default();
            let (loo, loo_thumbs) = with_consensus.remove(&w.user_id).unwrap_or_default();
            let accepted = ratio(w.accepted as f64, w.proposals as f64);
            let mine = unprompted.get(&w.user_id).copied().unwrap_or_default();
            let loo_thumbs = Contingency::from_cells(loo_thumbs);
            let g = gold.get(&w.user_id);
            let (r_accepted, r_fixed, r_rejected) = reviewed
                .get(&w.user_id)
                .map_or((0, 0, 0), |c| (c.accepted, c.fixed, c.rejected));
            let r_total = r_accepted + r_fixed + r_rejected;
            Scorecard {
                annotator: Annotator::of(&names, w.user_id),
                labels: w.labels as u64,
                skips: skips.get(&w.user_id).copied().unwrap_or(0) as u64,
                median_seconds: w.median_ms.map(|ms| ms / 1000.0),
                pairwise_agreement_with_others: ratio(others[0], others[1]),
                thumbs_agreement_with_others: ratio(others[2], others[3]),
                consensus_pairwise_agreement: ratio(loo[0], loo[1]),
                consensus_pairs_compared: round_count(loo[1]) as u64,
                consensus_thumbs_agreement: loo_thumbs.observed(),
                consensus_thumbs_kappa: loo_thumbs.kappa(),
                consensus_thumbs_compared: round_count(loo_thumbs.units()) as u64,
                gold_checked: g.map_or(0, |g| g.checked as u64),
                gold_accuracy: g.and_then(|g| ratio(g.correct as f64, g.checked as f64)),
                gold_recent_accuracy: g
                    .and_then(|g| ratio(g.recent_correct as f64, g.recent_checked as f64)),
                position_bias: picks.remove(&w.user_id).unwrap_or_default(),
                proposals_shown: w.proposals as u64,
                proposals_accepted_as_is: accepted,
                unprompted_labels: mine.0 as u64,
                unprompted_match: ratio(mine.1 as f64, mine.0 as f64),
                holdout_match,
                anchoring: accepted.zip(holdout_match).map(|(a, h)| a - h),
                trend: trends.remove(&w.user_id).unwrap_or_default(),
                reviewed: r_total as u64,
                review_accepted: r_accepted as u64,
                review_fixed: r_fixed as u64,
                review_rejected: r_rejected as u64,
                review_acceptance: ratio(r_accepted as f64, r_total as f64),
            }
        })
        .collect())
}
