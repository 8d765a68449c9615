//! Hostile scenarios under every model: whatever the file says, a run ends by itself with exit
//! 0, 1 or 2 (never a panic, never a hang), says what was wrong in one line, and stays small in
//! memory. The corpus holds the reproducers of defects found by hand (huge times, a send that
//! waited for ever behind a reset, memory without bound from a 600-byte file, a BOM, a NUL).

#![cfg(target_os = "linux")]

mod util;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longer than any run of the corpus may take: its last step is at 100 ms, and the harness
/// gives up on a scenario 30 s after its last step.
const DEADLINE: Duration = Duration::from_secs(60);

/// Peak resident memory any one run may reach (KiB): a run holds what it echoes a chunk at a
/// time, never a whole payload.
const MAX_RSS_KIB: i64 = 256 << 10;

/// (name, scenario text, exit code, a piece of stderr that code comes with)
fn corpus() -> Vec<(&'static str, String, i32, &'static str)> {
    let classroom = include_str!("../demos/classroom.scenario");
    let mut flood = String::from("0ms A connect\n1ms A stop-reading\n");
    flood += &"1ms A send 64MiB\n".repeat(30);
    vec![
        (
            "exponent time",
            "0ms A connect\n1e20s A close\n".into(),
            2,
            "decimal number",
        ),
        (
            "huge ms",
            "0ms A connect\n99999999999999999999999ms A close\n".into(),
            2,
            "past the 120s",
        ),
        (
            "2^64 s",
            "0ms A connect\n18446744073709551616s A close\n".into(),
            2,
            "past the 120s",
        ),
        (
            "reset behind two blocked sends",
            "0ms A connect\n1ms A stop-reading\n1ms A send 64MiB\n1ms A send 64MiB\n100ms A reset\n"
                .into(),
            0,
            "",
        ),
        (
            "script ends while not reading",
            "0ms A connect\n1ms A stop-reading\n1ms A send 8MiB\n".into(),
            0,
            "",
        ),
        (
            "30 × 64 MiB",
            flood,
            2,
            "sends more than 128MiB in all",
        ),
        (
            "byte-order mark",
            format!("\u{feff}{classroom}"),
            0,
            "",
        ),
        ("CRLF", classroom.replace('\n', "\r\n"), 0, ""),
        (
            "NUL in a name",
            "0ms A\0B connect\n".into(),
            2,
            "client name `A\\0B`",
        ),
        ("empty", String::new(), 2, "no steps"),
    ]
}

/// Runs one model on one scenario (given on a file), within [`DEADLINE`].
fn run(model: &str, file: &std::path::Path) -> (Option<i32>, String) {
    let mut child = Command::new(util::bin())
        .args([model, "--format", "json", "--scenario"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run iomodels");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{model} {}: still running after {DEADLINE:?}",
                file.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("collect output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn hostile_scenarios_end_cleanly_under_every_model() {
    let dir = std::env::temp_dir().join(format!("iomodels-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let models = util::models_here();
    assert!(models.len() >= 3, "models here: {models:?}");
    for (i, (name, text, code, says)) in corpus().into_iter().enumerate() {
        let file = dir.join(format!("{i}.scenario"));
        std::fs::File::create(&file)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .unwrap();
        for model in &models {
            let (got, err) = run(model, &file);
            assert!(!err.contains("panicked"), "{model}, {name}: {err}");
            assert_eq!(got, Some(code), "{model}, {name}: {err}");
            assert!(err.contains(says), "{model}, {name}: {err}");
            if code == 2 {
                assert_eq!(err.lines().count(), 1, "{model}, {name}: one line: {err}");
                assert!(!err.contains('\0'), "{model}, {name}: raw NUL in {err:?}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    // The largest child this test waited for (ru_maxrss is in KiB on Linux).
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: a valid, writable rusage; RUSAGE_CHILDREN only reads this process's waited children.
    let ru = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, ru.as_mut_ptr()), 0);
        ru.assume_init()
    };
    eprintln!("hostile corpus: peak RSS of a run {} KiB", ru.ru_maxrss);
    assert!(
        ru.ru_maxrss < MAX_RSS_KIB,
        "a run reached {} KiB of memory",
        ru.ru_maxrss
    );
}

/// `--max-conns 1` with the classroom scenario: the second client is told `busy: …` and
/// turned away; that is the demo's expected outcome, reported as a refusal, not as an echo
/// failure with an errno, and the run passes.
#[test]
fn a_client_turned_away_is_a_refusal_not_a_failure() {
    for model in ["epoll", "threads", "poll"] {
        let out = util::run(&[model, "--max-conns", "1", "--format", "json"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{model}: {err}");
        assert!(!err.contains("nobody sent"), "{model}: {err}");
        assert!(!err.contains("os error"), "{model}: {err}");
        let events = util::events(&out.stdout);
        let refused: Vec<_> = events
            .iter()
            .filter(|e| e["kind"] == "client" && e["call"] == "refused")
            .collect();
        assert_eq!(refused.len(), 1, "{model}: one client turned away");
        assert_eq!(refused[0]["client"], "B", "{model}");
        let note = refused[0]["note"].as_str().unwrap();
        assert!(
            note.contains("\"busy: this server holds at most 1"),
            "{model}: {note}"
        );
        let s = util::summary(&events);
        assert_eq!(s["clients_refused"], 1, "{model}");
        assert_eq!(s["failures"], 0, "{model}");
        assert_eq!(s["echoes_ok"], 1, "{model}: A is served");
    }
}
