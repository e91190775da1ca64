//! Line diff between a model answer and the annotator's edited "ideal answer".
//!
//! Shown next to the editor so an annotator can check that their edit changed only what
//! they meant to change. Answers are small, so a plain longest-common-subsequence table
//! over lines is enough; a size guard keeps a pathological paste from allocating
//! hundreds of megabytes (this also runs in the browser).

/// One line of the diff, in reading order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DiffLine {
    Same(String),
    Added(String),
    Removed(String),
}

/// Above this many table cells (after trimming the common prefix and suffix) we give up
/// on a minimal diff and show the changed middle as one removed block and one added block.
const MAX_CELLS: usize = 4_000_000;

/// Diffs `before` against `after` line by line (lines as split by `str::lines`).
///
/// At a change point removed lines come before added lines, so a reworded line reads
/// "old, then new".
pub fn line_diff(before: &str, after: &str) -> Vec<DiffLine> {
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    // Trimming shared edges first keeps the quadratic part to the region that changed.
    let prefix = common_prefix(&old, &new);
    let suffix = common_suffix(&old[prefix..], &new[prefix..]);
    let old_mid = &old[prefix..old.len() - suffix];
    let new_mid = &new[prefix..new.len() - suffix];

    let mut out = Vec::with_capacity(old.len() + new.len());
    out.extend(tagged(&old[..prefix], DiffLine::Same));
    if old_mid.len().saturating_mul(new_mid.len()) > MAX_CELLS {
        out.extend(tagged(old_mid, DiffLine::Removed));
        out.extend(tagged(new_mid, DiffLine::Added));
    } else {
        lcs_diff(old_mid, new_mid, &mut out);
    }
    out.extend(tagged(&old[old.len() - suffix..], DiffLine::Same));
    out
}

/// `(added, removed)` line counts, for a short summary such as "+3 −1".
pub fn stats(diff: &[DiffLine]) -> (usize, usize) {
    diff.iter()
        .fold((0, 0), |(added, removed), line| match line {
            DiffLine::Added(_) => (added + 1, removed),
            DiffLine::Removed(_) => (added, removed + 1),
            DiffLine::Same(_) => (added, removed),
        })
}

/// Wraps borrowed lines in one variant (the variant constructors are `fn(String) -> DiffLine`).
fn tagged(lines: &[&str], kind: fn(String) -> DiffLine) -> impl Iterator<Item = DiffLine> {
    lines.iter().map(move |l| kind((*l).to_owned()))
}

fn common_prefix(a: &[&str], b: &[&str]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &[&str], b: &[&str]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// Fills a table of LCS lengths of suffixes, then walks it forwards so the output comes
/// out in reading order without a reversal step.
fn lcs_diff(old: &[&str], new: &[&str], out: &mut Vec<DiffLine>) {
    let width = new.len() + 1;
    let mut table = vec![0u32; (old.len() + 1) * width];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            table[i * width + j] = if old[i] == new[j] {
                table[(i + 1) * width + j + 1] + 1
            } else {
                table[(i + 1) * width + j].max(table[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < old.len() && j < new.len() {
        if old[i] == new[j] {
            out.push(DiffLine::Same(old[i].to_owned()));
            i += 1;
            j += 1;
        } else if table[(i + 1) * width + j] >= table[i * width + j + 1] {
            // Ties favour removal, which puts removed lines first at a change point.
            out.push(DiffLine::Removed(old[i].to_owned()));
            i += 1;
        } else {
            out.push(DiffLine::Added(new[j].to_owned()));
            j += 1;
        }
    }
    out.extend(tagged(&old[i..], DiffLine::Removed));
    out.extend(tagged(&new[j..], DiffLine::Added));
}

#[cfg(test)]
mod tests {
    use super::DiffLine::{Added, Removed, Same};
    use super::*;

    /// The lines of one side: Same+Added rebuild `after`, Same+Removed rebuild `before`.
    fn side(diff: &[DiffLine], after: bool) -> Vec<&str> {
        diff.iter()
            .filter_map(|line| match line {
                Same(s) => Some(s.as_str()),
                Added(s) if after => Some(s.as_str()),
                Removed(s) if !after => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Diffs and asserts that both inputs can be rebuilt from the result.
    fn diff_checked(before: &str, after: &str) -> Vec<DiffLine> {
        let diff = line_diff(before, after);
        assert_eq!(side(&diff, false), before.lines().collect::<Vec<_>>());
        assert_eq!(side(&diff, true), after.lines().collect::<Vec<_>>());
        diff
    }

    fn ln(text: &str) -> String {
        text.to_owned()
    }

    #[test]
    fn identical_texts_are_all_same() {
        let text = "a\nb\nc\n";
        let diff = diff_checked(text, text);
        assert_eq!(diff, vec![Same(ln("a")), Same(ln("b")), Same(ln("c"))]);
        assert_eq!(stats(&diff), (0, 0));
    }

    #[test]
    fn changed_middle_line_is_removed_then_added() {
        let diff = diff_checked("one\ntwo\nthree", "one\nTWO\nthree");
        let expected = vec![
            Same(ln("one")),
            Removed(ln("two")),
            Added(ln("TWO")),
            Same(ln("three")),
        ];
        assert_eq!(diff, expected);
        assert_eq!(stats(&diff), (1, 1));
    }

    #[test]
    fn insertion_at_end() {
        let diff = diff_checked("a\nb", "a\nb\nc\nd");
        let expected = vec![Same(ln("a")), Same(ln("b")), Added(ln("c")), Added(ln("d"))];
        assert_eq!(diff, expected);
        assert_eq!(stats(&diff), (2, 0));
    }

    #[test]
    fn empty_before_is_all_added() {
        let diff = diff_checked("", "x\ny");
        assert_eq!(diff, vec![Added(ln("x")), Added(ln("y"))]);
        assert_eq!(stats(&diff), (2, 0));
    }

    #[test]
    fn moved_line_keeps_the_longest_common_run() {
        // No shared prefix or suffix, so only the LCS can find the three kept lines.
        let diff = diff_checked("a\nb\nc\nd", "b\nc\nd\na");
        let expected = vec![
            Removed(ln("a")),
            Same(ln("b")),
            Same(ln("c")),
            Same(ln("d")),
            Added(ln("a")),
        ];
        assert_eq!(diff, expected);
    }

    #[test]
    fn large_inputs_fall_back_but_still_rebuild() {
        let block = |tag: &str| {
            let lines: Vec<String> = (0..1050).map(|i| format!("{tag}{i}")).collect();
            lines.join("\n")
        };
        let before = format!("head\n{}\nshared\n{}\ntail", block("a"), block("b"));
        let after = format!("head\n{}\nshared\n{}\ntail", block("c"), block("d"));
        let diff = diff_checked(&before, &after);
        // 2101 x 2101 middle lines exceed the limit: the LCS would have kept "shared" as
        // Same, the fallback reports it removed and re-added.
        assert_eq!(stats(&diff), (2101, 2101));
        assert_eq!(diff.first(), Some(&Same(ln("head"))));
        assert_eq!(diff.last(), Some(&Same(ln("tail"))));
        assert!(diff[1..2102].iter().all(|l| matches!(l, Removed(_))));
        assert!(diff[2102..4203].iter().all(|l| matches!(l, Added(_))));
    }
}
