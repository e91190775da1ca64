//! Gold items: the project's gold settings, each checked gold label, and the annotators
//! flagged or paused by their accuracy.

use crate::model::gold::Gold;
use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

/// A project's gold settings (see the migration `gold`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GoldSettings {
    pub rate: f64,
    pub onboarding: i32,
    pub threshold: f64,
    pub minimum: i32,
    pub recent: i32,
    pub pause: bool,
    pub feedback: bool,
}

impl Default for GoldSettings {
    fn default() -> Self {
        Self {
            rate: 0.0,
            onboarding: 0,
            threshold: 0.0,
            minimum: 5,
            recent: 20,
            pause: false,
            feedback: false,
        }
    }
}

pub async fn settings(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
) -> sqlx::Result<Option<GoldSettings>> {
    sqlx::query_as!(
        GoldSettings,
        "SELECT rate, onboarding, threshold, minimum, recent, pause, feedback
         FROM project_gold WHERE project_id = $1",
        project_id
    )
    .fetch_optional(db)
    .await
}

pub async fn save_settings(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    s: &GoldSettings,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO project_gold (project_id, rate, onboarding, threshold, minimum, recent, pause, feedback)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (project_id) DO UPDATE SET rate = $2, onboarding = $3, threshold = $4,
             minimum = $5, recent = $6, pause = $7, feedback = $8",
        project_id,
        s.rate,
        s.onboarding,
        s.threshold,
        s.minimum,
        s.recent,
        s.pause,
        s.feedback
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Sets (or, with `None`, clears) an item's expected label.
pub async fn set_item(
    db: impl PgExecutor<'_>,
    item_id: Uuid,
    gold: Option<&Gold>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE items SET gold = $2, is_gold = $2::jsonb IS NOT NULL WHERE item_id = $1",
        item_id,
        gold.map(Json) as _
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A gold item the annotator has neither labeled nor skipped, locked like a queue
/// candidate; with its answers in their original order.
pub async fn lock_candidate(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<Option<super::items::Candidate>> {
    sqlx::query_as!(
        super::items::Candidate,
        r#"SELECT i.item_id,
                  (SELECT coalesce(array_agg(r.response_id ORDER BY r.ordinal), '{}')
                   FROM responses r WHERE r.item_id = i.item_id) AS "answers!"
           FROM items i
           WHERE i.project_id = $1 AND i.is_gold
             AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = i.item_id AND a.user_id = $2)
             AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.item_id = i.item_id AND s.user_id = $2)
           ORDER BY i.item_seq
           LIMIT 1
           FOR NO KEY UPDATE OF i SKIP LOCKED"#,
        project_id,
        user_id
    )
    .fetch_optional(db)
    .await
}

/// How many items the annotator has labeled in the project (gold ones included).
pub async fn labeled(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(annotations), 0)::bigint AS "n!" FROM annotator_days
           WHERE user_id = $1 AND project_id = $2"#,
        user_id,
        project_id
    )
    .fetch_one(db)
    .await
}

pub async fn record(
    db: impl PgExecutor<'_>,
    annotation_id: Uuid,
    project_id: Uuid,
    user_id: Uuid,
    item_id: Uuid,
    correct: bool,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO gold_results (annotation_id, project_id, user_id, item_id, correct)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (annotation_id) DO NOTHING",
        annotation_id,
        project_id,
        user_id,
        item_id,
        correct
    )
    .execute(db)
    .await?;
    Ok(())
}

/// An annotator's gold record on a project.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Accuracy {
    pub user_id: Uuid,
    pub checked: i64,
    pub correct: i64,
    /// Over their last `recent` gold items.
    pub recent_checked: i64,
    pub recent_correct: i64,
    /// Since an admin last resumed them (what the threshold looks at).
    pub since_checked: i64,
    pub since_correct: i64,
    pub flagged: bool,
    pub paused: bool,
    pub reason: Option<String>,
}

/// Every annotator's gold record on the project (one: `only`).
pub async fn accuracy(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    recent: i32,
    only: Option<Uuid>,
) -> sqlx::Result<Vec<Accuracy>> {
    sqlx::query_as!(
        Accuracy,
        r#"WITH ranked AS (
               SELECT g.user_id, g.correct, g.checked_at,
                      row_number() OVER (PARTITION BY g.user_id ORDER BY g.checked_at DESC, g.annotation_id) AS n
               FROM gold_results g
               WHERE g.project_id = $1 AND ($3::uuid IS NULL OR g.user_id = $3))
           SELECT r.user_id AS "user_id!",
                  count(*) AS "checked!", count(*) FILTER (WHERE r.correct) AS "correct!",
                  count(*) FILTER (WHERE r.n <= $2) AS "recent_checked!",
                  count(*) FILTER (WHERE r.n <= $2 AND r.correct) AS "recent_correct!",
                  count(*) FILTER (WHERE s.resumed_at IS NULL OR r.checked_at > s.resumed_at) AS "since_checked!",
                  count(*) FILTER (WHERE (s.resumed_at IS NULL OR r.checked_at > s.resumed_at) AND r.correct) AS "since_correct!",
                  coalesce(bool_or(s.flagged), false) AS "flagged!",
                  coalesce(bool_or(s.paused), false) AS "paused!",
                  max(s.reason) AS reason
           FROM ranked r
           LEFT JOIN annotator_status s ON s.project_id = $1 AND s.user_id = r.user_id
           GROUP BY r.user_id ORDER BY r.user_id"#,
        project_id,
        i64::from(recent),
        only
    )
    .fetch_all(db)
    .await
}

/// Flags the annotator (and pauses them, when `paused`), saying why.
pub async fn flag(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    user_id: Uuid,
    paused: bool,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO annotator_status (project_id, user_id, flagged, paused, reason)
         VALUES ($1, $2, true, $3, $4)
         ON CONFLICT (project_id, user_id) DO UPDATE
             SET flagged = true, paused = $3, reason = $4, flagged_at = now()",
        project_id,
        user_id,
        paused,
        reason
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What decides whether an annotator may take a new lease on a project.
pub struct LeaseState {
    /// Why they are paused on the project, if they are.
    pub paused: Option<String>,
    /// The project's gold settings, if it has any.
    pub gold: Option<GoldSettings>,
    /// Their limits as a member (the most items in all, and per day), and what they
    /// labeled there in all and today (counted only where there is a limit).
    pub max_items: Option<i32>,
    pub daily_max: Option<i32>,
    pub labeled: i64,
    pub today: i64,
}

/// Before a lease, in one statement: the annotator's [`LeaseState`] on the project.
pub async fn lease_state(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<LeaseState> {
    let row = sqlx::query!(
        r#"SELECT (SELECT reason FROM annotator_status
                   WHERE project_id = $1 AND user_id = $2 AND paused) AS paused,
                  g.rate AS "rate?", g.onboarding AS "onboarding?", g.threshold AS "threshold?",
                  g.minimum AS "minimum?", g.recent AS "recent?", g.pause AS "pause?",
                  g.feedback AS "feedback?",
                  m.max_items AS "max_items?", m.daily_max AS "daily_max?",
                  CASE WHEN m.max_items IS NOT NULL THEN
                      (SELECT coalesce(sum(d.annotations), 0) FROM annotator_days d
                       WHERE d.user_id = $2 AND d.project_id = $1) END::bigint AS labeled,
                  CASE WHEN m.daily_max IS NOT NULL THEN
                      (SELECT d.annotations FROM annotator_days d
                       WHERE d.user_id = $2 AND d.project_id = $1 AND d.day = current_date) END::bigint AS today
           FROM (SELECT 1) AS one
           LEFT JOIN project_gold g ON g.project_id = $1
           LEFT JOIN project_members m ON m.project_id = $1 AND m.user_id = $2"#,
        project_id,
        user_id
    )
    .fetch_one(db)
    .await?;
    let settings = match (
        row.rate,
        row.onboarding,
        row.threshold,
        row.minimum,
        row.recent,
    ) {
        (Some(rate), Some(onboarding), Some(threshold), Some(minimum), Some(recent)) => {
            Some(GoldSettings {
                rate,
                onboarding,
                threshold,
                minimum,
                recent,
                pause: row.pause.unwrap_or_default(),
                feedback: row.feedback.unwrap_or_default(),
            })
        }
        _ => None,
    };
    Ok(LeaseState {
        paused: row.paused,
        gold: settings,
        max_items: row.max_items,
        daily_max: row.daily_max,
        labeled: row.labeled.unwrap_or(0),
        today: row.today.unwrap_or(0),
    })
}

/// Unflags and resumes the annotator; only gold labels from now on count toward a new flag.
/// False when they were not flagged.
pub async fn resume(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE annotator_status SET flagged = false, paused = false, resumed_at = now()
         WHERE project_id = $1 AND user_id = $2 AND flagged",
        project_id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The expected label of the item, if it is a gold item.
pub async fn of_item(db: impl PgExecutor<'_>, item_id: Uuid) -> sqlx::Result<Option<Gold>> {
    let gold = sqlx::query_scalar!(
        r#"SELECT gold AS "gold: Json<Gold>" FROM items WHERE item_id = $1"#,
        item_id
    )
    .fetch_optional(db)
    .await?;
    Ok(gold.flatten().map(|g| g.0))
}

/// Per annotator (one: `only`) and week (Monday, UTC) since `since`: gold labels checked
/// and right.
pub async fn weeks(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    only: Option<Uuid>,
    since: chrono::NaiveDate,
) -> sqlx::Result<Vec<(Uuid, chrono::NaiveDate, i64, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT user_id, date_trunc('week', checked_at AT TIME ZONE 'UTC')::date AS "week!: chrono::NaiveDate",
                  count(*) AS "checked!", count(*) FILTER (WHERE correct) AS "correct!"
           FROM gold_results
           WHERE project_id = $1 AND ($2::uuid IS NULL OR user_id = $2) AND checked_at >= $3::date
           GROUP BY 1, 2 ORDER BY 1, 2"#,
        project_id,
        only,
        since as _
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.user_id, r.week, r.checked, r.correct))
        .collect())
}
