//! The readiness models (select, poll, epoll, portable): what their traces must show.

mod util;

use serde_json::Value;

const SLOW_READER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/slow-reader.scenario");
const CROWD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/crowd.scenario");

fn trace(args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = util::run(&all);
    (
        out.status.code(),
        util::events(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok_trace(args: &[&str]) -> Vec<Value> {
    let (code, events, err) = trace(args);
    assert_eq!(code, Some(0), "{args:?}: {err}");
    assert_eq!(util::summary(&events)["failures"], 0, "{args:?}");
    events
}

fn calls<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "syscall" && e["call"] == name)
        .collect()
}

fn s<'a>(e: &'a Value, field: &str) -> &'a str {
    e[field].as_str().unwrap_or("")
}

/// `[3 5 6]` → 3 descriptors.
fn set_len(set: &str) -> usize {
    set.trim_matches(|c| c == '[' || c == ']')
        .split_whitespace()
        .count()
}

#[test]
fn select_says_how_many_it_scanned_to_find_how_many_ready() {
    let events = ok_trace(&["select"]);
    let selects = calls(&events, "select");
    assert!(selects.len() >= 5);
    for e in selects.iter().filter(|e| !e["ret"].is_null()) {
        // args: "nfds, [read set], [write set], NULL, NULL"
        let args = s(e, "args");
        let sets: Vec<&str> = args.split(", ").collect();
        let scanned = set_len(sets[1]) + set_len(sets[2]);
        assert_eq!(e["watched"].as_u64(), Some(scanned as u64), "{args}");
        let ret = e["ret"].as_u64().unwrap();
        let note = s(e, "note");
        assert!(
            note.contains(&format!(
                "we test {scanned} bits with FD_ISSET to find {ret} ready"
            )),
            "{note}"
        );
        // nfds is one more than the highest descriptor in the sets.
        assert!(note.contains(&format!("checked {} descriptor slots", sets[0])));
    }
    let s = util::summary(&events);
    assert!(s["wakeups"].as_u64() > Some(0));
    assert_eq!(s["refused"], 0);
}

#[test]
fn poll_shows_the_array_size_against_the_ready_count() {
    let events = ok_trace(&["poll", "--scenario", CROWD]);
    let polls: Vec<_> = calls(&events, "poll")
        .into_iter()
        .filter(|e| !e["ret"].is_null())
        .collect();
    assert!(!polls.is_empty());
    let mut biggest = 0;
    for e in polls {
        // args: "[{fd=3, events=POLLIN}, …], N, -1"
        let args = s(e, "args");
        let n: u64 = args.rsplit(", ").nth(1).unwrap().parse().unwrap();
        assert_eq!(e["watched"].as_u64(), Some(n), "{args}");
        assert!(e["ret"].as_u64().unwrap() <= n);
        assert!(
            s(e, "note").contains(&format!("checked all {n} entries")),
            "{}",
            s(e, "note")
        );
        biggest = biggest.max(n);
    }
    // The crowd: four clients and the listener in one array.
    assert_eq!(biggest, 5);
}

/// The array outlives each call: a `poll` says how many entries the process wrote since the
/// last one, which in the crowd (no backpressure, no stuck echo) is exactly the entries added
/// by accepts and replaced by closes, and the listener's at the start.
#[test]
fn poll_keeps_its_array_and_writes_only_what_changed() {
    let events = ok_trace(&["poll", "--scenario", CROWD]);
    let mut clients = std::collections::HashSet::new();
    let mut written = 1;
    let mut unchanged = 0;
    for e in events
        .iter()
        .filter(|e| e["kind"] == "syscall" && e["actor"] == "server")
    {
        match s(e, "call") {
            "accept4" if e["ret"].as_i64().is_some() => {
                clients.insert(e["ret"].as_i64());
                written += 1;
            }
            "close" if clients.remove(&e["fd"].as_i64()) => written += 1,
            "poll" if !e["ret"].is_null() => {
                assert!(!s(e, "args").contains("POLLOUT"), "{}", s(e, "args"));
                assert_eq!(e["rewritten"].as_u64(), Some(written), "{}", s(e, "note"));
                assert!(s(e, "note").contains(&format!("({written} written by us")));
                unchanged += usize::from(written == 0);
                written = 0;
            }
            _ => {}
        }
    }
    assert!(unchanged > 0, "no poll found its array as it had left it");
    let sum = util::summary(&events);
    assert!(sum["rewritten"].as_u64() < sum["watched"].as_u64(), "{sum}");
}

#[test]
fn epoll_edge_triggered_drains_every_ready_socket_to_eagain() {
    let events = ok_trace(&["epoll", "--edge", "--scenario", CROWD]);
    let ctls = calls(&events, "epoll_ctl");
    assert!(
        ctls.iter()
            .filter(|e| s(e, "args").starts_with("EPOLL_CTL_ADD"))
            .all(|e| s(e, "args").contains("EPOLLET")),
        "every registration is edge-triggered"
    );
    // Between two waits, a socket that gave data is read again until EAGAIN (or EOF).
    let mut open: Vec<i64> = Vec::new();
    let mut drained = 0;
    for e in events.iter().filter(|e| e["kind"] == "syscall") {
        match s(e, "call") {
            "epoll_pwait" => assert!(open.is_empty(), "not drained before waiting: {open:?}"),
            "recvfrom" => {
                let fd = e["fd"].as_i64().unwrap();
                if e["ret"].as_i64().is_some_and(|n| n > 0) {
                    if !open.contains(&fd) {
                        open.push(fd);
                    }
                } else {
                    if e["errno"] == "EAGAIN" {
                        drained += 1;
                    }
                    open.retain(|&f| f != fd);
                }
            }
            "accept4" if e["errno"] == "EAGAIN" => drained += 1,
            _ => {}
        }
    }
    assert!(drained >= 8, "EAGAINs that ended a drain: {drained}");
    // Level-triggered (the default) reads once per event: no EAGAIN on recvfrom at all.
    let level = ok_trace(&["epoll", "--scenario", CROWD]);
    assert!(
        calls(&level, "recvfrom")
            .iter()
            .all(|e| e["errno"].is_null())
    );
    assert!(
        calls(&level, "epoll_ctl")
            .iter()
            .all(|e| !s(e, "args").contains("EPOLLET"))
    );
}

#[test]
fn select_refuses_descriptors_past_fd_setsize_and_keeps_serving() {
    let (code, events, err) = trace(&["select", "--idle", "1100"]);
    // Documented: the scenario's own clients arrive after the idle crowd, get descriptors past
    // the wall and are refused: each says so in its lane, and the run passes (exit 0).
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("the server failed"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let refused: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "syscall" && e["refused"] == true)
        .collect();
    assert!(refused.len() >= 70, "refused {}", refused.len());
    for e in &refused {
        assert_eq!(e["call"], "close");
        assert!(e["fd"].as_i64().unwrap() >= 1024);
        assert!(
            s(e, "note").contains("FD_SETSIZE (1024)"),
            "{}",
            s(e, "note")
        );
    }
    // select kept waiting on the connections below the wall, and never on one past it.
    let selects = calls(&events, "select");
    let last = selects.last().unwrap();
    assert!(last["watched"].as_u64().unwrap() > 1000);
    assert!(selects.iter().all(|e| {
        s(e, "args")
            .split(", ")
            .next()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            <= 1024
    }));
    let turned_away: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "client" && e["call"] == "refused")
        .map(|e| s(e, "client").to_string())
        .collect();
    assert_eq!(
        turned_away,
        ["A", "B"],
        "the scenario's clients, each told once"
    );
    let s = util::summary(&events);
    assert_eq!(s["refused"].as_u64(), Some(refused.len() as u64));
    assert_eq!(s["clients_refused"], 2);
    assert_eq!(s["failures"], 0);
    assert!(
        s["notice"][1]
            .as_str()
            .unwrap()
            .starts_with("the FD_SETSIZE wall")
    );
}

#[test]
fn a_blocking_server_gets_a_clear_error_for_an_idle_crowd_it_cannot_accept() {
    // It accepts one connection and sleeps reading it; the crowd stops with the backlog full
    // (not past it, where the kernel would drop SYNs) and says why.
    let (code, _, err) = trace(&["blocking", "--idle", "300"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "idle connection #130 of 300: the server has accepted 1 and left 128 waiting for 3s: \
             it is not accepting; --idle is meant for the readiness models"
        ),
        "{err}"
    );
}

#[test]
fn select_below_the_wall_serves_everyone_with_a_crowd() {
    let events = ok_trace(&["select", "--idle", "1000"]);
    let s = util::summary(&events);
    assert_eq!(s["refused"], 0);
    assert_eq!(s["echoes_ok"], 2);
    assert!(s["max_fd"].as_i64().unwrap() < 1024);
    assert!(s["max_fd"].as_i64().unwrap() > 1000);
}

#[test]
fn slow_reader_fills_the_send_buffer_and_asks_for_writability() {
    for model in ["select", "poll", "epoll"] {
        let events = ok_trace(&[model, "--scenario", SLOW_READER, "--read-size", "65536"]);
        let sends = calls(&events, "sendto");
        let short = sends.iter().any(|e| {
            e["errno"] == "EAGAIN"
                || e["ret"]
                    .as_i64()
                    .is_some_and(|n| n.to_string() != s(e, "args"))
        });
        assert!(short, "{model}: no partial send and no EAGAIN on sendto");
        let (interest, paused) = match model {
            "select" => {
                let sel = calls(&events, "select");
                let w = sel
                    .iter()
                    .any(|e| s(e, "args").split(", ").nth(2) != Some("[]"));
                // Backpressure: some select watched a connection for writing only.
                let p = sel.iter().any(|e| {
                    let a: Vec<&str> = s(e, "args").split(", ").collect();
                    let fds = |set: &str| -> Vec<String> {
                        set.trim_matches(|c| c == '[' || c == ']')
                            .split_whitespace()
                            .map(String::from)
                            .collect()
                    };
                    let read = fds(a[1]);
                    fds(a[2]).iter().any(|fd| !read.contains(fd))
                });
                (w, p)
            }
            "poll" => {
                let p = calls(&events, "poll");
                (
                    p.iter().any(|e| s(e, "args").contains("POLLOUT")),
                    p.iter().any(|e| s(e, "args").contains("events=POLLOUT}")),
                )
            }
            _ => {
                let c = calls(&events, "epoll_ctl");
                (
                    c.iter().any(|e| s(e, "args").contains("EPOLLOUT")),
                    c.iter().any(|e| s(e, "args").ends_with(", EPOLLOUT")),
                )
            }
        };
        assert!(
            interest,
            "{model}: never asked to be told about writability"
        );
        assert!(paused, "{model}: never stopped reading the slow reader");
    }
}

#[test]
fn portable_marks_the_calls_polling_makes_on_its_own() {
    let events = ok_trace(&["portable"]);
    let by_polling = |name: &str| {
        calls(&events, name)
            .into_iter()
            .filter(|e| e["by"] == "polling")
            .map(|e| e["count"].as_u64().unwrap() as usize)
            .sum::<usize>()
    };
    let waits = calls(&events, "epoll_pwait").len();
    assert!(waits > 0);
    assert_eq!(by_polling("epoll_pwait"), 0, "the wait is ours");
    assert_eq!(by_polling("timerfd_settime"), waits);
    assert_eq!(by_polling("read"), waits);
    assert_eq!(by_polling("eventfd2"), 1);
    assert_eq!(by_polling("timerfd_create"), 1);
    for e in events.iter().filter(|e| e["by"] == "polling") {
        assert!(s(e, "note").starts_with("polling's own:"), "{e}");
    }
    // Ours: one re-arming MOD after every event on a client or the listener.
    let rearm = calls(&events, "epoll_ctl")
        .into_iter()
        .filter(|e| e["by"].is_null() && s(e, "note").contains("oneshot"))
        .count();
    assert!(rearm >= 4, "re-arms: {rearm}");
    let s = util::summary(&events);
    let own: u64 = s["library_calls"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let marked: u64 = events
        .iter()
        .filter(|e| e["by"] == "polling")
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert_eq!(own, marked);
    assert!(s["notice"][0].as_str().unwrap().starts_with("polling made"));
}

/// `--idle 10000`: the crowd's client ends live in the harness's helper process, so the
/// server's process holds only its own ends and ten thousand fit a 20,000-descriptor limit.
#[test]
fn epoll_carries_ten_thousand_idle_connections() {
    let events = ok_trace(&["epoll", "--idle", "10000"]);
    let sum = util::summary(&events);
    assert_eq!(sum["echoes_ok"], 2);
    assert_eq!(sum["failures"], 0);
    assert_eq!(sum["accepted"], 10_002);
    // Only the server's ends (and the scenario's two clients, both ends) are in its table.
    let max_fd = sum["max_fd"].as_i64().unwrap();
    assert!(
        (10_002..10_100).contains(&max_fd),
        "highest descriptor {max_fd}"
    );
    assert!(events.iter().any(|e| e["actor"] == "harness"
        && s(e, "note").contains("10000 idle connections open")
        && s(e, "note").contains("helper process")));
}
