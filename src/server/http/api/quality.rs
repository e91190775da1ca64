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
