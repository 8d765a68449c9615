//! What came before I/O completion ports, and the pool they allow, as Windows (under Wine, from
//! `scripts/cross-check windows`) runs them: the 64-event wall of `wsaevent`, the completion
//! routines of `apc` running inside the issuing thread's alertable wait, `iocp --workers`
//! sharing packets out over its workers, and each of them telling it in Chinese.
#![cfg(windows)]

mod util;

use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

/// Held by the wall's run and by the runs of every model in zh-CN, which are never at the same
/// time: under Wine, with other runs loading the machine, the wall's listener could miss its
/// FD_ACCEPT for the scripted clients (one time in three beside the zh-CN runs). The server now
/// looks again after 500 quiet ms; the turns keep the wall's clients within their timeouts.
static BUSY: Mutex<()> = Mutex::new(());

/// A run's JSON trace; the run must have passed.
fn trace(args: &[&str]) -> Vec<Value> {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = util::run(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = util::events(&out.stdout);
    assert_eq!(util::summary(&events)["failures"], 0, "{args:?}");
    events
}

fn is(ev: &Value, kind: &str, call: &str) -> bool {
    ev["kind"] == kind && ev["call"] == call
}

/// With 70 idle clients, one `WSAWaitForMultipleEvents` holds the listener's event and 63
/// connections' (64 in all), and every connection past that is refused with a line saying so;
/// the two scripted clients, arriving after the crowd, are among them.
#[test]
fn wsaevent_refuses_connections_past_64_events() {
    let _alone = BUSY.lock().unwrap_or_else(PoisonError::into_inner);
    let events = trace(&["wsaevent", "--idle", "70"]);
    let selected = events
        .iter()
        .filter(|e| is(e, "syscall", "WSAEventSelect") && e["ret"] == 0)
        .count();
    assert_eq!(selected, 64, "the listener and 63 connections");
    let waits: Vec<u64> = events
        .iter()
        .filter(|e| is(e, "syscall", "WSAWaitForMultipleEvents"))
        .map(|e| {
            e["args"]
                .as_str()
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(waits.iter().max(), Some(&64), "{waits:?}");
    let refused: Vec<&Value> = events.iter().filter(|e| e["refused"] == true).collect();
    // 70 idle + A + B accepted, 63 watched.
    assert_eq!(refused.len(), 9, "{refused:#?}");
    for r in &refused {
        assert!(r["note"].as_str().unwrap().contains("65th event"), "{r}");
    }
    assert_eq!(util::summary(&events)["clients_refused"], 2);
}

/// Every completion routine ran on the thread that started its operation, inside one of that
/// thread's alertable waits that then returned `WSA_WAIT_IO_COMPLETION` (192), with the error
/// and byte count Windows gave it; the received bytes are the scenario's.
#[test]
fn apc_routines_run_inside_the_issuing_threads_alertable_wait() {
    let events = trace(&["apc"]);
    let mut routines = 0;
    let mut bytes = 0;
    for (i, op) in events.iter().enumerate() {
        if op["kind"] != "op" {
            continue;
        }
        routines += 1;
        let key = &op["key"];
        let started = events[..i]
            .iter()
            .rev()
            .find(|e| e["kind"] == "syscall" && e["key"] == *key && e["call"] == op["call"])
            .unwrap_or_else(|| panic!("no call started {op}"));
        assert_eq!(op["tid"], started["tid"], "ran on the issuing thread: {op}");
        assert_eq!(op["inside"], "WSAWaitForMultipleEvents", "{op}");
        let wait = events[..i]
            .iter()
            .rev()
            .find(|e| is(e, "syscall", "WSAWaitForMultipleEvents") && e["tid"] == op["tid"])
            .unwrap();
        assert!(
            wait["args"].as_str().unwrap().ends_with("TRUE"),
            "alertable: {wait}"
        );
        assert_eq!(wait["ret"], 192, "WSA_WAIT_IO_COMPLETION: {wait}");
        let (from, to) = (
            wait["t_us"].as_u64().unwrap(),
            wait["t_us"].as_u64().unwrap() + wait["dur_us"].as_u64().unwrap(),
        );
        let at = op["t_us"].as_u64().unwrap();
        assert!(
            (from..=to).contains(&at),
            "inside the wait: {at} in {from}..={to}"
        );
        let args = op["args"].as_str().unwrap();
        assert!(
            args.starts_with("routine(dwError=0, cbTransferred="),
            "{args}"
        );
        if op["call"] == "WSARecv" {
            bytes += op["ret"].as_u64().unwrap();
        }
    }
    // Each client: two receives with data and the end (classroom: one send each), two sends.
    assert_eq!(routines, 6);
    assert_eq!(bytes, 12, "hello\\n and world\\n");
}

/// With `--workers 4` every packet is taken by one of the four workers, each packet's line on
/// the worker that dequeued it, one packet a wait; the port was made with
/// NumberOfConcurrentThreads = 4.
///
/// Which worker takes a packet is the port's choice (Windows: the most recent waiter; Wine
/// wakes its waiters first come, first served, and a woken waiter asks the server again, so a
/// worker coming back from its callback may take the packet first). No rule makes the packets
/// spread; that they do is asserted over the crowd scenario's 25 packets, where one worker
/// would have to win every race (under Wine here: 5 to 8 packets per worker, run after run).
#[test]
fn iocp_workers_share_the_packets() {
    let crowd = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/crowd.scenario");
    let events = trace(&["iocp", "--workers", "4", "--scenario", crowd]);
    let port = events
        .iter()
        .find(|e| is(e, "syscall", "CreateIoCompletionPort"))
        .unwrap();
    assert!(port["args"].as_str().unwrap().ends_with(", 4"), "{port}");
    let workers: Vec<&Value> = events
        .iter()
        .filter(|e| is(e, "syscall", "CreateThread"))
        .map(|e| &e["ret"])
        .collect();
    assert_eq!(workers.len(), 4);
    let mut taken = std::collections::BTreeMap::new();
    for (i, op) in events.iter().enumerate() {
        if op["kind"] != "op" {
            continue;
        }
        assert!(workers.contains(&&op["tid"]), "a worker took it: {op}");
        let dequeued = events[..i]
            .iter()
            .rev()
            .find(|e| e["tid"] == op["tid"] && e["kind"] == "syscall")
            .unwrap();
        assert_eq!(dequeued["call"], "GetQueuedCompletionStatusEx", "{op}");
        assert_eq!(dequeued["ret"], 1, "one packet a wait: {dequeued}");
        *taken.entry(op["tid"].as_i64().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(
        taken.values().sum::<u64>(),
        util::summary(&events)["cqes"].as_u64().unwrap()
    );
    assert!(taken.len() > 1, "packets per worker: {taken:?}");
}

/// The glosses of a run's calls and operations in `lang`, numbers and addresses left out
/// (`ov=0x…`, byte counts and ports change from run to run).
fn glosses(run: &[&str], lang: &str) -> BTreeSet<String> {
    let mut args = run.to_vec();
    args.extend(["--lang", lang]);
    trace(&args)
        .iter()
        .filter(|e| e["kind"] == "syscall" || e["kind"] == "op")
        .filter_map(|e| e["note"].as_str())
        .map(without_numbers)
        .collect()
}

/// `note` without its decimal numbers and `0x…` addresses.
fn without_numbers(note: &str) -> String {
    let mut out = String::new();
    let mut chars = note.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '0' && chars.peek() == Some(&'x') {
            chars.next();
            while chars.next_if(char::is_ascii_hexdigit).is_some() {}
        } else if !c.is_ascii_digit() {
            out.push(c);
        }
    }
    out
}

/// Each Windows model in zh-CN (`--lang zh-CN`): its trace carries the model's own Chinese
/// glosses, none of its English run's glosses is left, and the gloss column lines up by
/// display width as for the Linux models (`tests/lang.rs`).
#[test]
fn the_windows_models_speak_chinese_in_aligned_columns() {
    let _alone = BUSY.lock().unwrap_or_else(PoisonError::into_inner);
    let runs: [(&[&str], &str); 4] = [
        (&["iocp"], "的完成包；有客户端连上来时调用 on_accepted"),
        (&["iocp", "--workers", "2"], "将在端口上等待完成包"),
        (&["apc"], "完成例程在 WSAWaitForMultipleEvents 里面、线程"),
        (&["wsaevent"], "：事件已重置"),
    ];
    for (run, gloss) in runs {
        let zh = glosses(run, "zh-CN");
        assert!(
            zh.iter().any(|n| n.contains(gloss)),
            "{run:?}: no gloss with {gloss:?} in {zh:#?}"
        );
        let en = glosses(run, "en");
        let left: Vec<_> = zh.intersection(&en).collect();
        assert!(left.is_empty(), "{run:?}: English glosses left: {left:#?}");
        util::assert_zh_aligned(run);
    }
}
