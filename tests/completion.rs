//! Signal-driven I/O and completions: what the sigio and uring traces must show.

mod util;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn run_json(args: &[&str]) -> Vec<Value> {
    util::events(&util::run_ok(args))
}

fn server_syscalls(events: &[Value]) -> impl Iterator<Item = &Value> {
    events.iter().filter(|e| {
        e["kind"] == "syscall" && e["actor"].as_str().is_some_and(|a| a.starts_with("server"))
    })
}

/// Descriptors the server accepted for clients (an accept that carries the peer's port).
fn client_fds(events: &[Value]) -> BTreeSet<i64> {
    events
        .iter()
        .filter(|e| matches!(e["kind"].as_str(), Some("syscall" | "op")))
        .filter(|e| e["call"] == "accept4" || e["call"] == "accept")
        .filter(|e| e.get("port").is_some())
        .filter_map(|e| e["ret"].as_i64())
        .collect()
}

fn here(model: &str) -> bool {
    util::models_here().iter().any(|m| m == model)
}

#[test]
fn sigio_signals_name_the_client_socket_and_the_server_stays_free() {
    if !here("sigio") {
        return;
    }
    let events = run_json(&["sigio", "--format", "json"]);
    let clients = client_fds(&events);
    assert_eq!(clients.len(), 2, "classroom has two clients");
    let calls: Vec<&Value> = server_syscalls(&events).collect();
    // The signals are blocked, and the mask change is a traced call.
    assert!(calls.iter().any(|e| e["call"] == "rt_sigprocmask"));
    for cmd in ["F_SETOWN_EX", "F_SETSIG", "O_ASYNC"] {
        assert!(
            calls
                .iter()
                .any(|e| e["call"] == "fcntl" && e["args"].as_str().unwrap().contains(cmd)),
            "no fcntl with {cmd}"
        );
    }
    // rt_sigtimedwait returned a signal whose si_fd is a client's socket…
    let signals: Vec<&&Value> = calls
        .iter()
        .filter(|e| e["call"] == "rt_sigtimedwait" && e["ret"].is_i64())
        .collect();
    let for_client: Vec<_> = signals
        .iter()
        .filter(|e| e["fd"].as_i64().is_some_and(|fd| clients.contains(&fd)))
        .collect();
    assert!(!for_client.is_empty(), "no signal named a client socket");
    for s in &for_client {
        let args = s["args"].as_str().unwrap();
        let fd = s["fd"].as_i64().unwrap();
        assert!(args.contains(&format!("si_fd={fd}")), "{args}");
        assert!(args.contains("si_band=POLLIN"), "{args}");
        assert!(args.contains("si_code=POLL_IN"), "{args}");
    }
    // …and the data was then copied by the server's own recvfrom (stage ②).
    let copies = calls
        .iter()
        .filter(|e| e["call"] == "recvfrom" && e["ret"].as_i64().is_some_and(|n| n > 0))
        .count();
    assert_eq!(copies, 2);
    // Waiting for a signal that does not come is EAGAIN, folded into runs.
    assert!(calls.iter().any(|e| e["call"] == "rt_sigtimedwait"
        && e["errno"] == "EAGAIN"
        && e["count"].as_u64().unwrap() > 1));
    let s = util::summary(&events);
    let (n, data) = (
        s["signals"].as_u64().unwrap(),
        s["signals_with_data"].as_u64().unwrap(),
    );
    assert_eq!(n, signals.len() as u64);
    assert_eq!(data, 2, "each of the two sends was announced by a signal");
    assert!(
        n > data,
        "for TCP, signals also come for connections and FINs"
    );
    assert!(s["work"].as_u64().unwrap() > 0, "the server did other work");
    let notice = s["notice"].to_string();
    assert!(notice.contains("led to data"), "{notice}");
}

#[test]
fn uring_server_never_copies_and_every_key_completes_once() {
    if !here("uring") {
        return;
    }
    for scenario in [None, Some("crowd"), Some("binary")] {
        let path;
        let mut args = vec!["uring", "--format", "json"];
        if let Some(name) = scenario {
            path = format!("{}/demos/{name}.scenario", env!("CARGO_MANIFEST_DIR"));
            args.extend(["--scenario", &path]);
        }
        let events = run_json(&args);
        let calls: Vec<&Value> = server_syscalls(&events).collect();
        // The kernel did every copy: no recv or send of the server's own.
        for name in ["recvfrom", "sendto", "recvmsg", "sendmsg", "read", "write"] {
            assert!(
                !calls.iter().any(|e| e["call"] == name),
                "{scenario:?}: the server called {name}"
            );
        }
        assert_eq!(
            calls
                .iter()
                .filter(|e| e["call"] == "io_uring_setup")
                .count(),
            1
        );
        // SQEs and CQEs as op lines, tied by their keys: each key submitted once, completed once.
        let ops: Vec<&Value> = events.iter().filter(|e| e["kind"] == "op").collect();
        let mut submitted: BTreeMap<u64, &str> = BTreeMap::new();
        let mut completed: BTreeSet<u64> = BTreeSet::new();
        for op in &ops {
            let key = op["key"].as_u64().expect("an op carries its key");
            let call = op["call"].as_str().unwrap();
            let args = op["args"].as_str().unwrap();
            if op["stage"] == "completion" {
                assert!(args.starts_with("CQE"), "{args}");
                assert_eq!(
                    submitted.get(&key),
                    Some(&call),
                    "{scenario:?}: CQE key {key} ({call}) without an SQE before it"
                );
                assert!(completed.insert(key), "key {key} completed twice");
            } else {
                assert!(args.starts_with("SQE"), "{args}");
                assert!(submitted.insert(key, call).is_none(), "key {key} reused");
            }
        }
        let keys: BTreeSet<u64> = submitted.keys().copied().collect();
        assert_eq!(
            keys, completed,
            "{scenario:?}: every submitted key completes"
        );
        // io_uring_enter: the SQEs it says it took in are exactly the SQE lines.
        let mut to_submit = 0;
        let mut enters = 0;
        for e in calls.iter().filter(|e| e["call"] == "io_uring_enter") {
            let args = e["args"].as_str().unwrap();
            let n: u64 = args
                .strip_prefix("to_submit=")
                .and_then(|a| a.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("bad args {args}"));
            let count = e["count"].as_u64().unwrap();
            enters += count;
            to_submit += n * count;
            if let Some(ret) = e["ret"].as_u64() {
                assert_eq!(ret, n, "io_uring_enter returns how many SQEs it took");
            } else {
                assert_eq!(e["errno"], "ETIME");
                assert_eq!(n, 0);
            }
        }
        assert_eq!(to_submit, keys.len() as u64);
        let s = util::summary(&events);
        assert_eq!(s["calls"]["io_uring_enter"].as_u64(), Some(enters));
        assert_eq!(s["bytes_in"], 0);
        assert_eq!(s["bytes_in_by_kernel"], s["echo_bytes"]);
        assert_eq!(s["bytes_out"], s["echo_bytes"]);
        assert_eq!(s["failures"], 0);
        assert!(s["echoes_ok"].as_u64().unwrap() > 0);
        let sent: u64 = events
            .iter()
            .filter(|e| e["kind"] == "client" && e["call"] == "send")
            .map(|e| e["bytes"].as_u64().unwrap())
            .sum();
        assert_eq!(s["echo_bytes"].as_u64(), Some(sent), "echo byte-exact");
        assert!(s["work"].as_u64().unwrap() > 0);
        if scenario == Some("crowd") {
            // Four recvs and the accept were in flight at once: state in the table, one thread.
            assert!(s["max_in_flight"].as_u64().unwrap() >= 5, "{s}");
            assert_eq!(s["threads"], 1);
        }
    }
}

/// A server call's end, in µs since the start.
fn end_us(e: &Value) -> u64 {
    e["t_us"].as_u64().unwrap() + e["dur_us"].as_u64().unwrap_or(0)
}

/// The descriptor the server accepted for `client` (its accept carries the client's port).
fn fd_of(events: &[Value], client: &str) -> i64 {
    let port = events
        .iter()
        .find(|e| e["kind"] == "client" && e["client"] == client && e["call"] == "connect")
        .and_then(|e| e["port"].as_u64())
        .expect("the client's connect names its port");
    events
        .iter()
        .find(|e| e["call"] == "accept4" && e["port"].as_u64() == Some(port))
        .and_then(|e| e["ret"].as_i64())
        .expect("the server accepted the client")
}

/// When `client` first sent.
fn sent_at(events: &[Value], client: &str) -> u64 {
    events
        .iter()
        .find(|e| e["kind"] == "client" && e["client"] == client && e["call"] == "send")
        .and_then(|e| e["t_us"].as_u64())
        .expect("the client sends")
}

#[test]
fn aio_reads_run_inside_io_submit_so_one_client_stalls_the_other() {
    if !here("aio") {
        return;
    }
    let events = run_json(&["aio", "--format", "json"]);
    let (a, b) = (fd_of(&events, "A"), fd_of(&events, "B"));
    let pread_of = |fd: i64| format!("aio_lio_opcode=IOCB_CMD_PREAD, aio_fildes={fd},");
    // A's first read: io_submit returned only once A had sent (the wait was inside it)…
    let (i, submit) = server_syscalls(&events)
        .enumerate()
        .find(|(_, e)| {
            e["call"] == "io_submit" && e["args"].as_str().unwrap().contains(&pread_of(a))
        })
        .expect("an IOCB_CMD_PREAD for A");
    assert!(
        end_us(submit) >= sent_at(&events, "A"),
        "A's io_submit returned before A sent: {submit}"
    );
    // …with the read already done: the next io_getevents hands back its 6 bytes.
    let key = submit["args"]
        .as_str()
        .unwrap()
        .split("aio_data=")
        .nth(1)
        .unwrap();
    let key: u64 = key.split(',').next().unwrap().parse().unwrap();
    let got = events
        .iter()
        .find(|e| e["kind"] == "op" && e["call"] == "pread" && e["key"] == key)
        .expect("A's read has an event");
    assert_eq!(
        (got["fd"].as_i64(), got["ret"].as_i64()),
        (Some(a), Some(6))
    );
    let getevents = server_syscalls(&events)
        .skip(i)
        .find(|e| e["call"] == "io_getevents")
        .unwrap();
    assert!(getevents["ret"].as_i64().unwrap() >= 1, "{getevents}");
    // B sent while the thread slept in A's io_submit; B's bytes were read only after it returned.
    assert!(sent_at(&events, "B") < end_us(submit), "B sent after A");
    let b_read = events
        .iter()
        .find(|e| e["kind"] == "op" && e["call"] == "pread" && e["fd"] == b && e["ret"] == 6)
        .expect("B's read has an event");
    assert!(b_read["t_us"].as_u64().unwrap() >= end_us(submit));
    // The kernel copied everything, inside io_submit: no recvfrom of our own.
    assert!(server_syscalls(&events).all(|e| e["call"] != "recvfrom"));
}

#[test]
fn aio_poll_is_readiness_then_our_own_recvfrom() {
    if !here("aio") {
        return;
    }
    let events = run_json(&["aio", "--poll", "--format", "json"]);
    let submits: Vec<&Value> = server_syscalls(&events)
        .filter(|e| e["call"] == "io_submit")
        .collect();
    assert!(!submits.is_empty());
    for s in &submits {
        assert!(s["args"].as_str().unwrap().contains("IOCB_CMD_POLL"), "{s}");
    }
    // A poll is no call that may sleep: none is announced as a wait.
    assert!(
        !events
            .iter()
            .any(|e| e["kind"] == "wait" && e["call"] == "io_submit")
    );
    // Every poll event carries a mask; no read was handed to the kernel.
    let ops: Vec<&Value> = events.iter().filter(|e| e["kind"] == "op").collect();
    assert!(
        ops.iter()
            .all(|e| e["call"] == "poll" && e["ret"].as_i64() > Some(0))
    );
    // Stage ② is ours: the recvfrom calls copied all 12 bytes the clients sent.
    let copied: i64 = server_syscalls(&events)
        .filter(|e| e["call"] == "recvfrom")
        .filter_map(|e| e["ret"].as_i64())
        .sum();
    assert_eq!(copied, 12);
}

/// `uring --multishot`: one accept SQE and one recv SQE per connection; every CQE but the last
/// of its key carries `F_MORE`, every data CQE names the provided buffer it filled, and the
/// kernel copied every byte the clients sent (the clients checked each echo).
#[test]
fn multishot_one_sqe_many_cqes() {
    if !here("uring") {
        return;
    }
    let crowd = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/crowd.scenario");
    let events = run_json(&[
        "uring",
        "--multishot",
        "--format",
        "json",
        "--scenario",
        crowd,
    ]);
    let mut cqes: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    let mut sqes: BTreeMap<u64, &str> = BTreeMap::new();
    for op in events.iter().filter(|e| e["kind"] == "op") {
        let key = op["key"].as_u64().unwrap();
        if op["stage"] == "completion" {
            cqes.entry(key).or_default().push(op);
        } else {
            assert!(sqes.insert(key, op["call"].as_str().unwrap()).is_none());
        }
    }
    let accepts = sqes.values().filter(|c| **c == "accept").count();
    assert_eq!(accepts, 1, "one multishot accept for every connection");
    let recv_keys: Vec<u64> = sqes
        .iter()
        .filter(|(_, c)| **c == "recv")
        .map(|(k, _)| *k)
        .collect();
    let mut many = 0;
    for key in &recv_keys {
        let got = &cqes[key];
        let (last, before) = got.split_last().unwrap();
        for c in before {
            let args = c["args"].as_str().unwrap();
            assert!(args.ends_with("F_MORE"), "key {key}: {args}");
            if c["ret"].as_i64().is_some_and(|n| n > 0) {
                assert!(
                    args.contains("buffer="),
                    "a data CQE names its buffer: {args}"
                );
            }
        }
        assert!(
            !last["args"].as_str().unwrap().contains("F_MORE"),
            "key {key}: its last CQE ends it"
        );
        many += usize::from(got.len() > 1);
    }
    assert!(many > 0, "no recv SQE yielded more than one CQE");
    assert!(
        server_syscalls(&events).any(|e| e["call"] == "io_uring_register"),
        "the buffer ring is registered"
    );
}

/// `uring --sqpoll`: the kernel's SQ thread takes the SQEs, so there are fewer
/// `io_uring_enter`s than SQEs, and the run says what the thread's CPU was.
#[test]
fn sqpoll_says_the_kernel_thread_s_cpu() {
    if !here("uring") {
        return;
    }
    let out = util::run(&["uring", "--sqpoll", "--format", "json"]);
    if out.status.code() == Some(2) {
        eprintln!("*** SKIPPED: {}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    let events = util::events(&out.stdout);
    let thread = events
        .iter()
        .find(|e| e["kind"] == "info" && e["fields"]["sq_thread"].is_u64())
        .expect("an info line naming the SQ thread");
    assert!(thread["note"].as_str().unwrap().contains("iou-sqp"));
    let s = util::summary(&events);
    assert_eq!(s["failures"], 0);
}
