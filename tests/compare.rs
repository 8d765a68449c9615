//! `iomodels compare`: the table agrees with the models' own runs, and the figure's stage ①
//! states are the ones each model is defined by.

mod util;

use serde_json::Value;

fn compare_json(models: &[&str]) -> Value {
    let mut args = vec!["compare", "--format", "json"];
    args.extend_from_slice(models);
    let out = util::run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = util::events(&out.stdout);
    assert_eq!(lines.len(), 1, "one JSON document");
    lines.into_iter().next().unwrap()
}

fn row<'a>(cmp: &'a Value, model: &str) -> &'a Value {
    cmp["table"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == model)
        .unwrap()
}

fn state(cmp: &Value, model: &str) -> String {
    let fig = cmp["figure"].as_array().unwrap();
    let r = fig
        .iter()
        .find(|r| r["model"] == model)
        .unwrap_or_else(|| panic!("{model} in the figure"));
    r["stage1"].as_str().unwrap().to_string()
}

#[test]
fn table_matches_individual_runs() {
    let cmp = compare_json(&["blocking", "threads", "nonblocking"]);
    for model in ["blocking", "threads", "nonblocking"] {
        let own = util::run(&[model, "--format", "json"]);
        assert!(own.status.success());
        let events = util::events(&own.stdout);
        let s = util::summary(&events);
        let r = row(&cmp, model);
        assert_eq!(r["ok"], true);
        for (table, summary) in [
            ("bytes_by_process", "bytes_in"),
            ("bytes_by_kernel", "bytes_in_by_kernel"),
            ("max_open", "max_open"),
        ] {
            assert_eq!(r[table], s[summary], "{model}: {table}");
        }
        // The calls that do not spin are the same in every run of a model.
        let own_calls = s["syscalls"].as_u64().unwrap() - s["eagain"].as_u64().unwrap();
        let cmp_calls = r["syscalls"].as_u64().unwrap() - r["eagain"].as_u64().unwrap();
        assert_eq!(
            own_calls, cmp_calls,
            "{model}: calls that did not answer EAGAIN"
        );
    }
    // Side by side: one column per model, one cell per step plus the tail.
    let steps = cmp["steps"].as_array().unwrap().len();
    for (_, cells) in cmp["side_by_side"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].clone(), c[1].clone()))
    {
        assert_eq!(cells.as_array().unwrap().len(), steps + 1);
    }
}

/// Stage ①'s state as DESIGN.md's table defines it for each kind of model: blocked in a call,
/// asking again and again, or free while the kernel waits.
fn defined_state(kind: &str) -> &'static str {
    match kind {
        "blocking" | "threads" | "readiness" => "blocked",
        "polling" => "spinning",
        "signal" | "completion" => "free",
        other => panic!("a kind DESIGN.md's table does not define: {other}"),
    }
}

#[test]
fn figure_states_follow_the_definitions() {
    let cmp = compare_json(&[]);
    assert_eq!(cmp["figure_read"], "A");
    let here: Vec<util::Listed> = util::registry().into_iter().filter(|m| m.here).collect();
    for must in ["blocking", "threads", "nonblocking"] {
        assert!(
            here.iter().any(|m| m.name == must),
            "{must} runs everywhere"
        );
    }
    for m in &here {
        assert_eq!(
            state(&cmp, &m.name),
            defined_state(&m.kind),
            "{} ({})",
            m.name,
            m.kind
        );
    }
}

/// Without the kernel lane, each row's ② names the user-space time it is: a blocking recv (or
/// an AIO submission that slept through the wait) did both stages, so only send→return can be
/// timed; a readiness model's recv copies alone; a completion is timed from the send to the CQE.
#[test]
fn the_figure_says_what_its_stage_two_measures() {
    let cmp = compare_json(&[]);
    let fig = cmp["figure"].as_array().unwrap();
    for r in fig {
        let kind = util::registry()
            .into_iter()
            .find(|m| m.name == r["model"])
            .unwrap()
            .kind;
        let want = match kind.as_str() {
            // Its thread is told by aio_return, after a helper thread of glibc's copied.
            _ if r["model"] == "posix-aio" => "send-to-completion",
            "blocking" | "threads" => "send-to-return",
            "polling" | "readiness" | "signal" => "recv",
            _ => "send-to-completion",
        };
        assert_eq!(r["stage2_measures"], want, "{r}");
        assert!(
            r.get("kernel").is_none(),
            "no lane, no kernel decomposition: {r}"
        );
    }
}

#[test]
fn text_fits_the_width_and_markdown_has_the_table() {
    let out = util::run(&["compare", "--width", "100", "--color", "never"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text
        .lines()
        .filter(|l| l.starts_with('│') || l.starts_with('┌'))
    {
        assert!(line.chars().count() <= 110, "too wide: {line}");
    }
    assert!(text.contains("UNP figure 6.6"));
    let md = util::run(&["compare", "--format", "markdown", "blocking"]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.lines().any(|l| l.starts_with("| blocking")), "{md}");
}

#[test]
fn unknown_model_in_compare_is_one_line() {
    let out = util::run(&["compare", "blocking", "warp"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown model `warp`"));
}

#[test]
fn following_a_client_that_is_not_there_or_never_sends_is_one_line_and_exit_2() {
    let out = util::run(&["compare", "--read", "Z", "blocking"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err,
        "error: --read Z: scenario `classroom` has no client Z (its clients: A, B)\n"
    );
    assert!(out.stdout.is_empty());

    let sc = std::env::temp_dir().join(format!("iomodels-quiet-{}.scenario", std::process::id()));
    std::fs::write(
        &sc,
        "0ms A connect\n0ms C connect\n10ms A send \"x\\n\"\n50ms C close\n60ms A close\n",
    )
    .unwrap();
    let out = util::run(&[
        "compare",
        "--read",
        "C",
        "--scenario",
        sc.to_str().unwrap(),
        "blocking",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let stem = sc.file_stem().unwrap().to_string_lossy();
    assert_eq!(
        err,
        format!(
            "error: --read C: client C sends nothing in scenario `{stem}`, so there is no read to \
             follow (clients that send: A)\n"
        )
    );
}

/// `iomodels async`: one row per model of figures 6.4 and 6.5 and per mode, each cell from its
/// run: POSIX AIO's thread sleeps in glibc's aio_suspend and a library's thread copies; Linux
/// AIO sleeps inside io_submit; a multishot recv gives more than one CQE per SQE.
#[test]
fn async_table_says_who_waited_and_who_copied() {
    let out = util::run(&["async", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = util::events(&out.stdout).remove(0);
    assert_eq!(doc["kind"], "async");
    let rows = doc["table"].as_array().unwrap();
    let row = |run: &str| {
        rows.iter()
            .find(|r| r["run"] == run)
            .unwrap_or_else(|| panic!("no row for {run}: {rows:?}"))
    };
    let here: Vec<String> = util::runs_here().iter().map(|r| r.join(" ")).collect();
    let text = |r: &Value, f: &str| r[f].as_str().unwrap().to_string();
    if here.contains(&"posix-aio".to_string()) {
        let r = row("posix-aio");
        assert!(
            text(r, "stage1_waited").contains("glibc aio_suspend"),
            "{r}"
        );
        assert!(
            text(r, "stage2_copied").starts_with("a library's thread"),
            "{r}"
        );
        assert_eq!(r["completions_per_submission"], 1.0, "{r}");
    }
    if here.contains(&"aio".to_string()) {
        let r = row("aio");
        assert!(
            text(r, "stage1_waited").contains("server in io_submit"),
            "{r}"
        );
        assert!(text(r, "stage2_copied").contains("inside io_submit"), "{r}");
    }
    if here.contains(&"uring --multishot".to_string()) {
        let r = row("uring --multishot");
        assert!(r["completions_per_submission"].as_f64() > Some(1.0), "{r}");
    }
    for r in rows {
        assert_eq!(r["ok"], true, "{r}");
        assert!(r["extra_threads"].is_null(), "no lane, no count: {r}");
        assert!(r["syscalls_per_echo"].as_f64() > Some(0.0), "{r}");
    }
}

/// The lines the clients of demos/chat.scenario expect: each `expect` step's payload, line by
/// line (the room delivers each to one member).
fn chat_expected_lines() -> u64 {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/chat.scenario");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some("expect"))
        .map(|l| l.matches("\\n").count() as u64)
        .sum()
}

/// `compare --app chat`: the models that chat each deliver every line the clients expect, none
/// dropped; a model that serves one client at a time is left out, saying why.
#[test]
fn compare_chat_counts_every_expected_delivery_and_leaves_blocking_out() {
    let models = ["blocking", "nonblocking", "select", "poll", "epoll"];
    let mut args = vec!["compare", "--app", "chat", "--format", "json"];
    args.extend(models);
    let out = util::run(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("left out though you named it: `blocking` serves one client at a time"),
        "{err}"
    );
    let cmp = util::events(&out.stdout).remove(0);
    assert_eq!(cmp["app"], "chat");
    let table = cmp["table"].as_array().unwrap();
    let listed: Vec<&str> = table.iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(listed, &models[1..]);
    let expected = chat_expected_lines();
    assert_eq!(expected, 11, "demos/chat.scenario changed: recount");
    for r in table {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["deliveries"], expected, "{r}");
        assert_eq!(r["dropped"], 0, "{r}");
        assert_eq!(r["lines"], 3, "three lines said to the room: {r}");
        // Every delivery left in a send; a send may carry several (a queue sent whole).
        let sends = r["sends"].as_u64().unwrap();
        assert!((1..=expected).contains(&sends), "{r}");
        assert!(r["peak_queue"].as_u64() > Some(0), "{r}");
    }
    // The figure follows A's first line to the room ("hi bob", 50 ms after the room's last
    // news to A), not its name: a readiness server is blocked through it.
    assert_eq!(cmp["figure_read"], "A");
    assert_eq!(state(&cmp, "epoll"), "blocked");
    assert!(row(&cmp, "epoll")["stage1_blocked_us"].as_u64() > Some(0));
    // Expect steps share the row of the step they follow: fewer rows than steps, one cell
    // per row plus the one before the first step.
    let steps = cmp["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| {
        s.as_str()
            .unwrap()
            .ends_with("B sends \"hello, room\\n\"; A, C expect lines")
    }));
    assert!(
        !steps
            .iter()
            .any(|s| s.as_str().unwrap().contains("· A expects"))
    );
    for side in cmp["side_by_side"].as_array().unwrap() {
        assert_eq!(side[1].as_array().unwrap().len(), steps.len() + 1);
    }
}

#[test]
fn compare_chat_with_only_models_that_cannot_chat_is_exit_2() {
    let out = util::run(&["compare", "--app", "chat", "blocking"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`blocking` serves one client at a time"),
        "{err}"
    );
    assert!(err.contains("none of the models named can chat"), "{err}");
    assert!(out.stdout.is_empty());
}

/// The text table puts the chat's own numbers first; echo's has none of them.
#[test]
fn compare_chat_text_shows_deliveries() {
    let out = util::run(&["compare", "--app", "chat", "--color", "never", "epoll"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("deliveries"), "{text}");
    assert!(
        text.contains("Client A's first line to the room (after its name)"),
        "{text}"
    );
    let echo = util::run(&["compare", "--color", "never", "epoll"]);
    assert!(!String::from_utf8_lossy(&echo.stdout).contains("deliveries"));
}
