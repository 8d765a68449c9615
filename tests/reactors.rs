//! reactors: many event loops on one port. What the traces must show, from the JSON events
//! alone, for each way the threads share the port — and only what is certain on any machine.
//!
//! Whether a loser of the herd reaches `accept4` is a race: the kernel wakes every thread
//! waiting on the shared listener, but a thread whose `epoll_wait` finds the queue already
//! empty sleeps on without returning. On two cores that can happen for every connection of a
//! run, so no test asserts that some `accept4` came up empty; they assert the setup that makes
//! the herd (one socket in every epoll), that each count of the summary is the one the events
//! give, and what cannot be otherwise (a listener of one's own never comes up empty).
#![cfg(target_os = "linux")]

mod util;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const HERD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/herd.scenario");

/// A run's JSON events; it must succeed with every echo checked.
fn run(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["reactors"];
    all.extend(args);
    all.extend(["--format", "json"]);
    let out = util::run(&all);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{all:?}: {err}");
    let events = util::events(&out.stdout);
    assert_eq!(util::summary(&events)["failures"], 0, "{all:?}");
    events
}

fn syscalls(events: &[Value]) -> impl Iterator<Item = &Value> {
    events.iter().filter(|e| e["kind"] == "syscall")
}

/// Per thread, recounted from the events: (accepted, wake-ups for the listener that ended in
/// EAGAIN or in accepting, those whose accepts all came up empty).
fn recount(events: &[Value]) -> BTreeMap<i64, (u64, u64, u64)> {
    let mut per: BTreeMap<i64, (u64, u64, u64)> = BTreeMap::new();
    let mut round: BTreeMap<i64, u64> = BTreeMap::new();
    for e in syscalls(events) {
        let tid = e["tid"].as_i64().unwrap();
        if e["listener"] == true {
            round.insert(tid, 0);
            continue;
        }
        if e["call"] != "accept4" {
            continue;
        }
        if e["ret"].is_i64() && e["port"].is_u64() {
            per.entry(tid).or_default().0 += 1;
            if let Some(k) = round.get_mut(&tid) {
                *k += 1;
            }
        } else if let Some(k) = round.remove(&tid) {
            let t = per.entry(tid).or_default();
            match e["errno"].as_str() {
                Some("EAGAIN") => {
                    t.1 += 1;
                    t.2 += u64::from(k == 0);
                }
                // The stop: a wake-up only if it accepted first.
                Some("EINVAL") => t.1 += u64::from(k > 0),
                _ => {
                    round.insert(tid, k);
                }
            }
        }
    }
    per
}

/// The summary's `by_thread`, as (accepted, wakeups, lost) per tid.
fn by_thread(events: &[Value]) -> BTreeMap<i64, (u64, u64, u64)> {
    let s = util::summary(events);
    s["by_thread"]
        .as_object()
        .expect("by_thread in the summary")
        .iter()
        .map(|(tid, t)| {
            let n = |f: &str| t[f].as_u64().unwrap();
            (
                tid.parse().unwrap(),
                (n("accepted"), n("wakeups"), n("lost")),
            )
        })
        .collect()
}

/// The threads that made system calls.
fn tids(events: &[Value]) -> BTreeSet<i64> {
    syscalls(events)
        .map(|e| e["tid"].as_i64().unwrap())
        .collect()
}

/// Each thread's `epoll_ctl(ADD)` of a listener (the first ADD of each epoll): (tid, fd, args).
fn listener_adds(events: &[Value]) -> Vec<(i64, i64, String)> {
    let mut seen = BTreeSet::new();
    syscalls(events)
        .filter(|e| e["call"] == "epoll_ctl")
        .filter(|e| e["args"].as_str().unwrap().starts_with("EPOLL_CTL_ADD"))
        .filter(|e| seen.insert(e["fd"].as_i64().unwrap()))
        .map(|e| {
            (
                e["tid"].as_i64().unwrap(),
                e["fd"].as_i64().unwrap(),
                e["args"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn share_puts_the_one_listener_in_every_threads_epoll_and_counts_its_herd_from_the_events() {
    let events = run(&["--threads", "4", "--scenario", HERD]);
    assert_eq!(tids(&events).len(), 4, "four reactor threads");
    // One listening socket: one socket() and listen(), and every other thread's listener a
    // duplicate of it.
    let count = |name: &str| syscalls(&events).filter(|e| e["call"] == name).count();
    assert_eq!((count("socket"), count("listen")), (1, 1));
    let dups: BTreeSet<i64> = syscalls(&events)
        .filter(|e| e["call"] == "fcntl" && e["args"] == "F_DUPFD_CLOEXEC, 0")
        .map(|e| e["ret"].as_i64().unwrap())
        .collect();
    let adds = listener_adds(&events);
    assert_eq!(adds.len(), 4, "{adds:?}");
    assert_eq!(
        adds.iter().map(|a| a.0).collect::<BTreeSet<_>>().len(),
        4,
        "each thread its own epoll: {adds:?}"
    );
    let lfd = syscalls(&events).find(|e| e["call"] == "listen").unwrap()["fd"]
        .as_i64()
        .unwrap();
    for (_, _, args) in &adds {
        let fd: i64 = args.split(", ").nth(1).unwrap().parse().unwrap();
        assert!(fd == lfd || dups.contains(&fd), "{args}: not the listener");
        assert!(
            args.ends_with(", EPOLLIN"),
            "plain EPOLLIN, no EPOLLEXCLUSIVE: {args}"
        );
    }
    let per = by_thread(&events);
    assert_eq!(
        per,
        recount(&events),
        "the summary counts what the events show"
    );
    assert_eq!(
        per.values().map(|t| t.0).sum::<u64>(),
        8,
        "eight connections"
    );
    let s = util::summary(&events);
    let notice: Vec<&str> = s["notice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let (woken, lost) = per.values().fold((0, 0), |(w, l), t| (w + t.1, l + t.2));
    let said = format!("{woken} wake-ups reported a listener for 8 connections");
    assert!(notice.iter().any(|n| n.starts_with(&said)), "{notice:?}");
    assert!(
        notice
            .iter()
            .any(|n| n.contains(&format!("{lost} of them found the queue already empty"))),
        "{notice:?}"
    );
}

#[test]
fn exclusive_registers_the_shared_listener_with_epollexclusive() {
    let events = run(&["--exclusive", "--threads", "3", "--scenario", HERD]);
    let adds = listener_adds(&events);
    assert_eq!(adds.len(), 3, "{adds:?}");
    for (_, _, args) in &adds {
        assert!(args.ends_with(", EPOLLIN|EPOLLEXCLUSIVE"), "{args}");
    }
    let per = by_thread(&events);
    assert_eq!(per, recount(&events));
    assert_eq!(per.values().map(|t| t.0).sum::<u64>(), 8);
}

/// 64 connections over 4 listeners: the kernel's hash puts all of them on one listener with
/// probability 4 × 4⁻⁶⁴, never in practice. And a thread's own listener is watched and
/// accepted from by that thread alone: a wake-up for it always finds a connection.
#[test]
fn reuseport_spreads_connections_over_the_threads_and_no_wake_up_is_for_nothing() {
    let mut text = String::new();
    for i in 0..64 {
        text.push_str(&format!("{}ms c{i} connect\n", i / 8));
    }
    for i in 0..64 {
        text.push_str(&format!("20ms c{i} send \"x{i}\\n\"\n40ms c{i} close\n"));
    }
    let path = std::env::temp_dir().join(format!(
        "iomodels-reuseport-{}.scenario",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    let events = run(&[
        "--reuseport",
        "--threads",
        "4",
        "--scenario",
        path.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&path);
    let count = |name: &str| syscalls(&events).filter(|e| e["call"] == name).count();
    assert_eq!(count("listen"), 4, "a listener per thread");
    let reuse = syscalls(&events)
        .filter(|e| e["call"] == "setsockopt" && e["args"] == "SOL_SOCKET, SO_REUSEPORT, 1")
        .count();
    assert_eq!(reuse, 4, "each set SO_REUSEPORT before its bind");
    let per = by_thread(&events);
    assert_eq!(per, recount(&events));
    assert_eq!(per.values().map(|t| t.0).sum::<u64>(), 64);
    let busy = per.values().filter(|t| t.0 > 0).count();
    assert!(busy > 1, "connections on more than one thread: {per:?}");
    assert!(
        per.values().all(|t| t.2 == 0),
        "no accept came up empty: {per:?}"
    );
    // Each accept is on the thread whose epoll watches that listener.
    let adds = listener_adds(&events);
    let owner: BTreeMap<i64, i64> = adds
        .iter()
        .map(|(tid, _, args)| (args.split(", ").nth(1).unwrap().parse().unwrap(), *tid))
        .collect();
    for e in syscalls(&events).filter(|e| e["call"] == "accept4") {
        let fd = e["fd"].as_i64().unwrap();
        assert_eq!(owner.get(&fd), e["tid"].as_i64().as_ref(), "{e}");
    }
}

/// A thread that cannot start its loop (out of descriptors) says so, stops the others, and
/// the run fails: never a silent death, never a hang.
#[test]
fn a_failed_reactor_fails_the_run_with_its_error() {
    for mode in ["--share", "--reuseport"] {
        let out = util::run(&[
            "reactors",
            mode,
            "--threads",
            "3",
            "--max-fds",
            "8",
            "--format",
            "json",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{mode}: {err}");
        assert!(err.contains("error: the server failed: "), "{mode}: {err}");
        assert!(err.contains("Too many open files"), "{mode}: {err}");
        let events = util::events(&out.stdout);
        let emfile = syscalls(&events).filter(|e| e["errno"] == "EMFILE").count();
        assert!(emfile >= 1, "{mode}: the failed call is in the trace");
        // Every thread that started ended with its teardown.
        let started = tids(&events);
        let ended: BTreeSet<i64> = syscalls(&events)
            .filter(|e| e["call"] == "getrusage")
            .map(|e| e["tid"].as_i64().unwrap())
            .collect();
        assert_eq!(started, ended, "{mode}");
    }
}

#[test]
fn threads_and_its_modes_are_refused_on_other_models() {
    let refused: [&[&str]; 5] = [
        &["epoll", "--threads", "2"],
        &["epoll", "--reuseport"],
        &["threads", "--exclusive"],
        &["reactors", "--pool", "2"],
        &["reactors", "--threads", "65"],
    ];
    for args in refused {
        let out = util::run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

/// `threads --pool 2` with four clients connecting at once: two threads take two clients,
/// the other two wait in the listen queue until a thread is free. What is measured: from a
/// client's connect to the end of the accept4 that took it.
#[test]
fn a_pool_of_two_makes_clients_three_and_four_wait_to_be_accepted() {
    let crowd = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/crowd.scenario");
    let out = util::run(&[
        "threads",
        "--pool",
        "2",
        "--scenario",
        crowd,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let events = util::events(&out.stdout);
    let s = util::summary(&events);
    assert_eq!(s["echoes_ok"], 8);
    // The pool is made before any accept: two clone3s, then no more.
    let calls: Vec<&Value> = syscalls(&events).collect();
    let clones = calls.iter().filter(|e| e["call"] == "clone3").count();
    assert_eq!(clones, 2);
    let main = calls[0]["tid"].as_i64().unwrap();
    assert!(
        calls
            .iter()
            .all(|e| e["call"] != "accept4" || e["tid"] != main),
        "the main thread never accepts"
    );
    // The clients' sends are at 40 and 120 ms and their closes at 200 ms: a client taken
    // only once another is done waited at least until that one's close.
    let mut queued: Vec<u64> = s["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["wait_us"].as_u64().unwrap())
        .collect();
    queued.sort_unstable();
    assert_eq!(queued.len(), 4);
    let closes: Vec<u64> = events
        .iter()
        .filter(|e| e["kind"] == "client" && e["call"] == "close")
        .map(|e| e["t_us"].as_u64().unwrap())
        .collect();
    let first_close = *closes.iter().min().unwrap();
    let connects: Vec<u64> = events
        .iter()
        .filter(|e| e["kind"] == "client" && e["call"] == "connect")
        .map(|e| e["t_us"].as_u64().unwrap())
        .collect();
    let last_connect = *connects.iter().max().unwrap();
    assert!(
        queued[2] >= first_close - last_connect,
        "the third client waited for a thread: {queued:?}"
    );
}
