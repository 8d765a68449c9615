//! The book shows the tool's own output: `scripts/gen-book` regenerates every trace, table and
//! figure under `book/src/generated/`, and this test fails when the committed files no longer
//! match what the tool prints now.
//!
//! Times, durations, thread ids, ports and CPU figures change from run to run, and so do the
//! counts and placement of folded `EAGAIN` runs and whether a call blocked long enough to get a
//! "… blocks" line; those are normalised away. What remains (the calls, their descriptors and
//! results, the glosses, the summary's wording and small counts) must not drift.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

fn generated() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/generated")
}

/// Replaces every number of three digits or more (tids, ports, big counts), every duration, and
/// the numbers of descriptors named after clients.
fn normalise_fragment(f: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = f.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == ',' || chars[i] == '.')
            {
                i += 1;
            }
            let num: String = chars[start..i]
                .iter()
                .filter(|c| c.is_ascii_digit())
                .collect();
            let rest: String = chars[i..].iter().take(3).collect();
            // A descriptor named after its client (`6=A`, `= 6 (A)`): the number depends on
            // which thread got its socket first; the client does not.
            let named = rest.starts_with('=')
                && rest.chars().nth(1).is_some_and(|c| c.is_ascii_uppercase())
                || rest.starts_with(" (")
                    && rest.chars().nth(2).is_some_and(|c| c.is_ascii_uppercase());
            if named {
                out.push('#');
            } else if rest == " ms" || rest == " µs" {
                out.push('D');
                i += 3;
            } else if num.len() >= 3 || chars[start..i].contains(&'.') {
                out.push('N');
            } else {
                out.extend(&chars[start..i]);
            }
            continue;
        }
        // Bars and rules: a run of one character is drawn to scale; keep one of it.
        if out.ends_with(c) && "█▒░▓#~.=─═━-".contains(c) {
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A file as a sorted list of normalised fragments (table cells count as fragments).
fn normalise(text: &str) -> Vec<String> {
    let mut frags: Vec<String> = text
        .lines()
        .flat_map(|l| l.split(['│', '┆', '|']))
        .map(normalise_fragment)
        // The first token of a trace line is its time.
        .map(|f| match f.split_once(' ') {
            Some(("N" | "D", rest)) => rest.to_string(),
            _ => f,
        })
        .filter(|f| !f.is_empty() && !f.contains("… blocks"))
        // Spins (EAGAIN answers, units of other work) are folded differently from run to run.
        .filter(|f| !f.contains('×') && !f.contains("EAGAIN") && !f.contains("unit of other work"))
        .map(|f| f.replace("slept ", ""))
        .collect();
    frags.sort();
    frags
}

#[test]
fn generated_book_files_match_the_tool() {
    let out = std::env::temp_dir().join(format!("iomodels-book-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen-book"))
        .arg(util::bin())
        .arg(&out)
        .status()
        .expect("run scripts/gen-book");
    assert!(status.success());
    let mut names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let mut committed: Vec<_> = std::fs::read_dir(generated())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    committed.sort();
    assert_eq!(
        names, committed,
        "the set of generated files changed: run scripts/gen-book"
    );
    for name in names {
        let now = std::fs::read_to_string(out.join(&name)).unwrap();
        let then = std::fs::read_to_string(generated().join(&name)).unwrap();
        let (now, then) = (normalise(&now), normalise(&then));
        let only_now: Vec<_> = now.iter().filter(|f| !then.contains(f)).collect();
        let only_then: Vec<_> = then.iter().filter(|f| !now.contains(f)).collect();
        assert!(
            now == then,
            "book/src/generated/{name:?} drifted (run scripts/gen-book):\n  new: {only_now:#?}\n  gone: {only_then:#?}"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn normalising_keeps_calls_and_drops_noise() {
    let a = "  201.552  server        4144  recvfrom(5=A, 4096)  = 6   slept 98.7 ms  ①+② ready+copy   copied";
    let b = "  199.001  server        4150  recvfrom(5=A, 4096)  = 6   slept 101.0 ms  ①+② ready+copy   copied";
    assert_eq!(normalise(a), normalise(b));
    let c = "  199.001  server        4150  recvfrom(6=A, 4096)  = 7   slept 101.0 ms  ①+② ready+copy   copied";
    assert_ne!(normalise(a), normalise(c));
}

/// Every relative link and every `{{#include}}` in the book points at something that exists
/// (mdBook itself only warns), and every anchor it names is in the file.
#[test]
fn book_links_and_includes_resolve() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut pages = vec![src.clone()];
    let mut checked = 0;
    while let Some(dir) = pages.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pages.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let here = path.parent().unwrap();
            for inc in text.split("{{#include ").skip(1) {
                let target = inc.split("}}").next().unwrap().trim();
                let (file, anchor) = target.split_once(':').unwrap_or((target, ""));
                let body = std::fs::read_to_string(here.join(file))
                    .unwrap_or_else(|e| panic!("{path:?}: include {file}: {e}"));
                if !anchor.is_empty() {
                    assert!(
                        body.contains(&format!("ANCHOR: {anchor}")),
                        "{path:?}: no anchor {anchor} in {file}"
                    );
                }
                checked += 1;
            }
            for link in text.split("](").skip(1) {
                let target = link.split(')').next().unwrap().split('#').next().unwrap();
                if target.is_empty() || target.contains("://") {
                    continue;
                }
                assert!(here.join(target).exists(), "{path:?}: broken link {target}");
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "only {checked} links and includes found");
}
