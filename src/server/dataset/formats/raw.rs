//! Raw: every annotation with its item, pseudonymous author, shown order, proposal and
//! timings, and the item's consensus; whether the item is gold, and the author's standing
//! on the project (active, flagged or paused by gold accuracy; null for end users).

use crate::server::dataset::record::{ExportAnnotation, ExportItem};
use serde::ser::SerializeMap;
use serde_json::value::RawValue;
use uuid::Uuid;

/// What an item's raw records share, serialised once per item.
pub struct RawParts {
    pub messages: Box<RawValue>,
    pub answers: Box<RawValue>,
    pub consensus: Option<Vec<Vec<Uuid>>>,
}

pub fn entries<M: SerializeMap>(
    map: &mut M,
    item: &ExportItem,
    raw: &RawParts,
    a: &ExportAnnotation,
) -> Result<(), M::Error> {
    map.serialize_entry("item_id", &item.item_id)?;
    map.serialize_entry("external_id", &item.external_id)?;
    map.serialize_entry("annotation_id", &a.annotation_id)?;
    map.serialize_entry("annotator", &a.annotator)?;
    map.serialize_entry("source", &a.source)?;
    map.serialize_entry("messages", &raw.messages)?;
    map.serialize_entry("answers", &raw.answers)?;
    a.body.entries(map)?;
    map.serialize_entry("shown_order", &a.shown_order)?;
    map.serialize_entry("proposal_id", &a.proposal_id)?;
    map.serialize_entry("time_spent_ms", &a.time_spent_ms)?;
    map.serialize_entry("version", &a.version)?;
    map.serialize_entry("created_at", &a.created_at)?;
    map.serialize_entry("updated_at", &a.updated_at)?;
    map.serialize_entry("consensus", &raw.consensus)?;
    // Absent from versions made before they were recorded (their files stay the same).
    if let Some(gold) = item.gold {
        map.serialize_entry("gold", &gold)?;
        map.serialize_entry("annotator_status", &a.annotator_status)?;
    }
    Ok(())
}
