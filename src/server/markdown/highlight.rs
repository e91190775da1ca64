//! A tiny syntax highlighter for fenced code blocks in model answers.
//!
//! It runs on the server and in the browser, so it is plain std code with deterministic
//! output. Code is untrusted: every input character is HTML-escaped and emitted exactly
//! once, and the only markup is our own `<span class="hl-…">` wrappers.

/// Syntax families; languages within one differ only in their keywords.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Rust,
    /// JavaScript/TypeScript, Go, C, C++ and Java.
    CFamily,
    Python,
    Sql,
    Bash,
    /// JSON, TOML and YAML: `#` comments (never valid outside a JSON string) and strings.
    Config,
}

const RUST: &str = "as async await break const continue crate dyn else enum extern false fn for \
    if impl in let loop match mod move mut pub ref return self Self static struct super trait \
    true type unsafe use where while";
const PYTHON: &str = "and as assert async await break class continue def del elif else except \
    False finally for from global if import in is lambda None nonlocal not or pass raise return \
    True try while with yield";
const JS: &str = "async await break case catch class const continue default delete do else \
    export extends false finally for function if import in instanceof interface let new null \
    return super switch this throw true try type typeof undefined var while";
const GO: &str = "break case chan const continue default defer else fallthrough for func go \
    goto if import interface map package range return select struct switch type var nil true false";
const C_LIKE: &str = "break case catch char class const continue default do double else enum \
    extern false float for if int long new null nullptr private protected public return sizeof \
    static struct switch this throw true try typedef unsigned void while";
/// Matched case-insensitively, as SQL itself does.
const SQL: &str = "select from where insert into values update set delete create table drop \
    alter join left inner outer on group by order having limit and or not null as distinct \
    union primary key is in like case when then else end";
const BASH: &str = "if then else elif fi for while until do done case esac in function return \
    local export echo exit set unset readonly shift source cd";
/// JSON and config files have literals rather than keywords.
const LITERALS: &str = "true false null";

/// Fence tags are matched case-insensitively; unknown ones get no highlighting.
fn lang_for(tag: &str) -> Option<(Lang, &'static str)> {
    Some(match tag.trim().to_ascii_lowercase().as_str() {
        "rust" | "rs" => (Lang::Rust, RUST),
        "javascript" | "js" | "typescript" | "ts" => (Lang::CFamily, JS),
        "go" => (Lang::CFamily, GO),
        "c" | "cpp" | "c++" | "java" => (Lang::CFamily, C_LIKE),
        "python" | "py" => (Lang::Python, PYTHON),
        "sql" => (Lang::Sql, SQL),
        "bash" | "sh" | "shell" | "console" => (Lang::Bash, BASH),
        "json" | "toml" | "yaml" | "yml" => (Lang::Config, LITERALS),
        _ => return None,
    })
}

/// Highlights `code` as `lang` (a fence tag such as `rs` or `Python`). The result is
/// always safe to set as `inner_html`; an unknown language comes back escaped only.
pub fn highlight(code: &str, lang: &str) -> String {
    let mut out = String::with_capacity(code.len() * 2);
    let Some((lang, keywords)) = lang_for(lang) else {
        code.chars().for_each(|c| push_escaped(&mut out, c));
        return out;
    };
    // Scanning a char slice means we can never cut inside a UTF-8 sequence.
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let (len, class) = next_token(&chars[i..], lang, keywords);
        if let Some(class) = class {
            out.push_str(&format!("<span class=\"hl-{class}\">"));
        }
        for &c in &chars[i..i + len] {
            push_escaped(&mut out, c);
        }
        if class.is_some() {
            out.push_str("</span>");
        }
        i += len;
    }
    out
}

/// Length in chars (at least 1, at most `s.len()`) and class of the token starting `s`.
fn next_token(s: &[char], lang: Lang, keywords: &str) -> (usize, Option<&'static str>) {
    if let Some(len) = comment_len(s, lang) {
        (len, Some("com"))
    } else if let Some(len) = string_len(s, lang) {
        (len, Some("str"))
    } else if s[0].is_ascii_digit() {
        (number_len(s), Some("num"))
    } else if s[0].is_alphabetic() || s[0] == '_' {
        word_token(s, lang, keywords)
    } else {
        (1, None)
    }
}

/// An unterminated block comment runs to the end of the code, as it would for a compiler.
fn comment_len(s: &[char], lang: Lang) -> Option<usize> {
    let c_syntax = matches!(lang, Lang::Rust | Lang::CFamily);
    if (c_syntax || lang == Lang::Sql) && s.starts_with(&['/', '*']) {
        return Some(find(s, 2, &['*', '/']).map_or(s.len(), |end| end + 2));
    }
    let line: &[char] = match lang {
        Lang::Rust | Lang::CFamily => &['/', '/'],
        Lang::Sql => &['-', '-'],
        _ => &['#'],
    };
    s.starts_with(line)
        .then(|| s.iter().position(|&c| c == '\n').unwrap_or(s.len()))
}

fn string_len(s: &[char], lang: Lang) -> Option<usize> {
    let quote = s[0];
    let backtick = quote == '`' && lang == Lang::CFamily;
    if quote != '"' && quote != '\'' && !backtick {
        return None;
    }
    if lang == Lang::Python && s.starts_with(&[quote; 3]) {
        return Some(find(s, 3, &[quote; 3]).map_or(s.len(), |end| end + 3));
    }
    if lang == Lang::Rust && quote == '\'' {
        return rust_char_len(s);
    }
    // Elsewhere an unterminated string stops at the line end, which limits the damage of
    // a stray quote such as an apostrophe in YAML.
    let multiline = backtick || matches!(lang, Lang::Rust | Lang::Sql | Lang::Bash);
    Some(quoted_len(s, quote, multiline))
}

/// `'x'`, `'\n'` and `'\u{1F600}'` are literals; a lifetime or label `'a` is not a string
/// (the quote is then emitted plain and the name scanned as a word).
fn rust_char_len(s: &[char]) -> Option<usize> {
    match s.get(1) {
        Some('\\') => (3..s.len().min(12)).find(|&i| s[i] == '\'').map(|i| i + 1),
        Some(&c) if c != '\'' && c != '\n' && s.get(2) == Some(&'\'') => Some(3),
        _ => None,
    }
}

/// A quoted string with backslash escapes. Unterminated, it ends before the newline, or
/// at the end of the code when strings may span lines.
fn quoted_len(s: &[char], quote: char, multiline: bool) -> usize {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            '\n' if !multiline => return i,
            _ => i += 1,
        }
    }
    s.len()
}

/// Digits plus `_`, suffixes, hex letters and a `.` followed by a digit (so `1..2` is two
/// numbers around a range operator).
fn number_len(s: &[char]) -> usize {
    let point = |i: usize| s[i] == '.' && s.get(i + 1).is_some_and(char::is_ascii_digit);
    (1..s.len())
        .find(|&i| !(s[i].is_ascii_alphanumeric() || s[i] == '_' || point(i)))
        .unwrap_or(s.len())
}

/// A keyword, a call (`name(`), a capitalised type name, or a plain identifier.
fn word_token(s: &[char], lang: Lang, keywords: &str) -> (usize, Option<&'static str>) {
    let len = s.iter().take_while(|c| is_word_char(**c)).count();
    let word: String = s[..len].iter().collect();
    let is_keyword = |k: &str| match lang {
        Lang::Sql => k.eq_ignore_ascii_case(&word),
        _ => k == word,
    };
    let class = if keywords.split_ascii_whitespace().any(is_keyword) {
        Some("kw")
    } else if s.get(len) == Some(&'(') {
        Some("fn")
    } else if matches!(lang, Lang::Rust | Lang::CFamily) && s[0].is_uppercase() {
        Some("ty")
    } else {
        None
    };
    (len, class)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Index of the first `pattern` at or after `from`.
fn find(s: &[char], from: usize, pattern: &[char]) -> Option<usize> {
    (from..s.len()).find(|&i| s[i..].starts_with(pattern))
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        _ => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strips our spans and undoes the escaping, asserting that nothing else looks like
    /// markup; the result must then equal the input exactly.
    fn plain(html: &str) -> String {
        let opens = html.matches("<span class=\"hl-").count();
        assert_eq!(opens, html.matches("</span>").count(), "{html}");
        let mut text = html.replace("</span>", "");
        for class in ["kw", "str", "com", "num", "fn", "ty"] {
            text = text.replace(&format!("<span class=\"hl-{class}\">"), "");
        }
        assert!(!text.contains(['<', '>', '"', '\'']), "unescaped: {html}");
        let text = text.replace("&lt;", "<").replace("&gt;", ">");
        let text = text.replace("&quot;", "\"").replace("&#39;", "'");
        text.replace("&amp;", "&")
    }

    fn span(class: &str, text: &str) -> String {
        format!("<span class=\"hl-{class}\">{text}</span>")
    }

    /// Every tag (aliases included, plus unknown ones) is run over every sample.
    const TAGS: &str = "rust rs python py js typescript sql SQL bash sh console json go c++ \
        java toml yaml brainfuck";
    const SAMPLES: &[&str] = &[
        "fn f<'a>(x: &'a str) { let s = \"<script>x</script>\"; } // é <b>",
        "let c = '\\n'; let e = '\\u{1F600}'; 'outer: loop {} /* open <i> ü",
        "let s = \"unterminated 😀\nnext line",
        "'\\",
        "def f(x):\n    \"\"\"doc <script> ü\"\"\"\n    return 'it\\'s'  # <!-- & -->",
        "x = '''open triple ß\ny = \"a\\",
        "const a = `multi\nline ${x}`; // </script>\nlet b = 'x' /* <img onerror=x>",
        "SELECT * FROM t WHERE n = '<script>' -- ça & co\nselect 1.5, 0xFF /* open",
        "echo \"$HOME <b>\" # комментарий\nexit 'open",
        "{\"k\": [1, 2.5e3, true, null, \"<\\\"&>\"]}",
        "func main() { s := `raw <x>`; r := 'ü'; fmt.Println(s) }",
        "#include <stdio.h>\nint main() { printf(\"%d\\n\", 1..2); } /* end */",
        "[server]\nname = \"Verdict <&>\" # note ü\nport = 8080\nkey: it's",
        "",
    ];

    #[test]
    fn every_sample_round_trips_escaped_in_every_language() {
        for lang in TAGS.split(' ').filter(|t| !t.is_empty()) {
            for code in SAMPLES {
                assert_eq!(plain(&highlight(code, lang)), *code, "{lang}: {code}");
            }
        }
    }

    #[test]
    fn keywords_are_wrapped() {
        assert!(highlight("fn main() {}", "rust").contains(&span("kw", "fn")));
        assert!(highlight("def f(): pass", "PY").contains(&span("kw", "def")));
        let sql = highlight("SELECT a from b; select 1", "sql");
        for word in ["SELECT", "from", "select"] {
            assert!(sql.contains(&span("kw", word)), "{sql}");
        }
    }

    #[test]
    fn calls_types_and_numbers_are_classed() {
        let out = highlight("Vec::new(1_000)", "rust");
        let expected = span("ty", "Vec") + "::" + &span("fn", "new") + "(" + &span("num", "1_000");
        assert_eq!(out, expected + ")");
    }

    #[test]
    fn script_in_a_string_is_escaped() {
        let out = highlight("s = \"<script>\"", "js");
        assert!(
            out.contains(&span("str", "&quot;&lt;script&gt;&quot;")),
            "{out}"
        );
        assert!(!out.contains("<script>"));
    }

    #[test]
    fn rust_lifetime_is_not_a_string_but_a_char_is() {
        let out = highlight("fn f<'a>(x: &'a str) -> u8 { 1 }", "rust");
        assert!(!out.contains("hl-str"), "{out}");
        assert!(out.contains(&span("num", "1")), "{out}");
        assert!(highlight("let c = 'x';", "rs").contains(&span("str", "&#39;x&#39;")));
    }

    #[test]
    fn comments_and_strings_end_where_they_should() {
        let js = highlight("x // <b>\nlet", "js");
        assert!(js.ends_with(&(span("com", "// &lt;b&gt;") + "\n" + &span("kw", "let"))));
        let open = highlight("'open\nlet", "js");
        assert_eq!(open, span("str", "&#39;open") + "\n" + &span("kw", "let"));
        let py = highlight("'''a\nb''' + 1", "python");
        assert!(py.starts_with(&span("str", "&#39;&#39;&#39;a\nb&#39;&#39;&#39;")));
    }

    #[test]
    fn unknown_language_is_only_escaped() {
        let out = highlight("<b>fn</b> & 'x'", "brainfuck");
        assert_eq!(out, "&lt;b&gt;fn&lt;/b&gt; &amp; &#39;x&#39;");
    }
}
