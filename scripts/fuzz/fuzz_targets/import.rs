//! The import parsers on arbitrary bytes: the first byte picks the format (or detection)
//! and whether the rest is gzip-compressed first; nothing may panic, and every item the
//! parsers accept passes the item validation an import applies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;
use verdict::server::dataset::import::ImportFormat;
use verdict::server::services::import::parse_bytes;

const FORMATS: [Option<ImportFormat>; 6] = [
    None,
    Some(ImportFormat::Verdict),
    Some(ImportFormat::TrlPreference),
    Some(ImportFormat::AnthropicHh),
    Some(ImportFormat::OpenaiChat),
    Some(ImportFormat::Csv),
];

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(control % 6)];
    let strict = control & 0x40 != 0;
    let bytes = if control & 0x80 != 0 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(rest).unwrap();
        gz.finish().unwrap()
    } else {
        rest.to_vec()
    };
    if let Ok(parsed) = parse_bytes(bytes, format, strict) {
        for (n, item) in parsed.items.into_iter().enumerate() {
            verdict::server::dataset::import::validate_at(n + 1, item)
                .expect("an accepted item is valid");
        }
    }
});
