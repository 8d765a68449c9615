//! Servers that survive (issue 7): load, faults and bad input, for every model.
//!
//! Each server runs as a child process (`iomodels MODEL --serve`), so its descriptors, CPU time
//! and memory are its own; the clients live in this process. Every wait is bounded, and a child
//! still running when a test ends is killed.
//!
//! Sizes (chosen for a 2-core machine and a debug build): [`CLIENTS`] concurrent clients
//! (select: [`SELECT_CLIENTS`], under its wall) × 2 messages of 1 B – 64 KiB each; blocking: 20
//! clients one after another. The never-reading client pushes up to 64 MiB.
//!
//! Linux and Windows (under Wine, from `scripts/cross-check windows`): the client side waits with
//! the `polling` crate (epoll here, an IOCP there); what differs — how the server is stopped, its
//! CPU and memory figures, descriptor limits, errno names — is in [`os`] at the end.
#![cfg(any(target_os = "linux", windows))]

mod util;

use serde_json::Value;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Every model that serves many clients at once, alone or in a mode, as the registry declares
/// it (`epoll`, `epoll --edge`, `aio --poll` but not plain `aio`; those this OS lacks are
/// skipped by each test): (model, extra arguments).
fn concurrent_modes() -> Vec<(String, Vec<String>)> {
    util::registry()
        .iter()
        .flat_map(|m| {
            m.ways()
                .into_iter()
                .filter(|(_, concurrent)| *concurrent)
                .map(|(args, _)| (m.name.clone(), args.into_iter().map(String::from).collect()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Extra arguments as `&str`s.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Concurrent clients of a load test.
const CLIENTS: usize = os::CLIENTS;
/// select's clients: every descriptor of its child must stay below FD_SETSIZE (1024) on Linux;
/// on Windows an `fd_set` holds 64 sockets, the listener among them.
const SELECT_CLIENTS: usize = os::SELECT_CLIENTS;

/// Load and memory tests take turns: their CPU and memory figures mean nothing on a machine
/// busy with another one.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether this OS has `model` (and, for uring, whether the kernel lets us use it).
fn here(model: &str) -> bool {
    let ok = util::models_here().iter().any(|m| m == model);
    if !ok {
        eprintln!("*** SKIPPED: {model} is not available here ***");
    }
    ok
}

/// A server child: `iomodels MODEL --serve …`, its trace (if any) going to a file.
struct Served {
    model: String,
    traced: bool,
    child: Child,
    addr: SocketAddr,
    trace: PathBuf,
}

impl Served {
    /// `traced`: write the JSON trace to a file (read by [`Served::stop`]); otherwise
    /// `--no-trace`.
    fn start(model: &str, traced: bool, extra: &[&str]) -> Served {
        let trace = std::env::temp_dir().join(format!(
            "iomodels-robust-{}-{model}-{}.jsonl",
            std::process::id(),
            rand_suffix()
        ));
        let mut args = vec![model, "--serve", "--port", "0"];
        if traced {
            args.extend(["--format", "json"]);
        } else {
            args.push("--no-trace");
        }
        args.extend(extra);
        let mut child = Command::new(util::bin())
            .args(&args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&trace).expect("trace file"))
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        let _ = err.read_line(&mut first);
        let addr = first
            .strip_prefix("serving on ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{model} {args:?} did not start: {first}");
        };
        // Drain stderr so the child never blocks on it.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = err.read_to_end(&mut sink);
        });
        Served {
            model: model.to_string(),
            traced,
            child,
            addr,
            trace,
        }
    }

    fn alive(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the {} server died: {status}", self.model);
        }
    }

    /// The JSON trace written so far (complete lines only).
    fn trace(&self) -> Vec<Value> {
        let text = std::fs::read(&self.trace).unwrap_or_default();
        let text = std::str::from_utf8(&text).expect("the JSON trace is UTF-8");
        let done = text.rfind('\n').map_or(0, |i| i + 1);
        text[..done]
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}")))
            .collect()
    }

    /// Stops the server and returns its JSON trace (empty without one). Once the trace
    /// satisfies `shows` (or 10 s have passed) the server, still running, gets Ctrl-C where a
    /// test can send it ([`os::ctrl_c`]): it must then exit with code 0 and end its trace with a
    /// summary. Elsewhere it is killed, and its trace so far is returned.
    fn stop(mut self, shows: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.traced && !shows(&self.trace()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.alive();
        if !os::ctrl_c(&self.child) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return if self.traced {
                self.trace()
            } else {
                Vec::new()
            };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                panic!(
                    "the {} server did not stop within 10 s of Ctrl-C",
                    self.model
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0), "{}: exit after Ctrl-C", self.model);
        if !self.traced {
            return Vec::new();
        }
        let events = self.trace();
        assert!(
            events.iter().any(|e| e["kind"] == "summary"),
            "{}: no summary after Ctrl-C",
            self.model
        );
        events
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() && self.traced {
            eprintln!(
                "the {} server's trace is kept in {}",
                self.model,
                self.trace.display()
            );
        } else {
            let _ = std::fs::remove_file(&self.trace);
        }
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// SplitMix64: a seeded generator, enough for payloads and sizes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One client of the load: its whole stream, how much went out and how much came back.
struct Flow {
    sock: TcpStream,
    data: Vec<u8>,
    /// Where each message ends in `data`: every write stops at a message's end.
    ends: Vec<usize>,
    sent: usize,
    got: usize,
    shut: bool,
    eof: bool,
}

impl Flow {
    /// Sends what the socket takes (up to a message's end each write), shuts down writing after
    /// the last byte, and reads and checks what came back; true once the server has closed.
    fn step(&mut self, i: usize, buf: &mut [u8]) -> bool {
        while self.sent < self.data.len() {
            let end = *self.ends.iter().find(|&&e| e > self.sent).unwrap();
            match (&self.sock).write(&self.data[self.sent..end]) {
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("client {i}: send failed after {} bytes: {e}", self.sent),
            }
        }
        if self.sent == self.data.len() && !self.shut {
            self.sock.shutdown(Shutdown::Write).unwrap();
            self.shut = true;
        }
        loop {
            match (&self.sock).read(buf) {
                Ok(0) => {
                    assert_eq!(
                        self.got,
                        self.data.len(),
                        "client {i}: the server closed before echoing everything"
                    );
                    self.eof = true;
                    return true;
                }
                Ok(n) => {
                    assert!(
                        self.got + n <= self.data.len(),
                        "client {i}: more bytes came back than were sent"
                    );
                    if buf[..n] != self.data[self.got..self.got + n] {
                        let at = buf[..n]
                            .iter()
                            .zip(&self.data[self.got..])
                            .position(|(a, b)| a != b)
                            .unwrap();
                        panic!("client {i}: echo differs at byte {}", self.got + at);
                    }
                    self.got += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) => panic!("client {i}: recv failed after {} bytes: {e}", self.got),
            }
        }
    }
}

/// Totals of a load run.
#[derive(Default, Debug)]
struct Load {
    clients: usize,
    messages: usize,
    bytes: u64,
}

/// `clients` connections at once, each sending `messages` messages of 1 B – 64 KiB (seeded),
/// then shutting down writing; reads the echo back concurrently from this one thread with
/// epoll, checks every byte in order, and expects the server to close after the last one.
/// `who` names the server in a failure (model and mode).
fn drive(
    who: &str,
    addr: SocketAddr,
    clients: usize,
    messages: usize,
    seed: u64,
    limit: Duration,
) -> Load {
    let mut rng = Rng(seed);
    let mut flows = Vec::with_capacity(clients);
    for i in 0..clients {
        let mut data = Vec::new();
        let mut ends = Vec::new();
        for _ in 0..messages {
            let size = 1 + rng.below(64 << 10) as usize;
            let start = data.len();
            data.resize(start + size, 0);
            for chunk in data[start..].chunks_mut(8) {
                let r = rng.next().to_le_bytes();
                chunk.copy_from_slice(&r[..chunk.len()]);
            }
            ends.push(data.len());
        }
        let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("client {i} of {clients}: connect failed: {e}"));
        sock.set_nonblocking(true).unwrap();
        flows.push(Flow {
            sock,
            data,
            ends,
            sent: 0,
            got: 0,
            shut: false,
            eof: false,
        });
    }
    // Declared after `flows`, so dropped first: no socket closes while the poller watches it.
    let poller = polling::Poller::new().unwrap();
    for (i, f) in flows.iter().enumerate() {
        // SAFETY: every socket outlives the poller (see above), so none is closed while added.
        unsafe { poller.add(&f.sock, polling::Event::all(i)) }.unwrap();
    }
    let deadline = Instant::now() + limit;
    let mut left = clients;
    let mut buf = vec![0u8; 64 << 10];
    let mut events = polling::Events::new();
    while left > 0 {
        assert!(
            Instant::now() < deadline,
            "load on {who}: {left} of {clients} clients unfinished after {limit:?}; e.g. {}",
            flows
                .iter()
                .find(|f| !f.eof)
                .map(|f| format!("sent {}/{}, echoed {}", f.sent, f.data.len(), f.got))
                .unwrap_or_default()
        );
        events.clear();
        poller
            .wait(&mut events, Some(Duration::from_millis(200)))
            .unwrap();
        // A wait that reports nothing for 200 ms: try every unfinished client anyway. Wine's
        // emulation of the AFD polling that `polling` uses on Windows has been seen to miss a
        // readiness change, and the server under test is not what that would be testing.
        let ready: Vec<usize> = if events.is_empty() {
            (0..flows.len()).filter(|&i| !flows[i].eof).collect()
        } else {
            events.iter().map(|ev| ev.key).collect()
        };
        for i in ready {
            let f = &mut flows[i];
            if f.eof {
                continue;
            }
            if f.step(i, &mut buf) {
                left -= 1;
                continue;
            }
            // Interest is one-shot (the mode every backend has): ask again, for writing only
            // while there is more to send.
            let more = f.sent < f.data.len();
            poller
                .modify(&f.sock, polling::Event::new(i, true, more))
                .unwrap();
        }
    }
    Load {
        clients,
        messages: clients * messages,
        bytes: flows.iter().map(|f| f.got as u64).sum(),
    }
}

fn load(model: &str, mode: &[&str], clients: usize) {
    if !here(model) {
        return;
    }
    os::raise_nofile(clients as u64 + 256);
    let _turn = heavy();
    let mut srv = Served::start(model, false, mode);
    let t = Instant::now();
    let done = drive(
        &format!("{model} {mode:?}"),
        srv.addr,
        clients,
        2,
        7 + clients as u64,
        Duration::from_secs(60),
    );
    srv.alive();
    eprintln!(
        "load {model} {mode:?}: {} clients × {} messages, {} bytes echoed byte-exact in {:.1} s",
        done.clients,
        done.messages / done.clients,
        done.bytes,
        t.elapsed().as_secs_f64()
    );
    srv.stop(|_| true);
}

/// Every model that serves many clients at once, in each of its modes, under load (select and
/// wsaevent: under their walls, which are the same on Windows: 64 sockets, or 64 events, one of
/// them the listener's).
#[test]
fn load_every_concurrent_model() {
    for (model, mode) in concurrent_modes() {
        let clients = if model == "select" || model == "wsaevent" {
            SELECT_CLIENTS
        } else {
            CLIENTS
        };
        load(&model, &strs(&mode), clients);
    }
}

/// A server that serves one client at a time, or a few (the registry's non-concurrent models
/// and modes: blocking, aio, whose reads sleep inside io_submit, and threads' bounded pool):
/// 20 clients, one after another.
#[test]
fn load_blocking_sequential() {
    for m in util::registry() {
        for (mode, concurrent) in m.ways() {
            if !concurrent {
                load_sequential(&m.name, &mode);
            }
        }
    }
}

fn load_sequential(model: &str, mode: &[&str]) {
    if !here(model) {
        return;
    }
    let _turn = heavy();
    let mut srv = Served::start(model, false, mode);
    let mut total = Load::default();
    for i in 0..20 {
        let l = drive(
            &format!("{model} {mode:?}"),
            srv.addr,
            1,
            2,
            100 + i,
            Duration::from_secs(10),
        );
        total.clients += l.clients;
        total.messages += l.messages;
        total.bytes += l.bytes;
    }
    srv.alive();
    eprintln!("load {model} {mode:?}: {total:?} (sequential), byte-exact");
    srv.stop(|_| true);
}

/// Sends `msg` and expects exactly it back within `wait`.
fn echo_once(sock: &mut TcpStream, msg: &[u8], wait: Duration) -> Result<(), String> {
    sock.set_read_timeout(Some(wait)).unwrap();
    sock.write_all(msg).map_err(|e| format!("send: {e}"))?;
    let mut got = vec![0u8; msg.len()];
    let mut have = 0;
    while have < msg.len() {
        match sock.read(&mut got[have..]) {
            Ok(0) => return Err(format!("EOF after {have} bytes")),
            Ok(n) => have += n,
            Err(e) => return Err(format!("recv after {have} bytes: {e}")),
        }
    }
    if got != msg {
        return Err(format!("echo differs: {:?}", String::from_utf8_lossy(&got)));
    }
    Ok(())
}

/// A server event that failed with one of `errnos`.
fn failed_with<'a>(events: &'a [Value], errnos: &[&str]) -> Option<&'a Value> {
    events.iter().find(|e| {
        e["actor"].as_str().is_some_and(|a| a.starts_with("server"))
            && e["errno"].as_str().is_some_and(|x| errnos.contains(&x))
    })
}

/// A client that sends without ever reading: the server stops reading it (its kernel buffers
/// fill and the client's sends stall long before 64 MiB), its memory stays flat, it does not
/// spin, the others are still served; when the client then goes away with its echo unread
/// (a reset), the server's send fails, it says so, and it serves on.
fn never_reader(m: &util::Listed, mode: &[&str], concurrent: bool) {
    let model = m.name.as_str();
    if !here(model) {
        return;
    }
    let _turn = heavy();
    let mut extra = vec!["--max-pending", "256K"];
    extra.extend(mode);
    let mut srv = Served::start(model, true, &extra);
    let mut other = TcpStream::connect_timeout(&srv.addr, Duration::from_secs(5)).unwrap();
    echo_once(&mut other, b"warm up\n", Duration::from_secs(5)).unwrap();
    let before = os::peak_kib(&srv.child);

    let hog = TcpStream::connect_timeout(&srv.addr, Duration::from_secs(5)).unwrap();
    hog.set_nonblocking(true).unwrap();
    let chunk = vec![0x5au8; 64 << 10];
    let (mut pushed, mut last_progress) = (0usize, Instant::now());
    let start = Instant::now();
    while pushed < 64 << 20
        && last_progress.elapsed() < Duration::from_millis(700)
        && start.elapsed() < Duration::from_secs(20)
    {
        match (&hog).write(&chunk) {
            Ok(n) => {
                pushed += n;
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("{model}: the never-reading client's send failed: {e}"),
        }
    }
    srv.alive();
    // Stalled: the server stopped reading it (nothing else bounds what the client can push).
    assert!(
        pushed < 48 << 20,
        "{model}: the server kept reading a client that never reads ({pushed} bytes)"
    );
    let t0 = os::cpu_ms(&srv.child);
    std::thread::sleep(Duration::from_secs(1));
    let spun = os::cpu_ms(&srv.child).zip(t0).map(|(t1, t0)| t1 - t0);
    let peak = os::peak_kib(&srv.child);
    // Busy-polling is the lesson of the polling kind (nonblocking); every other model must
    // sleep here.
    if let Some(spun) = spun
        && m.kind != "polling"
    {
        assert!(
            spun < 300,
            "{model}: {spun} ms of CPU in 1 s while stalled: a busy loop"
        );
    }
    assert!(
        peak < before + 16 * 1024,
        "{model}: peak memory grew from {before} to {peak} KiB"
    );
    // The others are served meanwhile (not by a server of one client at a time: it sleeps in
    // its send).
    if concurrent {
        echo_once(&mut other, b"still served?\n", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{model}: another client was not served: {e}"));
    }
    // The hog goes, its echo unread: closing with unread data sends a reset.
    drop(hog);
    echo_once(
        &mut other,
        b"and after the reset\n",
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("{model}: not served after the reset: {e}"));
    srv.alive();
    eprintln!(
        "never-reader {model}: pushed {:.1} MiB before stalling; peak memory {before} → {peak} KiB; {} in 1 s stalled",
        pushed as f64 / (1 << 20) as f64,
        spun.map_or("CPU time not measured".into(), |ms| format!(
            "{ms} ms of CPU"
        ))
    );
    drop(other);
    let events = srv.stop(|ev| failed_with(ev, os::RESET).is_some());
    let hit = failed_with(&events, os::RESET).unwrap_or_else(|| {
        panic!(
            "{model}: no server call failed with one of {:?} in the trace",
            os::RESET
        )
    });
    eprintln!(
        "  {model} trace: {} → {} ({})",
        hit["call"], hit["errno"], hit["note"]
    );
}

#[test]
fn never_reader_every_model() {
    for m in util::registry() {
        for (mode, concurrent) in m.ways() {
            never_reader(&m, &mode, concurrent);
        }
    }
}

/// Whether the server hung up on `sock` (EOF or reset) instead of echoing (`who`: the model
/// and the client, for the failure).
fn hung_up(sock: &mut TcpStream, who: &str) -> Option<Vec<u8>> {
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = sock.write_all(b"anyone?\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got == b"anyone?\n" {
                    return None;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) =>
            {
                return Some(got);
            }
            Err(e) => panic!("{who}: neither an echo nor a hang-up: {e}"),
        }
    }
}

/// Out of descriptors (`--max-fds 24`): the server refuses the clients it has no descriptor
/// for (accept, close), does not spin, serves the rest, and recovers when descriptors free up.
/// (Windows has no per-process descriptor limit to run out of: `--max-fds` is refused there
/// with one line, which `tests/cli.rs` checks.)
#[cfg(target_os = "linux")]
fn out_of_descriptors(model: &str, mode: &[&str]) {
    if !here(model) {
        return;
    }
    let mut srv = Served::start(model, true, &[mode, &["--max-fds", "24"]].concat());
    let mut socks: Vec<TcpStream> = (0..30)
        .map(|_| TcpStream::connect_timeout(&srv.addr, Duration::from_secs(5)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let t0 = os::cpu_ms(&srv.child).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let spun = os::cpu_ms(&srv.child).unwrap() - t0;
    if model != "nonblocking" {
        assert!(
            spun < 300,
            "{model}: {spun} ms of CPU in 1 s at EMFILE: a busy loop"
        );
    }
    let mut served = Vec::new();
    let mut refused = 0;
    for (i, s) in socks.iter_mut().enumerate() {
        match hung_up(s, &format!("{model} {mode:?}, client {i} of 30")) {
            None => served.push(i),
            Some(_) => refused += 1,
        }
    }
    srv.alive();
    assert!(
        refused > 0,
        "{model}: nobody was refused under --max-fds 24"
    );
    assert!(served.len() >= 5, "{model}: only {} served", served.len());
    // Free descriptors: the served clients go; new clients are served again.
    socks.clear();
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..5 {
        let mut s = TcpStream::connect_timeout(&srv.addr, Duration::from_secs(5)).unwrap();
        echo_once(
            &mut s,
            format!("back {i}\n").as_bytes(),
            Duration::from_secs(5),
        )
        .unwrap_or_else(|e| panic!("{model}: not served after descriptors freed up: {e}"));
    }
    let events = srv.stop(|_| true);
    let emfile = events
        .iter()
        .filter(|e| e["errno"] == "EMFILE")
        .map(|e| e["count"].as_u64().unwrap_or(1))
        .sum::<u64>();
    let closed_refused = events.iter().filter(|e| e["refused"] == true).count();
    assert!(emfile > 0, "{model}: no EMFILE in the trace");
    assert!(closed_refused > 0, "{model}: no refused close in the trace");
    eprintln!(
        "EMFILE {model}: {} served, {refused} refused; {emfile} accept4 → EMFILE in the trace, {closed_refused} refused closes; {spun} ms of CPU in 1 s",
        served.len()
    );
}

#[cfg(target_os = "linux")]
#[test]
fn out_of_descriptors_every_concurrent_model() {
    // Its CPU figures need a quiet machine (and nonblocking spins by design).
    let _turn = heavy();
    for (model, mode) in concurrent_modes() {
        out_of_descriptors(&model, &strs(&mode));
    }
}

/// The EMFILE demo (`demos/emfile.scenario`) under a descriptor limit that leaves each model
/// room for two clients: the scenario's clients keep their sockets above the limit, so only the
/// server runs out. C and D are refused (an EMFILE, then a close marked refused), the others are
/// echoed byte for byte, and E, arriving after A left, is served: the run passes as a whole.
#[cfg(target_os = "linux")]
#[test]
fn emfile_demo_refuses_two_and_recovers() {
    for (model, limit) in [
        ("epoll", "9"),
        ("poll", "8"),
        ("threads", "8"),
        ("uring", "9"),
    ] {
        if !here(model) {
            continue;
        }
        let out = util::run(&util::emfile_demo(model, limit));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{model} --max-fds {limit}: {err}"
        );
        let events = util::events(&out.stdout);
        let s = util::summary(&events);
        assert_eq!(s["failures"], 0, "{model}");
        assert!(
            events.iter().any(|e| e["errno"] == "EMFILE"),
            "{model}: no EMFILE in the trace"
        );
        let refused: Vec<i64> = events
            .iter()
            .filter(|e| e["refused"] == true)
            .map(|e| e["fd"].as_i64().unwrap_or(-1))
            .collect();
        assert_eq!(
            refused.len(),
            2,
            "{model}: C and D refused, nobody else: {refused:?}"
        );
        let echoed_to = |c: &str| {
            events
                .iter()
                .any(|e| e["kind"] == "client" && e["client"] == c && e["call"] == "echo")
        };
        for c in ["A", "B", "E"] {
            assert!(echoed_to(c), "{model}: client {c} got no echo");
        }
    }
}

/// `--max-conns 3`: the fourth and fifth clients are told why in one line and closed; when
/// one leaves, the next newcomer is served.
fn max_conns(model: &str, mode: &[&str]) {
    if !here(model) {
        return;
    }
    // Not beside a load or a chat run: under Wine their load made wsaevent's newcomer wait
    // past the client's timeout.
    let _turn = heavy();
    let mut srv = Served::start(model, true, &[mode, &["--max-conns", "3"]].concat());
    let mut socks: Vec<TcpStream> = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect_timeout(&srv.addr, Duration::from_secs(5)).unwrap();
        echo_once(&mut s, b"in\n", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{model}: not served under --max-conns: {e}"));
        socks.push(s);
    }
    for _ in 0..2 {
        let mut s = TcpStream::connect_timeout(&srv.addr, Duration::from_secs(5)).unwrap();
        let said =
            hung_up(&mut s, model).unwrap_or_else(|| panic!("{model}: served past --max-conns"));
        assert!(
            String::from_utf8_lossy(&said).starts_with("busy: this server holds at most 3"),
            "{model}: {:?}",
            String::from_utf8_lossy(&said)
        );
    }
    drop(socks.pop());
    std::thread::sleep(Duration::from_millis(200));
    let mut s = TcpStream::connect_timeout(&srv.addr, Duration::from_secs(5)).unwrap();
    echo_once(&mut s, b"my turn\n", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{model}: not served once a place was free: {e}"));
    srv.alive();
    drop(socks);
    drop(s);
    let events = srv.stop(|ev| ev.iter().filter(|e| e["refused"] == true).count() >= 2);
    let refused: Vec<&Value> = events.iter().filter(|e| e["refused"] == true).collect();
    assert_eq!(refused.len(), 2, "{model}");
    assert!(refused[0]["note"].as_str().unwrap().contains("--max-conns"));
}

#[test]
fn max_conns_every_concurrent_model() {
    for (model, mode) in concurrent_modes() {
        max_conns(&model, &strs(&mode));
    }
}

/// Resets mid-message and mid-echo, a half-close, and a client that behaves: every model
/// serves the well-behaved ones byte-exact and says in the trace what happened.
#[test]
fn faults_scenario_every_model() {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/faults.scenario");
    for run in util::runs_here() {
        let model = run.join(" ");
        let mut args: Vec<&str> = run.iter().map(String::as_str).collect();
        args.extend(["--format", "json", "--scenario", demo]);
        // Not beside a load or a chat run: under Wine, a server loaded by them can take longer
        // than the harness's grace to stop (seen with wsaevent and apc).
        let out = {
            let _turn = heavy();
            util::run(&args)
        };
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{model}: {err}");
        let events = util::events(&out.stdout);
        let s = util::summary(&events);
        assert_eq!(s["failures"], 0, "{model}");
        // The half-closing client's FIN reached the server (a recv of 0 bytes; POSIX AIO: a
        // read's aio_return of 0), after which
        // its echo still came back (the client checks that, or the run fails).
        assert!(
            events.iter().any(
                |e| e["actor"].as_str().is_some_and(|a| a.starts_with("server"))
                    && (matches!(
                        e["call"].as_str(),
                        Some("recvfrom" | "recv" | "WSARecv" | "pread")
                    ) || (e["call"] == "aio_return" && e["args"] == "LIO_READ"))
                    && e["ret"] == 0
            ),
            "{model}: no recv saw the FIN"
        );
        assert!(
            events
                .iter()
                .any(|e| e["client"] == "H" && e["call"] == "eof"),
            "{model}: H never saw the server close after its half-close"
        );
        let hit = failed_with(&events, os::RESET);
        assert!(
            hit.is_some(),
            "{model}: none of {:?} in the trace",
            os::RESET
        );
    }
}

/// SIGINT with an idle client connected: the epoll server ends cleanly with its summary.
/// (Under Wine there is no console to send Ctrl-C through: see `os::ctrl_c`.)
#[cfg(target_os = "linux")]
#[test]
fn sigint_ends_epoll_serve_with_a_summary() {
    if !here("epoll") {
        return;
    }
    let srv = Served::start("epoll", true, &[]);
    let idle = TcpStream::connect_timeout(&srv.addr, Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let events = srv.stop(|_| true);
    let s = util::summary(&events);
    assert_eq!(s["accepted"], 1);
    assert_eq!(s["serve"], true);
    drop(idle);
}

/// `--serve`'s clients are not the harness's: the summary says their echoes were not checked,
/// instead of "0 echoes checked ✓" after real ones were echoed.
#[cfg(target_os = "linux")]
#[test]
fn serve_summary_says_echoes_are_not_checked() {
    if !here("epoll") {
        return;
    }
    let mut server = Command::new(util::bin())
        .args(["epoll", "--serve", "--port", "0"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut err = BufReader::new(server.stderr.take().unwrap());
    err.read_line(&mut first).unwrap();
    let addr: SocketAddr = first.split_whitespace().nth(2).unwrap().parse().unwrap();
    let mut client = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.write_all(b"hi\n").unwrap();
    let mut echo = [0; 3];
    client.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"hi\n");
    drop(client);
    std::thread::sleep(Duration::from_millis(200));
    assert!(os::ctrl_c(&server));
    let out = server.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let clients = text
        .lines()
        .find(|l| l.trim_start().starts_with("clients "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        clients.ends_with(
            "1 served by 1 server thread(s), at most 1 at once; echoes are not checked in --serve \
             (the clients are not ours)"
        ),
        "{clients}"
    );
    assert!(text.contains("3 copied in by our recv calls, 0 by the kernel for us, 3 sent back"));
}

/// Binary payloads: echoed exactly (the clients check), and the JSON trace is valid UTF-8
/// with the bytes escaped.
#[test]
fn binary_payloads_are_escaped_in_the_json_trace() {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/binary.scenario");
    for model in ["blocking", "epoll", "uring", "iocp"] {
        if !here(model) {
            continue;
        }
        let out = util::run(&[model, "--format", "json", "--scenario", demo]);
        assert_eq!(out.status.code(), Some(0), "{model}");
        let text = std::str::from_utf8(&out.stdout).expect("the JSON trace is UTF-8");
        let events = util::events(text.as_bytes());
        assert_eq!(util::summary(&events)["failures"], 0);
        let notes: Vec<&str> = events.iter().filter_map(|e| e["note"].as_str()).collect();
        assert!(
            notes
                .iter()
                .any(|n| n.contains(r"\x00\x01\xff\xfe bin\r\n")),
            "{model}: {notes:#?}"
        );
        assert!(notes.iter().any(|n| n.contains(r"caf\xc3\xa9 \xc3(\n")));
    }
}

/// What the suite does differently on Linux: Ctrl-C is SIGINT, the server's figures come from
/// `/proc/PID`, and this process may need a higher descriptor limit.
#[cfg(target_os = "linux")]
mod os {
    use std::process::Child;

    pub const CLIENTS: usize = 1000;
    pub const SELECT_CLIENTS: usize = 900;
    /// How a server call fails when its client went away.
    pub const RESET: &[&str] = &["ECONNRESET", "EPIPE"];

    /// SIGINT, as Ctrl-C sends it.
    pub fn ctrl_c(child: &Child) -> bool {
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
            rustix::process::Signal::INT,
        )
        .unwrap();
        true
    }

    /// utime + stime in clock ticks from a `stat` file (proc(5)), and the task's name.
    fn ticks(path: &str) -> Option<(u64, String)> {
        let stat = std::fs::read_to_string(path).ok()?;
        let comm = stat[stat.find('(')? + 1..stat.rfind(')')?].to_string();
        let after = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 and 15 of stat(5); `after` starts at field 3.
        Some((
            f[11].parse::<u64>().ok()? + f[12].parse::<u64>().ok()?,
            comm,
        ))
    }

    /// The CPU time (utime + stime) the child has used, all threads, in ms — but for the
    /// kernel's io_uring SQ thread (`iou-sqp-PID`, `uring --sqpoll`): it polls the ring on a CPU
    /// of its own by design, and the server's summary reports it apart.
    pub fn cpu_ms(child: &Child) -> Option<u64> {
        let (all, _) = ticks(&format!("/proc/{}/stat", child.id())).unwrap();
        let sq: u64 = std::fs::read_dir(format!("/proc/{}/task", child.id()))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|t| ticks(&format!("{}/stat", t.path().display())))
            .filter(|(_, comm)| comm.starts_with("iou-sqp"))
            .map(|(t, _)| t)
            .sum();
        Some(all.saturating_sub(sq) * 1000 / rustix::param::clock_ticks_per_second())
    }

    /// The child's peak resident memory (`VmHWM`), in KiB.
    pub fn peak_kib(child: &Child) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// Raises this process's soft descriptor limit to `need`, or fails with a clear message.
    pub fn raise_nofile(need: u64) {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let lim = getrlimit(Resource::Nofile);
        if lim.current.is_none_or(|c| c >= need) {
            return;
        }
        if let Some(hard) = lim.maximum
            && hard < need
        {
            panic!(
                "this test needs {need} open descriptors but the hard limit (ulimit -Hn) is {hard}: \
                 raise it (e.g. `ulimit -Hn {need}` as root, or LimitNOFILE= in systemd)"
            );
        }
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(need),
                maximum: lim.maximum,
            },
        )
        .expect("setrlimit(RLIMIT_NOFILE)");
    }
}

/// What the suite does differently on Windows (run under Wine): no Ctrl-C to send, peak memory
/// from `GetProcessMemoryInfo`, no CPU figure, no descriptor limit.
#[cfg(windows)]
mod os {
    use std::os::windows::io::AsRawHandle;
    use std::process::Child;
    use windows_sys::Win32::System::ProcessStatus::{
        K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };

    pub const CLIENTS: usize = 1000;
    /// Winsock's `fd_set` holds 64 sockets; the listener is one of them.
    pub const SELECT_CLIENTS: usize = 63;
    /// How a server call fails when its client went away: Winsock's codes, and those of a
    /// completion packet (`STATUS_CONNECTION_RESET`, `STATUS_REMOTE_DISCONNECT`, …).
    pub const RESET: &[&str] = &[
        "WSAECONNRESET",
        "WSAECONNABORTED",
        "ERROR_NETNAME_DELETED",
        "ERROR_CONNECTION_ABORTED",
    ];

    /// Ctrl-C reaches a console program through its console (`GenerateConsoleCtrlEvent`); a
    /// test run under Wine has none (`GenerateConsoleCtrlEvent` fails with
    /// `ERROR_INVALID_ACCESS`, and `AllocConsole` fails without a display), so the server is
    /// killed instead and its trace read up to then.
    pub fn ctrl_c(_: &Child) -> bool {
        false
    }

    /// Not measured: Wine's `GetProcessTimes` does not follow another process's CPU time (a
    /// nonblocking server spinning for a whole second showed 0 ms), so a figure from it could
    /// only make the no-busy-loop check pass without looking.
    pub fn cpu_ms(_: &Child) -> Option<u64> {
        None
    }

    /// `GetProcessMemoryInfo`: the child's peak working set, in KiB.
    pub fn peak_kib(child: &Child) -> u64 {
        // SAFETY: plain data; all zeroes is a valid value.
        let mut pmc: PROCESS_MEMORY_COUNTERS = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
        // SAFETY: the handle is the live child's; `pmc` is writable and `size` bytes long.
        let ok = unsafe { K32GetProcessMemoryInfo(child.as_raw_handle(), &mut pmc, size) };
        assert!(
            ok != 0,
            "GetProcessMemoryInfo: {}",
            std::io::Error::last_os_error()
        );
        pmc.PeakWorkingSetSize as u64 / 1024
    }

    /// Windows has no per-process limit on sockets to raise.
    pub fn raise_nofile(_: u64) {}
}

/// The slow reader with an echo backlog of one read (`--max-pending 4096`): every time the
/// reader catches up, the server must read again by itself, because the bytes still queued in
/// the kernel announce nothing new (a signal-driven server that only sent its backlog when
/// POLL_OUT came waited for ever; so would an edge-triggered one). Every model, every byte.
#[cfg(target_os = "linux")]
#[test]
fn a_one_read_backlog_never_stalls_the_slow_reader() {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/slow-reader.scenario");
    let models = util::registry();
    let mut runs: Vec<Vec<&str>> = models
        .iter()
        .filter(|m| m.here)
        .map(|m| vec![m.name.as_str()])
        .collect();
    if here("epoll") {
        runs.push(vec!["epoll", "--edge"]);
    }
    for mut args in runs {
        args.extend([
            "--max-pending",
            "4096",
            "--scenario",
            demo,
            "--format",
            "json",
        ]);
        let out = util::run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        let events = util::events(&out.stdout);
        let s = util::summary(&events);
        assert_eq!(s["failures"], 0, "{args:?}");
        assert_eq!(s["echo_bytes"], (8 << 20) + 31, "{args:?}: every byte back");
    }
}

/// `--app chat` on every model that serves many clients at once: the chat demo delivers every
/// line exactly (the clients check each byte), and the slow reader is dropped while the room
/// goes on, with no queue past `--max-pending`.
#[test]
fn chat_demos_every_concurrent_model() {
    let chat = concat!(env!("CARGO_MANIFEST_DIR"), "/demos/chat.scenario");
    let slow = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/demos/chat-slow-reader.scenario"
    );
    for (model, mode) in concurrent_modes() {
        if !here(&model) {
            continue;
        }
        let name = format!("{model} {}", mode.join(" "));
        // Under Wine a socket closed with SO_LINGER 0 reaches its peer as a plain close, not
        // a reset (seen on every Windows model), so a dropped client cannot tell it was dropped.
        let demos: &[&str] = if cfg!(windows) {
            &[chat]
        } else {
            &[chat, slow]
        };
        for &demo in demos {
            let mut args = vec![model.as_str()];
            args.extend(strs(&mode));
            args.extend(["--app", "chat", "--format", "json", "--scenario", demo]);
            let _turn = heavy();
            let out = util::run(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{name} {demo}: {err}");
            let events = util::events(&out.stdout);
            let s = util::summary(&events);
            assert_eq!(s["failures"], 0, "{name} {demo}");
            let room = &s["room"];
            if demo == chat {
                // 3 joins told to 0+1+2 members, 3 lines to 2+2+1, 3 leaves to 2+1+0.
                assert_eq!(room["deliveries"], 11, "{name}: {room}");
                assert_eq!(room["dropped"], 0, "{name}: {room}");
            } else {
                assert_eq!(room["dropped"], 1, "{name}: only rita is dropped: {room}");
                assert!(
                    room["peak_queue"].as_u64().unwrap() <= 256 << 10,
                    "{name}: a queue passed --max-pending: {room}"
                );
            }
        }
    }
}

/// One line from a chat client, waiting at most 10 s.
fn chat_line(sock: &mut TcpStream, model: &str) -> String {
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while line.last() != Some(&b'\n') {
        match sock.read(&mut b) {
            Ok(1) => line.push(b[0]),
            Ok(_) => break,
            Err(e) => panic!(
                "{model}: no line (got {:?}): {e}",
                String::from_utf8_lossy(&line)
            ),
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// Bad chat clients on every concurrent model: a bad name, a line past the limit, binary
/// bytes, a reset mid-line. Each is told why (only the sender), the others hear only good
/// lines, and the server serves on and ends cleanly.
#[test]
fn chat_bad_clients_every_concurrent_model() {
    for (model, mode) in concurrent_modes() {
        if !here(&model) {
            continue;
        }
        let name = format!("{model} {}", mode.join(" "));
        let _turn = heavy();
        let mut extra = strs(&mode);
        extra.extend(["--app", "chat"]);
        let mut srv = Served::start(&model, true, &extra);
        let connect = || TcpStream::connect_timeout(&srv.addr, Duration::from_secs(5)).unwrap();
        let (mut a, mut b, mut c) = (connect(), connect(), connect());
        // Alice's name, then a line too long: the refusal proves her name was read, so she is
        // in the room before Bob joins (their connections may be served by different threads).
        a.write_all(b"alice\n").unwrap();
        a.write_all(&[b'y'; 300]).unwrap();
        a.write_all(b"\n").unwrap();
        assert!(
            chat_line(&mut a, &name).starts_with("! line too long"),
            "{name}"
        );
        b.write_all(b"bad name!\n").unwrap();
        assert!(
            chat_line(&mut b, &name).starts_with("! pick a name"),
            "{name}"
        );
        b.write_all(b"bob\n").unwrap();
        assert_eq!(chat_line(&mut a, &name), "* bob joined\n", "{name}");
        b.write_all(&[b'x'; 300]).unwrap();
        b.write_all(b"\nhi\n").unwrap();
        assert!(
            chat_line(&mut b, &name).starts_with("! line too long"),
            "{name}"
        );
        assert_eq!(
            chat_line(&mut a, &name),
            "bob: hi\n",
            "{name}: the long line went out"
        );
        c.write_all(b"\0\xff\n").unwrap();
        assert!(
            chat_line(&mut c, &name).starts_with("! pick a name"),
            "{name}"
        );
        c.write_all(b"half a li").unwrap();
        // Gone mid-line, with a reset (SO_LINGER 0).
        socket2::SockRef::from(&c)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(c);
        a.write_all(b"quit\n").unwrap();
        assert_eq!(chat_line(&mut b, &name), "* alice left\n", "{name}");
        assert_eq!(
            chat_line(&mut a, &name),
            "",
            "{name}: alice's connection ends"
        );
        srv.alive();
        drop(b);
        let events = srv.stop(|ev| ev.iter().filter(|e| e["room"]["what"] == "leave").count() >= 2);
        if let Some(s) = events.iter().find(|e| e["kind"] == "summary") {
            let room = &s["room"];
            assert_eq!(room["joined"], 2, "{name}: {room}");
            assert_eq!(room["refused"], 4, "{name}: {room}");
        }
    }
}
