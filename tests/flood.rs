//! A trace that would flood the terminal: capped, with one line saying how much was left out,
//! while the summary still counts every call.

mod util;

/// One client echoing 64 KiB read a byte at a time: about four trace lines per byte.
fn flood_scenario(test: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("iomodels-{test}-{}.scenario", std::process::id()));
    std::fs::write(&path, "0ms A connect\n10ms A send 64KiB\n1000ms A close\n").unwrap();
    path
}

fn folded(line: &str) -> Option<u64> {
    let n = line
        .split("… ")
        .nth(1)?
        .strip_suffix(" more lines folded (the summary counts them all)")?;
    n.replace(',', "").parse().ok()
}

/// Runs epoll on the flood scenario, one byte per read, in `format`; it must pass.
fn flood(test: &str, format: &str) -> std::process::Output {
    let sc = flood_scenario(test);
    let out = util::run(&[
        "epoll",
        "--read-size",
        "1",
        "--scenario",
        sc.to_str().unwrap(),
        "--format",
        format,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_flood_of_json_stops_at_its_cap_and_the_summary_counts_everything() {
    let out = flood("json-flood", "json");
    let events = util::events(&out.stdout);
    // 100,000 events, then the line saying how many more there were, right before the
    // harness's own line that ends the scenario (always shown); then the teardown, the summary.
    let fold = events
        .iter()
        .position(|e| e["note"].as_str().and_then(folded).is_some())
        .expect("a fold line");
    let capped = events[..fold]
        .iter()
        .filter(|e| e["actor"] != "harness")
        .count();
    assert_eq!(capped, 100_000);
    assert_eq!(events[fold]["kind"], "info");
    let over = events[fold + 1]["note"].as_str().unwrap();
    assert!(over.contains("the scenario is over"), "{over}");
    let folds = events
        .iter()
        .filter(|e| e["note"].as_str().and_then(folded).is_some())
        .count();
    assert_eq!(folds, 1, "the teardown fits its own phase");
    let s = util::summary(&events);
    assert_eq!(s["bytes_in"], 65536);
    assert_eq!(s["bytes_out"], 65536);
    assert_eq!(
        (&s["echoes_ok"], &s["echo_bytes"]),
        (&1.into(), &65536.into())
    );
    let shown: u64 = events
        .iter()
        .filter(|e| e["kind"] == "syscall")
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert!(s["syscalls"].as_u64().unwrap() > shown);
}

#[test]
fn a_flood_of_text_stops_at_its_cap_with_one_line_saying_so() {
    let out = flood("text-flood", "text");
    let text = String::from_utf8_lossy(&out.stdout);
    let trace: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("── summary"))
        .collect();
    // Header, 5,000 lines (and the few "… blocks" lines of calls that slept), the fold, a gap.
    assert!(
        (5_003..5_100).contains(&trace.len()),
        "{} lines",
        trace.len()
    );
    let fold: Vec<usize> = (0..trace.len())
        .filter(|&i| folded(trace[i]).is_some())
        .collect();
    assert_eq!(fold.len(), 1);
    assert!(
        trace[fold[0] + 1].contains("the scenario is over"),
        "{}",
        trace[fold[0] + 1]
    );
    assert!(
        text.contains("65536 copied in by our recv calls, 0 by the kernel for us, 65536 sent back"),
        "{text}"
    );
}
