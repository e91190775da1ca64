//! The project dashboard: progress with a projected finish, throughput, quality over time,
//! position bias, model assistance and end-user feedback, per day.
//!
//! Everything is read from the daily sums the database keeps (`project_days`), never from
//! the labels themselves, so a view costs the same however many labels the project has.
//! Admins see the whole project; an annotator sees the project's progress and their own
//! figures only.

use super::{Actor, Result, form, projects};
use crate::model::project::ProjectSummary;
use crate::model::user::Role;
use crate::server::Error;
use crate::server::store::{days, users};
use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The days shown unless `from` says otherwise.
pub const DEFAULT_DAYS: i64 = 30;
pub const MAX_DAYS: i64 = 366;
/// The burn-up's projection uses the completion rate of this many days up to today.
pub const RATE_DAYS: i64 = 7;
pub const MAX_FIELDS: usize = 5;
/// The stacked throughput chart shows this many annotators; the rest are "others".
pub const MAX_SERIES: usize = 8;

/// What to show; blank fields take the defaults.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Filters {
    /// First day (YYYY-MM-DD, UTC; default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, included (default: today).
    pub to: Option<String>,
    /// One annotator's figures (their email).
    pub annotator: Option<String>,
    /// Items whose metadata field has a value, as `field=value` (fields: the project's
    /// dashboard fields).
    pub facet: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Dashboard {
    pub project: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub facet: String,
    pub annotator: Option<String>,
    /// An annotator's own view: no other annotator's figures, no project-wide quality.
    pub own: bool,
    /// The metadata fields the facets come from, and the facets with figures.
    pub fields: Vec<String>,
    pub facets: Vec<String>,
    /// Everyone with figures in the project (admins only).
    pub annotators: Vec<String>,
    pub progress: Progress,
    pub throughput: Vec<ThroughputDay>,
    pub quality: Vec<QualityDay>,
    pub positions: Vec<PositionShare>,
    pub assistance: Vec<AssistDay>,
    pub feedback: Vec<FeedbackDay>,
    pub feedback_volume: Vec<FeedbackVolume>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Progress {
    /// Now: items annotators label, those complete, open (the rest), leased, skips so far,
    /// gold items.
    pub items: i64,
    pub completed: i64,
    pub open: i64,
    pub leased: i64,
    pub skips: i64,
    pub gold: i64,
    /// Items completed per day over the last [`RATE_DAYS`] days up to today.
    pub rate: f64,
    /// Today plus the open items at that rate (none without a rate; today when done).
    pub projected_finish: Option<NaiveDate>,
    pub days: Vec<ProgressDay>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProgressDay {
    pub day: NaiveDate,
    pub completed: i64,
    /// At the end of the day: items complete, and items there were.
    pub completed_total: i64,
    pub items_total: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ThroughputDay {
    pub day: NaiveDate,
    pub labels: i64,
    pub by_annotator: BTreeMap<String, i64>,
    /// From the time-spent histogram: within 9% of the exact median.
    pub median_seconds: Option<f64>,
    pub skips: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct QualityDay {
    pub day: NaiveDate,
    /// Annotator pairs that order an answer pair alike, of those compared, over the items
    /// whose labels last changed that day; and the mean Kendall's W of those items.
    pub pair_agreement: Option<f64>,
    pub pairs_compared: i64,
    pub kendall_w: Option<f64>,
    pub gold_checked: i64,
    pub gold_accuracy: Option<f64>,
    pub reviews_accepted: i64,
    pub reviews_fixed: i64,
    pub reviews_rejected: i64,
}

/// How often the annotators' sole best pick was the answer shown at `position` (from 1),
/// against what picks independent of position would give.
#[derive(Clone, Debug, Serialize)]
pub struct PositionShare {
    pub position: usize,
    pub picks: i64,
    pub share: f64,
    pub expected: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct AssistDay {
    pub day: NaiveDate,
    pub accepted: i64,
    pub modified: i64,
    pub replaced: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct FeedbackDay {
    pub day: NaiveDate,
    pub model: String,
    pub up: i64,
    pub down: i64,
    pub up_rate: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FeedbackVolume {
    pub day: NaiveDate,
    pub events: i64,
    pub corrections: i64,
}

/// The geometric middle of a time bucket (see `time_bucket` in the migration), in ms.
pub fn bucket_middle_ms(bucket: u32) -> f64 {
    if bucket == 0 {
        125.0
    } else {
        250.0 * 2f64.powf((f64::from(bucket) - 0.5) / 4.0)
    }
}

/// The median of a histogram of time buckets, in seconds.
pub fn median_seconds(buckets: &BTreeMap<u32, i64>) -> Option<f64> {
    let total: i64 = buckets.values().sum();
    if total <= 0 {
        return None;
    }
    // The lower median (the ⌈n/2⌉-th value).
    let half = (total + 1) / 2;
    let mut seen = 0;
    for (&b, &n) in buckets {
        seen += n;
        if seen >= half {
            return Some(bucket_middle_ms(b) / 1000.0);
        }
    }
    None
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

pub async fn dashboard(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    filters: &Filters,
) -> Result<Dashboard> {
    let project = projects::visible(pool, actor, slug).await?;
    let admin = actor.require(Role::Admin).is_ok();
    if !admin && actor.grant.is_some() {
        return Err(Error::Forbidden);
    }
    let today = Utc::now().date_naive();
    let to = form::day("to", filters.to.as_deref(), false)?.map_or(today, |d| d.date_naive());
    let from = form::day("from", filters.from.as_deref(), false)?
        .map_or(to - Duration::days(DEFAULT_DAYS - 1), |d| d.date_naive());
    if from > to {
        return Err(Error::invalid("from", "must not be after `to`"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(Error::invalid(
            "from",
            format!("the range is at most {MAX_DAYS} days"),
        ));
    }
    let fields = days::fields(pool, project.project_id).await?;
    let facet = filters
        .facet
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if !facet.is_empty() {
        let field = facet.split_once('=').map(|(f, _)| f);
        if !field.is_some_and(|f| fields.iter().any(|x| x == f)) {
            return Err(Error::invalid(
                "facet",
                format!(
                    "must be field=value with a dashboard field of the project ({})",
                    if fields.is_empty() {
                        "it has none".to_owned()
                    } else {
                        fields.join(", ")
                    }
                ),
            ));
        }
    }
    let people = users::list(pool).await?;
    let email: HashMap<Uuid, String> = people
        .iter()
        .map(|u| (u.user_id, u.email.clone()))
        .collect();
    let wanted = filters
        .annotator
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let user = match (admin, wanted) {
        (false, _) => Some(actor.user_id),
        (true, None) => None,
        (true, Some(e)) => Some(
            people
                .iter()
                .find(|u| u.email.eq_ignore_ascii_case(e))
                .map(|u| u.user_id)
                .ok_or_else(|| Error::invalid("annotator", format!("no one has the email {e}")))?,
        ),
    };
    let rows = days::figures(pool, project.project_id, &facet, user).await?;
    let leased = days::leased(pool, project.project_id, &facet).await?;
    let facets = days::facets(pool, project.project_id).await?;

    let mut d = Builder::default();
    for r in &rows {
        d.add(r, from, to, &email);
    }
    let mut annotators: Vec<String> = if admin {
        let mut seen: Vec<Uuid> = rows
            .iter()
            .filter(|r| !r.user_id.is_nil())
            .map(|r| r.user_id)
            .collect();
        seen.sort();
        seen.dedup();
        seen.iter().filter_map(|u| email.get(u).cloned()).collect()
    } else {
        Vec::new()
    };
    annotators.sort();
    let days_shown: Vec<NaiveDate> = from.iter_days().take_while(|x| *x <= to).collect();

    // Progress: totals now, per day in range, and the projection.
    let recent_start = today - Duration::days(RATE_DAYS - 1);
    let recent: i64 = d
        .all_completed
        .range(recent_start..=today)
        .map(|(_, n)| n)
        .sum();
    let items_now: i64 = d.all_items.values().sum();
    let completed_now: i64 = d.all_completed.values().sum();
    let open = (items_now - completed_now).max(0);
    let rate = recent as f64 / RATE_DAYS as f64;
    let projected_finish = if open == 0 && items_now > 0 {
        Some(today)
    } else if rate > 0.0 {
        Some(today + Duration::days((open as f64 / rate).ceil() as i64))
    } else {
        None
    };
    let (mut done_total, mut items_total) = (d.before_completed, d.before_items);
    let progress_days = days_shown
        .iter()
        .map(|&day| {
            let done = d.completed.get(&day).copied().unwrap_or(0);
            done_total += done;
            items_total += d.items.get(&day).copied().unwrap_or(0);
            ProgressDay {
                day,
                completed: done,
                completed_total: done_total,
                items_total,
            }
        })
        .collect();
    let progress = Progress {
        items: items_now,
        completed: completed_now,
        open,
        leased,
        skips: d.all_skips,
        gold: d.gold_items,
        rate,
        projected_finish,
        days: progress_days,
    };

    let throughput = days_shown
        .iter()
        .map(|&day| {
            let by = d.labels.get(&day).cloned().unwrap_or_default();
            ThroughputDay {
                day,
                labels: by.values().sum(),
                by_annotator: by,
                median_seconds: d.seconds.get(&day).and_then(median_seconds),
                skips: d.skips.get(&day).copied().unwrap_or(0),
            }
        })
        .collect();

    let quality = days_shown
        .iter()
        .map(|&day| {
            let q = d.quality.get(&day).cloned().unwrap_or_default();
            let shown = |v: Option<f64>| v.filter(|_| admin);
            QualityDay {
                day,
                pair_agreement: shown(ratio(q.pref_agree, q.pref_compared)),
                pairs_compared: q.pref_compared as i64,
                kendall_w: shown(ratio(q.w_sum, q.w_items)),
                gold_checked: (q.gold_right + q.gold_wrong) as i64,
                gold_accuracy: ratio(q.gold_right, q.gold_right + q.gold_wrong),
                reviews_accepted: q.accepted as i64,
                reviews_fixed: q.fixed as i64,
                reviews_rejected: q.rejected as i64,
            }
        })
        .collect();

    // Position bias: picks at each position, against 1/n of each n-answer item's picks.
    let positions = {
        let longest = d.best_at.keys().map(|(n, _)| *n).max().unwrap_or(0);
        let total: i64 = d.best_at.values().sum();
        let mut by_n: BTreeMap<usize, i64> = BTreeMap::new();
        for ((n, _), c) in &d.best_at {
            *by_n.entry(*n).or_default() += c;
        }
        (1..=longest)
            .map(|p| {
                let picks: i64 = d
                    .best_at
                    .iter()
                    .filter(|((_, q), _)| *q == p)
                    .map(|(_, c)| c)
                    .sum();
                let expected: f64 = by_n
                    .range(p..)
                    .map(|(n, c)| *c as f64 / *n as f64)
                    .sum::<f64>()
                    / total.max(1) as f64;
                PositionShare {
                    position: p,
                    picks,
                    share: picks as f64 / total.max(1) as f64,
                    expected,
                }
            })
            .collect()
    };

    let assistance = days_shown
        .iter()
        .map(|&day| {
            let a = d.assist.get(&day).copied().unwrap_or_default();
            AssistDay {
                day,
                accepted: a[0],
                modified: a[1],
                replaced: a[2],
            }
        })
        .collect();

    let (feedback, feedback_volume) = if admin {
        let feedback = d
            .thumbs
            .iter()
            .map(|((day, model), [up, down])| FeedbackDay {
                day: *day,
                model: model.clone(),
                up: *up,
                down: *down,
                up_rate: ratio(*up as f64, (*up + *down) as f64),
            })
            .collect();
        let volume = days_shown
            .iter()
            .map(|&day| {
                let [events, corrections] = d.volume.get(&day).copied().unwrap_or_default();
                FeedbackVolume {
                    day,
                    events,
                    corrections,
                }
            })
            .collect();
        (feedback, volume)
    } else {
        (Vec::new(), Vec::new())
    };

    Ok(Dashboard {
        project: project.slug,
        from,
        to,
        facet,
        annotator: user.and_then(|u| email.get(&u).cloned()),
        own: !admin,
        fields,
        facets: facets.into_iter().filter(|f| !f.is_empty()).collect(),
        annotators,
        progress,
        throughput,
        quality,
        positions,
        assistance,
        feedback,
        feedback_volume,
    })
}

#[derive(Clone, Copy, Debug, Default)]
struct QualitySums {
    pref_agree: f64,
    pref_compared: f64,
    w_sum: f64,
    w_items: f64,
    gold_right: f64,
    gold_wrong: f64,
    accepted: f64,
    fixed: f64,
    rejected: f64,
}

/// The rows folded into per-day maps: in the range, except the progress counts (which also
/// keep what came before it, and all days for the projection).
#[derive(Default)]
struct Builder {
    before_items: i64,
    before_completed: i64,
    items: BTreeMap<NaiveDate, i64>,
    completed: BTreeMap<NaiveDate, i64>,
    all_items: BTreeMap<NaiveDate, i64>,
    all_completed: BTreeMap<NaiveDate, i64>,
    all_skips: i64,
    gold_items: i64,
    labels: BTreeMap<NaiveDate, BTreeMap<String, i64>>,
    seconds: BTreeMap<NaiveDate, BTreeMap<u32, i64>>,
    skips: BTreeMap<NaiveDate, i64>,
    quality: BTreeMap<NaiveDate, QualitySums>,
    best_at: BTreeMap<(usize, usize), i64>,
    assist: BTreeMap<NaiveDate, [i64; 3]>,
    thumbs: BTreeMap<(NaiveDate, String), [i64; 2]>,
    volume: BTreeMap<NaiveDate, [i64; 2]>,
}

impl Builder {
    fn add(
        &mut self,
        r: &days::DayRow,
        from: NaiveDate,
        to: NaiveDate,
        email: &HashMap<Uuid, String>,
    ) {
        let n = r.n.round() as i64;
        let day = r.day;
        match r.metric.as_str() {
            "items" => *self.all_items.entry(day).or_default() += n,
            "completed" => *self.all_completed.entry(day).or_default() += n,
            "skips" => self.all_skips += n,
            "gold_items" => self.gold_items += n,
            _ => {}
        }
        if day < from {
            match r.metric.as_str() {
                "items" => self.before_items += n,
                "completed" => self.before_completed += n,
                _ => {}
            }
            return;
        }
        if day > to {
            return;
        }
        match (r.metric.as_str(), r.key.as_str()) {
            ("items", _) => *self.items.entry(day).or_default() += n,
            ("completed", _) => *self.completed.entry(day).or_default() += n,
            ("labels", _) => {
                let who = email
                    .get(&r.user_id)
                    .cloned()
                    .unwrap_or_else(|| r.user_id.to_string());
                *self.labels.entry(day).or_default().entry(who).or_default() += n;
            }
            ("seconds", bucket) => {
                if let Ok(b) = bucket.parse::<u32>() {
                    *self.seconds.entry(day).or_default().entry(b).or_default() += n;
                }
            }
            ("skips", _) => *self.skips.entry(day).or_default() += n,
            ("best_at", key) => {
                if let Some((shown, at)) = key.split_once(':')
                    && let (Ok(shown), Ok(at)) = (shown.parse(), at.parse())
                {
                    *self.best_at.entry((shown, at)).or_default() += n;
                }
            }
            ("proposal", outcome) => {
                let slot = match outcome {
                    "accepted" => 0,
                    "modified" => 1,
                    _ => 2,
                };
                self.assist.entry(day).or_default()[slot] += n;
            }
            ("thumbs", key) => {
                if let Some((way, model)) = key.split_once(':') {
                    let model = if model.is_empty() {
                        "(no model)"
                    } else {
                        model
                    };
                    let entry = self.thumbs.entry((day, model.to_owned())).or_default();
                    entry[usize::from(way != "up")] += n;
                }
            }
            ("feedback_events", _) => self.volume.entry(day).or_default()[0] += n,
            ("corrections", _) => self.volume.entry(day).or_default()[1] += n,
            (metric, key) => {
                let q = self.quality.entry(day).or_default();
                let v = r.n;
                match (metric, key) {
                    ("agreement", "pref_agree") => q.pref_agree += v,
                    ("agreement", "pref_compared") => q.pref_compared += v,
                    ("agreement", "w_sum") => q.w_sum += v,
                    ("agreement", "w_items") => q.w_items += v,
                    ("gold", "right") => q.gold_right += v,
                    ("gold", "wrong") => q.gold_wrong += v,
                    ("review", "accepted") => q.accepted += v,
                    ("review", "fixed") => q.fixed += v,
                    ("review", "rejected") => q.rejected += v,
                    _ => {}
                }
            }
        }
    }
}

/// Sets the metadata fields the dashboard filters by (at most [`MAX_FIELDS`]), and computes
/// the project's figures anew for them. Admins only; audited.
pub async fn set_fields(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    text: &str,
) -> Result<Vec<String>> {
    actor.require(Role::Admin)?;
    let project = projects::visible(pool, actor, slug).await?;
    let mut fields: Vec<String> = Vec::new();
    for f in text.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        if f.len() > 100 || f.contains('=') {
            return Err(Error::invalid(
                "fields",
                format!("{f:?} is not a metadata field name (at most 100 characters, no '=')"),
            ));
        }
        if !fields.iter().any(|x| x == f) {
            fields.push(f.to_owned());
        }
    }
    if fields.len() > MAX_FIELDS {
        return Err(Error::invalid(
            "fields",
            format!("at most {MAX_FIELDS} fields (each adds figures per label)"),
        ));
    }
    let mut tx = pool.begin().await?;
    let before = days::fields(&mut *tx, project.project_id).await?;
    days::set_fields(&mut tx, project.project_id, &fields).await?;
    super::audit::record(
        &mut *tx,
        actor,
        "project.dashboard_fields",
        Some(project.project_id),
        Some(&project.slug),
        Some(serde_json::json!(before)),
        Some(serde_json::json!(fields)),
    )
    .await?;
    tx.commit().await?;
    Ok(fields)
}

/// The projects the actor sees (as [`projects::list`]) with the home page's figures filled
/// in: progress, labels today, their share, agreement (admins) and review work due
/// (reviewers, where review is on).
pub async fn glances(pool: &PgPool, actor: &Actor) -> Result<Vec<ProjectSummary>> {
    let mut list = projects::list(pool, actor).await?;
    let ids: Vec<Uuid> = list.iter().map(|p| p.project_id).collect();
    let today = Utc::now().date_naive();
    let rows: HashMap<Uuid, days::GlanceRow> = days::glances(pool, &ids, actor.user_id, today)
        .await?
        .into_iter()
        .map(|r| (r.project_id, r))
        .collect();
    let admin = actor.require(Role::Admin).is_ok();
    let reviewer = actor.require(Role::Reviewer).is_ok();
    for p in &mut list {
        if reviewer {
            let state = super::review::queue_state(pool, actor, &p.slug).await?;
            p.review_due = state.enabled.then_some(state.due_items);
        }
        let Some(r) = rows.get(&p.project_id) else {
            continue;
        };
        let whole = |v: f64| v.round() as i64;
        p.completed = whole(r.completed);
        p.labels_today = whole(r.labels_today);
        p.my_labels = whole(r.my_labels);
        p.all_labels = whole(r.all_labels);
        p.agreement_percent = ratio(r.pref_agree, r.pref_compared)
            .filter(|_| admin)
            .map(|a| whole(100.0 * a));
    }
    Ok(list)
}

/// A small burn-up for the home page: items done and in all at the end of each of the
/// last 30 days.
pub async fn sparkline(pool: &PgPool, actor: &Actor, slug: &str) -> Result<Vec<ProgressDay>> {
    let board = dashboard(pool, actor, slug, &Filters::default()).await?;
    Ok(board.progress.days)
}

/// Computes the project's figures anew from its labels (the triggers keep them; this closes
/// the one gap they leave, see the migration). Admins only.
pub async fn rebuild(pool: &PgPool, actor: &Actor, slug: &str) -> Result<()> {
    actor.require(Role::Admin)?;
    let project = projects::visible(pool, actor, slug).await?;
    let mut tx = pool.begin().await?;
    days::rebuild(&mut *tx, project.project_id).await?;
    tx.commit().await?;
    Ok(())
}

/// The dashboard's tables, for the CSV downloads and the page's numbers alike.
pub const TABLES: [&str; 6] = [
    "progress",
    "throughput",
    "quality",
    "positions",
    "assistance",
    "feedback",
];

/// One table of the dashboard: its head, then a row per day (or position, or model and
/// day); a missing figure is blank.
pub fn table(board: &Dashboard, table: &str) -> Result<Vec<Vec<String>>> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    let mut write = |row: Vec<String>| rows.push(row);
    match table {
        "progress" => {
            write(vec![
                "day".into(),
                "completed".into(),
                "completed_total".into(),
                "items_total".into(),
            ]);
            for p in &board.progress.days {
                write(vec![
                    p.day.to_string(),
                    p.completed.to_string(),
                    p.completed_total.to_string(),
                    p.items_total.to_string(),
                ]);
            }
        }
        "throughput" => {
            let names: Vec<&String> = {
                let mut n: Vec<&String> = board
                    .throughput
                    .iter()
                    .flat_map(|t| t.by_annotator.keys())
                    .collect();
                n.sort();
                n.dedup();
                n
            };
            let mut head: Vec<String> = vec![
                "day".into(),
                "labels".into(),
                "median_seconds".into(),
                "skips".into(),
            ];
            head.extend(names.iter().map(|n| format!("labels:{n}")));
            write(head);
            for t in &board.throughput {
                let mut row = vec![
                    t.day.to_string(),
                    t.labels.to_string(),
                    opt(t.median_seconds),
                    t.skips.to_string(),
                ];
                row.extend(
                    names
                        .iter()
                        .map(|n| t.by_annotator.get(*n).copied().unwrap_or(0).to_string()),
                );
                write(row);
            }
        }
        "quality" => {
            write(
                [
                    "day",
                    "pair_agreement",
                    "pairs_compared",
                    "kendall_w",
                    "gold_checked",
                    "gold_accuracy",
                    "reviews_accepted",
                    "reviews_fixed",
                    "reviews_rejected",
                ]
                .map(String::from)
                .to_vec(),
            );
            for q in &board.quality {
                write(vec![
                    q.day.to_string(),
                    opt(q.pair_agreement),
                    q.pairs_compared.to_string(),
                    opt(q.kendall_w),
                    q.gold_checked.to_string(),
                    opt(q.gold_accuracy),
                    q.reviews_accepted.to_string(),
                    q.reviews_fixed.to_string(),
                    q.reviews_rejected.to_string(),
                ]);
            }
        }
        "positions" => {
            write(
                ["position", "picks", "share", "expected"]
                    .map(String::from)
                    .to_vec(),
            );
            for p in &board.positions {
                write(vec![
                    p.position.to_string(),
                    p.picks.to_string(),
                    format!("{:.4}", p.share),
                    format!("{:.4}", p.expected),
                ]);
            }
        }
        "assistance" => {
            write(
                ["day", "accepted", "modified", "replaced"]
                    .map(String::from)
                    .to_vec(),
            );
            for a in &board.assistance {
                write(vec![
                    a.day.to_string(),
                    a.accepted.to_string(),
                    a.modified.to_string(),
                    a.replaced.to_string(),
                ]);
            }
        }
        "feedback" => {
            write(
                ["day", "model", "up", "down", "up_rate"]
                    .map(String::from)
                    .to_vec(),
            );
            for f in &board.feedback {
                write(vec![
                    f.day.to_string(),
                    f.model.clone(),
                    f.up.to_string(),
                    f.down.to_string(),
                    opt(f.up_rate),
                ]);
            }
        }
        other => {
            return Err(Error::invalid(
                "table",
                format!(
                    "{other:?} is not one of progress, throughput, quality, positions, assistance, feedback"
                ),
            ));
        }
    }
    Ok(rows)
}

/// One table of the dashboard as CSV (see [`TABLES`]).
pub fn csv(board: &Dashboard, name: &str) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in table(board, name)? {
        w.write_record(row).map_err(anyhow::Error::from)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(String::from_utf8(bytes).map_err(anyhow::Error::from)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The buckets as the migration's `time_bucket` computes them.
    fn bucket(ms: i32) -> u32 {
        if ms < 250 {
            0
        } else {
            ((4.0 * (f64::from(ms) / 250.0).log2()).floor() as u32 + 1).min(80)
        }
    }

    #[test]
    fn median_from_buckets_is_within_nine_percent() {
        // Times from 0.3 s to about an hour, spread unevenly.
        for seed in 0..50u64 {
            let mut times: Vec<i32> = (0..(1 + seed * 7 % 40))
                .map(|i| (300.0 * 1.37f64.powi(((i * 13 + seed * 5) % 30) as i32)) as i32)
                .collect();
            times.sort();
            let exact = f64::from(times[(times.len() - 1) / 2]) / 1000.0;
            let mut h = BTreeMap::new();
            for t in &times {
                *h.entry(bucket(*t)).or_insert(0i64) += 1;
            }
            let m = median_seconds(&h).expect("a median");
            assert!(
                (m / exact - 1.0).abs() <= 0.091,
                "{m} against {exact} for {times:?}"
            );
        }
        assert_eq!(median_seconds(&BTreeMap::new()), None);
    }

    #[test]
    fn bucket_middles_invert_the_buckets() {
        for b in 1..80u32 {
            let ms = bucket_middle_ms(b);
            assert_eq!(bucket(ms as i32), b, "bucket {b}");
        }
    }
}
