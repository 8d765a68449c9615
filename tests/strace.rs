//! The trace never lies: under `strace -f`, every server thread's system calls are the ones its
//! JSON trace names, with the same descriptors, results and order.
//!
//! Calls the Rust runtime makes on its own are not I/O and are left out of the comparison unless
//! the trace names them: memory (anonymous mmaps and their munmaps, mprotect, madvise, brk,
//! mremap), locks and the trace channel's wake-ups (futex), a thread's start and end (rseq,
//! set_robust_list, rt_sigprocmask, sigaltstack, prctl, sched_getaffinity, exit), and the seed
//! of the first hash map a thread makes (getrandom: std seeds its hash maps once per thread,
//! and looking a message up in the run's language makes one). An `mmap` of a
//! descriptor is no runtime call (io_uring's rings are mapped from the ring's descriptor): it is
//! compared, with its length and offset, and so is the `munmap` of the address it returned. A
//! collapsed run of `EAGAIN`s counts as its count: between two calls that are not spins, the
//! spins must match as a multiset.

#![cfg(target_os = "linux")]

mod util;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

/// Calls the runtime makes for memory, locks and thread lifetime.
const RUNTIME: &[&str] = &[
    "mmap",
    "munmap",
    "mprotect",
    "madvise",
    "brk",
    "mremap",
    "futex",
    "rseq",
    "set_robust_list",
    "rt_sigprocmask",
    "sigaltstack",
    "prctl",
    "sched_getaffinity",
    "sched_yield",
    "exit",
    "getrandom",
];

/// Calls whose first argument is the descriptor they act on.
const FD_FIRST: &[&str] = &[
    "accept4",
    "recvfrom",
    "sendto",
    "close",
    "ioctl",
    "fcntl",
    "setsockopt",
    "bind",
    "listen",
    "getsockname",
    "getpeername",
    "shutdown",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "read",
    "write",
    "io_uring_enter",
    "io_uring_register",
];

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Sys {
    name: String,
    fd: Option<i64>,
    ret: Option<i64>,
    errno: Option<String>,
    /// An `mmap`'s or `munmap`'s length, and an `mmap`'s offset (its address is not compared:
    /// the trace cannot know where the kernel put it).
    map: Option<(i64, Option<i64>)>,
    /// Where an `mmap` put its mapping, or which one a `munmap` removes: read to pair them,
    /// then cleared before comparing.
    addr: Option<i64>,
}

impl Sys {
    fn spins(&self) -> bool {
        self.errno.as_deref() == Some("EAGAIN")
    }
}

#[derive(Debug, PartialEq)]
enum Seg {
    Spins(BTreeMap<Sys, u64>),
    One(Sys),
    /// A run of library functions the trace names (glibc's `aio_read`, kind `library`): the
    /// system calls strace sees there that the trace does not name are the library's own.
    Library(Vec<String>),
}

/// How `traced` marks a library line among a thread's calls.
const LIBRARY: &str = "library ";

fn segments(calls: impl IntoIterator<Item = (Sys, u64)>) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::new();
    for (c, n) in calls {
        if let Some(f) = c.name.strip_prefix(LIBRARY) {
            if let Some(Seg::Library(fs)) = out.last_mut() {
                fs.push(f.to_string());
            } else {
                out.push(Seg::Library(vec![f.to_string()]));
            }
        } else if c.spins() {
            if let Some(Seg::Spins(m)) = out.last_mut() {
                *m.entry(c).or_default() += n;
            } else {
                out.push(Seg::Spins(BTreeMap::from([(c, n)])));
            }
        } else {
            for _ in 0..n {
                out.push(Seg::One(c.clone()));
            }
        }
    }
    out
}

/// One line of `strace -ff` output: `name(args) = ret` or `name(args) = -1 ERRNO (text)`.
fn parse_strace_line(line: &str) -> Option<Sys> {
    if line.starts_with("---") || line.starts_with("+++") {
        return None;
    }
    let open = line.find('(')?;
    let name = line[..open].to_string();
    let eq = line.rfind(" = ")?;
    let result: Vec<&str> = line[eq + 3..].split_whitespace().collect();
    let (ret, errno) = match result.as_slice() {
        ["-1", e, ..] if e.starts_with('E') => (None, Some(e.to_string())),
        [r, ..] => (parse_int(r), None),
        [] => (None, None),
    };
    let args: Vec<&str> = line[open + 1..eq]
        .trim_end()
        .trim_end_matches(')')
        .split(", ")
        .collect();
    let fd = if FD_FIRST.contains(&name.as_str()) {
        args.first().and_then(|a| a.trim().parse().ok())
    } else if name == "mmap" {
        args.get(4).and_then(|a| a.parse().ok())
    } else {
        None
    };
    let map = match (name.as_str(), args.as_slice()) {
        ("mmap", [_, len, _, _, _, off, ..]) => parse_int(len).map(|l| (l, parse_int(off))),
        ("munmap", [_, len, ..]) => parse_int(len).map(|l| (l, None)),
        _ => None,
    };
    let addr = match name.as_str() {
        "mmap" => ret,
        "munmap" => args.first().and_then(|a| parse_int(a)),
        _ => None,
    };
    Some(Sys {
        name,
        fd,
        ret,
        errno,
        map,
        addr,
    })
}

/// A mapping's offset in a ring's "file", by the name io_uring_setup(2) gives it.
fn ring_offset(name: &str) -> Option<i64> {
    match name {
        "IORING_OFF_SQ_RING" => Some(0),
        "IORING_OFF_CQ_RING" => Some(0x800_0000),
        "IORING_OFF_SQES" => Some(0x1000_0000),
        _ => None,
    }
}

/// An `mmap`'s or `munmap`'s length and offset as the trace gives them in its arguments
/// (`len=16384, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, IORING_OFF_SQES`).
fn traced_map(name: &str, args: &str) -> Option<(i64, Option<i64>)> {
    let len = args.strip_prefix("len=")?.split(',').next()?.parse().ok()?;
    let off = (name == "mmap").then(|| args.rsplit(", ").next().and_then(ring_offset));
    Some((len, off.flatten()))
}

fn parse_int(s: &str) -> Option<i64> {
    match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The server threads' calls from a JSON trace, per tid, with counts.
fn traced(events: &[Value]) -> HashMap<i64, Vec<(Sys, u64)>> {
    let mut out: HashMap<i64, Vec<(Sys, u64)>> = HashMap::new();
    for e in events {
        let server = e["actor"].as_str().is_some_and(|a| a.starts_with("server"));
        let library = e["kind"] == "library";
        if !(e["kind"] == "syscall" || library) || !server {
            continue;
        }
        let name = e["call"].as_str().unwrap().to_string();
        if library {
            out.entry(e["tid"].as_i64().unwrap()).or_default().push((
                Sys {
                    name: format!("{LIBRARY}{name}"),
                    fd: None,
                    ret: None,
                    errno: None,
                    map: None,
                    addr: None,
                },
                1,
            ));
            continue;
        }
        let mapping = matches!(name.as_str(), "mmap" | "munmap");
        let fd = e["fd"]
            .as_i64()
            .filter(|_| FD_FIRST.contains(&name.as_str()) || name == "mmap");
        let map = if mapping {
            let args = e["args"].as_str().unwrap_or("");
            let map = traced_map(&name, args);
            assert!(map.is_some(), "a {name} line without its length: {args}");
            map
        } else {
            None
        };
        let sys = Sys {
            ret: e["ret"].as_i64().filter(|_| name != "mmap"),
            name,
            fd,
            errno: e["errno"].as_str().map(String::from),
            map,
            addr: None,
        };
        out.entry(e["tid"].as_i64().unwrap())
            .or_default()
            .push((sys, e["count"].as_u64().unwrap()));
    }
    out
}

/// The calls strace saw on one thread, from the trace's first call on, minus the runtime's own.
fn seen(file: &Path, named: &BTreeSet<String>) -> Vec<Sys> {
    let text = std::fs::read_to_string(file).expect("strace output for the thread");
    // The addresses of the mappings of a descriptor, to tell their munmaps from the runtime's.
    let mut mapped = BTreeSet::new();
    let calls: Vec<Sys> = text
        .lines()
        .filter_map(parse_strace_line)
        .filter_map(|mut c| {
            let own = match c.name.as_str() {
                "mmap" if c.fd.is_some_and(|fd| fd >= 0) => {
                    mapped.insert(c.addr);
                    c.ret = None;
                    true
                }
                "munmap" => c.addr.is_some() && mapped.remove(&c.addr),
                "mmap" => false,
                name => !RUNTIME.contains(&name) || named.contains(name),
            };
            own.then(|| {
                c.addr = None;
                c
            })
        })
        .collect();
    // Everything before our own `gettid` is the thread's start-up (std calls gettid too, and
    // glibc sets the new thread's signal mask: a runtime call even when the trace names one).
    let first_own = calls
        .iter()
        .position(|c| c.name != "gettid" && !RUNTIME.contains(&c.name.as_str()))
        .unwrap_or(calls.len());
    let start = calls[..first_own]
        .iter()
        .rposition(|c| c.name == "gettid")
        .unwrap_or(0);
    let mut calls = calls[start..].to_vec();
    // And after the trace's last call, only the thread's exit (runtime calls) may follow.
    while calls
        .last()
        .is_some_and(|c| RUNTIME.contains(&c.name.as_str()))
    {
        calls.pop();
    }
    calls
}

/// Every server thread of `events` against its strace file in `dir`. Where the trace names
/// library functions, the calls strace saw between the system calls around them are the
/// library's: they are returned (thread, calls) for the caller to check, not compared.
fn compare(model: &str, dir: &Path, events: &[Value]) -> Vec<(i64, Vec<Sys>)> {
    let threads = traced(events);
    assert!(!threads.is_empty(), "{model}: no server calls in the trace");
    let mut inside = Vec::new();
    for (tid, calls) in threads {
        let named: BTreeSet<String> = calls.iter().map(|(c, _)| c.name.clone()).collect();
        let strace = seen(&dir.join(format!("t.{tid}")), &named);
        let want = segments(calls);
        let got = segments(strace.into_iter().map(|c| (c, 1)));
        let mut g = 0;
        let mut library = Vec::new();
        for (i, w) in want.iter().enumerate() {
            if let Seg::Library(_) = w {
                // Up to the next call the trace names (or the thread's end), strace's calls
                // are the library's.
                let next = want[i + 1..].iter().find(|s| !matches!(s, Seg::Library(_)));
                while g < got.len() && Some(&got[g]) != next {
                    match &got[g] {
                        Seg::One(c) => library.push(c.clone()),
                        other => {
                            panic!("{model}, thread {tid}: spins inside a library call: {other:?}")
                        }
                    }
                    g += 1;
                }
                continue;
            }
            assert_eq!(
                Some(w),
                got.get(g),
                "{model}, thread {tid}: call #{i} differs (trace vs strace)"
            );
            g += 1;
        }
        assert_eq!(
            g,
            got.len(),
            "{model}, thread {tid}: strace saw more calls than the trace names: {:?}",
            &got[g..]
        );
        if !library.is_empty() {
            inside.push((tid, library));
        }
    }
    inside
}

/// What glibc's POSIX AIO does inside its functions, on the threads that call them: start a
/// helper thread (`clone3`) and read the caller's scheduling priority — never I/O.
const GLIBC_AIO: &[&str] = &["clone3", "sched_getparam", "sched_getscheduler"];

/// The library's calls inside its lines are only [`GLIBC_AIO`]'s, and each helper thread it
/// started does what the trace's glosses say: a `pread64` that the socket refuses (`ESPIPE`),
/// then a blocking `read` of the same descriptor.
fn check_library(model: &str, dir: &Path, inside: &[(i64, Vec<Sys>)]) {
    let mut helpers = Vec::new();
    for (tid, calls) in inside {
        for c in calls {
            assert!(
                GLIBC_AIO.contains(&c.name.as_str()),
                "{model}, thread {tid}: inside a library call, strace saw {c:?}"
            );
            if c.name == "clone3" {
                helpers.push(c.ret.expect("clone3 returns the new thread's id"));
            }
        }
    }
    assert!(
        !helpers.is_empty(),
        "{model}: glibc started no helper thread"
    );
    let mut reads = 0;
    for h in helpers {
        let calls: Vec<Sys> = std::fs::read_to_string(dir.join(format!("t.{h}")))
            .expect("strace output for a helper thread")
            .lines()
            .filter_map(parse_strace_line)
            .collect();
        for pair in calls.windows(2) {
            if let [p, r] = pair
                && p.name == "pread64"
            {
                assert_eq!(
                    p.errno.as_deref(),
                    Some("ESPIPE"),
                    "{model}: helper {h}: {p:?}"
                );
                assert_eq!(r.name, "read", "{model}: helper {h}: after pread64, {r:?}");
                reads += 1;
            }
        }
    }
    assert!(reads > 0, "{model}: no helper thread read a socket");
}

/// One model (with its mode's flag, if any) under strace, on the classroom scenario and on
/// the crowd.
fn check_model(run: &[String]) {
    let crowd = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/crowd.scenario");
    check_scenarios(run, &[None, Some(crowd)]);
}

/// `run` under strace with each scenario (`None`: the built-in one).
fn check_scenarios(run: &[String], scenarios: &[Option<&str>]) {
    let model = run.join(" ");
    for &scenario in scenarios {
        let dir = std::env::temp_dir().join(format!(
            "iomodels-strace-{}-{}",
            run.join(""),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("strace")
            .args(["-f", "-ff", "-qq", "-o"])
            .arg(dir.join("t"))
            .arg(util::bin())
            .args(run)
            .args(["--format", "json"])
            .args(scenario.map(|s| ["--scenario", s]).into_iter().flatten())
            .output()
            .expect("run strace");
        assert!(
            out.status.success(),
            "{model} under strace failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let events = util::events(&out.stdout);
        let inside = compare(&model, &dir, &events);
        let library = events.iter().any(|e| e["kind"] == "library");
        if library {
            check_library(&model, &dir, &inside);
        } else {
            assert!(
                inside.is_empty(),
                "{model}: library calls without library lines"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Every model here, alone and in each of its modes (`epoll --edge`, `uring --multishot`,
/// `uring --sqpoll`). With `--sqpoll` the kernel's SQ thread (`iou-sqp-PID`) is a thread of
/// our process, but a kernel one that ptrace cannot attach to: strace writes no file for it,
/// and there is nothing of it to compare (it makes no system calls; it reads our ring).
#[test]
fn every_model_matches_strace() {
    if !util::have("strace") {
        return;
    }
    let runs = util::runs_here();
    assert!(runs.len() >= 3, "models here: {runs:?}");
    for run in runs {
        check_model(&run);
    }
}

/// `--app chat` on every model here that serves many clients at once, in each of its modes,
/// on the chat demo: the fan-out (a recv, then a send per member), reactors' doorbells,
/// threads' writers and their `shutdown`, the members' `SO_SNDBUF`, each as strace saw it.
/// (The slow-reader demo's story depends on its timing, which strace stretches too far.)
#[test]
fn every_chat_model_matches_strace() {
    if !util::have("strace") {
        return;
    }
    for m in util::registry().iter().filter(|m| m.here) {
        for (mode, concurrent) in m.ways() {
            if !concurrent {
                continue;
            }
            let mut run = vec![m.name.clone()];
            run.extend(mode.iter().map(|f| f.to_string()));
            run.extend(["--app".into(), "chat".into()]);
            check_scenarios(&run, &[None]);
        }
    }
}

/// reactors with more threads than this machine has CPUs, in each mode, under the herd: every
/// thread's calls, the losers' `EAGAIN`s among them.
#[test]
fn reactors_herd_matches_strace() {
    if !util::have("strace") || !util::models_here().iter().any(|m| m == "reactors") {
        return;
    }
    let herd = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/herd.scenario");
    for mode in ["--share", "--exclusive", "--reuseport"] {
        let run: Vec<String> = ["reactors", mode, "--threads", "4"]
            .map(String::from)
            .into();
        check_scenarios(&run, &[Some(herd)]);
    }
}

#[test]
fn strace_lines_parse() {
    let c = parse_strace_line(r#"recvfrom(5, "hi", 4096, 0, NULL, NULL) = 2"#).unwrap();
    assert_eq!(
        (c.name.as_str(), c.fd, c.ret),
        ("recvfrom", Some(5), Some(2))
    );
    let c = parse_strace_line(
        "accept4(3, 0x7f, [128], SOCK_CLOEXEC) = -1 EAGAIN (Resource temporarily unavailable)",
    )
    .unwrap();
    assert_eq!(
        (c.fd, c.ret, c.errno.as_deref()),
        (Some(3), None, Some("EAGAIN"))
    );
    let c = parse_strace_line(
        "mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, 5, 0x10000000) = 0x7fb088916000",
    )
    .unwrap();
    assert_eq!(
        (c.fd, c.map, c.addr),
        (
            Some(5),
            Some((16384, Some(0x1000_0000))),
            Some(0x7fb0_8891_6000)
        )
    );
    let c = parse_strace_line("munmap(0x7fb088916000, 16384) = 0").unwrap();
    assert_eq!(
        (c.map, c.addr),
        (Some((16384, None)), Some(0x7fb0_8891_6000))
    );
    assert_eq!(
        traced_map(
            "mmap",
            "len=9280, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, IORING_OFF_SQ_RING"
        ),
        Some((9280, Some(0)))
    );
}

/// Running out of descriptors (`--serve --max-fds 16`, 24 clients): the spare-descriptor dance
/// (accept4 → EMFILE, close, poll, accept4, close, openat) is in the trace exactly as strace sees
/// it, for a readiness model and a blocking one.
#[test]
fn emfile_matches_strace() {
    if !util::have("strace") {
        return;
    }
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};
    for model in ["epoll", "threads"] {
        let dir = std::env::temp_dir().join(format!(
            "iomodels-strace-emfile-{model}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let trace = dir.join("trace.jsonl");
        let mut strace = Command::new("strace")
            .args(["-f", "-ff", "-qq", "-o"])
            .arg(dir.join("t"))
            .arg(util::bin())
            .args([model, "--serve", "--max-fds", "16", "--format", "json"])
            .stdout(std::fs::File::create(&trace).unwrap())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run strace");
        let mut first = String::new();
        BufReader::new(strace.stderr.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr: std::net::SocketAddr = first
            .split_whitespace()
            .nth(2)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{model} did not start: {first}"));
        let clients: Vec<_> = (0..24)
            .map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        drop(clients);
        std::thread::sleep(Duration::from_millis(200));
        // The traced program is strace's child.
        let children =
            std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", strace.id())).unwrap();
        let pid: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(pid).unwrap(),
            rustix::process::Signal::INT,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while strace.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = strace.kill();
                panic!("{model} under strace did not stop after SIGINT");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let events = util::events(&std::fs::read(&trace).unwrap());
        assert!(
            events.iter().any(|e| e["errno"] == "EMFILE"),
            "{model}: no EMFILE in the trace"
        );
        assert!(events.iter().any(|e| e["refused"] == true));
        compare(model, &dir, &events);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Under `--max-fds`, nothing but the server takes a descriptor once the limit is down: no
/// thread of the process opens a file behind the program's back (glibc's malloc used to open
/// /sys/devices/system/cpu/online when a client thread made a new arena, and a server at its
/// limit then met an EMFILE that was not its own: the EMFILE demo failed now and then).
#[test]
fn nothing_else_takes_a_descriptor_under_max_fds() {
    if !util::have("strace") {
        return;
    }
    for (model, limit) in [("epoll", "9"), ("threads", "8")] {
        let out = Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=openat,open,prlimit64"])
            .arg(util::bin())
            .args(util::emfile_demo(model, limit))
            .output()
            .expect("run strace");
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{model} under strace failed: {log}");
        let lowered = format!("rlim_cur={limit},");
        let after: Vec<&str> = log
            .lines()
            .skip_while(|l| !l.contains(&lowered))
            .skip(1)
            .filter(|l| l.contains("open(") || l.contains("openat("))
            .collect();
        assert!(
            log.contains(&lowered),
            "{model}: strace saw no prlimit64 lowering the limit to {limit}"
        );
        let others: Vec<&&str> = after
            .iter()
            .filter(|l| !l.contains("\"/dev/null\""))
            .collect();
        assert!(
            others.is_empty(),
            "{model}: files opened once the limit was down: {others:#?}"
        );
        assert!(
            !after.is_empty(),
            "{model}: the server never took its spare descriptor (/dev/null)"
        );
    }
}
