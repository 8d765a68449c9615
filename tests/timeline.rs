//! The timelines: `--format perfetto` follows the Trace Event Format's rules and holds the run
//! (every call, every send's arrow), and `--html` writes one self-contained page of the same
//! run. Counts are checked against the run's own JSON trace, written by the same run.

mod util;

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// A scratch file for this test, removed first.
fn scratch(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("iomodels-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// A string field of each element of an array (`lanes`' names, `runs`' models).
fn each<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|v| v[field].as_str().expect("a string"))
        .collect()
}

/// The data a report page embeds for its script.
fn page_data(path: &PathBuf) -> Value {
    let page = std::fs::read_to_string(path).expect("the page was written");
    let open = r#"<script type="application/json" id="data">"#;
    let start = page.find(open).expect("the embedded data") + open.len();
    let len = page[start..].find("</script>").expect("the data's end");
    serde_json::from_str(&page[start..start + len]).expect("the data is JSON")
}

/// A trace event's number field as µs.
fn num(ev: &Value, field: &str) -> f64 {
    ev[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is a number: {ev}"))
}

/// Checks the rules of the Trace Event Format's JSON Object Format that the viewers rely on.
/// Returns the events.
fn check_format(doc: &Value) -> Vec<Value> {
    assert_eq!(doc["displayTimeUnit"], "ms");
    let events = doc["traceEvents"].as_array().expect("traceEvents").clone();
    let mut processes = HashSet::new();
    let mut threads = HashMap::new();
    let mut sort = HashMap::new();
    for ev in events.iter().filter(|e| e["ph"] == "M") {
        let (pid, tid) = (ev["pid"].as_u64().unwrap(), ev["tid"].as_u64().unwrap());
        match ev["name"].as_str().unwrap() {
            "process_name" => {
                assert!(ev["args"]["name"].is_string(), "{ev}");
                processes.insert(pid);
            }
            "thread_name" => {
                threads.insert((pid, tid), ev["args"]["name"].as_str().unwrap().to_string());
            }
            "thread_sort_index" => {
                sort.insert((pid, tid), ev["args"]["sort_index"].as_i64().unwrap());
            }
            "process_sort_index" => {}
            other => panic!("unknown metadata {other}"),
        }
    }
    let mut slices: HashMap<(u64, u64), Vec<(f64, f64)>> = HashMap::new();
    let mut flows: HashMap<u64, Vec<&Value>> = HashMap::new();
    let mut asyncs: HashMap<u64, Vec<&str>> = HashMap::new();
    for ev in events.iter().filter(|e| e["ph"] != "M") {
        let ph = ev["ph"].as_str().expect("ph");
        assert!(["X", "i", "s", "f", "b", "e"].contains(&ph), "{ev}");
        let ts = num(ev, "ts");
        assert!(ts >= 0.0, "{ev}");
        let key = (ev["pid"].as_u64().unwrap(), ev["tid"].as_u64().unwrap());
        assert!(
            processes.contains(&key.0),
            "pid {} has no process_name",
            key.0
        );
        assert!(threads.contains_key(&key), "{key:?} has no thread_name");
        match ph {
            "X" => {
                let dur = num(ev, "dur");
                assert!(dur >= 0.0, "{ev}");
                assert!(ev["cat"].is_string(), "{ev}");
                slices.entry(key).or_default().push((ts, ts + dur));
            }
            "i" => assert_eq!(ev["s"], "t", "{ev}"),
            "s" | "f" => flows
                .entry(ev["id"].as_u64().unwrap())
                .or_default()
                .push(ev),
            _ => asyncs
                .entry(ev["id"].as_u64().unwrap())
                .or_default()
                .push(ph),
        }
    }
    // Complete events on one thread nest: none ends inside another it began inside of.
    for (key, mut list) in slices {
        list.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        let mut open: Vec<f64> = Vec::new();
        for (start, end) in list {
            while open.last().is_some_and(|&e| e <= start) {
                open.pop();
            }
            if let Some(&outer) = open.last() {
                assert!(
                    end <= outer,
                    "{key:?}: [{start}, {end}] crosses the end {outer}"
                );
            }
            open.push(end);
        }
    }
    for (id, pair) in &flows {
        let phases: Vec<&str> = pair.iter().map(|e| e["ph"].as_str().unwrap()).collect();
        assert_eq!(phases, ["s", "f"], "flow {id}");
        assert_eq!(pair[0]["cat"], pair[1]["cat"], "flow {id}");
        assert_eq!(pair[1]["bp"], "e", "flow {id}");
        assert!(
            num(pair[0], "ts") <= num(pair[1], "ts"),
            "flow {id} goes back in time"
        );
    }
    for (id, pair) in &asyncs {
        assert_eq!(pair, &["b", "e"], "async slice {id}");
    }
    // In each process, server threads are sorted before the clients.
    for pid in &processes {
        let index = |prefix: &str| {
            threads
                .iter()
                .filter(|((p, _), n)| p == pid && n.starts_with(prefix))
                .map(|(k, _)| sort[k])
                .collect::<Vec<_>>()
        };
        let (servers, clients) = (index("server"), index("client "));
        assert!(!servers.is_empty() && !clients.is_empty(), "{threads:?}");
        assert!(servers.iter().max() < clients.iter().min(), "{threads:?}");
    }
    events
}

/// Runs `model` with `--format perfetto --html`, checks the trace's format, and returns it with
/// the page's data (the same run).
fn perfetto_run(model: &str) -> (Vec<Value>, Value) {
    let page = scratch(&format!("{model}-perfetto.html"));
    let out = util::run_ok(&[
        model,
        "--format",
        "perfetto",
        "--html",
        page.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_slice(&out).expect("one JSON document");
    let events = check_format(&doc);
    let data = page_data(&page);
    let _ = std::fs::remove_file(&page);
    (events, data)
}

fn named<'a>(events: &'a [Value], ph: &str, name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["ph"] == ph && e["name"] == name)
        .collect()
}

#[test]
fn perfetto_holds_every_call_and_an_arrow_per_echoed_message() {
    // uring's copies are completions (operations, not system calls): the arrows end on them.
    let here = util::models_here();
    for model in ["blocking", "epoll", "nonblocking", "threads", "uring"] {
        if !here.iter().any(|m| m == model) {
            eprintln!("*** SKIPPED: {model} is not available here ***");
            continue;
        }
        let (events, data) = perfetto_run(model);
        let run = &data["runs"][0];
        let calls = run["calls"].as_array().unwrap();
        // Every call is one slice (complete, or an async pair where it crosses another).
        let slices = events
            .iter()
            .filter(|e| (e["ph"] == "X" || e["ph"] == "b") && e["cat"] != "client")
            .count();
        assert_eq!(slices, calls.len(), "{model}");
        let echoes = named(&events, "i", "echo").len();
        assert_eq!(echoes, 2, "{model}: the classroom's two messages");
        assert_eq!(named(&events, "i", "send").len(), echoes, "{model}");
        assert_eq!(named(&events, "s", "copied by").len(), echoes, "{model}");
        // Each arrow ends on a call that took bytes, and starts inside its message.
        for f in named(&events, "f", "copied by") {
            let (ts, tid) = (num(f, "ts"), &f["tid"]);
            let on = events.iter().find(|e| {
                e["ph"] == "X"
                    && &e["tid"] == tid
                    && num(e, "ts") <= ts
                    && ts <= num(e, "ts") + num(e, "dur")
                    && e["args"]["result"].as_i64().is_some_and(|n| n > 0)
            });
            assert!(on.is_some(), "{model}: flow end {f} on no copying call");
        }
        for s in named(&events, "s", "copied by") {
            let (ts, tid) = (num(s, "ts"), &s["tid"]);
            let message = named(&events, "X", "message")
                .into_iter()
                .find(|e| &e["tid"] == tid && num(e, "ts") == ts);
            assert!(message.is_some(), "{model}: flow start {s} in no message");
        }
        // Every lane is a named thread.
        let names: Vec<&str> = named(&events, "M", "thread_name")
            .iter()
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        for lane in each(&run["lanes"], "name") {
            assert!(
                names.iter().any(|n| n.starts_with(lane)),
                "{model}: {lane} in {names:?}"
            );
        }
        if model == "threads" {
            let servers = names.iter().filter(|n| n.starts_with("server")).count();
            assert!(
                servers >= 3,
                "a thread per client and the acceptor: {names:?}"
            );
        }
        // A folded run says how many calls it stands for, over its slice's length.
        let folded = events
            .iter()
            .filter(|e| e["ph"] == "X" && e["args"]["count"].as_u64() > Some(1));
        let mut runs = 0;
        for ev in folded {
            assert_eq!(ev["args"]["span_us"].as_f64(), Some(num(ev, "dur")), "{ev}");
            runs += 1;
        }
        assert!(
            model != "nonblocking" || runs > 0,
            "nonblocking's spins fold"
        );
        if model == "nonblocking" {
            // Its folded spin runs interleave over the same time: they cannot all nest.
            assert!(events.iter().any(|e| e["ph"] == "b"), "nonblocking's spins");
        }
    }
}

#[test]
fn the_page_holds_the_runs_every_call_and_needs_no_network() {
    let page = scratch("epoll.html");
    let out = util::run_ok(&[
        "epoll",
        "--format",
        "json",
        "--html",
        page.to_str().unwrap(),
    ]);
    let trace = util::events(&out);
    let html = std::fs::read_to_string(&page).unwrap();
    for remote in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(remote), "the page loads {remote}…");
    }
    let data = page_data(&page);
    let _ = std::fs::remove_file(&page);
    let run = &data["runs"][0];
    let boxes = trace
        .iter()
        .filter(|e| {
            ["syscall", "op", "library"].contains(&e["kind"].as_str().unwrap_or(""))
                || (e["kind"] == "info" && e["stage"] == "work")
        })
        .count();
    assert_eq!(run["calls"].as_array().unwrap().len(), boxes);
    assert_eq!(
        each(&run["lanes"], "name"),
        ["server", "client A", "client B", "harness"]
    );
    let echoes = trace.iter().filter(|e| e["call"] == "echo").count();
    assert_eq!(run["links"].as_array().unwrap().len(), echoes);
    let summary = trace.last().unwrap();
    assert_eq!(data["summary"]["syscalls"], summary["syscalls"]);
}

#[test]
fn compare_stacks_every_model_on_one_page() {
    let page = scratch("compare.html");
    util::run_ok(&[
        "compare",
        "blocking",
        "epoll",
        "--html",
        page.to_str().unwrap(),
    ]);
    let data = page_data(&page);
    let _ = std::fs::remove_file(&page);
    assert_eq!(each(&data["runs"], "model"), ["blocking", "epoll"]);
    assert_eq!(data["figure"]["rows"].as_array().unwrap().len(), 2);
    assert_eq!(data["table"].as_array().unwrap().len(), 2);
    // The page is aligned on the scenario's six steps, which both runs' clients acted out.
    assert_eq!(data["steps"].as_array().unwrap().len(), 6);
    for run in data["runs"].as_array().unwrap() {
        let steps = run["marks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["step"].is_u64())
            .count();
        assert_eq!(steps, 6, "{}", run["model"]);
    }
}

#[test]
fn an_unwritable_page_is_one_line_and_no_run() {
    for args in [
        &["epoll", "--html", "/nonexistent/dir/e.html"][..],
        &["compare", "epoll", "--html", "/nonexistent/dir/c.html"],
    ] {
        let out = util::run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: cannot write /nonexistent/dir/"),
            "{err}"
        );
        assert!(out.stdout.is_empty(), "no run started");
    }
}

#[test]
fn compare_as_perfetto_is_a_process_per_model() {
    let out = util::run_ok(&["compare", "threads", "epoll", "--format", "perfetto"]);
    let doc: Value = serde_json::from_slice(&out).expect("one JSON document");
    let events = check_format(&doc);
    let processes: Vec<&str> = named(&events, "M", "process_name")
        .iter()
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(processes, ["threads", "epoll"]);
    // Each model's two messages, each with its arrow.
    assert_eq!(named(&events, "s", "copied by").len(), 4);
}

#[cfg(target_os = "linux")]
#[test]
fn with_the_kernel_lane_each_arrow_says_the_kernel_saw_the_copy() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("\n*** SKIPPED: not root; the kernel lane needs root ***\n");
        return;
    }
    let out = util::run_ok(&["epoll", "--kernel", "--format", "perfetto"]);
    let doc: Value = serde_json::from_slice(&out).expect("one JSON document");
    let events = check_format(&doc);
    let threads: Vec<&str> = named(&events, "M", "thread_name")
        .iter()
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        threads.iter().filter(|n| **n == "kernel").count(),
        1,
        "{threads:?}"
    );
    let flows = named(&events, "s", "copied by");
    assert_eq!(flows.len(), 2);
    for s in flows {
        let how = s["args"]["how"].as_str().unwrap();
        assert!(how.starts_with("measured by the kernel lane"), "{how}");
    }
}
