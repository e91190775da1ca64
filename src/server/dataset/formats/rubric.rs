//! Rubric ratings per answer: UltraFeedback's `{"prompt", "completions": [{"model",
//! "response", "ratings": {criterion: score}}]}` per item, and HelpSteer's flat rows
//! `{"prompt", "response", <criterion>: score…}` per answer. A score is the mean of the
//! annotators' scores (a yes/no criterion's: the share of yes); every criterion rated on
//! any answer of the item is a key of each answer's ratings, null where that answer lacks it.

use serde::Serialize;
use serde::ser::SerializeMap;
use std::collections::BTreeMap;

/// One answer with its mean scores.
pub struct Rated<'a> {
    pub model: Option<&'a str>,
    pub response: &'a str,
    pub ratings: BTreeMap<&'a str, Option<f64>>,
}

impl Serialize for Rated<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("model", &self.model)?;
        map.serialize_entry("response", self.response)?;
        map.serialize_entry("ratings", &self.ratings)?;
        map.end()
    }
}

/// UltraFeedback: the item's answers with their ratings.
pub fn ultrafeedback<M: SerializeMap>(
    map: &mut M,
    prompt: &str,
    completions: &[Rated<'_>],
) -> Result<(), M::Error> {
    map.serialize_entry("prompt", prompt)?;
    map.serialize_entry("completions", completions)
}

/// HelpSteer: one answer, its criteria as columns.
pub fn helpsteer<M: SerializeMap>(
    map: &mut M,
    prompt: &str,
    answer: &Rated<'_>,
) -> Result<(), M::Error> {
    map.serialize_entry("prompt", prompt)?;
    map.serialize_entry("response", answer.response)?;
    map.serialize_entry("model", &answer.model)?;
    for (key, score) in &answer.ratings {
        map.serialize_entry(key, score)?;
    }
    Ok(())
}
