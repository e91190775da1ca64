/// Percent-encodes a string for a URL query value, keeping `/` readable.
pub fn encode_query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
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
}
