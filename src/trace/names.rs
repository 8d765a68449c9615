//! Arguments spelled the way strace prints them: flags by name, lists cut short.

/// Bits by name, joined with `|` (`EPOLLIN|EPOLLRDHUP`); `0` when none is set.
pub fn flags(bits: u64, table: &[(u64, &str)]) -> String {
    let shown: Vec<&str> = table
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if shown.is_empty() {
        "0".into()
    } else {
        shown.join("|")
    }
}

/// `[a, b, c, …+7]`: the first `max` items between brackets, and how many more there were.
pub fn list(items: &[String], sep: &str, max: usize) -> String {
    let more = if items.len() > max {
        format!("{sep}…+{}", items.len() - max)
    } else {
        String::new()
    };
    format!("[{}{more}]", items[..items.len().min(max)].join(sep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_lists_read_like_strace() {
        assert_eq!(flags(0b101, &[(1, "A"), (2, "B"), (4, "C")]), "A|C");
        assert_eq!(flags(0, &[(1, "A")]), "0");
        let items: Vec<String> = (1..=4).map(|i| i.to_string()).collect();
        assert_eq!(list(&items, " ", 3), "[1 2 3 …+1]");
        assert_eq!(list(&items, ", ", 6), "[1, 2, 3, 4]");
    }
}
