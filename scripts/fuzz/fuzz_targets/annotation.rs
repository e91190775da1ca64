//! The annotation validator on arbitrary JSON: the first byte picks the project's feedback
//! kinds; the rest is a submission as the browser sends it. Nothing may panic, and what the
//! validator accepts is normalised once and for all (validating it again changes nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use uuid::Uuid;
use verdict::model::annotation::{AnnotationInput, FeedbackKinds};

/// The item's answers: the corpus' submissions use these ids.
const ANSWERS: [Uuid; 3] = [
    Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001),
    Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0002),
    Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0003),
];

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let kinds = FeedbackKinds {
        thumbs: control & 1 != 0,
        ranking: control & 2 != 0,
        ideal: control & 4 != 0,
        flags: control & 8 != 0,
        comment: control & 16 != 0,
        allow_ties: control & 32 != 0,
    };
    let Ok(input) = serde_json::from_slice::<AnnotationInput>(rest) else {
        return;
    };
    let answers = if control & 64 != 0 { &ANSWERS[..2] } else { &ANSWERS[..] };
    if let Ok(valid) = input.validate(answers, &kinds) {
        let again = valid
            .clone()
            .validate(answers, &kinds)
            .expect("a validated annotation validates again");
        assert_eq!(again, valid);
    }
});
