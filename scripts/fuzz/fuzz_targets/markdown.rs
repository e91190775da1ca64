//! The markdown renderer on arbitrary text: nothing may panic, and the HTML it writes holds
//! only the tags the renderer itself makes (raw HTML in the source is shown as text), and
//! no link or image whose target could run code.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Tags pulldown-cmark writes for the enabled extensions, and the highlighter's spans.
const ALLOWED: &[&str] = &[
    "a", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "img", "input", "li", "ol", "p", "pre", "section", "span", "strong", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
];

/// Every tag in the HTML (text's own `<` is escaped, so each `<` opens a tag): its name must
/// be one the renderer makes, and its `href` or `src` must not have a scheme other than
/// http, https or mailto. Text is not looked at: `src="javascript:` in text is harmless.
fn check(html: &str) {
    let lower = html.to_ascii_lowercase();
    for (i, _) in lower.match_indices('<') {
        let tag = &lower[i + 1..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(
            ALLOWED.contains(&name.as_str()),
            "a tag the renderer does not make: <{name} in {html:?}"
        );
        for attr in [" href=\"", " src=\""] {
            for (j, _) in tag.match_indices(attr) {
                let value = &tag[j + attr.len()..];
                let value = &value[..value.find('"').unwrap_or(value.len())];
                let value = value.replace("&#x9;", "").replace("&#xa;", "");
                let scheme: String = value
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "+-.".contains(*c))
                    .collect();
                let has_scheme = value.trim_start()[scheme.len()..].starts_with(':');
                assert!(
                    !has_scheme || ["http", "https", "mailto"].contains(&scheme.as_str()),
                    "a link that could run code: {value:?} in {html:?}"
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(&verdict::server::markdown::to_safe_html(&text));
});
