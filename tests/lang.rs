//! The zh-CN text (`--lang zh-CN`, or a Chinese locale): aligned by display width (a CJK
//! character takes two columns), chosen from the environment, refused in one line when unknown,
//! and never changing what programs read (the JSON's keys and values).

mod util;

use std::process::Command;

/// Every Linux model (and mode) in zh-CN is aligned by display width (see
/// `util::assert_zh_aligned`).
#[test]
fn the_zh_cn_trace_of_every_model_is_aligned() {
    for run in util::runs_here() {
        let run: Vec<&str> = run.iter().map(String::as_str).collect();
        util::assert_zh_aligned(&run);
    }
}

/// The language comes from the locale when no `--lang` says otherwise (LC_ALL first).
#[test]
fn a_chinese_locale_chooses_chinese_and_lang_wins() {
    let run = |vars: &[(&str, &str)], extra: &[&str]| {
        let mut c = Command::new(util::bin());
        c.args(["epoll", "--color", "never"])
            .args(extra)
            .env("NO_COLOR", "1")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("LANG");
        for (k, v) in vars {
            c.env(k, v);
        }
        String::from_utf8(c.output().unwrap().stdout).unwrap()
    };
    assert!(run(&[("LANG", "zh_CN.UTF-8")], &[]).contains("── 小结：epoll ──"));
    assert!(run(&[("LANG", "zh_CN.UTF-8"), ("LC_ALL", "C")], &[]).contains("── summary: epoll ──"));
    assert!(run(&[], &[]).contains("── summary: epoll ──"));
    assert!(run(&[("LANG", "zh_CN.UTF-8")], &["--lang", "en"]).contains("── summary: epoll ──"));
}

/// An unknown language is one line and exit code 2, for every command.
#[test]
fn an_unknown_lang_is_one_line() {
    for args in [
        &["epoll", "--lang", "fr"][..],
        &["compare", "--lang=zh-TW"],
        &["list", "--lang", ""],
    ] {
        let out = util::run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("--lang"), "{args:?}: {err}");
    }
}

/// What programs read does not change with the language: the JSON's keys, stages and calls.
#[test]
fn the_json_interface_is_the_same_in_chinese() {
    let en = util::events(&util::run_ok(&["epoll", "--format", "json"]));
    let zh = util::events(&util::run_ok(&[
        "epoll", "--format", "json", "--lang", "zh-CN",
    ]));
    let shape = |evs: &[serde_json::Value]| {
        let mut v: Vec<(String, String, String)> = evs
            .iter()
            .filter(|e| e["kind"] == "syscall")
            .map(|e| {
                (
                    e["call"].as_str().unwrap_or_default().to_string(),
                    e["stage"].as_str().unwrap_or_default().to_string(),
                    e.as_object()
                        .map(|o| o.keys().cloned().collect::<Vec<_>>().join(","))
                        .unwrap_or_default(),
                )
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(shape(&en), shape(&zh));
    assert!(zh.iter().any(|e| e["stage"] == "data-ready"));
    assert!(
        zh.iter()
            .any(|e| e["note"].as_str().is_some_and(|n| n.contains("从端口"))),
        "the notes people read are in Chinese"
    );
}

/// compare reads the runs' events, never their words: in Chinese its columns are as full.
#[test]
fn compare_in_chinese_shows_the_same_calls() {
    let zh = String::from_utf8(util::run_ok(&[
        "compare", "epoll", "poll", "--lang", "zh-CN", "--width", "100",
    ]))
    .unwrap();
    assert!(
        zh.contains("listener set up") || zh.contains("监听"),
        "{zh}"
    );
    assert!(zh.contains("epoll_pwait("), "{zh}");
    assert!(zh.contains("recvfrom("), "{zh}");
}

/// A report page (`--html`) and the JSON in one of its script elements.
fn report(args: &[&str]) -> (String, serde_json::Value, serde_json::Value) {
    let path = std::env::temp_dir().join(format!(
        "iomodels-report-{}-{}.html",
        std::process::id(),
        args.join("-")
    ));
    let mut all = args.to_vec();
    all.extend(["--html", path.to_str().unwrap()]);
    util::run_ok(&all);
    let html = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let script = |id: &str| -> serde_json::Value {
        let tag = format!("id=\"{id}\">");
        let start = html.find(&tag).unwrap_or_else(|| panic!("no #{id}")) + tag.len();
        serde_json::from_str(&html[start..start + html[start..].find("</script>").unwrap()])
            .unwrap()
    };
    let (data, texts) = (script("data"), script("texts"));
    (html, data, texts)
}

/// What a report's data holds whatever the language and the run's timing: every object's keys,
/// the lanes, and each call's name and stage.
fn data_shape(data: &serde_json::Value) -> Vec<String> {
    fn keys(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
                // A thread id (`by_thread`) differs from run to run.
                let k = if k.bytes().all(|b| b.is_ascii_digit()) {
                    "TID"
                } else {
                    k
                };
                out.push(format!("{at}.{k}"));
                keys(x, &format!("{at}.{k}"), out);
            }),
            serde_json::Value::Array(a) => a.iter().for_each(|x| keys(x, at, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    keys(data, "", &mut out);
    for run in data["runs"].as_array().unwrap() {
        for l in run["lanes"].as_array().unwrap() {
            out.push(format!("lane {} {}", l["name"], l["kind"]));
        }
        for c in run["calls"].as_array().unwrap() {
            out.push(format!("call {} {}", c["call"], c["stage"]));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `--html` in Chinese: the page says it is zh-CN and carries its texts in Chinese, while its
/// data (the runs' lanes, calls and stages, every key) is the English page's.
#[test]
fn a_chinese_report_has_chinese_texts_and_the_same_data() {
    let (en_html, en, en_texts) = report(&["epoll", "--lang", "en"]);
    let (zh_html, zh, zh_texts) = report(&["epoll", "--lang", "zh-CN"]);
    assert!(en_html.contains("<html lang=\"en\">"));
    assert!(zh_html.contains("<html lang=\"zh-CN\">"));
    assert!(zh_html.contains("<noscript>这份报告用 JavaScript 绘制时间线。</noscript>"));
    assert_eq!(en_texts["zoom-out"], "zoom out");
    assert_eq!(zh_texts["zoom-out"], "缩小");
    assert_eq!(zh_texts["notice"], "值得注意");
    assert_eq!(zh_texts["lane-client"], "客户端");
    assert_eq!(zh_texts["key-cpu-us"], "CPU (µs)");
    assert_eq!(
        en_texts["key-cpu-us"], "cpu_us",
        "English labels are the fields' names"
    );
    assert_eq!(zh_texts["took"], "耗时 {t}", "the page fills in the time");
    assert_eq!(zh_texts["lang"], "zh-CN");
    let ids = |t: &serde_json::Value| t.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(ids(&en_texts), ids(&zh_texts));
    assert_eq!(data_shape(&en), data_shape(&zh));
    assert!(
        zh["notice"][0]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c >= '\u{4e00}'),
        "what to notice is in Chinese: {}",
        zh["notice"]
    );

    let (html, data, texts) = report(&["compare", "epoll", "poll", "--lang", "zh-CN"]);
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert_eq!(texts["compare"], "iomodels compare：{models}");
    assert_eq!(texts["told"]["epoll"], "就绪通知");
    assert_eq!(data["runs"].as_array().unwrap().len(), 2);
}
