//! A project's agreement figures.

use super::{ApiActor, CommonErrors};
use crate::server::services::quality::{self, QualityReport};
use crate::server::{AppState, Error};
use axum::Json;
use axum::extract::{Path, State};

/// Agreement between the project's annotators: Krippendorff's alpha for thumbs (nominal),
/// rankings (ordinal) and flags, raw and pairwise agreement, mean Kendall's W, Cohen's kappa
/// per annotator pair, and the most contentious items. Undefined figures are `null`.
#[utoipa::path(
    get,
    path = "/projects/{slug}/quality",
    tag = "quality",
    params(("slug" = String, Path, description = "The project's slug")),
    responses((status = 200, description = "The agreement report", body = QualityReport), CommonErrors),
    security(("bearer" = ["export:read"]))
)]
pub async fn report(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
) -> Result<Json<QualityReport>, Error> {
    Ok(Json(quality::report(&state.pool, &actor, &slug).await?))
}

/// Every annotator's scorecard: labels, skips, median time, agreement with the other
/// annotators, gold accuracy, position bias (how often their sole first place is the
/// answer shown first, by number of answers, with an exact binomial test against chance),
/// and how often they took a model proposal as it was.
#[utoipa::path(
    get,
    path = "/projects/{slug}/quality/annotators",
    tag = "quality",
    params(("slug" = String, Path, description = "The project's slug")),
    responses((status = 200, description = "The scorecards", body = Vec<quality::Scorecard>), CommonErrors),
    security(("bearer" = ["export:read"]))
)]
pub async fn scorecards(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
) -> Result<Json<Vec<quality::Scorecard>>, Error> {
    Ok(Json(quality::scorecards(&state.pool, &actor, &slug).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JudgeBy {
    /// The item metadata field to break the figures down by, e.g. `category` (required).
    pub by: Option<String>,
}

/// The model's proposals against the annotators (as the report's `judges`, without the
/// position figures), broken down by the value of an item metadata field: for which kinds
/// of items its proposals can be trusted.
#[utoipa::path(
    get,
    path = "/projects/{slug}/quality/judge",
    tag = "quality",
    params(("slug" = String, Path, description = "The project's slug"), JudgeBy),
    responses((status = 200, description = "Per value of the field", body = Vec<quality::judge::JudgeSlice>), CommonErrors),
    security(("bearer" = ["export:read"]))
)]
pub async fn judge_by(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
    axum::extract::Query(query): axum::extract::Query<JudgeBy>,
) -> Result<Json<Vec<quality::judge::JudgeSlice>>, Error> {
    Ok(Json(
        quality::judge::by_field(
            &state.pool,
            &actor,
            &slug,
            query.by.as_deref().unwrap_or(""),
        )
        .await?,
    ))
}
