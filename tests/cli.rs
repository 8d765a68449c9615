//! The command line: default runs, demos, errors (one line, exit 2), colour, and `--serve` with nc.

mod util;

use util::names;

use std::process::Command;

#[test]
fn every_model_runs_every_demo_byte_exact() {
    let demos: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/demos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scenario"))
        .collect();
    assert!(demos.len() >= 3);
    for model in util::models_here() {
        for demo in &demos {
            // The chat's demos are for --app chat (tests/robust.rs runs them on every model
            // that can chat).
            if demo
                .file_stem()
                .is_some_and(|s| s.to_string_lossy().starts_with("chat"))
            {
                continue;
            }
            let out = util::run(&[
                &model,
                "--format",
                "json",
                "--scenario",
                demo.to_str().unwrap(),
            ]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{model} {demo:?}: {err}");
            let events = util::events(&out.stdout);
            let sent: u64 = events
                .iter()
                .filter(|e| e["kind"] == "client" && e["call"] == "send")
                .map(|e| e["bytes"].as_u64().unwrap())
                .sum();
            let s = util::summary(&events);
            assert_eq!(s["failures"], 0, "{model} {demo:?}");
            // A client that resets gives up its echo (the others' are checked byte for byte).
            let resets = std::fs::read_to_string(demo)
                .unwrap()
                .lines()
                .any(|l| l.split('#').next().unwrap().split_whitespace().nth(2) == Some("reset"));
            let echoed = s["echo_bytes"].as_u64().unwrap();
            if resets {
                assert!(echoed <= sent, "{model} {demo:?}");
            } else {
                assert_eq!(echoed, sent, "{model} {demo:?}: every sent byte echoed");
            }
            assert!(sent > 0);
        }
    }
}

#[test]
fn classroom_shows_head_of_line_blocking_under_blocking() {
    let out = util::run(&["blocking", "--format", "json"]);
    assert!(out.status.success());
    let events = util::events(&out.stdout);
    // B's bytes were waiting in the kernel when the server finally reached B.
    let fionread: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "syscall" && e["call"] == names::IOCTL)
        .collect();
    assert_eq!(fionread.len(), 2);
    assert!(
        fionread[1]["note"]
            .as_str()
            .unwrap()
            .starts_with("6 bytes already waiting")
    );
    let s = util::summary(&events);
    assert_eq!(s["max_open"], 1);
    let longest = s["waits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["wait_us"].as_u64().unwrap())
        .max()
        .unwrap();
    // The scenario puts 200 ms between B's send and A's; the wait cannot be shorter than that.
    assert!(longest >= 150_000, "B waited {longest} µs");
}

#[test]
fn nonblocking_spins_are_collapsed_and_counted() {
    let out = util::run(&["nonblocking", "--format", "json"]);
    assert!(out.status.success());
    let events = util::events(&out.stdout);
    let collapsed: Vec<_> = events
        .iter()
        .filter(|e| e["errno"] == names::EAGAIN && e["count"].as_u64() > Some(1))
        .collect();
    assert!(!collapsed.is_empty());
    let s = util::summary(&events);
    let eagain: u64 = events
        .iter()
        .filter(|e| e["errno"] == names::EAGAIN)
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert_eq!(s["eagain"].as_u64(), Some(eagain));
    assert!(s["work"].as_u64().unwrap() > 0);
}

#[test]
fn threads_serve_each_client_on_its_own_thread() {
    let out = util::run(&["threads", "--format", "json"]);
    assert!(out.status.success());
    let events = util::events(&out.stdout);
    let clones: Vec<i64> = events
        .iter()
        .filter(|e| e["call"] == names::SPAWN)
        .map(|e| e["ret"].as_i64().unwrap())
        .collect();
    assert_eq!(clones.len(), 2);
    for tid in clones {
        assert!(
            events
                .iter()
                .any(|e| e["tid"] == tid && e["call"] == names::RECV),
            "thread {tid} reads"
        );
    }
}

fn one_line_error(args: &[&str], needle: &str) {
    let out = util::run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
}

/// An error reported to a stderr nobody reads any more (`iomodels … 2>&1 | head`) still ends
/// with its exit code, not a panic about the broken pipe (exit code 101).
#[test]
fn a_closed_stderr_does_not_turn_an_error_into_a_panic() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = Command::new(util::bin())
        .args(["blocking", "--scenario", "no/such/file.scenario"])
        .stdout(std::process::Stdio::null())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    one_line_error(&["teleport"], "iomodels list");
    one_line_error(&["blocking", "--format", "xml"], "xml");
    one_line_error(&["blocking", "--port", "99999"], "99999");
    one_line_error(&["blocking", "--bind", "not-an-ip"], "not-an-ip");
    one_line_error(
        &["blocking", "--scenario", "/no/such/file"],
        "cannot read scenario",
    );
    let bad = std::env::temp_dir().join(format!("bad-{}.scenario", std::process::id()));
    std::fs::write(&bad, "0ms A connect\n# fine so far\n5ms A shout \"x\"\n").unwrap();
    one_line_error(
        &["blocking", "--scenario", bad.to_str().unwrap()],
        ":3: unknown action `shout`",
    );
    std::fs::remove_file(bad).unwrap();
    // A busy port: hold one, then ask for it.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    one_line_error(&["blocking", "--port", &port], "already in use");
    // An address that is not this machine's: a warning about leaving loopback, then the error.
    let out = util::run(&["blocking", "--bind", "192.0.2.1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].starts_with("warning: binding 192.0.2.1 exposes"),
        "{err}"
    );
    assert!(
        lines[1].starts_with("error: cannot bind 192.0.2.1:0: that address is not on this machine"),
        "{err}"
    );
    assert_eq!(lines.len(), 2, "{err}");
}

#[test]
fn no_colour_when_not_a_terminal() {
    let out = Command::new(util::bin())
        .arg("blocking")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!out.stdout.contains(&0x1b), "escape codes in piped output");
    let out = util::run(&["blocking", "--color", "always"]);
    assert!(out.stdout.contains(&0x1b));
}

#[test]
fn help_and_list() {
    let out = util::run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Examples:"));
    // Each model's line is its own summary, with its figure.
    assert!(
        help.contains("one client at a time; every call sleeps until it is done (UNP fig. 6.1)"),
        "{help}"
    );
    let list = String::from_utf8_lossy(&util::run(&["list"]).stdout).into_owned();
    for m in ["blocking", "threads", "nonblocking"] {
        assert!(
            list.lines().any(|l| l.starts_with(m) && l.contains("yes")),
            "{list}"
        );
    }
}

/// Unix only: it stops the server with SIGINT (under Wine there is no console to send Ctrl-C
/// through; `tests/robust.rs` says more) and talks to it with `nc`.
#[cfg(unix)]
#[test]
fn serve_mode_echoes_for_nc_and_stops_on_ctrl_c() {
    use std::process::Stdio;
    if !util::have("nc") {
        return;
    }
    // `timeout` bounds the test if the server never stops; it passes our SIGINT on to it.
    let mut server = Command::new("timeout")
        .args([
            "-k",
            "5",
            "30",
            util::bin(),
            "blocking",
            "--serve",
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = util::first_stderr_line(&mut server);
    let port = first.trim().rsplit(' ').next().unwrap().to_string();
    let nc = Command::new("timeout")
        .args([
            "10",
            "sh",
            "-c",
            &format!("printf 'hello nc\\n' | nc -N 127.0.0.1 {port}"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&nc.stdout), "hello nc\n");
    let kill = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = server.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let events = util::events(&out.stdout);
    assert!(
        events
            .iter()
            .any(|e| e["call"] == "recvfrom" && e["ret"] == 9)
    );
    assert_eq!(util::summary(&events)["accepted"], 1);
}

#[cfg(target_os = "linux")]
#[test]
fn models_of_other_oses_exit_2_and_say_what_to_run_here() {
    one_line_error(
        &["iocp"],
        "`iocp` needs Windows; this is linux. Run `iomodels uring` here instead",
    );
    one_line_error(
        &["kqueue"],
        "`kqueue` needs macOS, FreeBSD, NetBSD, OpenBSD; this is linux. Run `iomodels epoll` here instead",
    );
    let list = String::from_utf8_lossy(&util::run(&["list"]).stdout).into_owned();
    for (m, os) in [("iocp", "no: Windows"), ("kqueue", "no: macOS")] {
        assert!(
            list.lines().any(|l| l.starts_with(m) && l.contains(os)),
            "{list}"
        );
    }
}

#[test]
fn bad_limits_are_one_line_and_exit_2() {
    one_line_error(&["poll", "--max-conns", "0"], "--max-conns");
    one_line_error(&["poll", "--max-conns", "lots"], "lots");
    one_line_error(&["poll", "--max-pending", "0"], "between 1 byte and 1G");
    one_line_error(&["poll", "--max-pending", "12Q"], "not a byte count");
    one_line_error(
        &["poll", "--max-buffer-total", "2G"],
        "between 1 byte and 1G",
    );
    one_line_error(&["poll", "--max-fds", "3"], "--max-fds");
    // Above the current limit: it can only lower it.
    #[cfg(unix)]
    one_line_error(&["poll", "--max-fds", "1048576"], "can only lower it");
    // Windows has no per-process descriptor limit (so no EMFILE to survive either).
    #[cfg(windows)]
    one_line_error(
        &["poll", "--max-fds", "1024"],
        "--max-fds needs a Unix descriptor limit (RLIMIT_NOFILE); this is windows",
    );
    one_line_error(&["select", "--port", "-1"], "-1");
    // Good values run.
    let out = util::run(&[
        "poll",
        "--max-conns",
        "5",
        "--max-pending",
        "64K",
        "--max-buffer-total",
        "1M",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A closed stdout (`iomodels list | head -1`) ends a command quietly, as it ends a model run:
/// no panic (exit code 101), no "Broken pipe" error.
#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    for args in [
        &["list"][..],
        &["compare", "blocking"][..],
        &["blocking"][..],
    ] {
        let out = util::run_with_closed_stdout(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

#[test]
fn subcommands_print_the_version() {
    for sub in ["blocking", "compare", "list", "bench"] {
        let out = util::run(&[sub, "--version"]);
        assert_eq!(out.status.code(), Some(0), "{sub}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")),
            "{sub}"
        );
    }
}

#[test]
fn flags_that_mean_nothing_here_are_refused() {
    one_line_error(&["poll", "--edge"], "--edge");
    one_line_error(&["blocking", "--edge"], "epoll");
    one_line_error(&["epoll", "--poll"], "--poll");
    one_line_error(&["uring", "--poll"], "aio");
    one_line_error(&["epoll", "--multishot"], "--multishot");
    one_line_error(&["poll", "--sqpoll"], "uring");
    one_line_error(&["epoll", "--workers", "2"], "iocp");
    one_line_error(&["iocp", "--workers", "65"], "1..=64");
    one_line_error(&["iocp", "--workers", "0"], "1..=64");
    one_line_error(
        &["blocking", "--serve", "--scenario", "demos/crowd.scenario"],
        "--scenario",
    );
    one_line_error(&["blocking", "--serve", "--idle", "3"], "--idle");
}

/// A chat needs a model that serves many clients at once, and a chat's scenario needs the chat.
#[test]
fn the_chat_is_refused_where_it_cannot_run() {
    // poll, not epoll: a model every OS has.
    one_line_error(&["blocking", "--app", "chat"], "one client at a time");
    one_line_error(&["aio", "--app", "chat"], "one client at a time");
    one_line_error(&["poll", "--app", "talk"], "invalid value 'talk'");
    one_line_error(
        &["poll", "--scenario", "demos/chat.scenario"],
        "run it with --app chat",
    );
    one_line_error(
        &[
            "poll",
            "--app",
            "chat",
            "--scenario",
            "demos/chat.scenario",
            "--serve",
        ],
        "--scenario",
    );
}

#[test]
fn port_errors_name_the_range_and_help_says_the_default_once() {
    one_line_error(&["blocking", "--port", "-1"], "0-65535");
    one_line_error(&["blocking", "--port", "99999"], "0-65535");
    let out = util::run(&["blocking", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    let port: String = help
        .split("--port")
        .nth(1)
        .unwrap()
        .split("--bind")
        .next()
        .unwrap()
        .into();
    assert_eq!(port.matches("free").count(), 1, "{port}");
    assert!(!port.contains("[default: 0]"), "{port}");
}

#[test]
fn each_model_has_its_own_examples() {
    let out = util::run(&["list"]);
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut seen = std::collections::BTreeSet::new();
    for model in list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
    {
        let help = String::from_utf8_lossy(&util::run(&[model, "--help"]).stdout).into_owned();
        let examples: Vec<&str> = help
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{model}: no examples:\n{help}"))
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert!((2..=4).contains(&examples.len()), "{model}: {examples:?}");
        for e in &examples {
            assert!(e.starts_with(&format!("iomodels {model}")), "{model}: {e}");
        }
        assert!(
            seen.insert(examples.join("\n")),
            "{model}: the same examples as another"
        );
    }
    let epoll = String::from_utf8_lossy(&util::run(&["epoll", "--help"]).stdout).into_owned();
    assert!(epoll.contains("iomodels epoll --edge"), "{epoll}");
    // A mode's flag is offered where it applies, and hidden elsewhere.
    let aio = String::from_utf8_lossy(&util::run(&["aio", "--help"]).stdout).into_owned();
    assert!(aio.contains("--poll"), "{aio}");
    assert!(!epoll.contains("--poll"), "{epoll}");
}

/// Runs `iomodels ARGS` with `input` on its stdin (written from a thread: the program may stop
/// reading, and exit, before it is all written).
fn run_with_stdin(args: &[&str], input: Vec<u8>) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(util::bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn scenario_from_stdin() {
    let classroom =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/demos/crowd.scenario")).unwrap();
    let out = run_with_stdin(&["threads", "--scenario", "-"], classroom);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines().next().unwrap().contains("scenario `stdin`"),
        "{text}"
    );
    // Bounded: more than 1 MiB is refused in one line, without reading it all.
    let huge = b"# filler\n".repeat(300_000);
    let out = run_with_stdin(&["threads", "--scenario", "-"], huge);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("1 MiB"), "{err}");
}

/// SIGTERM and SIGHUP end `--serve` the way Ctrl-C does: the listener closed, the summary out.
#[cfg(unix)]
#[test]
fn serve_mode_ends_cleanly_on_sigterm_and_sighup() {
    use std::process::Stdio;
    for sig in ["TERM", "HUP"] {
        let mut server = Command::new(util::bin())
            .args(["blocking", "--serve", "--format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let first = util::first_stderr_line(&mut server);
        assert!(first.starts_with("serving on"), "{first}");
        let kill = Command::new("kill")
            .args([&format!("-{sig}"), &server.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        // A bound, not a timing check: a server that ignores the signal must not hang the suite.
        let mut waited = 0;
        while server.try_wait().unwrap().is_none() && waited < 300 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            waited += 1;
        }
        if server.try_wait().unwrap().is_none() {
            let _ = server.kill();
        }
        let out = server.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "SIG{sig}");
        let events = util::events(&out.stdout);
        util::summary(&events);
        let listener = events
            .iter()
            .find(|e| e["call"] == "listen")
            .expect("a listen call")["fd"]
            .clone();
        assert!(
            events
                .iter()
                .any(|e| e["call"] == "close" && e["fd"] == listener),
            "SIG{sig}: the listener is not closed"
        );
    }
}

#[test]
fn completions_and_man_page_come_from_the_command_line() {
    let out = util::run(&["completions", "bash"]);
    assert!(out.status.success());
    let bash = String::from_utf8_lossy(&out.stdout);
    assert!(
        bash.contains("compare") && bash.contains("--scenario"),
        "{bash}"
    );
    // The idle crowd's helper process (`iomodels crowd`) is internal: nothing offers it.
    assert!(!bash.contains("crowd"), "{bash}");
    for shell in ["zsh", "fish"] {
        let out = util::run(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("read-size"),
            "{shell}"
        );
    }
    one_line_error(&["completions", "tcsh"], "tcsh");
    let out = util::run(&["man"]);
    assert!(out.status.success());
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(man.contains(".TH"), "{man}");
    assert!(!man.contains("iomodels\\-crowd"), "{man}");
    let mut subs = util::models_here();
    subs.extend(["compare", "bench", "list", "completions"].map(String::from));
    for sub in subs {
        assert!(
            // roff spells every hyphen `\-` (`posix\-aio`).
            man.contains(&format!("iomodels\\-{}", sub.replace('-', "\\-"))),
            "{sub} missing:\n{man}"
        );
    }
}

/// Every line of `iomodels ARGS` (with `env`), in columns (chars; the trace's symbols are one
/// column each).
fn widest_line(args: &[&str], env: &[(&str, &str)]) -> (usize, String) {
    let out = Command::new(util::bin())
        .args(args)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    (widest, text)
}

#[test]
fn width_is_honoured_by_compare_and_model_traces() {
    let (w, text) = widest_line(&["compare", "blocking", "--width", "80"], &[]);
    assert!(w <= 80, "{w} columns:\n{text}");
    for env in [&[][..], &[("COLUMNS", "80")][..]] {
        let args: &[&str] = if env.is_empty() {
            &["nonblocking", "--width", "80"]
        } else {
            &["nonblocking"]
        };
        let (w, text) = widest_line(args, env);
        assert!(w <= 80, "{args:?} {env:?}: {w} columns:\n{text}");
        // Still a trace: the calls are named, and the glosses are cut, not dropped.
        assert!(text.contains(&format!("{}(", names::RECV)), "{text}");
        assert!(text.contains('…'), "{text}");
    }
    // Piped without --width or COLUMNS: whole lines, as before (the book is made this way).
    let (w, _) = widest_line(&["nonblocking"], &[]);
    assert!(w > 120);
}

#[test]
fn color_means_the_same_everywhere() {
    for args in [
        &["compare", "blocking", "--color", "always"][..],
        &["list", "--color", "always"][..],
        &["blocking", "--color", "always"][..],
    ] {
        let out = util::run(args);
        assert!(out.status.success(), "{args:?}");
        assert!(out.stdout.contains(&0x1b), "{args:?}: no colour");
    }
    let out = util::run(&["list", "--color", "never"]);
    assert!(!out.stdout.contains(&0x1b));
    // bench takes it too (it parses everywhere; it runs only on Linux).
    let out = util::run(&["bench", "--color", "never", "--help"]);
    assert!(out.status.success());
}
