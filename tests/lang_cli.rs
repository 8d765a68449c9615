//! The command line in zh-CN: every argument's help, clap's own words and the usage errors are
//! Chinese; in English they are what they always were.

mod util;

/// Whether `s` has a CJK ideograph.
fn chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// `iomodels ARGS`'s stdout, which must succeed.
fn stdout(args: &[&str]) -> String {
    String::from_utf8(util::run_ok(args)).unwrap()
}

/// The help of each argument in a `--help` page: its heading line (`  -h, --help`,
/// `      --app <APP>`, `  <SHELL>`) and the indented lines under it.
fn arguments(page: &str) -> Vec<(String, String)> {
    let mut args: Vec<(String, String)> = Vec::new();
    let mut section = "";
    for line in page.lines() {
        if !line.starts_with(' ') {
            section = line;
        } else if !["选项", "参数", "Options", "Arguments"]
            .iter()
            .any(|h| section.starts_with(h))
        {
            continue;
        } else if line.starts_with("          ") {
            if let Some((_, help)) = args.last_mut() {
                help.push_str(line.trim());
            }
        } else if !line.trim().is_empty() {
            // `-h`'s pages have the help on the same line, after two spaces.
            let (arg, help) = line.trim().split_once("  ").unwrap_or((line.trim(), ""));
            args.push((arg.to_string(), help.trim().to_string()));
        }
    }
    args
}

const COMMANDS: &[&[&str]] = &[
    &[],
    &["blocking"],
    &["threads"],
    &["nonblocking"],
    &["select"],
    &["poll"],
    &["epoll"],
    &["reactors"],
    &["kqueue"],
    &["portable"],
    &["sigio"],
    &["uring"],
    &["aio"],
    &["posix-aio"],
    &["wsaevent"],
    &["apc"],
    &["iocp"],
    &["compare"],
    &["async"],
    &["bench"],
    &["list"],
    &["completions"],
    &["man"],
    &["help"],
];

/// In zh-CN every argument's help is Chinese (`<SHELL>`, which has none in English either,
/// aside), and so is every word clap itself would print in English.
#[test]
fn every_help_page_is_chinese_for_every_argument() {
    let english_words = [
        "Usage:",
        "Options:",
        "Commands:",
        "Arguments:",
        "[default:",
        "[possible values:",
        "Possible values:",
        "Print help",
        "Print version",
        "Print this message",
        "Examples:",
    ];
    for cmd in COMMANDS {
        for flag in ["--help", "-h"] {
            let mut args = cmd.to_vec();
            args.extend([flag, "--lang", "zh-CN"]);
            let page = stdout(&args);
            let listed = arguments(&page);
            // (clap's own `help` takes `--help` for a command's name.)
            if cmd != &["help"] {
                let english_page = stdout(&[cmd, &[flag][..]].concat());
                assert_eq!(
                    listed.len(),
                    arguments(&english_page).len(),
                    "{args:?}: the same arguments in both languages:\n{page}"
                );
            }
            for (arg, help) in listed {
                assert!(
                    chinese(&help) || arg.starts_with("<SHELL>"),
                    "{args:?}: {arg} has no Chinese help: {help:?}"
                );
            }
            for word in english_words {
                assert!(!page.contains(word), "{args:?}: {word:?} in\n{page}");
            }
            assert!(page.contains("用法：iomodels"), "{args:?}:\n{page}");
            // An example that says what it shows says it in Chinese.
            let examples = page.split("示例：").nth(1).unwrap_or("");
            for line in examples.lines().filter(|l| l.trim().contains("   ")) {
                assert!(chinese(line), "{args:?}: {line}");
            }
        }
    }
}

/// In English the help is clap's, the texts those of the message files: a few exact lines.
#[test]
fn the_english_help_is_unchanged() {
    let page = stdout(&["epoll", "--help"]);
    for line in [
        "Usage: iomodels epoll [OPTIONS]\n\nOptions:\n      --lang <LANG>\n          The language of what is printed for people: en or zh-CN (default: from LC_ALL, LC_MESSAGES\n",
        "          Possible values:\n          - echo: Each client's bytes come back to it\n          - chat: Each client's lines go to every other client\n          \n          [default: echo]\n",
        "      --port <PORT>\n          Port to listen on (0: a free one)\n\n",
        "  -h, --help\n          Print help (see a summary with '-h')\n\n  -V, --version\n          Print version\n\nExamples:\n  iomodels epoll --edge ",
    ] {
        assert!(page.contains(line), "{line:?} not in\n{page}");
    }
    let short = stdout(&["list", "-h"]);
    assert!(
        short.contains("      --format <FORMAT>  text for people, json for programs (one object per model and line)\n                         [default: text] [possible values: text, json]\n"),
        "{short}"
    );
    let top = stdout(&["--help"]);
    assert!(
        top.contains(
            "\n  help         Print this message or the help of the given subcommand(s)\n"
        ),
        "{top}"
    );
}

/// `help COMMAND` in zh-CN is `COMMAND --help`, as clap's own `help` is in English.
#[test]
fn help_names_a_command_in_either_language() {
    assert_eq!(
        stdout(&["--lang", "zh-CN", "help", "compare"]),
        stdout(&["compare", "--help", "--lang", "zh-CN"])
    );
    assert_eq!(stdout(&["help", "compare"]), stdout(&["compare", "--help"]));
}

/// A refusal: stderr's one line and the exit code 2, in both languages.
fn refused(args: &[&str], english: &str, chinese: &str) {
    for (lang, want) in [("en", english), ("zh-CN", chinese)] {
        let mut args = args.to_vec();
        args.extend(["--lang", lang]);
        let out = util::run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("{want}\n"),
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn usage_errors_are_one_line_in_either_language() {
    refused(
        &["epoll", "--frobnicate"],
        "error: unexpected argument '--frobnicate' found (see `iomodels --help`)",
        "错误：无法识别的参数 '--frobnicate'（见 `iomodels --help`）",
    );
    refused(
        &["epoll", "--format", "xml"],
        "error: invalid value 'xml' for '--format <FORMAT>' (see `iomodels --help`)",
        "错误：'--format <FORMAT>' 的值 'xml' 无效；可选值：text、json、perfetto（见 `iomodels --help`）",
    );
    refused(
        &["epoll", "--width", "10"],
        "error: invalid value '10' for '--width <N>': 10 is not in 40..=65535 (see `iomodels --help`)",
        "错误：'--width <N>' 的值 '10' 无效：10 不在 40..=65535 范围内（见 `iomodels --help`）",
    );
    refused(
        &["epoll", "--width", "abc"],
        "error: invalid value 'abc' for '--width <N>': invalid digit found in string (see `iomodels --help`)",
        "错误：'--width <N>' 的值 'abc' 无效：含有不是数字的字符（见 `iomodels --help`）",
    );
    refused(
        &["teleport"],
        "error: unrecognized subcommand 'teleport' (run `iomodels list` for the models)",
        "错误：无法识别的子命令 'teleport'（运行 `iomodels list` 查看有哪些模型）",
    );
    refused(
        &["epoll", "--serve", "--idle", "3"],
        "error: the argument '--serve' cannot be used with '--idle <N>' (see `iomodels --help`)",
        "错误：参数 '--serve' 不能与 '--idle <N>' 同时使用（见 `iomodels --help`）",
    );
}

/// An error of the run itself: `错误：` and the message in zh-CN, system-call and errno text as
/// the OS spells them; exit code 2 in both languages.
#[test]
fn run_errors_are_chinese_in_zh_cn() {
    let dir = std::env::temp_dir().join(format!("iomodels-lang-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.scenario");
    std::fs::write(&bad, "0ms A connect\n10ms A sned \"x\"\n").unwrap();
    let bad = bad.to_str().unwrap();
    refused(
        &["epoll", "--scenario", bad],
        &format!(
            "error: {bad}:2: unknown action `sned` (expected connect, send, close, reset, stop-reading, resume-reading, expect, expect-anytime, expect-drop)"
        ),
        &format!(
            "错误：{bad}:2：未知的动作 `sned`（应为 connect、send、close、reset、stop-reading、resume-reading、expect、expect-anytime、expect-drop 之一）"
        ),
    );
    let missing = dir.join("missing.scenario");
    let missing = missing.to_str().unwrap();
    refused(
        &["epoll", "--scenario", missing],
        &format!(
            "error: cannot read scenario file {missing}: No such file or directory (os error 2)"
        ),
        &format!("错误：无法读取场景文件 {missing}：No such file or directory (os error 2)"),
    );
    refused(
        &["compare", "nosuch"],
        "error: unknown model `nosuch` (run `iomodels list` for the models)",
        "错误：未知的模型 `nosuch`（运行 `iomodels list` 查看有哪些模型）",
    );
    refused(
        &["blocking", "--edge"],
        "error: --edge is epoll's edge-triggered mode (EPOLLET); `blocking` has no such mode",
        "错误：--edge 是 epoll 的边缘触发模式（EPOLLET）；`blocking` 没有这种模式",
    );
    refused(
        &["epoll", "--max-pending", "9Q"],
        "error: invalid value '9Q' for '--max-pending <BYTES>': `9Q` is not a byte count (e.g. 65536, 64K, 1M) (see `iomodels --help`)",
        "错误：'--max-pending <BYTES>' 的值 '9Q' 无效：`9Q` 不是字节数（例如 65536、64K、1M）（见 `iomodels --help`）",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `bench`'s refusals of its options, before any server starts: Chinese in zh-CN, the options'
/// names as they are; exit code 2 in both languages.
#[test]
fn bench_usage_errors_are_chinese_in_zh_cn() {
    refused(
        &["bench", "--messages", "0"],
        "error: --messages must be at least 1",
        "错误：--messages 至少为 1",
    );
    refused(
        &["bench", "--plot", "x.svg"],
        "error: --plot draws the --scaling sweep: add --scaling",
        "错误：--plot 画的是 --scaling 扫描的结果：请加上 --scaling",
    );
    refused(
        &["bench", "--senders", "2", "epoll"],
        "error: --senders and --receivers shape the chat's room: add --app chat",
        "错误：--senders 和 --receivers 决定聊天室的构成：请加上 --app chat",
    );
    refused(
        &["bench", "--app", "chat", "epoll", "--size", "1"],
        "error: --size 1: a chat line needs a byte besides its newline (an empty line goes nowhere)",
        "错误：--size 1：一行聊天除换行符外至少要有一个字节（空行不会发给任何人）",
    );
}

/// `list` in zh-CN: Chinese headings and availability, and every column where its heading
/// starts, measured in display columns (a CJK character takes two).
#[test]
fn list_is_chinese_and_aligned_by_display_width() {
    use unicode_width::UnicodeWidthStr;
    let page = stdout(&["list", "--lang", "zh-CN", "--color", "never"]);
    let mut lines = page.lines();
    let head = lines.next().unwrap();
    assert!(head.starts_with("模型 "), "{head}");
    let at = |line: &str, word: &str| line.find(word).map(|i| line[..i].width());
    let (figure, here, shows) = (
        at(head, "UNP 图").unwrap(),
        at(head, "本机可用？").unwrap(),
        at(head, "展示什么").unwrap(),
    );
    assert_eq!((figure, here, shows), (13, 22, 33), "{head}");
    let mut yes = 0;
    for line in lines {
        if let Some(i) = at(line, " 是 ") {
            yes += 1;
            assert_eq!(i + 1, here, "{line}");
            let summary = line[line.find(" 是 ").unwrap() + " 是 ".len()..].trim_start();
            assert_eq!(at(line, summary), Some(shows), "{line}");
            assert!(chinese(summary), "{line}");
        } else if let Some(i) = at(line, "否：") {
            assert_eq!(i, here, "{line}");
        }
    }
    assert!(yes > 3, "{page}");
    // English is what `scripts/gen-book` reads with awk (`$3 == "yes"`).
    let english = stdout(&["list", "--color", "never"]);
    assert!(
        english.starts_with("model        UNP fig. here?      what it shows\n"),
        "{english}"
    );
    assert!(
        english.contains("\nepoll        6.3      yes        epoll: "),
        "{english}"
    );
}

/// clap breaks lines only at spaces; the zh-CN help comes broken by display width, so that no
/// line of it (its examples aside) is wider than the terminal (`COLUMNS` when piped).
#[test]
fn the_zh_cn_help_fits_the_width() {
    use unicode_width::UnicodeWidthStr;
    for cmd in COMMANDS {
        for flag in ["--help", "-h"] {
            let mut args = cmd.to_vec();
            args.extend([flag, "--lang", "zh-CN"]);
            let out = std::process::Command::new(util::bin())
                .args(&args)
                .env("COLUMNS", "60")
                .output()
                .unwrap();
            let page = String::from_utf8(out.stdout).unwrap();
            let text = page.split("示例：").next().unwrap();
            for line in text.lines() {
                assert!(
                    line.width() <= 60,
                    "{args:?}: {} columns: {line}",
                    line.width()
                );
            }
        }
    }
}
