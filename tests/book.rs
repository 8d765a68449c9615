//! The book shows the tool's own output: `scripts/gen-book` regenerates every trace, table and
//! figure under `book/src/generated/`, and this test fails when the committed files no longer
//! match what the tool prints now.
//!
//! Numbers change from run to run (times, durations, thread ids, ports, CPU figures, and even
//! descriptor numbers, which depend on whether a client thread or the server made its socket
//! first), and so do the lines listed in `RACY`; those are normalised away, and lines are
//! compared as a set. What remains — which calls each model makes, their errors, stages and
//! glosses, the clients' actions, the summary's and the figure's wording — must not drift.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The script and style every `--html` page carries.
const PAGE_JS: &str = include_str!("../src/html/report.js");
const PAGE_CSS: &str = include_str!("../src/html/report.css");

/// The book's editions: the language `scripts/gen-book` is run in, and the edition's sources.
const EDITIONS: [(&str, &str); 2] = [("en", "book/src"), ("zh-CN", "book/zh/src")];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Replaces every number (descriptor numbers depend on which thread made its socket first,
/// tids and ports on the machine) and every duration.
fn normalise_fragment(f: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = f.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == ',' || chars[i] == '.')
            {
                i += 1;
            }
            let unit: String = chars[i..].iter().take(3).collect();
            if unit == " ms" || unit == " µs" {
                out.push('D');
                i += 3;
            } else {
                out.push('N');
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

/// Lines whose presence or count depends on timing, not on the code: folded spins (`×`,
/// `EAGAIN`, `ETIME`, other work), calls that may or may not have slept long enough to show
/// "… blocks", how many signals or empty waits a run took, what was still in flight when the
/// run stopped, and the call counts that follow from those.
const RACY: &[&str] = &[
    "×",
    "EAGAIN",
    "ETIME",
    "unit of other work",
    "more calls",
    "… blocks",
    "rt_sigtimedwait",
    "io_uring_enter",
    "async_cancel",
    "system calls",
    // Debug builds only: std checks a descriptor with fcntl(F_GETFD) before closing it.
    "F_GETFD",
    "library's own calls",
    // The run's end: a model that also watches the stop flag (sigio) may or may not try the
    // shut-down listener once more before it sees the flag.
    "the listener was shut down",
    // `iomodels async`: whether a server that waits in slices was inside a wait when the
    // client sent.
    "no server call",
    // sigio: whether client A (connecting at 0 ms) came before or after the server armed
    // O_ASYNC, so that a signal told of it or the first look after arming found it.
    "(A) D ① data-ready it connected before we were armed",
    "(A) D ① data-ready accepted without waiting: the signal said",
    // The same lines in the zh-CN edition's pages (book/zh/src/generated).
    "一单位其他工作",
    "另有",
    "… 阻塞中",
    "系统调用",
    "库自己的调用",
    "监听套接字已关闭",
    "没有服务器调用",
    "(A) D ① 数据准备 它在我们设好信号之前就连上了",
    "(A) D ① 数据准备 不用等待就 accept 了：信号说",
];

/// In the kernel lane's excerpts (`kernel-*.txt`), lines whose presence depends on the
/// machine's scheduling, not on the code: context switches and wake-ups (which other task had
/// the CPU, whether the thread was preempted, whether the kernel emitted the switch at all),
/// a ring's wait that may or may not have begun, and the figure's cells that say which.
const RACY_KERNEL: &[&str] = &[
    "sched_",
    "io_uring_cqring_wait",
    "on a CPU",
    "preempted",
    "not recorded",
    // `iomodels async --kernel`: whether the data found the copying thread asleep.
    "the data woke",
    // In zh-CN.
    "正在 CPU 上",
    "被抢占",
    "未记录",
    "数据唤醒了",
];

/// A kernel-lane line, cut to its tracepoint and what it concerns (`kernel sk_data_ready:
/// 7=A`): which thread delivered the data or ran the copy (the sender's softirq, ksoftirqd)
/// and the gloss that names it depend on scheduling too.
fn kernel_line(line: &str) -> &str {
    let mut words = line.split_whitespace();
    let (Some(_time), Some("kernel")) = (words.next(), words.next()) else {
        return line;
    };
    let after = &line[line.find("kernel").unwrap_or(0) + "kernel".len()..];
    let call = after
        .trim_start()
        .trim_start_matches(|c: char| c.is_ascii_digit());
    let call = call.trim_start();
    match call.find("   ") {
        Some(end) => &call[..end],
        None => call,
    }
}

/// A file as a sorted set of normalised fragments (table cells count as fragments).
fn normalise(text: &str) -> Vec<String> {
    normalise_with(text, &[], false)
}

/// The book's traces are in the lesson view (`--width`): a call's arguments, its stage and gloss
/// continue on indented lines, wrapped where a number's length puts the break. Each record is
/// joined back into one line, as the wide trace prints it: the stage and gloss (indented to the
/// gloss column) after three spaces, the rest after one.
fn records(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        // A record starts with its time, right-aligned in the first nine columns (`0.088`).
        let time = line.get(..9).map(str::trim_start).unwrap_or("");
        let starts = time.split_once('.').is_some_and(|(ms, frac)| {
            !ms.is_empty()
                && frac.len() == 3
                && (ms.to_owned() + frac).bytes().all(|b| b.is_ascii_digit())
        });
        let continues = indent >= 4 && !starts && !out.is_empty();
        match out.last_mut() {
            Some(last) if continues => {
                last.push_str(if indent == GLOSS_COLUMN { "   " } else { " " });
                last.push_str(line.trim());
            }
            _ => out.push(line.to_string()),
        }
    }
    out
}

/// Where the lesson view starts a call's stage and gloss (past the time column).
const GLOSS_COLUMN: usize = 11;

/// A table's rows with their wrapped lines joined cell by cell: a line whose first cell is
/// blank continues the row above (in the kernel lane's table, where a cell breaks depends on
/// how long the numbers beside it are).
fn table_rows(lines: Vec<String>) -> Vec<String> {
    let cells = |l: &str| -> Vec<String> {
        l.trim_matches(|c| c == '│' || c == ' ')
            .split('┆')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        let row = line.starts_with('│').then(|| cells(&line));
        match (row, out.last_mut()) {
            (Some(row), Some(last)) if row[0].is_empty() && last.starts_with('│') => {
                let mut joined = cells(last);
                for (cell, more) in joined.iter_mut().zip(row) {
                    if !more.is_empty() {
                        cell.push(' ');
                        cell.push_str(&more);
                    }
                }
                *last = format!("│{}│", joined.join("┆"));
            }
            _ => out.push(line),
        }
    }
    out
}

/// `any_thread`: every server thread named `server` (reactors' traces: which reactor accepts
/// which client is the kernel's choice).
fn normalise_with(text: &str, racy: &[&str], any_thread: bool) -> Vec<String> {
    let records = if racy.is_empty() {
        records(text)
    } else {
        table_rows(records(text))
    };
    let mut frags: Vec<String> = records
        .iter()
        .map(|l| {
            if racy.is_empty() {
                l.as_str()
            } else {
                kernel_line(l)
            }
        })
        // An AIO poll's mask is either the key the socket's wake-up passed (sock_def_readable's
        // four bits) or, when the kernel completes the poll later, a fresh look at the socket
        // masked by what was asked: which one depends on timing (fs/aio.c, aio_poll_wake).
        .map(|l| l.replace("POLLIN|POLLPRI|POLLRDNORM|POLLRDBAND", "POLLIN"))
        // Table cells are fragments of their own; a `|` splits only a Markdown table's row (in
        // a trace it joins a call's flags).
        .flat_map(|l| {
            let cells: &[char] = if l.trim_start().starts_with('|') {
                &['│', '┆', '|']
            } else {
                &['│', '┆']
            };
            l.split(cells).map(str::to_string).collect::<Vec<_>>()
        })
        .map(|f| normalise_fragment(&f))
        // The first token of a trace line is its time.
        .map(|f| match f.split_once(' ') {
            Some(("N" | "D", rest)) => rest.to_string(),
            _ => f,
        })
        .filter(|f| !f.is_empty() && !RACY.iter().chain(racy).any(|r| f.contains(r)))
        .map(|f| f.replace("slept ", "").replace("睡眠 ", ""))
        .map(|f| {
            if any_thread {
                f.replace("server/N", "server")
            } else {
                f
            }
        })
        // Where a long call wraps in the lesson view depends on how wide its result and time
        // are, so its words are compared as a multiset, not in order.
        .map(|f| sorted_words(&f))
        .collect();
    frags.sort();
    frags.dedup();
    frags
}

/// A fragment's words as a sorted multiset; a fragment with Chinese in it, as the multiset of
/// its characters (Chinese wraps between any two characters, and a table cell too narrow for a
/// word breaks it, so where its lines break depends on the numbers beside it).
fn sorted_words(f: &str) -> String {
    if f.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
        let mut chars: Vec<char> = f.chars().filter(|c| !c.is_whitespace()).collect();
        chars.sort_unstable();
        return chars.into_iter().collect();
    }
    let mut words: Vec<&str> = f.split(' ').collect();
    words.sort_unstable();
    words.join(" ")
}

/// Whether `scripts/gen-book` regenerates the kernel lane's excerpts here: Linux, as root.
fn lane_here() -> bool {
    #[cfg(target_os = "linux")]
    return rustix::process::geteuid().is_root();
    #[cfg(not(target_os = "linux"))]
    return false;
}

#[test]
fn generated_book_files_match_the_tool() {
    for (lang, src) in EDITIONS {
        edition_matches_the_tool(lang, &root().join(src).join("generated"));
    }
}

fn edition_matches_the_tool(lang: &str, generated: &Path) {
    let out = std::env::temp_dir().join(format!("iomodels-book-{lang}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(root().join("scripts/gen-book"))
        .env("BOOK_LANG", lang)
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
    let mut committed: Vec<_> = std::fs::read_dir(generated)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    committed.sort();
    // The kernel lane's excerpts need Linux and root (CI is root): elsewhere they are not
    // regenerated.
    let lane = |n: &std::ffi::OsString| n.to_string_lossy().starts_with("kernel-");
    if !lane_here() {
        assert!(
            !cfg!(target_os = "linux") || std::env::var_os("CI").is_none(),
            "CI runs as root: the book's kernel-lane excerpts need it"
        );
        eprintln!(
            "\n*** not root: the book's kernel-lane excerpts (kernel-*.txt) are not checked ***\n"
        );
        committed.retain(|n| !lane(n));
    }
    assert_eq!(
        names, committed,
        "the set of generated files changed: run BOOK_LANG={lang} scripts/gen-book"
    );
    for name in names {
        let now = std::fs::read_to_string(out.join(&name)).unwrap();
        let then = std::fs::read_to_string(generated.join(&name)).unwrap();
        // A page (`compare --html`): its data is a run's, checked by tests/timeline.rs; what
        // must not drift is the page the tool makes around it, its script and style.
        if name.to_string_lossy().ends_with(".html") {
            for part in [PAGE_JS, PAGE_CSS] {
                assert!(now.contains(part), "the tool's page lacks its own script");
                assert!(
                    then.contains(part),
                    "{generated:?}/{name:?} is an older page than the tool's (run scripts/gen-book)"
                );
            }
            continue;
        }
        let racy = if lane(&name) { RACY_KERNEL } else { &[] };
        let any_thread = name.to_string_lossy().contains("reactors");
        let (now, then) = (
            normalise_with(&now, racy, any_thread),
            normalise_with(&then, racy, any_thread),
        );
        let only_now: Vec<_> = now.iter().filter(|f| !then.contains(f)).collect();
        let only_then: Vec<_> = then.iter().filter(|f| !now.contains(f)).collect();
        assert!(
            now == then,
            "{generated:?}/{name:?} drifted (run BOOK_LANG={lang} scripts/gen-book):\n  new: {only_now:#?}\n  gone: {only_then:#?}"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn normalising_keeps_calls_and_drops_noise() {
    let a = "  201.552  server        4144  recvfrom(5=A, 4096)  = 6   slept 98.7 ms  ①+② ready+copy   copied";
    let b = "  199.001  server        4150  recvfrom(5=A, 4096)  = 6   slept 101.0 ms  ①+② ready+copy   copied";
    assert_eq!(normalise(a), normalise(b));
    let c = "  199.001  server        4150  recvfrom(6=A, 4096)  = 7   slept 101.0 ms  ①+② ready+copy   moved";
    assert_ne!(normalise(a), normalise(c));
    // A lesson-view record whose call and gloss wrap at other words: the same record.
    let d = "   50.632  server     select(7, [3 6], [], NULL,      = 1            slept 50.1 ms
                      NULL)
           ① data-ready     the kernel checked 7 descriptor slots";
    let e = "    0.542  server     select(7, [3 6], [], NULL, NULL) = 1                 8 µs
           ① data-ready     the kernel checked 7
                            descriptor slots";
    assert_eq!(normalise(d), normalise(e));
    assert_ne!(normalise(d), normalise(&e.replace("slots", "bits")));
}

/// Every relative link and every `{{#include}}` in the book points at something that exists
/// (mdBook itself only warns), and every anchor it names is in the file.
#[test]
fn book_links_and_includes_resolve() {
    let mut pages: Vec<PathBuf> = EDITIONS.iter().map(|(_, src)| root().join(src)).collect();
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
