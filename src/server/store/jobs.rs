use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

pub async fn insert(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    kind: &str,
    options: &serde_json::Value,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO jobs (project_id, kind, options) VALUES ($1, $2, $3) RETURNING job_id",
        project_id,
        kind,
        options
    )
    .fetch_one(db)
    .await
}

/// Adds to a pre-labeling job the project's items that have no done proposal and are not
/// waiting in another open job, and counts them into its total. Returns how many joined.
pub async fn enqueue_unproposed(db: impl PgExecutor<'_>, job_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"WITH job AS (SELECT project_id FROM jobs WHERE job_id = $1),
           added AS (
               INSERT INTO job_items (job_id, item_id, item_seq)
               SELECT $1, i.item_id, i.item_seq FROM items i, job
               WHERE i.project_id = job.project_id AND i.origin = 'import'
                 AND NOT EXISTS (SELECT 1 FROM proposals p WHERE p.item_id = i.item_id AND p.status = 'done')
                 AND NOT EXISTS (SELECT 1 FROM job_items q JOIN jobs j ON j.job_id = q.job_id
                                 WHERE q.item_id = i.item_id AND j.kind = 'prelabel'
                                   AND j.status IN ('running', 'paused') AND q.status IN ('pending', 'running'))
               ON CONFLICT DO NOTHING
               RETURNING 1)
           UPDATE jobs SET total = total + (SELECT count(*) FROM added),
                           status = CASE WHEN (SELECT count(*) FROM added) > 0 AND status = 'done' THEN 'running' ELSE status END,
                           finished_at = CASE WHEN (SELECT count(*) FROM added) > 0 THEN NULL ELSE finished_at END
           WHERE job_id = $1
           RETURNING (SELECT count(*) FROM added) AS "added!""#,
        job_id
    )
    .fetch_one(db)
    .await
}

/// Adds to a generating job the project's items with fewer than `answers` answers and no
/// annotations yet.
pub async fn enqueue_short(
    db: impl PgExecutor<'_>,
    job_id: Uuid,
    answers: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"WITH job AS (SELECT project_id FROM jobs WHERE job_id = $1),
           added AS (
               INSERT INTO job_items (job_id, item_id, item_seq)
               SELECT $1, i.item_id, i.item_seq FROM items i, job
               WHERE i.project_id = job.project_id AND i.origin = 'import' AND i.annotation_count = 0
                 AND (SELECT count(*) FROM responses r WHERE r.item_id = i.item_id) < $2
               ON CONFLICT DO NOTHING
               RETURNING 1)
           UPDATE jobs SET total = total + (SELECT count(*) FROM added)
           WHERE job_id = $1
           RETURNING (SELECT count(*) FROM added) AS "added!""#,
        job_id,
        answers
    )
    .fetch_one(db)
    .await
}

/// The project's auto-prelabel job, created if it has none open.
pub async fn auto_job(db: impl PgExecutor<'_>, project_id: Uuid) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        r#"WITH created AS (
               INSERT INTO jobs (project_id, kind, auto) VALUES ($1, 'prelabel', true)
               ON CONFLICT (project_id) WHERE auto AND status <> 'cancelled' DO NOTHING
               RETURNING job_id)
           SELECT job_id AS "job_id!" FROM created
           UNION ALL
           SELECT job_id FROM jobs WHERE project_id = $1 AND auto AND status <> 'cancelled'
           LIMIT 1"#,
        project_id
    )
    .fetch_one(db)
    .await
}

/// Projects that pre-label new items as they arrive.
pub async fn auto_projects(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!("SELECT project_id FROM projects WHERE auto_prelabel")
        .fetch_all(db)
        .await
}

/// The oldest running job (optionally only `only`) that has items to work on.
pub struct NextJob {
    pub job_id: Uuid,
    pub project_id: Uuid,
    pub kind: String,
    pub options: serde_json::Value,
}

pub async fn next_open(
    db: impl PgExecutor<'_>,
    only: Option<Uuid>,
) -> sqlx::Result<Option<NextJob>> {
    sqlx::query_as!(
        NextJob,
        r#"SELECT j.job_id, j.project_id, j.kind, j.options FROM jobs j
           WHERE j.status = 'running' AND ($1::uuid IS NULL OR j.job_id = $1)
             AND EXISTS (SELECT 1 FROM job_items q WHERE q.job_id = j.job_id
                         AND (q.status = 'pending' OR (q.status = 'running' AND q.leased_until < now())))
           ORDER BY j.created_at LIMIT 1"#,
        only as _
    )
    .fetch_optional(db)
    .await
}

/// Claims up to `limit` items of the job for `lease_secs`: pending ones, or running ones whose
/// worker's lease ran out (it died). Rows other workers are claiming are skipped.
pub async fn claim(
    db: impl PgExecutor<'_>,
    job_id: Uuid,
    limit: i64,
    lease_secs: f64,
) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"UPDATE job_items q SET status = 'running', attempts = attempts + 1,
                  leased_until = now() + make_interval(secs => $3)
           WHERE (q.job_id, q.item_id) IN (
               SELECT job_id, item_id FROM job_items
               WHERE job_id = $1 AND (status = 'pending' OR (status = 'running' AND leased_until < now()))
               ORDER BY item_seq LIMIT $2
               FOR UPDATE SKIP LOCKED)
           RETURNING q.item_id"#,
        job_id,
        limit,
        lease_secs
    )
    .fetch_all(db)
    .await
}

/// Records the item's end in the job and counts it; the job is done when nothing is left.
/// Does nothing if the item is no longer this worker's (cancelled, or finished already).
pub async fn finish_item(
    db: impl PgExecutor<'_>,
    job_id: Uuid,
    item_id: Uuid,
    error: Option<&str>,
) -> sqlx::Result<bool> {
    let row = sqlx::query_scalar!(
        r#"WITH finished AS (
               UPDATE job_items SET status = CASE WHEN $3::text IS NULL THEN 'done' ELSE 'failed' END,
                                    error = $3, finished_at = now(), leased_until = NULL
               WHERE job_id = $1 AND item_id = $2 AND status = 'running'
               RETURNING status)
           UPDATE jobs SET
               done = done + (SELECT count(*) FROM finished WHERE status = 'done'),
               failed = failed + (SELECT count(*) FROM finished WHERE status = 'failed'),
               status = CASE WHEN status = 'running' AND done + failed + (SELECT count(*) FROM finished) >= total
                             THEN 'done' ELSE status END,
               finished_at = CASE WHEN status = 'running' AND done + failed + (SELECT count(*) FROM finished) >= total
                                  THEN now() ELSE finished_at END
           WHERE job_id = $1
           RETURNING (SELECT count(*) FROM finished) AS "finished!""#,
        job_id,
        item_id,
        error
    )
    .fetch_one(db)
    .await?;
    Ok(row == 1)
}

/// Pauses, resumes or cancels a job of the project; false when there is no such job or the
/// change does not apply to its status.
pub async fn set_status(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    job_id: Uuid,
    from: &[&str],
    to: &str,
) -> sqlx::Result<bool> {
    let from: Vec<String> = from.iter().map(|s| (*s).to_owned()).collect();
    let done = sqlx::query!(
        "UPDATE jobs SET status = $4, finished_at = CASE WHEN $4 = 'cancelled' THEN now() ELSE finished_at END
         WHERE project_id = $1 AND job_id = $2 AND status = ANY($3)",
        project_id,
        job_id,
        &from,
        to
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct JobRow {
    pub job_id: Uuid,
    pub kind: String,
    pub status: String,
    pub auto: bool,
    pub total: i32,
    pub done: i32,
    pub failed: i32,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub recent: i64,
}

/// The project's jobs, newest first (or only `only`), with items finished in the last five minutes.
pub async fn list(
    db: impl PgExecutor<'_>,
    project_id: Uuid,
    only: Option<Uuid>,
) -> sqlx::Result<Vec<JobRow>> {
    sqlx::query_as!(
        JobRow,
        r#"SELECT j.job_id, j.kind, j.status, j.auto, j.total, j.done, j.failed,
                  j.created_at AS "created_at: DateTime<Utc>",
                  j.finished_at AS "finished_at: DateTime<Utc>",
                  (SELECT count(*) FROM job_items q WHERE q.job_id = j.job_id
                     AND q.finished_at > now() - interval '5 minutes') AS "recent!"
           FROM jobs j WHERE j.project_id = $1 AND ($2::uuid IS NULL OR j.job_id = $2)
           ORDER BY j.created_at DESC LIMIT 20"#,
        project_id,
        only as _
    )
    .fetch_all(db)
    .await
}

/// The job's latest failures: (the item's external id, or its id; the reason).
pub async fn failures(
    db: impl PgExecutor<'_>,
    job_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query!(
        r#"SELECT coalesce(i.external_id, i.item_id::text) AS "item!", q.error AS "error!"
           FROM job_items q JOIN items i ON i.item_id = q.item_id
           WHERE q.job_id = $1 AND q.status = 'failed'
           ORDER BY q.finished_at DESC LIMIT $2"#,
        job_id,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.item, r.error)).collect())
}

/// Marks a job without items done.
pub async fn finish_if_empty(db: impl PgExecutor<'_>, job_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE jobs SET status = 'done', finished_at = now() WHERE job_id = $1 AND total = 0",
        job_id
    )
    .execute(db)
    .await?;
    Ok(())
}
