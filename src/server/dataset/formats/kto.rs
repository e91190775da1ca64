//! KTO (TRL's unpaired preference format): `{"prompt", "completion", "label"}` per thumb.

use serde::ser::SerializeMap;

pub fn entries<M: SerializeMap>(
    map: &mut M,
    prompt: &str,
    completion: &str,
    label: bool,
) -> Result<(), M::Error> {
    map.serialize_entry("prompt", prompt)?;
    map.serialize_entry("completion", completion)?;
    map.serialize_entry("label", &label)
}
