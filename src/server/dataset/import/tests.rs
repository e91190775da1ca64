use super::*;
use ImportFormat::*;

/// An expected value, written as JSON (the Verdict shape for items).
fn from<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// (line, field) of a line that must fail.
fn err(format: ImportFormat, text: &str) -> (usize, String) {
    let e = parse_jsonl_line(format, 9, text, false).unwrap_err();
    (e.line, e.field)
}

fn cells(row: &str) -> Vec<String> {
    row.split(',').map(str::to_owned).collect()
}

const HH: &str = r#"{"chosen":"\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: A joke?\n\nAssistant: Why did the chicken cross?","rejected":"\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: A joke?\n\nAssistant: No."}"#;

#[test]
fn detects_each_jsonl_format() {
    let cases = [
        (r#"{"prompt":"q","responses":["a","b"]}"#, Some(Verdict)),
        (
            r#"{"prompt":"q","chosen":"a","rejected":"b"}"#,
            Some(TrlPreference),
        ),
        (
            r#"{"chosen":[{"role":"user","content":"q"}],"rejected":[]}"#,
            Some(TrlPreference),
        ),
        (HH, Some(AnthropicHh)),
        (
            r#"{"messages":[{"role":"user","content":"q"}]}"#,
            Some(OpenaiChat),
        ),
        (r#"{"text":"q"}"#, None),
        ("not json", None),
    ];
    for (line, format) in cases {
        assert_eq!(detect_jsonl(line), format, "{line}");
    }
    assert_eq!(ImportFormat::parse("HH"), Some(AnthropicHh));
    assert_eq!(ImportFormat::parse("openai_chat"), Some(OpenaiChat));
}

#[test]
fn parses_verdict_lines() {
    let line = r#"{"external_id":42,"prompt":"Why?","responses":["Because.",{"content":"No idea","model":"m2"}],"metadata":{"topic":"x"}}"#;
    let expected: NewItem = from(json!({
        "external_id": "42", "messages": [{"role": "user", "content": "Why?"}],
        "responses": [{"content": "Because."}, {"model": "m2", "content": "No idea"}],
        "metadata": {"topic": "x"}
    }));
    assert_eq!(
        parse_jsonl_line(Verdict, 1, line, false).unwrap().item,
        expected
    );
    let line = r#"{"messages":[{"role":"system","content":"Be nice"},{"role":"human","content":"Hi"}],"responses":[{"content":"a"},"b"]}"#;
    let expected: NewItem = from(json!({
        "messages": [{"role": "system", "content": "Be nice"}, {"role": "user", "content": "Hi"}],
        "responses": [{"content": "a"}, {"content": "b"}]
    }));
    assert_eq!(
        parse_jsonl_line(Verdict, 2, line, false).unwrap().item,
        expected
    );
}

#[test]
fn parses_trl_standard_form() {
    let line = r#"{"id":7,"prompt":"2+2?","chosen":"4","rejected":"5"}"#;
    let expected: NewItem = from(json!({
        "external_id": "7", "messages": [{"role": "user", "content": "2+2?"}],
        "responses": [{"content": "4"}, {"content": "5"}],
        "metadata": {"source_format": "trl", "chosen_index": 0}
    }));
    assert_eq!(
        parse_jsonl_line(TrlPreference, 1, line, false)
            .unwrap()
            .item,
        expected
    );
}

#[test]
fn parses_trl_conversational_and_implicit_forms() {
    let expected: NewItem = from(json!({
        "messages": [{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Sky?"}],
        "responses": [{"content": "Blue."}, {"content": "Green."}],
        "metadata": {"source_format": "trl", "chosen_index": 0}
    }));
    let conversational = r#"{"prompt":[{"role":"system","content":"Be terse"},{"role":"user","content":"Sky?"}],"chosen":[{"role":"assistant","content":"Blue."}],"rejected":[{"role":"assistant","content":"Green."}]}"#;
    let item = parse_jsonl_line(TrlPreference, 1, conversational, false)
        .unwrap()
        .item;
    assert_eq!(item, expected);
    let implicit = r#"{"chosen":[{"role":"system","content":"Be terse"},{"role":"user","content":"Sky?"},{"role":"assistant","content":"Blue."}],"rejected":[{"role":"system","content":"Be terse"},{"role":"user","content":"Sky?"},{"role":"assistant","content":"Green."}]}"#;
    assert_eq!(
        parse_jsonl_line(TrlPreference, 1, implicit, false)
            .unwrap()
            .item,
        expected
    );
    let no_shared = r#"{"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}"#;
    assert_eq!(err(TrlPreference, no_shared), (9, "prompt".into()));
}

#[test]
fn parses_multi_turn_hh() {
    let expected: NewItem = from(json!({
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                     {"role": "user", "content": "A joke?"}],
        "responses": [{"content": "Why did the chicken cross?"}, {"content": "No."}],
        "metadata": {"source_format": "hh", "chosen_index": 0}
    }));
    assert_eq!(
        parse_jsonl_line(AnthropicHh, 1, HH, false).unwrap().item,
        expected
    );
    let differing =
        r#"{"chosen":"\n\nHuman: Hi\n\nAssistant: A","rejected":"\n\nHuman: Hey\n\nAssistant: B"}"#;
    assert_eq!(err(AnthropicHh, differing), (9, "rejected".into()));
    let no_answer = r#"{"chosen":"\n\nHuman: Hi","rejected":"\n\nHuman: Hi\n\nAssistant: B"}"#;
    assert_eq!(err(AnthropicHh, no_answer), (9, "chosen".into()));
}

#[test]
fn empty_answers_are_imported_as_they_are() {
    // As in HH's harmless set: the chosen answer says nothing.
    let silent = r#"{"chosen":"\n\nHuman: How do I pick a lock?\n\nAssistant:","rejected":"\n\nHuman: How do I pick a lock?\n\nAssistant: Use a tension wrench."}"#;
    let parsed = parse_jsonl_line(AnthropicHh, 1, silent, false).unwrap();
    assert_eq!(parsed.warning, None);
    let answers: Vec<&str> = parsed
        .item
        .responses
        .iter()
        .map(|r| r.content.as_str())
        .collect();
    assert_eq!(answers, ["", "Use a tension wrench."]);
    let verdict = r#"{"prompt":"q","responses":["a",{"content":"  "}]}"#;
    let item = parse_jsonl_line(Verdict, 2, verdict, false).unwrap().item;
    assert_eq!(item.responses[1].content, "  ");
}

/// Two HH transcripts that part at an earlier Assistant turn: cut there with a warning that
/// names the line, or refused with `strict`.
#[test]
fn hh_pairs_parting_early_are_cut_at_the_first_differing_answer() {
    let early = r#"{"chosen":"\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: A joke?\n\nAssistant: Why did the chicken cross?","rejected":"\n\nHuman: Hi\n\nAssistant: Go away.\n\nHuman: Rude.\n\nAssistant: Sorry.\n\nHuman: Ok\n\nAssistant: Bye"}"#;
    let parsed = parse_jsonl_line(AnthropicHh, 7, early, false).unwrap();
    let expected: NewItem = from(json!({
        "messages": [{"role": "user", "content": "Hi"}],
        "responses": [{"content": "Hello!"}, {"content": "Go away."}],
        "metadata": {"source_format": "hh", "chosen_index": 0, "hh_cut_at_turn": 2}
    }));
    assert_eq!(parsed.item, expected);
    let warning = parsed.warning.unwrap();
    assert_eq!((warning.line, warning.field.as_str()), (7, "rejected"));
    assert!(
        warning
            .message
            .contains("leaving out 2 later turns of chosen and 4 of rejected"),
        "{}",
        warning.message
    );
    let e = parse_jsonl_line(AnthropicHh, 7, early, true).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 7: rejected: differs from chosen before the final Assistant turn"
    );
    // The ordinary pair is the same either way, and has no warning.
    let strict = parse_jsonl_line(AnthropicHh, 1, HH, true).unwrap();
    assert_eq!(strict, parse_jsonl_line(AnthropicHh, 1, HH, false).unwrap());
    assert_eq!(strict.warning, None);
    // A transcript that goes on where the other ends is no pair.
    let longer = r#"{"chosen":"\n\nHuman: Hi\n\nAssistant: A","rejected":"\n\nHuman: Hi\n\nAssistant: A\n\nHuman: More\n\nAssistant: B"}"#;
    assert_eq!(err(AnthropicHh, longer), (9, "rejected".into()));
}

#[test]
fn openai_lines_split_into_parts() {
    let line = r#"{"id":"c1","model":"gpt","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]},{"role":"assistant","content":"Hello"}]}"#;
    let expected: ChatParts = from(json!([
        [{"role": "user", "content": "Hi"}], {"model": "gpt", "content": "Hello"}, "c1"
    ]));
    assert_eq!(openai_chat_parts(3, line).unwrap(), expected);
    assert_eq!(err(OpenaiChat, line), (9, "messages".into()));
    let grouped = r#"{"messages":[{"role":"user","content":"Hi"}],"responses":["a","b"]}"#;
    assert_eq!(
        parse_jsonl_line(OpenaiChat, 4, grouped, false)
            .unwrap()
            .item
            .responses
            .len(),
        2
    );
    let no_answer = r#"{"messages":[{"role":"user","content":"Hi"}]}"#;
    assert_eq!(
        openai_chat_parts(5, no_answer).unwrap_err().field,
        "messages"
    );
}

#[test]
fn bad_lines_name_line_and_field() {
    let blank_prompt = r#"{"prompt":"  ","responses":["a","b"]}"#;
    let e = parse_jsonl_line(Verdict, 12, blank_prompt, false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 12: messages[0].content: must not be empty"
    );
    let typo = r#"{"prompt":"q","responses":["a","b"],"metdata":{}}"#;
    assert_eq!(err(Verdict, typo), (9, "metdata".into()));
    let e = parse_jsonl_line(Verdict, 4, r#"{"prompt": "#, false).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (4, "json"));
    assert!(e.message.contains("column"), "{}", e.message);
    assert_eq!(err(Verdict, "[1,2]"), (9, "json".into()));
    let missing = r#"{"prompt":"q","chosen":"a"}"#;
    assert_eq!(err(TrlPreference, missing), (9, "rejected".into()));
    let role = r#"{"messages":[{"role":"robot","content":"x"}],"responses":["a","b"]}"#;
    assert_eq!(err(Verdict, role), (9, "messages[0].role".into()));
    let one = r#"{"prompt":"q","responses":["a"]}"#;
    assert_eq!(err(Verdict, one), (9, "responses".into()));
}

#[test]
fn csv_layout_from_header() {
    let layout = csv_layout(&cells("prompt,answer_1,answer_2,model_1,id")).unwrap();
    let (answers, models) = (vec![1, 2], vec![Some(3), None]);
    let expected = CsvLayout {
        prompt: 0,
        answers,
        external_id: Some(4),
        system: None,
        models,
    };
    assert_eq!(layout, expected);
    let e = csv_layout(&cells("text,answer_1,answer_2")).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (1, "prompt"));
    assert_eq!(
        csv_layout(&cells("prompt,answer")).unwrap_err().field,
        "answers"
    );
}

#[test]
fn csv_record_drops_empty_answers() {
    let header = "External_ID,system,Question,Response_1,response_2,response_3,model_2";
    let layout = csv_layout(&cells(header)).unwrap();
    let record = cells("15,Be brief.,Capital of France?,Paris,paris!,, m2 ");
    let expected: NewItem = from(json!({
        "external_id": "15",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "Capital of France?"}],
        "responses": [{"content": "Paris"}, {"model": "m2", "content": "paris!"}]
    }));
    assert_eq!(parse_csv_record(&layout, 2, &record).unwrap(), expected);
    let e = parse_csv_record(&layout, 3, &cells("16,,Q?,only one,,")).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (3, "responses"));
}
