//! Gold items: settings, expected labels, mixing them into queues, checking labels against
//! them, and flagging (maybe pausing) annotators whose accuracy falls below the project's
//! threshold. Annotators never learn which items are gold: the queue serves them like any
//! other and nothing in the task says so.

use super::form::{number, ticked};
use super::projects::authorize;
use super::{Actor, Result};
use crate::model::annotation::AnnotationInput;
use crate::model::api::Scope;
use crate::model::gold::Gold;
use crate::model::user::Role;
use crate::server::Error;
use crate::server::store::gold::{self, Accuracy, GoldSettings};
use crate::server::store::items::{self, Candidate};
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;
use uuid::Uuid;

pub use crate::server::store::gold::GoldSettings as Settings;

/// The settings form's fields (as a page posts them) turned into settings; an unticked box is
/// absent. Refusals name the field.
pub fn parse_settings(fields: &BTreeMap<String, String>) -> Result<GoldSettings> {
    let d = GoldSettings::default();
    Ok(GoldSettings {
        rate: number(fields, "rate", d.rate, (0.0, 1.0))?,
        onboarding: number(fields, "onboarding", d.onboarding, (0, 1000))?,
        threshold: number(fields, "threshold", d.threshold, (0.0, 1.0))?,
        minimum: number(fields, "minimum", d.minimum, (1, 1000))?,
        recent: number(fields, "recent", d.recent, (1, 1000))?,
        pause: ticked(fields, "pause"),
        feedback: ticked(fields, "feedback"),
    })
}

/// The project's gold settings (defaults when never set).
pub async fn settings(pool: &PgPool, actor: &Actor, slug: &str) -> Result<GoldSettings> {
    actor.require(Role::Admin)?;
    let project = authorize(pool, actor, slug, &[]).await?;
    Ok(gold::settings(pool, project.project_id)
        .await?
        .unwrap_or_default())
}

pub async fn save_settings(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    settings: &GoldSettings,
) -> Result<()> {
    actor.require(Role::Admin)?;
    let project = authorize(pool, actor, slug, &[]).await?;
    let mut tx = pool.begin().await?;
    let before = gold::settings(&mut *tx, project.project_id).await?;
    gold::save_settings(&mut *tx, project.project_id, settings).await?;
    super::audit::record(
        &mut *tx,
        actor,
        "gold.settings",
        Some(project.project_id),
        None,
        super::audit::json(before),
        super::audit::json(settings),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(project = slug, ?settings, "gold settings saved");
    Ok(())
}

/// Makes the item (by external id) a gold item with this expected label, or, with `None`,
/// an ordinary one again (admins, and tokens that push items). The label must name the
/// item's own answers.
pub async fn set_item(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    external_id: &str,
    expected: Option<&Gold>,
) -> Result<()> {
    let project = authorize(pool, actor, slug, &[Scope::ItemsWrite]).await?;
    let mut tx = pool.begin().await?;
    let item_id = items::find_by_external_id(&mut *tx, project.project_id, external_id)
        .await?
        .ok_or(Error::NotFound("item"))?
        .item_id;
    let locked = items::lock(&mut *tx, item_id)
        .await?
        .ok_or(Error::NotFound("item"))?;
    if let Some(g) = expected {
        g.validate("gold", locked.answers.len())?;
    }
    gold::set_item(&mut *tx, item_id, expected).await?;
    super::audit::record(
        &mut *tx,
        actor,
        if expected.is_some() {
            "gold.set"
        } else {
            "gold.clear"
        },
        Some(project.project_id),
        Some(external_id),
        None,
        expected.and_then(super::audit::json),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Resumes (and unflags) a flagged annotator; false when they were not flagged.
pub async fn resume(pool: &PgPool, actor: &Actor, slug: &str, user_id: Uuid) -> Result<bool> {
    actor.require(Role::Admin)?;
    let project = authorize(pool, actor, slug, &[]).await?;
    let mut tx = pool.begin().await?;
    let resumed = gold::resume(&mut *tx, project.project_id, user_id).await?;
    if resumed {
        super::audit::record(
            &mut *tx,
            actor,
            "gold.resume",
            Some(project.project_id),
            Some(&user_id.to_string()),
            None,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    if resumed {
        tracing::info!(project = slug, user.id = %user_id, "annotator resumed");
    }
    Ok(resumed)
}

/// Every annotator's gold record on the project (for the quality report).
pub async fn accuracy(pool: &PgPool, project_id: Uuid) -> Result<(GoldSettings, Vec<Accuracy>)> {
    let settings = gold::settings(pool, project_id).await?.unwrap_or_default();
    let records = gold::accuracy(pool, project_id, settings.recent, None).await?;
    Ok((settings, records))
}

/// Gold labels checked and right per annotator (one: `only`) and week since `since`.
pub async fn weeks(
    pool: &PgPool,
    project_id: Uuid,
    only: Option<Uuid>,
    since: chrono::NaiveDate,
) -> Result<BTreeMap<(Uuid, chrono::NaiveDate), (i64, i64)>> {
    Ok(gold::weeks(pool, project_id, only, since)
        .await?
        .into_iter()
        .map(|(user, week, checked, correct)| ((user, week), (checked, correct)))
        .collect())
}

/// Refuses an annotator paused on the project, saying why; otherwise the project's gold
/// settings (for [`due_candidate`]) and, when a member's limit is reached, why they may
/// take no new item.
pub async fn ensure_active(
    db: &mut PgConnection,
    project_id: Uuid,
    user_id: Uuid,
) -> Result<(Option<GoldSettings>, Option<String>)> {
    let state = gold::lease_state(&mut *db, project_id, user_id).await?;
    if let Some(reason) = state.paused {
        return Err(Error::Paused(reason));
    }
    let limit = match (state.max_items, state.daily_max) {
        (Some(max), _) if state.labeled >= i64::from(max) => Some(format!(
            "You have labeled {} items on this project, the most an annotator may here. Thank you!",
            state.labeled
        )),
        (_, Some(max)) if state.today >= i64::from(max) => Some(format!(
            "You have labeled {} items on this project today, the most per day here. Come back tomorrow (UTC).",
            state.today
        )),
        _ => None,
    };
    Ok((state.gold, limit))
}

/// A gold item for the annotator's next lease, when one is due: during onboarding always,
/// then at the project's rate. `None` when none is due or none is left for them.
pub async fn due_candidate(
    db: &mut PgConnection,
    project_id: Uuid,
    user_id: Uuid,
    settings: Option<&GoldSettings>,
) -> Result<Option<Candidate>> {
    let Some(settings) = settings else {
        return Ok(None);
    };
    if settings.onboarding == 0 && settings.rate <= 0.0 {
        return Ok(None);
    }
    let onboarding =
        gold::labeled(&mut *db, project_id, user_id).await? < i64::from(settings.onboarding);
    if !onboarding && rand::random::<f64>() >= settings.rate {
        return Ok(None);
    }
    Ok(gold::lock_candidate(&mut *db, project_id, user_id).await?)
}

/// Checks a new label of a gold item, records the outcome, and flags (or pauses) its author
/// when their accuracy since they were last resumed is below the threshold. Returns the
/// explanation to show after a miss, when the project shows one.
pub async fn check(
    db: &mut PgConnection,
    project_id: Uuid,
    user_id: Uuid,
    input: &AnnotationInput,
    answers: &[Uuid],
    expected: &Gold,
) -> Result<Option<String>> {
    let position = |id: &Uuid| answers.iter().position(|a| a == id);
    let ranking: Option<Vec<Vec<usize>>> = input.body.ranking.as_ref().map(|tiers| {
        tiers
            .iter()
            .map(|t| t.iter().filter_map(position).collect())
            .collect()
    });
    let thumbs: BTreeMap<usize, bool> = input
        .body
        .thumbs
        .iter()
        .filter_map(|(id, &up)| position(id).map(|p| (p, up)))
        .collect();
    let correct = expected.matches(ranking.as_deref(), &thumbs, &input.body.flags);
    gold::record(
        &mut *db,
        input.annotation_id,
        project_id,
        user_id,
        input.item_id,
        correct,
    )
    .await?;
    let settings = gold::settings(&mut *db, project_id)
        .await?
        .unwrap_or_default();
    if settings.threshold > 0.0 {
        let record = gold::accuracy(&mut *db, project_id, settings.recent, Some(user_id))
            .await?
            .pop()
            .unwrap_or_default();
        let rate = record.since_correct as f64 / record.since_checked.max(1) as f64;
        if !record.flagged
            && record.since_checked >= i64::from(settings.minimum)
            && rate < settings.threshold
        {
            let reason = format!(
                "{} of your last {} check items were right ({:.0}%), below this project's {:.0}%.{}",
                record.since_correct,
                record.since_checked,
                rate * 100.0,
                settings.threshold * 100.0,
                if settings.pause {
                    " You are paused on this project until an admin resumes you."
                } else {
                    ""
                }
            );
            gold::flag(&mut *db, project_id, user_id, settings.pause, &reason).await?;
            tracing::info!(user.id = %user_id, rate, paused = settings.pause, "annotator flagged by gold accuracy");
        }
    }
    Ok((!correct && settings.feedback)
        .then(|| expected.explanation.clone())
        .flatten())
}

/// A gold label's editor: the item's prompt, its answers (in their order) and its expected
/// label, if it is a gold item (admins).
pub struct ItemGold {
    pub item_id: Uuid,
    pub external_id: String,
    pub messages: Vec<crate::model::project::Message>,
    pub answers: Vec<crate::model::project::ResponseView>,
    pub gold: Option<Gold>,
}

pub async fn item(pool: &PgPool, actor: &Actor, slug: &str, external_id: &str) -> Result<ItemGold> {
    actor.require(Role::Admin)?;
    let project = authorize(pool, actor, slug, &[]).await?;
    let found = items::find_by_external_id(pool, project.project_id, external_id)
        .await?
        .ok_or(Error::NotFound("item"))?;
    Ok(ItemGold {
        item_id: found.item_id,
        external_id: external_id.to_owned(),
        messages: found.messages.0,
        answers: crate::server::store::responses::for_item(pool, found.item_id).await?,
        gold: gold::of_item(pool, found.item_id).await?,
    })
}

/// The gold editor's form as a gold label: `ranking` as tiers of positions best first, `>`
/// between tiers and `=` within one (`2 > 0 = 1`), `best`, `thumb_<position>` (`up` or
/// `down`), `check_flags` with `flag_<name>` boxes, `explanation`. Refusals name the field.
pub fn parse_form(fields: &BTreeMap<String, String>) -> Result<Gold> {
    let text = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let position = |field: &str, v: &str| -> Result<usize> {
        v.trim()
            .parse()
            .map_err(|_| Error::invalid(field, format!("not an answer position: {v:?}")))
    };
    let ranking = match text("ranking") {
        None => None,
        Some(r) => Some(
            r.split('>')
                .map(|tier| tier.split('=').map(|p| position("ranking", p)).collect())
                .collect::<Result<Vec<Vec<usize>>>>()?,
        ),
    };
    let best = text("best").map(|b| position("best", b)).transpose()?;
    let mut thumbs = BTreeMap::new();
    for (name, value) in fields {
        if let Some(p) = name.strip_prefix("thumb_") {
            let p = position(name, p)?;
            match value.as_str() {
                "up" => {
                    thumbs.insert(p, true);
                }
                "down" => {
                    thumbs.insert(p, false);
                }
                "" => {}
                other => {
                    return Err(Error::invalid(
                        name.as_str(),
                        format!("up or down, not {other:?}"),
                    ));
                }
            }
        }
    }
    let flags = text("check_flags").map(|_| {
        crate::model::annotation::Flag::ALL
            .into_iter()
            .filter(|f| fields.contains_key(&format!("flag_{}", f.key())))
            .collect()
    });
    Ok(Gold {
        ranking,
        best,
        thumbs,
        flags,
        explanation: text("explanation").map(str::to_owned),
    })
}
