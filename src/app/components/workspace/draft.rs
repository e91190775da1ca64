//! Drafts: the annotation in progress is mirrored to the browser's localStorage, so a
//! reload or a dropped connection loses nothing; it is restored after hydration (so the
//! server-rendered page and the first browser render agree).

use super::state::Form;
use crate::model::annotation::AnnotationBody;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, Deserialize)]
struct Draft {
    annotation_id: Uuid,
    #[serde(flatten)]
    body: AnnotationBody,
    /// Where drafts saved before the body was one type kept the ideal answer.
    #[serde(default, skip_serializing)]
    ideal: Option<String>,
    elapsed_ms: f64,
}

fn key(item_id: Uuid) -> String {
    format!("verdict.draft.{item_id}")
}

/// Restores a saved draft for this item (unless editing a stored annotation), then
/// saves every change.
pub fn restore_and_persist(form: Form, item_id: Uuid) {
    Effect::new(move |_| {
        form.opened_at_ms.set(now_ms());
        if form.base_version.get_untracked().is_none()
            && let Some(draft) = load(item_id)
        {
            let mut body = draft.body;
            body.ideal_answer = body.ideal_answer.or(draft.ideal);
            form.annotation_id.set(draft.annotation_id);
            form.set_body(&body);
            form.earlier_ms.set(draft.elapsed_ms);
        }
    });
    Effect::new(move |first: Option<()>| {
        form.track_body();
        let draft = Draft {
            annotation_id: form.annotation_id.get(),
            body: form.body(),
            ideal: None,
            elapsed_ms: form.earlier_ms.get_untracked()
                + (now_ms() - form.opened_at_ms.get_untracked()).max(0.0),
        };
        // The first run only subscribes: it would overwrite the draft being restored.
        if first.is_some() {
            save(item_id, &draft);
        }
    });
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

#[cfg(feature = "hydrate")]
fn load(item_id: Uuid) -> Option<Draft> {
    let text = storage()?.get_item(&key(item_id)).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

#[cfg(feature = "hydrate")]
fn save(item_id: Uuid, draft: &Draft) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(draft)) {
        let _ = storage.set_item(&key(item_id), &text);
    }
}

#[cfg(feature = "hydrate")]
pub fn clear(item_id: Uuid) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&key(item_id));
    }
}

#[cfg(feature = "hydrate")]
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[cfg(not(feature = "hydrate"))]
fn load(_: Uuid) -> Option<Draft> {
    None
}

#[cfg(not(feature = "hydrate"))]
fn save(item_id: Uuid, _: &Draft) {
    let _ = key(item_id);
}

#[cfg(not(feature = "hydrate"))]
pub fn clear(_: Uuid) {}

#[cfg(not(feature = "hydrate"))]
pub fn now_ms() -> f64 {
    0.0
}
