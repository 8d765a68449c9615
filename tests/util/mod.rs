//! Helpers shared by the integration tests: run the binary, read its JSON trace.
#![allow(dead_code)] // each test binary uses its own subset

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use unicode_width::UnicodeWidthStr;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_iomodels")
}

/// Runs `iomodels ARGS` and returns its output (the binary bounds its own run time).
pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("NO_COLOR", "1")
        // The tests read English unless they ask for another language (`--lang`).
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C")
        .output()
        .expect("run iomodels")
}

/// Runs `iomodels ARGS`, which must succeed, and returns its stdout.
pub fn run_ok(args: &[&str]) -> Vec<u8> {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The arguments of the EMFILE demo (`demos/emfile.scenario`) under `--max-fds LIMIT`.
pub fn emfile_demo<'a>(model: &'a str, limit: &'a str) -> [&'a str; 7] {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/emfile.scenario");
    [
        model,
        "--max-fds",
        limit,
        "--scenario",
        demo,
        "--format",
        "json",
    ]
}

/// Runs `iomodels ARGS` with its stdout's reader gone before it writes (`iomodels … | head`).
pub fn run_with_closed_stdout(args: &[&str]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run iomodels");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for iomodels")
}

/// The first line a started server prints on stderr (`serving on IP:PORT …`).
pub fn first_stderr_line(child: &mut Child) -> String {
    use std::io::{BufRead, BufReader};
    let mut first = String::new();
    BufReader::new(child.stderr.take().expect("stderr piped"))
        .read_line(&mut first)
        .expect("read the server's first line");
    first
}

/// Parses a JSON trace: one object per line.
pub fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The closing `summary` object of a JSON trace.
pub fn summary(events: &[Value]) -> &Value {
    events
        .iter()
        .find(|e| e["kind"] == "summary")
        .expect("a summary line")
}

/// Whether a program is on PATH. In CI (`CI=true`) a missing tool is a failure, not a skip.
pub fn have(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| Path::new(&d).join(tool).is_file()));
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required in CI (.ci/run installs it)"
        );
        eprintln!("\n*** SKIPPED: {tool} is not installed; install it to run this test ***\n");
    }
    found
}

/// The models this OS has, from `iomodels list`.
pub fn models_here() -> Vec<String> {
    registry()
        .into_iter()
        .filter(|m| m.here)
        .map(|m| m.name)
        .collect()
}

/// One model as `iomodels list --format json` declares it.
pub struct Listed {
    pub name: String,
    /// How it waits for data: `blocking`, `threads`, `polling`, `readiness`, `signal` or
    /// `completion`.
    pub kind: String,
    /// Whether it serves many connections at once.
    pub concurrent: bool,
    /// Whether this OS has it.
    pub here: bool,
    /// Its modes (`--edge`), each run as a model of its own by the suites.
    pub modes: Vec<Mode>,
}

/// A mode of a model, as `iomodels list --format json` lists it.
#[derive(Debug)]
pub struct Mode {
    /// Its flag, with the dashes (`--edge`).
    pub flag: String,
    /// Whether the model serves many connections at once in this mode.
    pub concurrent: bool,
}

impl Listed {
    /// The model alone, then with each of its modes: the argument lists to run it with.
    pub fn runs(&self) -> Vec<Vec<String>> {
        std::iter::once(vec![self.name.clone()])
            .chain(
                self.modes
                    .iter()
                    .map(|m| vec![self.name.clone(), m.flag.clone()]),
            )
            .collect()
    }

    /// The model alone, then in each of its modes: the extra arguments, and whether it serves
    /// many connections at once run so.
    pub fn ways(&self) -> Vec<(Vec<&str>, bool)> {
        std::iter::once((vec![], self.concurrent))
            .chain(
                self.modes
                    .iter()
                    .map(|m| (vec![m.flag.as_str()], m.concurrent)),
            )
            .collect()
    }
}

/// Every model this OS has, alone and in each of its modes.
pub fn runs_here() -> Vec<Vec<String>> {
    registry()
        .iter()
        .filter(|m| m.here)
        .flat_map(Listed::runs)
        .collect()
}

/// Every model of the registry, in its order, from `iomodels list --format json`: tests choose
/// models by what they are, so that a model added to the registry is tested with its kind.
pub fn registry() -> Vec<Listed> {
    let out = run(&["list", "--format", "json"]);
    assert!(out.status.success(), "iomodels list --format json failed");
    events(&out.stdout)
        .iter()
        .map(|m| Listed {
            name: m["model"].as_str().expect("a model's name").to_string(),
            kind: m["kind"].as_str().expect("a model's kind").to_string(),
            concurrent: m["concurrent"].as_bool().expect("concurrent"),
            here: m["here"].as_bool().expect("here"),
            modes: m["modes"]
                .as_array()
                .expect("a model's modes")
                .iter()
                .map(|f| Mode {
                    flag: f["flag"].as_str().expect("a mode's flag").to_string(),
                    concurrent: f["concurrent"].as_bool().expect("a mode's concurrency"),
                })
                .collect(),
        })
        .collect()
}

/// The names a trace gives calls and errors on the OS the tests run on (Linux; Windows under
/// Wine).
#[cfg(not(windows))]
pub mod names {
    pub const RECV: &str = "recvfrom";
    pub const IOCTL: &str = "ioctl";
    pub const EAGAIN: &str = "EAGAIN";
    pub const SPAWN: &str = "clone3";
}

/// The names a trace gives calls and errors on Windows.
#[cfg(windows)]
pub mod names {
    pub const RECV: &str = "recv";
    pub const IOCTL: &str = "ioctlsocket";
    pub const EAGAIN: &str = "WSAEWOULDBLOCK";
    pub const SPAWN: &str = "CreateThread";
}

/// The zh-CN stage labels, as the trace prints them.
const STAGES: &[&str] = &[
    "① 数据准备",
    "② 复制到用户空间",
    "①+② 准备+复制",
    "✓ 完成",
    "发送",
    "准备",
    "收尾",
    "客户端",
    "其他工作",
];

/// Where a stage label starts on a trace line (display columns), and whether the gloss after
/// it starts where the 16-column stage column ends.
fn stage_at(line: &str) -> Option<(usize, bool)> {
    // A record's stage is the label followed by the padding to 16 columns and one space.
    let (at, label) = STAGES
        .iter()
        .filter_map(|l| line.find(&format!(" {l} ")).map(|i| (i + 1, *l)))
        .min_by_key(|(i, _)| *i)?;
    let col = line[..at].width();
    let after = &line[at + label.len()..];
    let spaces = after.len() - after.trim_start().len();
    Some((col, label.width() + spaces == 17 || after.trim().is_empty()))
}

/// `iomodels RUN` in zh-CN, aligned by display width (a CJK character takes two columns): on
/// every line the gloss starts right after the 16-column stage column, the stage column lines
/// up with its heading wherever the call's time fits its column, and in the lesson view
/// (`--width 80`) no line is wider than the page.
pub fn assert_zh_aligned(run: &[&str]) {
    let name = run.join(" ");
    let mut args = run.to_vec();
    args.extend(["--lang", "zh-CN", "--color", "never", "--width", "250"]);
    let text = String::from_utf8(run_ok(&args)).unwrap();
    let mut lines = text.lines();
    lines.next();
    let head = lines.next().expect("the headings");
    let head_at = head[..head.find("阶段").expect("a stage heading")].width();
    let mut at_head = 0;
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((col, glossed)) = stage_at(line) else {
            continue;
        };
        assert!(
            glossed,
            "{name}: the gloss is not where the stage column ends: {line}"
        );
        at_head += usize::from(col == head_at);
        // A longer time ("slept 49.8 ms") widens its column and moves what follows.
        assert!(
            col >= head_at,
            "{name}: the stage starts left of its heading: {line}"
        );
    }
    assert!(at_head > 5, "{name}: few lines under the stage heading");

    let mut args = run.to_vec();
    args.extend(["--lang", "zh-CN", "--color", "never", "--width", "80"]);
    let text = String::from_utf8(run_ok(&args)).unwrap();
    for line in text.lines() {
        assert!(line.width() <= 80, "{name}: wider than 80 columns: {line}");
    }
    assert!(
        text.contains("① 数据准备") || text.contains("①+② 准备+复制"),
        "{name}"
    );
    assert!(text.contains("── 小结："), "{name}");
}
