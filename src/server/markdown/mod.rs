//! Markdown to HTML for untrusted text (prompts and model answers).
//!
//! Raw HTML in the source is shown as text, never passed through, and links or images
//! whose scheme could run code (`javascript:`, `data:`, `vbscript:` …) lose their target.
//! The output is therefore safe to set as `inner_html`.

mod highlight;

use crate::model::project::{Message, RenderedItem, ResponseView};
use highlight::highlight;
use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, html};

pub fn to_safe_html(source: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    // The language of the fenced code block being read, if any.
    let mut code_lang: Option<String> = None;
    let events = Parser::new_ext(source, options).map(move |event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) => {
            code_lang = Some(lang.split_whitespace().next().unwrap_or("").to_owned());
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang)))
        }
        Event::End(TagEnd::CodeBlock) => {
            code_lang = None;
            Event::End(TagEnd::CodeBlock)
        }
        // `highlight` escapes every character of the code and adds only its own spans.
        Event::Text(code) if code_lang.is_some() => {
            Event::Html(highlight(&code, code_lang.as_deref().unwrap_or("")).into())
        }
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// An item's messages and answers rendered for a page.
pub fn render_item(messages: &[Message], answers: &[ResponseView]) -> RenderedItem {
    RenderedItem {
        messages: messages.iter().map(|m| to_safe_html(&m.content)).collect(),
        answers: answers.iter().map(|a| to_safe_html(&a.content)).collect(),
    }
}

/// Keeps relative URLs and the schemes that only navigate; anything else becomes `#`.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // Browsers ignore ASCII whitespace and control characters inside a scheme. The scheme is
    // read whole, however long: an allow-list that looked only at the first characters let
    // a long unknown scheme through (found by the markdown fuzz target).
    let mut scheme = String::new();
    for c in url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
    {
        match c {
            ':' => {
                return match scheme.as_str() {
                    "http" | "https" | "mailto" => url,
                    _ => CowStr::Borrowed("#"),
                };
            }
            // A path, query or fragment before any colon: a relative URL.
            '/' | '?' | '#' => return url,
            c => scheme.push(c.to_ascii_lowercase()),
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn renders_tables_lists_and_code() {
        let html = to_safe_html(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n- x\n- y\n\n```rust\nfn main() {}\n```\n",
        );
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<li>x</li>"), "{html}");
        assert!(
            html.contains("<code class=\"language-rust\"><span class=\"hl-kw\">fn</span>"),
            "{html}"
        );
    }

    #[test]
    fn raw_html_becomes_text() {
        let html =
            to_safe_html("Hi <script>alert('x')</script> and <img src=x onerror=\"alert(1)\">");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=\"alert(1)\"&gt;"),
            "{html}"
        );
    }

    #[test]
    fn code_blocks_are_highlighted_and_still_escaped() {
        let html = to_safe_html("```python\nprint(\"<script>alert(1)</script>\")  # <b>\n```\n");
        assert!(html.contains("hl-str"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn html_blocks_become_text() {
        let html = to_safe_html("<div onclick=\"evil()\">\nhello\n</div>\n");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;div"), "{html}");
    }

    #[test]
    fn scripting_urls_are_neutralised() {
        for src in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](<javascript:alert(1)>)",
            "![x](data:text/html;base64,PHNjcmlwdD4=)",
            "[x](vbscript:msgbox)",
            "[x](<java\tscript:alert(1)>)",
            // Found by `scripts/fuzz.sh` (markdown): a scheme longer than the 16 characters
            // the check used to read was kept.
            "[x](javabbbbbbbbbbscript:alert(1))",
            "[x](ms-settings-and-a-long-tail:x)",
        ] {
            let html = to_safe_html(src);
            assert!(
                html.contains("href=\"#\"") || html.contains("src=\"#\""),
                "{src} -> {html}"
            );
        }
    }

    #[test]
    fn ordinary_urls_are_kept() {
        for (src, url) in [
            (
                "[x](https://example.org/a?b=c)",
                "https://example.org/a?b=c",
            ),
            ("[x](/docs/page)", "/docs/page"),
            ("[x](mailto:a@b.org)", "mailto:a@b.org"),
            ("[x](page?next=a:b)", "page?next=a:b"),
        ] {
            assert!(to_safe_html(src).contains(url), "{src}");
        }
    }
}
