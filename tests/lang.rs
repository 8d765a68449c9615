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
