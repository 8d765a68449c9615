//! The kernel lane (`--kernel`) against the kernel itself: each run is captured a second time,
//! independently, by an ftrace instance of the test's own (its own filter, its own buffer,
//! read back as text by a parser of its own), and the trace must agree with it: uring's `op`
//! lines are the kernel's `io_uring_submit_req`/`io_uring_complete` (same `user_data`,
//! opcode, result, order), every byte count a server thread's recv reported is a
//! `sock_recv_length` on that thread, and every line of the lane is a tracepoint the capture
//! saw. Then what the lane shows for blocking and epoll, and its refusals.
//!
//! Needs root (CI runs as root) and tracefs; tracefs is mounted in a mount namespace of the
//! test's own when it is not mounted (`unshare --mount`), so nothing outside changes. Without
//! root the tests say why they skip; the refusal test runs either way.

#![cfg(target_os = "linux")]

mod util;

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;
use util::{bin, events};

/// Whether the tests that need the kernel's tracepoints can run here; if not, says why.
fn traceable() -> bool {
    let root = rustix::process::geteuid().is_root();
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !root {
        assert!(!ci, "CI runs as root: the kernel lane's tests need it");
        eprintln!(
            "\n*** SKIPPED: not root; the kernel lane needs root (run the tests with sudo) ***\n"
        );
        return false;
    }
    util::have("unshare")
}

/// The tracepoints the test's own instance records.
const EVENTS: &[&str] = &[
    "sock/sk_data_ready",
    "sock/sock_recv_length",
    "sock/inet_sock_set_state",
    "sched/sched_wakeup",
    "sched/sched_switch",
    "sched/sched_process_fork",
    "sched/sched_process_exec",
    "signal/signal_generate",
    "io_uring",
];

/// Every system call's entry and exit: captured too where the lane records them (a model
/// whose library starts threads: `posix-aio`). Not for the others: a nonblocking server's
/// millions of calls would overrun the capture.
const SYSCALL_EVENTS: &str = "raw_syscalls";

/// The models whose lane records `raw_syscalls` (`Model::library_threads`).
const LIBRARY_THREADS: &[&str] = &["posix-aio"];

/// The capture: in a mount namespace of its own, tracefs mounted if it is not, an instance
/// following the process from its first instruction (`set_event_pid` of the shell that then
/// `exec`s it, and `event-fork`), a buffer big enough for the whole run, read after it.
const CAPTURE: &str = r#"
set -e
out=$1; shift
T=/sys/kernel/tracing
grep -q " $T tracefs " /proc/self/mounts || mount -t tracefs nodev $T
I=$T/instances/kernel-test-$$
mkdir $I
echo mono > $I/trace_clock
echo 1 > $I/options/fields
echo 0 > $I/options/hash-ptr
echo 1 > $I/options/event-fork
echo 0 > $I/options/overwrite
echo 16384 > $I/buffer_size_kb
for e in $EVENTS; do echo 1 > $I/events/$e/enable; done
set +e
sh -c 'echo $$ > '$I'/set_event_pid; echo $$ > '$out'/pid; exec "$@"' sh "$@" > $out/stdout 2> $out/stderr
echo $? > $out/rc
echo 0 > $I/tracing_on
cat $I/trace > $out/trace
cat $I/per_cpu/cpu*/stats | grep -E '^(overrun|dropped events):' > $out/stats
ls $T/instances > $out/instances
rmdir $I
"#;

/// One run of `iomodels ARGS` under the test's own capture.
struct Captured {
    rc: i32,
    /// The process's id (its lane's instance is `iomodels-PID`).
    pid: String,
    stderr: String,
    /// The JSON trace (when `--format json` was asked).
    trace: Vec<Value>,
    kernel: Vec<Hit>,
    /// The instances left once the run was over (the test's own still among them).
    instances: String,
}

fn capture(args: &[&str]) -> Captured {
    let dir = scratch();
    let status = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            CAPTURE,
            "sh",
        ])
        .arg(&dir)
        .arg(bin())
        .args(args)
        .env("EVENTS", {
            let mut e = EVENTS.join(" ");
            if args.first().is_some_and(|m| LIBRARY_THREADS.contains(m)) {
                e = format!("{e} {SYSCALL_EVENTS}");
            }
            e
        })
        .env("NO_COLOR", "1")
        .status()
        .expect("run the capture");
    assert!(status.success(), "the capture script failed");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let stats = read("stats");
    for l in stats.lines() {
        let n: u64 = l
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert_eq!(
            n, 0,
            "the test's capture lost events ({l}): it cannot check this run"
        );
    }
    let stdout = read("stdout");
    let c = Captured {
        rc: read("rc").trim().parse().unwrap_or(-1),
        trace: if args.contains(&"json") {
            events(stdout.as_bytes())
        } else {
            Vec::new()
        },
        pid: read("pid").trim().to_string(),
        stderr: read("stderr"),
        kernel: read("trace").lines().filter_map(hit).collect(),
        instances: read("instances"),
    };
    let _ = std::fs::remove_dir_all(&dir);
    c
}

fn scratch() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "iomodels-kernel-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).expect("a scratch directory");
    d
}

/// One line of the capture: `COMM-TID [CPU] FLAGS SECS.USECS: NAME: fields`.
#[derive(Clone, Debug)]
struct Hit {
    tid: i64,
    cpu: i64,
    name: String,
    /// `field=` → its text as printed (`0x6 (6)`, `(13)`, `RECV`, `client A`).
    fields: Vec<(String, String)>,
}

impl Hit {
    fn text(&self, f: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == f)
            .map(|(_, v)| v.as_str())
    }

    /// A number as ftrace printed it: the decimal in parentheses, or the bare hex.
    fn num(&self, f: &str) -> Option<i64> {
        let v = self.text(f)?;
        match v.rsplit_once('(') {
            Some((_, dec)) => dec.trim_end_matches(')').parse().ok(),
            None => i64::from_str_radix(v.strip_prefix("0x")?, 16).ok(),
        }
    }
}

/// Parses a line of the capture (a parser of the test's own, not the lane's).
fn hit(line: &str) -> Option<Hit> {
    if line.starts_with('#') {
        return None;
    }
    // The timestamp is the first token that looks like `12345.678901:` after `] `.
    let bracket = line.find("] ")?;
    let head = &line[..bracket];
    let open = head.rfind('[')?;
    let cpu: i64 = head[open + 1..].parse().ok()?;
    let task = head[..open].trim_end();
    let tid: i64 = task.rsplit_once('-')?.1.parse().ok()?;
    let rest = &line[bracket + 2..];
    let mut parts = rest.splitn(3, ": ");
    let ts_flags = parts.next()?;
    ts_flags.split_whitespace().last()?.parse::<f64>().ok()?;
    let name = parts.next()?.to_string();
    let body = parts.next().unwrap_or("");
    // `a=1 b=x y c=2`: a field starts at ` word=`; a value may hold spaces.
    let mut starts = Vec::new();
    let bytes = body.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'=' {
            let s = body[..i].rfind(' ').map_or(0, |p| p + 1);
            let word = &body[s..i];
            if !word.is_empty() && word.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                starts.push((s, i));
            }
        }
    }
    let mut fields = Vec::new();
    for (k, &(s, eq)) in starts.iter().enumerate() {
        let end = starts
            .get(k + 1)
            .map_or(body.len(), |&(n, _)| n.saturating_sub(1));
        fields.push((
            body[s..eq].to_string(),
            body[eq + 1..end.max(eq + 1)].to_string(),
        ));
    }
    Some(Hit {
        tid,
        cpu,
        name,
        fields,
    })
}

/// The server's threads in a JSON trace.
fn server_tids(trace: &[Value]) -> Vec<i64> {
    let mut tids: Vec<i64> = trace
        .iter()
        .filter(|e| {
            e["actor"].as_str().is_some_and(|a| a.starts_with("server"))
                && e["tid"].as_i64() > Some(0)
        })
        .filter_map(|e| e["tid"].as_i64())
        .collect();
    tids.sort_unstable();
    tids.dedup();
    tids
}

/// The byte counts each server thread's receives reported, in order: `recvfrom`/`read`
/// returning ≥ 0 bytes, io_uring `recv` completions and Linux AIO `pread` events.
fn trace_recvs(trace: &[Value]) -> BTreeMap<i64, Vec<i64>> {
    let mut by: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for e in trace {
        let call = e["call"].as_str().unwrap_or("");
        let counted = match e["kind"].as_str() {
            Some("syscall") => matches!(call, "recvfrom" | "read" | "recv"),
            Some("op") => {
                let args = e["args"].as_str().unwrap_or("");
                (call == "recv" && args.starts_with("CQE"))
                    || (call == "pread" && args.starts_with("io_event"))
            }
            _ => false,
        };
        if counted
            && e["actor"].as_str().is_some_and(|a| a.starts_with("server"))
            && let Some(n) = e["ret"].as_i64()
        {
            assert_eq!(
                e["count"], 1,
                "a receive that returned data is never folded: {e}"
            );
            by.entry(e["tid"].as_i64().unwrap_or(0))
                .or_default()
                .push(n);
        }
    }
    by
}

/// The kernel's copies on each of `tids`, in order: `sock_recv_length` with a result ≥ 0.
fn kernel_recvs(kernel: &[Hit], tids: &[i64]) -> BTreeMap<i64, Vec<i64>> {
    let mut by: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for h in kernel
        .iter()
        .filter(|h| h.name == "sock_recv_length" && tids.contains(&h.tid))
    {
        let ret = h.num("ret").expect("sock_recv_length has ret");
        if ret >= 0 {
            by.entry(h.tid).or_default().push(ret);
        }
    }
    by
}

/// Every line of the lane is a tracepoint the capture saw too: same name, thread, CPU and
/// fields (a folded line stands for that many more).
fn assert_lane_is_real(c: &Captured, model: &str) {
    let mut pool: HashMap<(String, i64), Vec<&Hit>> = HashMap::new();
    for h in &c.kernel {
        pool.entry((h.name.clone(), h.tid)).or_default().push(h);
    }
    let lane: Vec<&Value> = c.trace.iter().filter(|e| e["kind"] == "kernel").collect();
    assert!(!lane.is_empty(), "{model}: the lane is empty");
    for e in lane {
        let name = e["call"]
            .as_str()
            .expect("a kernel line names its tracepoint");
        let tp = e["tracepoint"].as_str().expect("and its system");
        assert!(tp.ends_with(&format!(":{name}")), "{model}: {e}");
        let tid = e["tid"].as_i64().expect("a tid");
        let fields = e["fields"].as_object().expect("fields");
        let cands = pool.get_mut(&(name.to_string(), tid)).unwrap_or_else(|| {
            panic!("{model}: no {name} on thread {tid} in the kernel's own capture: {e}")
        });
        let at = cands.iter().position(|h| {
            fields.iter().all(|(k, v)| match k.as_str() {
                "cpu" => v.as_i64() == Some(h.cpu),
                "context" => true,
                _ => same(v, h, k),
            })
        });
        let Some(at) = at else {
            panic!("{model}: the capture has no {name} on thread {tid} with these fields: {e}")
        };
        cands.remove(at);
    }
}

/// A field of the lane (number, hex text, or text) against the capture's printing of it.
fn same(v: &Value, h: &Hit, field: &str) -> bool {
    let Some(t) = h.text(field) else {
        return false;
    };
    let hex = t
        .split(' ')
        .next()
        .and_then(|x| x.strip_prefix("0x"))
        .and_then(|x| u64::from_str_radix(x, 16).ok());
    match v {
        Value::Number(n) => {
            h.num(field).is_some_and(|d| n.as_i64() == Some(d))
                || hex.is_some_and(|x| n.as_u64() == Some(x))
        }
        Value::String(s) if s.starts_with("0x") => {
            hex.is_some_and(|x| u64::from_str_radix(&s[2..], 16).ok() == Some(x))
        }
        Value::String(s) => t == s || t.starts_with(&format!("{s} (")),
        _ => false,
    }
}

/// A JSON trace of `MODEL --kernel` captured on the side; the run itself must have passed.
fn traced(model: &str) -> Captured {
    let c = capture(&[model, "--kernel", "--format", "json"]);
    assert_eq!(c.rc, 0, "{model} --kernel failed: {}", c.stderr);
    assert!(!c.pid.is_empty());
    let mine = format!("iomodels-{}", c.pid);
    assert!(
        !c.instances.lines().any(|l| l == mine),
        "{model}: the lane's instance was left behind: {}",
        c.instances
    );
    c
}

#[test]
fn every_receive_a_server_made_is_a_copy_the_kernel_made_on_that_thread() {
    if !traceable() {
        return;
    }
    for model in util::models_here() {
        let c = traced(&model);
        if LIBRARY_THREADS.contains(&model.as_str()) {
            library_receives_are_its_threads_copies(&c, &model);
            assert_lane_is_real(&c, &model);
            continue;
        }
        let tids = server_tids(&c.trace);
        let ours = trace_recvs(&c.trace);
        let kernel = kernel_recvs(&c.kernel, &tids);
        assert!(!ours.is_empty(), "{model}: the server received nothing");
        assert_eq!(
            ours, kernel,
            "{model}: the trace's receives (per server thread, bytes) are not the kernel's sock_recv_length"
        );
        assert_lane_is_real(&c, &model);
    }
}

/// A library that reads for us (glibc's POSIX AIO): the bytes its `aio_return`s of reads
/// reported for the clients' sockets are the kernel's copies on the library's helper threads
/// (the lane's `on: glibc helper`), as multisets — the helpers take the requests in any order.
fn library_receives_are_its_threads_copies(c: &Captured, model: &str) {
    let accepted: Vec<i64> = c
        .trace
        .iter()
        .filter(|e| e["kind"] == "syscall" && e["port"].is_u64())
        .filter_map(|e| e["ret"].as_i64())
        .collect();
    let mut ours: Vec<i64> = c
        .trace
        .iter()
        .filter(|e| e["kind"] == "library" && e["call"] == "aio_return" && e["args"] == "LIO_READ")
        .filter(|e| e["fd"].as_i64().is_some_and(|fd| accepted.contains(&fd)))
        .filter_map(|e| e["ret"].as_i64())
        .collect();
    let helpers: Vec<i64> = c
        .trace
        .iter()
        .filter(|e| e["kind"] == "kernel" && e["on"] == "glibc helper")
        .filter_map(|e| e["tid"].as_i64())
        .collect();
    assert!(
        !helpers.is_empty(),
        "{model}: the lane shows no helper thread"
    );
    let mut kernel: Vec<i64> = kernel_recvs(&c.kernel, &helpers)
        .into_values()
        .flatten()
        .collect();
    ours.sort_unstable();
    kernel.sort_unstable();
    assert!(!ours.is_empty(), "{model}: the server received nothing");
    assert_eq!(
        ours, kernel,
        "{model}: the aio_returns of reads are not the helpers' sock_recv_length"
    );
    // The server's own threads copied nothing: the helpers did.
    let server = server_tids(&c.trace);
    assert!(
        kernel_recvs(&c.kernel, &server).is_empty(),
        "{model}: a copy on a server thread"
    );
}

/// glibc's POSIX AIO as the lane tells it: a helper thread's `pread64` is refused (`ESPIPE`),
/// its `read` then sleeps until the client sends, and the copy of the client's bytes runs
/// inside that read, on the helper; the helper was started (`clone3`) by a server thread,
/// inside `aio_read`.
#[test]
fn posix_aio_reads_in_glibcs_threads() {
    if !traceable() {
        return;
    }
    let t = lane("posix-aio");
    let helper = |e: &Value| e["kind"] == "kernel" && e["on"] == "glibc helper";
    find(&t, "a helper's pread64 refused with ESPIPE", |e| {
        helper(e) && e["call"] == "sys_exit" && e["args"] == "pread64" && e["errno"] == "ESPIPE"
    });
    let copy = find(&t, "the copy of B's bytes", |e| {
        helper(e) && e["call"] == "sock_recv_length" && e["client"] == "B" && e["ret"] == 6
    });
    assert_eq!(t[copy]["inside"], "read", "{}", t[copy]);
    let tid = &t[copy]["tid"];
    let entered = t[..copy]
        .iter()
        .rposition(|e| e["tid"] == *tid && e["call"] == "sys_enter")
        .expect("the helper entered a call before the copy");
    assert_eq!(t[entered]["args"], "read", "{}", t[entered]);
    find(&t, "a clone3 inside aio_read", |e| {
        e["kind"] == "kernel"
            && e["call"] == "sys_exit"
            && e["args"] == "clone3"
            && e["inside"] == "aio_read"
            && e["on"].as_str().is_some_and(|o| o.starts_with("server"))
    });
}

/// errno names a CQE can carry here, by number.
fn errno_of(name: &str) -> i64 {
    let n = match name {
        "ECANCELED" => libc::ECANCELED,
        "ENOENT" => libc::ENOENT,
        "EALREADY" => libc::EALREADY,
        "EINVAL" => libc::EINVAL,
        "ECONNRESET" => libc::ECONNRESET,
        "EPIPE" => libc::EPIPE,
        "EAGAIN" => libc::EAGAIN,
        "ETIME" => libc::ETIME,
        other => panic!("an errno this test does not know: {other}"),
    };
    -i64::from(n)
}

#[test]
fn uring_ops_are_the_kernels_own_requests_and_completions() {
    if !traceable() {
        return;
    }
    let c = traced("uring");
    let server = server_tids(&c.trace);
    let ops: Vec<&Value> = c.trace.iter().filter(|e| e["kind"] == "op").collect();
    // Submissions: (user_data, opcode) in order.
    let sqes: Vec<(u64, String)> = ops
        .iter()
        .filter(|e| e["args"].as_str().is_some_and(|a| a.starts_with("SQE")))
        .map(|e| {
            (
                e["key"].as_u64().expect("an SQE has a key"),
                e["call"].as_str().unwrap_or("").to_ascii_uppercase(),
            )
        })
        .collect();
    let submitted: Vec<(u64, String)> = c
        .kernel
        .iter()
        .filter(|h| h.name == "io_uring_submit_req" && server.contains(&h.tid))
        .map(|h| {
            (
                h.num("user_data").expect("user_data") as u64,
                h.text("op_str").unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        sqes.len() >= 6,
        "a classroom run submits accepts, recvs and sends: {sqes:?}"
    );
    assert_eq!(
        sqes, submitted,
        "uring's SQE lines against io_uring_submit_req"
    );
    // Completions: (user_data, result) in order.
    let cqes: Vec<(u64, i64)> = ops
        .iter()
        .filter(|e| e["args"].as_str().is_some_and(|a| a.starts_with("CQE")))
        .map(|e| {
            let res = match (e["ret"].as_i64(), e["errno"].as_str()) {
                (Some(r), _) => r,
                (None, Some(name)) => errno_of(name),
                _ => panic!("a CQE with no result: {e}"),
            };
            (e["key"].as_u64().expect("a CQE has a key"), res)
        })
        .collect();
    let completed: Vec<(u64, i64)> = c
        .kernel
        .iter()
        .filter(|h| h.name == "io_uring_complete" && server.contains(&h.tid))
        .map(|h| {
            (
                h.num("user_data").expect("user_data") as u64,
                h.num("res").expect("res"),
            )
        })
        .collect();
    assert_eq!(
        cqes, completed,
        "uring's CQE lines against io_uring_complete"
    );
    // The lane names the same requests by the same keys.
    let lane_keys: Vec<u64> = c
        .trace
        .iter()
        .filter(|e| e["kind"] == "kernel" && e["call"] == "io_uring_submit_req")
        .filter_map(|e| e["key"].as_u64())
        .collect();
    let keys: Vec<u64> = sqes.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        lane_keys, keys,
        "the lane's io_uring_submit_req lines carry the SQEs' keys"
    );
}

/// A JSON trace of `MODEL --kernel` (no second capture).
fn lane(model: &str) -> Vec<Value> {
    let out = util::run(&[model, "--kernel", "--format", "json"]);
    assert!(
        out.status.success(),
        "{model} --kernel failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    events(&out.stdout)
}

/// The index of the first event matching `f`, named for the failure message.
fn find(trace: &[Value], what: &str, f: impl Fn(&Value) -> bool) -> usize {
    trace
        .iter()
        .position(f)
        .unwrap_or_else(|| panic!("no {what} in the trace"))
}

/// The descriptor the server accepted `client`'s connection on (its peer port is the client's).
fn fd_of(trace: &[Value], client: &str) -> (usize, i64) {
    let port = trace
        .iter()
        .find(|e| e["kind"] == "client" && e["client"] == client && e["call"] == "connect")
        .and_then(|e| e["port"].as_u64())
        .expect("the client's connect carries its port");
    let at = find(trace, "the accept of the client", |e| {
        matches!(e["kind"].as_str(), Some("syscall" | "op")) && e["port"].as_u64() == Some(port)
    });
    (
        at,
        trace[at]["ret"].as_i64().expect("an accepted descriptor"),
    )
}

#[test]
fn blocking_shows_bs_data_arriving_while_the_server_is_stuck_on_a() {
    if !traceable() {
        return;
    }
    let t = lane("blocking");
    let server = server_tids(&t);
    let (accept_b, fd_b) = fd_of(&t, "B");
    let arrived = find(&t, "sk_data_ready for B's data", |e| {
        b_data_arrived(e) && e["end"] == "server"
    });
    assert!(
        arrived < accept_b,
        "B's data arrived in the kernel before the blocking server even accepted B"
    );
    // B's descriptor may be A's number again: B's recvfrom is the one after B's accept.
    let recv_b = accept_b
        + t[accept_b..]
            .iter()
            .position(|e| {
                e["kind"] == "syscall"
                    && e["call"] == "recvfrom"
                    && e["fd"] == fd_b
                    && e["ret"] == 6
            })
            .expect("the server's recvfrom of B's bytes");
    let copy = b_copied_inside_recvfrom(&t, &server, fd_b);
    assert!(
        arrived < copy && copy < recv_b,
        "arrival, then the copy, then recvfrom's line"
    );
    assert_eq!(t[copy]["stage"], "copy-to-user");
}

/// The kernel's `sk_data_ready` for B's bytes (not the listener's, not an echo's).
fn b_data_arrived(e: &Value) -> bool {
    e["kind"] == "kernel"
        && e["call"] == "sk_data_ready"
        && e["client"] == "B"
        && e["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("data for B"))
}

/// The kernel's copy of B's 6 bytes: on a server thread, inside the server's `recvfrom` of B's
/// descriptor. Returns its index.
fn b_copied_inside_recvfrom(t: &[Value], server: &[i64], fd_b: i64) -> usize {
    let copy = find(t, "the kernel's copy of B's bytes", |e| {
        e["kind"] == "kernel"
            && e["call"] == "sock_recv_length"
            && e["client"] == "B"
            && e["ret"] == 6
    });
    assert!(
        server.contains(&t[copy]["tid"].as_i64().unwrap_or(0)),
        "copied on the server's thread"
    );
    assert_eq!(
        t[copy]["inside"], "recvfrom",
        "inside the server's recvfrom"
    );
    assert_eq!(t[copy]["fd"], fd_b);
    copy
}

#[test]
fn epoll_is_woken_once_the_data_is_in_and_copies_on_its_own_thread() {
    if !traceable() {
        return;
    }
    let t = lane("epoll");
    let server = server_tids(&t);
    let (_, fd_b) = fd_of(&t, "B");
    let arrived = find(&t, "sk_data_ready for B's data", b_data_arrived);
    // The wake-up of the server thread that follows it: made by whoever delivered the data (B's
    // sending thread, or an interrupt that ran while another task had the CPU), never by the
    // sleeping server itself.
    let woken = arrived
        + t[arrived..]
            .iter()
            .position(|e| {
                e["kind"] == "kernel"
                    && e["call"] == "sched_wakeup"
                    && e["fields"]["pid"]
                        .as_i64()
                        .is_some_and(|p| server.contains(&p))
            })
            .expect("the server thread is woken after B's data arrives");
    assert!(
        !server.contains(&t[woken]["tid"].as_i64().unwrap_or(0)),
        "woken by another thread than the sleeping server's: {}",
        t[woken]
    );
    let ready = find(&t, "the epoll_pwait that reported B", |e| {
        e["kind"] == "syscall"
            && e["call"] == "epoll_pwait"
            && e["t_us"].as_u64() <= t[arrived]["t_us"].as_u64()
            && (e["t_us"].as_u64().unwrap_or(0) + e["dur_us"].as_u64().unwrap_or(0))
                >= t[arrived]["t_us"].as_u64().unwrap_or(0)
    });
    assert!(
        woken < ready,
        "the wake-up comes before epoll_pwait returns"
    );
    let copy = b_copied_inside_recvfrom(&t, &server, fd_b);
    assert!(ready < copy, "the copy comes after the wait returned");
    let summary = util::summary(&t);
    assert!(
        summary["kernel"]["sk_data_ready"].as_u64() >= Some(4),
        "{summary}"
    );
}

#[test]
fn serve_says_what_it_cannot_attribute() {
    if !traceable() {
        return;
    }
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(bin())
        .args([
            "epoll", "--serve", "--kernel", "--port", "0", "--format", "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the server");
    let first = util::first_stderr_line(&mut child);
    assert!(first.starts_with("serving on"), "{first}");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a pid");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let said = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("\"actor\":\"kernel\"") && l.contains("--serve:"));
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("Ctrl-C");
    let status = child.wait().expect("wait");
    let said = said.expect("a --serve remark from the lane");
    assert!(
        said.contains("not seen") && said.contains("its own process"),
        "{said}"
    );
    assert!(status.success(), "--serve --kernel ends cleanly on Ctrl-C");
}

#[test]
fn ctrl_c_removes_the_instance() {
    if !traceable() {
        return;
    }
    let dir = scratch();
    let script = r#"
T=/sys/kernel/tracing
grep -q " $T tracefs " /proc/self/mounts || mount -t tracefs nodev $T
"$@" > "$OUT/stdout" 2> "$OUT/stderr" &
p=$!
# Once the trace has begun the run is under way (a shell's `cmd &` starts with SIGINT ignored
# until the program catches it): then Ctrl-C.
i=0
while [ ! -s "$OUT/stdout" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -INT $p
wait $p
echo $? > "$OUT/rc"
echo $p > "$OUT/pid"
ls $T/instances > "$OUT/instances"
"#;
    let status = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(bin())
        .args(["blocking", "--kernel"])
        .env("OUT", &dir)
        .status()
        .expect("run");
    assert!(status.success());
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    assert_ne!(
        read("rc").trim(),
        "0",
        "an interrupted scenario run is no success"
    );
    assert!(
        read("stderr").contains("interrupted (Ctrl-C)"),
        "{}",
        read("stderr")
    );
    let mine = format!("iomodels-{}", read("pid").trim());
    assert!(
        !read("instances").lines().any(|l| l == mine),
        "Ctrl-C left the instance behind: {}",
        read("instances")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_root_it_says_so_in_one_line_and_exits_2() {
    let root = rustix::process::geteuid().is_root();
    let mut cmd = if root {
        if !util::have("setpriv") {
            return;
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin());
        c
    } else {
        Command::new(bin())
    };
    let out = cmd.args(["epoll", "--kernel"]).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "no trace at all, not a partial one");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("--kernel") && (stderr.contains("root") || stderr.contains("sudo")),
        "names what is missing and how to get it: {stderr}"
    );
    // `compare --kernel` refuses before any model runs.
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin());
        c
    } else {
        Command::new(bin())
    };
    let out = cmd.args(["compare", "--kernel"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn no_trace_and_kernel_together_are_refused() {
    let out = util::run(&["epoll", "--kernel", "--no-trace"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-trace"));
}

/// `compare --kernel`: every Linux model's figure row is decomposed from the lane — the data
/// arrived before it was copied, the copy ran on a server thread inside the call that reads
/// (recvfrom; io_uring_enter for uring; io_submit for aio), and the table's ② sums copy paths.
#[test]
fn compare_decomposes_figure_6_6_from_the_lane() {
    if !traceable() {
        return;
    }
    let out = Command::new(bin())
        .args(["compare", "--kernel", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cmp = events(&out.stdout).remove(0);
    let fig = cmp["figure"].as_array().unwrap();
    assert!(fig.len() >= 8, "{} rows", fig.len());
    for r in fig {
        let model = r["model"].as_str().unwrap();
        assert_eq!(r["stage2_measures"], "copy-path", "{model}");
        let k = &r["kernel"];
        let at = |f: &str| {
            k[f].as_u64()
                .unwrap_or_else(|| panic!("{model}: no {f}: {k}"))
        };
        assert!(
            at("sent_us") <= at("arrived_us"),
            "{model}: arrived before it was sent: {k}"
        );
        assert!(
            at("arrived_us") <= at("copied_us"),
            "{model}: copied before it arrived: {k}"
        );
        assert!(at("path_us") <= at("copied_us"), "{model}: {k}");
        assert_eq!(k["bytes"], 6, "{model}: A's first message is 6 bytes");
        // POSIX AIO's copy runs on a helper thread of glibc's, inside its blocking read.
        let (on, inside) = match model {
            "uring" => ("server", "io_uring_enter"),
            "aio" => ("server", "io_submit"),
            "posix-aio" => ("glibc helper", "read"),
            _ => ("server", "recvfrom"),
        };
        assert!(k["on"].as_str().unwrap().starts_with(on), "{model}: {k}");
        assert_eq!(k["inside"], inside, "{model}: {k}");
    }
    // A thread asleep in a readiness wait or a blocking recv is woken by the data. (Not every
    // row must show it: the kernel does not emit every context switch, see DESIGN.md.)
    let sleepers = ["blocking", "threads", "select", "poll", "epoll"];
    assert!(
        fig.iter()
            .any(|r| sleepers.contains(&r["model"].as_str().unwrap())
                && r["kernel"]["woken_us"].is_u64()),
        "no sleeping model was woken: {fig:#?}"
    );
    for row in cmp["table"].as_array().unwrap() {
        assert!(row["stage2_copy_path_us"].is_u64(), "{row}");
    }
}

/// The lane's "what to notice" under blocking: B's bytes sat in the kernel while the one thread
/// was inside A's recvfrom, and the handshake finished before any accept.
#[test]
fn blocking_lessons_come_from_the_lane() {
    if !traceable() {
        return;
    }
    let trace = lane("blocking");
    let notice: Vec<&str> = trace
        .iter()
        .filter(|e| e["kind"] == "summary")
        .flat_map(|e| e["notice"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    let b = notice
        .iter()
        .find(|n| n.starts_with("B's 6 bytes arrived in the kernel"))
        .unwrap_or_else(|| panic!("no lesson about B's bytes: {notice:#?}"));
    assert!(
        b.contains("the thread was inside recvfrom(") && b.contains("=A)"),
        "{b}"
    );
    assert!(
        notice
            .iter()
            .any(|n| n.starts_with("A's handshake finished in the kernel")),
        "{notice:#?}"
    );
}

/// `iomodels async --kernel`: the lane says who copied — for POSIX AIO a helper thread of
/// glibc's inside its read, which it counts among the threads the server never started; for
/// Linux AIO the server's own thread, inside io_submit.
#[test]
fn async_table_with_the_lane_names_the_copying_thread() {
    if !traceable() {
        return;
    }
    let out = Command::new(bin())
        .args(["async", "--kernel", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = events(&out.stdout).remove(0);
    let rows = doc["table"].as_array().unwrap();
    let row = |run: &str| rows.iter().find(|r| r["run"] == run).expect(run);
    let posix = row("posix-aio");
    assert_eq!(
        posix["stage2_copied"], "glibc helper, inside read (lane)",
        "{posix}"
    );
    assert!(posix["extra_threads"].as_u64() >= Some(1), "{posix}");
    let aio = row("aio");
    assert_eq!(
        aio["stage2_copied"], "server, inside io_submit (lane)",
        "{aio}"
    );
    assert_eq!(aio["extra_threads"], 0, "{aio}");
}
