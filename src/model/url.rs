/// Percent-encodes a string for a URL query value, keeping `/` readable.
pub fn encode_query_value(s: &str) -> String {
    encode(s, b"/")
}

/// Percent-encodes a string as one path segment (an external id in a path): `/` too.
pub fn encode_path_segment(s: &str) -> String {
    encode(s, b"")
}

/// Every byte but the unreserved ones and `keep` as `%XX`.
fn encode(s: &str, keep: &[u8]) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b if keep.contains(&b) => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_query_values() {
        assert_eq!(
            super::encode_query_value("/projects/demo?after=3&x"),
            "/projects/demo%3Fafter%3D3%26x"
        );
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(super::encode_path_segment("a b/c+d"), "a%20b%2Fc%2Bd");
    }
}
