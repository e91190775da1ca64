//! `GET /projects/{slug}/leaderboard`: the project's models ranked from the annotators' rankings.

use super::{ApiActor, CommonErrors};
use crate::server::services::leaderboard::{self, Leaderboard, Options};
use crate::server::{AppState, Error};
use axum::Json;
use axum::extract::{Path, Query, State};

/// Bradley-Terry ratings of the models that wrote the project's answers (Elo-like: 400
/// points are a factor of 10 in the odds; the anchor model is 1000), with 95% bootstrap
/// intervals over items, ranks that respect them, each model's record, and the win-rate
/// matrix. Ties count half a win each way. `regularized` marks data with no finite fit.
#[utoipa::path(
    get,
    path = "/projects/{slug}/leaderboard",
    tag = "quality",
    params(("slug" = String, Path, description = "The project's slug"), Options),
    responses((status = 200, description = "The leaderboard", body = Leaderboard), CommonErrors),
    security(("bearer" = ["export:read"]))
)]
pub async fn show(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(slug): Path<String>,
    Query(options): Query<Options>,
) -> Result<Json<Leaderboard>, Error> {
    Ok(Json(
        leaderboard::leaderboard(&state.pool, &actor, &slug, &options).await?,
    ))
}
