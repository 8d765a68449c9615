//! `iomodels bench`: short real runs against real server children. No timing is asserted, only
//! that the load ran, every echo was checked, and the outputs have their shape.

mod util;

use serde_json::Value;
use util::{models_here, run};

/// Two models this OS has that serve many connections (the first two non-blocking ones).
fn two_models() -> Vec<String> {
    models_here()
        .into_iter()
        .filter(|m| m != "blocking")
        .take(2)
        .collect()
}

#[test]
fn a_short_bench_verifies_every_echo_in_json() {
    let models = two_models();
    let mut args = vec!["bench", "-c", "2", "--messages", "100", "--format", "json"];
    args.extend(models.iter().map(String::as_str));
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["kind"], "bench");
    let results = doc["results"].as_array().expect("results");
    assert_eq!(results.len(), models.len());
    for (r, m) in results.iter().zip(&models) {
        assert_eq!(r["model"], m.as_str());
        // Closed loop with a message quota: exactly 2 × 100 echoes, each checked byte for byte.
        assert_eq!(r["requests"], 200, "{r}");
        assert_eq!(r["verified"], r["requests"], "{r}");
        assert_eq!(r["errors"].as_array().map(Vec::len), Some(0), "{r}");
        assert!(r["requests_per_s"].as_f64().unwrap() > 0.0);
        assert!(r["p50_us"].as_f64().unwrap() <= r["p99_us"].as_f64().unwrap());
    }
}

#[test]
fn blocking_is_measured_with_one_connection_and_csv_has_its_header() {
    let out = run(&[
        "bench",
        "blocking",
        "-c",
        "5",
        "--messages",
        "20",
        "--format",
        "csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    for field in [
        "model",
        "connections",
        "requests",
        "verified",
        "requests_per_s",
        "p50_us",
        "p99_us",
        "p999_us",
        "server_cpu_ms",
        "cpu_per_request_us",
    ] {
        assert!(header.contains(&field), "no {field} in {header:?}");
    }
    let row: Vec<&str> = lines.next().expect("a row").split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(col("model"), "blocking");
    assert_eq!(col("connections"), "1");
    assert_eq!(col("requests"), "20");
    assert_eq!(col("verified"), "20");
}

#[test]
fn scaling_with_tiny_steps_gives_rows_and_an_svg() {
    let model = &two_models()[0];
    let svg = std::env::temp_dir().join(format!("iomodels-scaling-{}.svg", std::process::id()));
    let out = run(&[
        "bench",
        "--scaling",
        model,
        "--active",
        "2",
        "--idle-steps",
        "0,10",
        "--messages",
        "20",
        "--format",
        "json",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let sweep = &doc["models"][0];
    assert_eq!(sweep["model"], model.as_str());
    let steps = sweep["steps"].as_array().expect("steps");
    let idle: Vec<u64> = steps.iter().map(|s| s["idle"].as_u64().unwrap()).collect();
    assert_eq!(idle, [0, 10]);
    for s in steps {
        assert_eq!(s["requests"], 40, "{s}");
        assert_eq!(s["verified"], 40, "{s}");
    }
    assert!(sweep["peak_rss_kb"].as_u64().unwrap() > 0);
    let text = std::fs::read_to_string(&svg).expect("the SVG was written");
    let _ = std::fs::remove_file(&svg);
    assert!(
        text.trim_start().starts_with("<svg"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(text.trim_end().ends_with("</svg>"));
    assert!(text.contains(model.as_str()), "the legend names the model");
}

#[test]
fn scaling_table_has_a_chart_and_unknown_peers_are_refused() {
    let model = &two_models()[0];
    let out = run(&[
        "bench",
        "--scaling",
        model,
        "--active",
        "2",
        "--idle-steps",
        "0,5",
        "--messages",
        "10",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("server CPU per echo"), "{text}");
    assert!(text.contains("peak RSS"), "{text}");

    let out = run(&["bench", "--peer", "nonsense", "--messages", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME=PROGRAM"));
}

/// A closed stdout (`iomodels bench | head -1`) ends the bench quietly: no panic, exit 0.
#[test]
fn a_closed_stdout_ends_the_bench_quietly() {
    for format in ["table", "csv", "json"] {
        let out = util::run_with_closed_stdout(&[
            "bench",
            "epoll",
            "-c",
            "2",
            "--messages",
            "20",
            "--format",
            format,
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{format}: {err}");
        assert_eq!(out.status.code(), Some(0), "{format}: {err}");
    }
}

/// `--width`: a table too wide for it is split in two that fit, every number whole.
#[test]
fn a_narrow_bench_table_splits_in_two_and_keeps_every_number_whole() {
    let models = two_models();
    let mut args = vec!["bench", "-c", "2", "--messages", "100", "--width", "82"];
    args.extend(models.iter().map(String::as_str));
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().all(|l| l.chars().count() <= 82),
        "a line is wider than 82:\n{text}"
    );
    let tops = text.lines().filter(|l| l.starts_with('┌')).count();
    assert_eq!(tops, 2, "two tables:\n{text}");
    for m in &models {
        assert!(
            text.lines()
                .any(|l| l.contains(m.as_str()) && l.contains("200/200")),
            "{m}'s 200 echoes, verified, in one cell:\n{text}"
        );
    }
}

/// `bench --app chat`: with a quota, every sender's every line reaches every other member,
/// each checked; with a duration, lines are delivered and no member is dropped.
#[test]
fn a_chat_bench_delivers_every_line_to_every_other_member() {
    let doc: Value = serde_json::from_slice(&util::run_ok(&[
        "bench",
        "--app",
        "chat",
        "epoll",
        "select",
        "--senders",
        "2",
        "--receivers",
        "3",
        "--messages",
        "30",
        "--format",
        "json",
    ]))
    .expect("one JSON document");
    assert_eq!(doc["app"], "chat");
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        // 2 senders × 30 lines, each to the 4 other members.
        assert_eq!(r["deliveries"], 2 * 30 * 4, "{r}");
        assert_eq!(r["dropped"].as_array().map(Vec::len), Some(0), "{r}");
        assert_eq!(r["errors"].as_array().map(Vec::len), Some(0), "{r}");
    }
    let doc: Value = serde_json::from_slice(&util::run_ok(&[
        "bench", "--app", "chat", "epoll", "-d", "0.3", "--format", "json",
    ]))
    .expect("one JSON document");
    let r = &doc["results"][0];
    assert!(r["deliveries"].as_u64() > Some(0), "{r}");
    assert!(r["deliveries_per_s"].as_f64() > Some(0.0), "{r}");
    assert_eq!(r["dropped"].as_array().map(Vec::len), Some(0), "{r}");
    assert_eq!(r["errors"].as_array().map(Vec::len), Some(0), "{r}");
}

#[test]
fn a_chat_bench_refuses_lines_the_room_refuses_and_leaves_blocking_out() {
    let out = run(&["bench", "--app", "chat", "epoll", "--size", "257"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("a chat line is at most 256 bytes"), "{err}");
    let out = run(&["bench", "--app", "chat", "blocking", "--messages", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("left out: `blocking` serves one client at a time"),
        "{err}"
    );
    let out = run(&["bench", "--senders", "2", "epoll"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The keys of every object in `v`, by where they are (`results.0.p50_us`, array indexes left
/// out): what a program reading the JSON relies on.
fn keys(v: &Value, at: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                let here = format!("{at}.{k}");
                out.insert(here.clone());
                keys(x, &here, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys(x, at, out)),
        _ => {}
    }
}

/// Where each `┆` and `│` of a table line is, in display columns.
fn rules(line: &str) -> Vec<usize> {
    let mut at = 0;
    let mut out = Vec::new();
    for c in line.chars() {
        if c == '┆' || c == '│' {
            out.push(at);
        }
        at += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    }
    out
}

/// `bench --lang zh-CN`: Chinese headers, title and notes, the columns aligned by display width
/// (a Chinese character takes two), split to fit a narrow width as in English; the JSON has the
/// English document's keys and its note in English.
#[test]
fn a_chinese_bench_has_chinese_headers_aligned_columns_and_the_english_json() {
    let args = ["bench", "-c", "2", "--messages", "20", "epoll", "blocking"];
    let zh = String::from_utf8(util::run_ok(&[&args[..], &["--lang", "zh-CN"]].concat())).unwrap();
    assert!(
        zh.starts_with("iomodels bench — 闭环负载，2 个连接"),
        "{zh}"
    );
    let head = zh.lines().nth(2).expect("the header");
    for h in [
        "模型",
        "连接数",
        "请求/s",
        "服务器 CPU ms",
        "各线程 ms",
        "已校验回显",
    ] {
        assert!(head.contains(h), "no {h} in {head}");
    }
    let rows: Vec<&str> = zh.lines().filter(|l| l.starts_with('│')).collect();
    assert_eq!(rows.len(), 3, "the header and two rows:\n{zh}");
    for r in &rows {
        assert_eq!(rules(r), rules(rows[0]), "columns out of line:\n{zh}");
    }
    assert!(
        zh.contains("blocking：一次只服务一个连接：用 1 个连接测量"),
        "{zh}"
    );
    assert!(
        zh.contains("每请求 CPU 是服务器的用户态加内核态时间"),
        "{zh}"
    );

    let narrow = String::from_utf8(util::run_ok(
        &[&args[..], &["--lang", "zh-CN", "--width", "70"]].concat(),
    ))
    .unwrap();
    assert_eq!(
        narrow.lines().filter(|l| l.starts_with('┌')).count(),
        2,
        "{narrow}"
    );
    for l in narrow.lines() {
        assert!(
            unicode_width::UnicodeWidthStr::width(l) <= 70,
            "wider than 70 columns: {l}\n{narrow}"
        );
    }

    let json = |lang: &str| -> Value {
        let out = util::run_ok(&[&args[..], &["--format", "json", "--lang", lang]].concat());
        serde_json::from_slice(&out).expect("one JSON document")
    };
    let (en, zh) = (json("en"), json("zh-CN"));
    let (mut en_keys, mut zh_keys) = Default::default();
    keys(&en, "", &mut en_keys);
    keys(&zh, "", &mut zh_keys);
    assert_eq!(en_keys, zh_keys);
    assert_eq!(
        zh["results"][1]["note"], "serves one connection at a time: measured with 1",
        "what programs read stays English"
    );
}

/// `bench --scaling --lang zh-CN`: the tables, the text chart and the SVG plot in Chinese.
#[test]
fn a_chinese_scaling_sweep_has_chinese_tables_chart_and_plot() {
    let model = &two_models()[0];
    let svg = std::env::temp_dir().join(format!("iomodels-scaling-zh-{}.svg", std::process::id()));
    let text = String::from_utf8(util::run_ok(&[
        "bench",
        "--scaling",
        model,
        "--active",
        "2",
        "--idle-steps",
        "0,10",
        "--messages",
        "20",
        "--lang",
        "zh-CN",
        "--plot",
        svg.to_str().unwrap(),
    ]))
    .unwrap();
    let plot = std::fs::read_to_string(&svg).expect("the SVG was written");
    let _ = std::fs::remove_file(&svg);
    assert!(text.contains("个活跃连接"), "{text}");
    assert!(text.contains("┆ 空闲 ┆"), "{text}");
    assert!(text.contains("持有的连接"), "{text}");
    assert!(text.contains("     10 个空闲\n"), "{text}");
    assert!(text.contains("图已写入"), "{text}");
    for s in [
        "服务器每次回显的 CPU",
        "p99 延迟",
        "空闲连接数（扫描的各步）",
        "CPU µs（对数刻度）",
    ] {
        assert!(plot.contains(s), "no {s} in the plot");
    }
}
