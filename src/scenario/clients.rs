//! The scripted clients: one thread per client acts out its steps on time, and a reader thread
//! per connection checks every echoed byte against what was sent (for `--app chat`: every byte
//! the room sends it against its `expect` steps, in order).

use super::{Action, Payload, Scenario, Step};
use crate::chat::App;
use crate::trace::{Event, Kind, Recorder, Stage, escape};
use socket2::{Domain, Socket, Type};
use std::collections::{BTreeMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a client waits for an echo (or for the server to take its bytes, or to finish)
/// before it gives up.
pub const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a blocked send wakes to see whether its client has reset meanwhile.
const SEND_TICK: Duration = Duration::from_millis(100);

/// Bytes written to the socket at a time (a generated payload is made chunk by chunk).
const CHUNK: usize = 64 << 10;

/// What the clients found: empty when every byte came back exactly and every close was clean.
#[derive(Debug, Default)]
pub struct Report {
    pub failures: Vec<String>,
    /// Echoed bytes checked, over all clients.
    pub bytes_checked: u64,
    /// Clients the server turned away before echoing anything, with why they think so.
    pub refused: Vec<String>,
}

/// What each client is doing, for the harness to name a client that is stuck.
#[derive(Debug, Default)]
pub struct Board {
    /// By client: its current step (`line 12: send`), or None once it is done.
    doing: Mutex<BTreeMap<String, Option<String>>>,
    /// When the clients started (after any idle crowd was open).
    started: std::sync::OnceLock<Instant>,
}

impl Board {
    pub fn started(&self) -> Option<Instant> {
        self.started.get().copied()
    }

    fn set(&self, client: &str, doing: Option<String>) {
        if let Ok(mut d) = self.doing.lock() {
            d.insert(client.to_string(), doing);
        }
    }

    /// The clients not done yet, each with its step.
    pub fn stuck(&self) -> Vec<String> {
        self.doing.lock().map_or_else(
            |_| Vec::new(),
            |d| {
                d.iter()
                    .filter_map(|(c, s)| {
                        s.as_ref()
                            .map(|s| crate::t!("client-doing", client = c, step = s))
                    })
                    .collect()
            },
        )
    }
}

/// Client sockets made ahead of time, by client name (see [`premade`]).
pub type Premade = BTreeMap<String, Socket>;

/// Makes each client's socket now, bound to `ip`, at a descriptor ≥ `base`: for `--max-fds`,
/// which lowers the whole process's descriptor limit to `base`. Made before that, and kept above
/// it, the clients' sockets leave every descriptor under the limit to the server, so the server
/// alone runs out (EMFILE) and its clients can still connect and be turned away.
pub fn premade(scenario: &Scenario, ip: IpAddr, base: i32) -> Result<Premade, String> {
    scenario
        .clients()
        .into_iter()
        .map(|name| {
            let sock = client_socket(ip)?;
            let moved = crate::sys::move_fd(sock.into(), base).map_err(|e| {
                let (base, why) = (base.to_string(), e.to_string());
                crate::t!("err-client-move", client = name, base = base, why = why)
            })?;
            Ok((name.to_string(), Socket::from(moved)))
        })
        .collect()
}

/// A client's socket, bound first so that the trace can name its port before the server
/// accepts it.
fn client_socket(ip: IpAddr) -> Result<Socket, String> {
    let sock = Socket::new(
        Domain::for_address(SocketAddr::new(ip, 0)),
        Type::STREAM,
        None,
    )
    .map_err(|e| crate::t!("err-client-socket", why = e.to_string()))?;
    sock.bind(&SocketAddr::new(ip, 0).into())
        .map_err(|e| crate::t!("err-client-bind", why = e.to_string()))?;
    Ok(sock)
}

/// Each client's steps in the script's order, the clients in order of first appearance: a
/// client's thread acts out its own steps one after another.
fn lanes(scenario: &Scenario) -> Vec<(&str, Vec<Step>)> {
    scenario
        .clients()
        .into_iter()
        .map(|name| {
            let steps = scenario
                .steps
                .iter()
                .filter(|s| s.client == name)
                .cloned()
                .collect();
            (name, steps)
        })
        .collect()
}

/// How long to sleep before a step due `at` into the run: every time counts from `t0`, not from
/// the step before, so a step that ran late does not push back the ones after it, and a step
/// already due runs at once.
fn until_due(t0: Instant, at: Duration, now: Instant) -> Duration {
    (t0 + at).saturating_duration_since(now)
}

/// Runs every client of the scenario against `addr`, with times counted from `t0`; a client
/// with a socket in `premade` connects with it.
pub fn run(
    scenario: &Scenario,
    addr: SocketAddr,
    rec: &Recorder,
    t0: Instant,
    mut premade: Premade,
    board: &Arc<Board>,
    app: App,
) -> Report {
    let _ = board.started.set(t0);
    let handles: Vec<_> = lanes(scenario)
        .into_iter()
        .map(|(name, steps)| {
            let sock = premade.remove(name);
            let lane = Lane::new(rec, name, board, app, &steps);
            board.set(name, Some(crate::t!("client-starting")));
            thread::Builder::new()
                .name(format!("client {name}"))
                .spawn(move || lane.act(steps, addr, t0, sock))
                .map_err(|e| crate::t!("err-client-start", client = name, why = e.to_string()))
        })
        .collect();
    let mut report = Report::default();
    for h in handles {
        match h.map(|h| h.join()) {
            Ok(Ok(lane)) => {
                report.failures.extend(lane.failures);
                report.bytes_checked += lane.bytes;
                report.refused.extend(lane.refused);
            }
            Ok(Err(_)) => report.failures.push(crate::t!("err-client-panicked")),
            Err(e) => report.failures.push(e),
        }
    }
    report
}

/// What one client's lane ends with.
struct LaneReport {
    failures: Vec<String>,
    bytes: u64,
    refused: Option<String>,
}

/// One client's lane in the trace.
#[derive(Clone)]
struct Lane {
    rec: Recorder,
    name: String,
    actor: Arc<str>,
    /// Echoed bytes this client has checked.
    checked: Arc<AtomicU64>,
    board: Arc<Board>,
    /// The server turned this client away before echoing anything: why the client thinks so.
    refused: Arc<Mutex<Option<String>>>,
    /// `--app chat`: what this client must receive (its `expect` steps, in order); `None` for
    /// the echo, where what it must receive is what it sent.
    chat: Option<Arc<[Payload]>>,
    /// `--app chat`: the lines it must receive at some point (its `expect-anytime` steps).
    anytime: Arc<[Vec<u8>]>,
    /// `expect-drop`: the server is to drop this client (reset its connection).
    drop_expected: bool,
}

/// The bytes sent and not yet echoed, in order; the reader checks the echo against them.
#[derive(Default)]
struct Expect {
    /// Each pending send: its number (1-based), its bytes, how many have come back.
    pending: VecDeque<(usize, Payload, usize)>,
    failure: Option<String>,
    /// Whether any echoed byte came back yet.
    echoed: bool,
    /// `expect-drop`: the server reset the connection, as expected.
    dropped: bool,
    /// A chat: lines that may arrive at any point among the others (`expect-anytime`).
    anytime: Vec<Vec<u8>>,
    /// A chat: the start of a line not whole yet.
    partial: Vec<u8>,
}

/// What the lane, its reader and its writer share about one connection.
#[derive(Default)]
struct Flags {
    paused: AtomicBool,
    /// Set before a reset: the reader treats the end of its reads as expected, and a send
    /// still waiting for room gives up.
    resetting: AtomicBool,
    /// Set before the client shuts down writing: the server's EOF after it is no refusal.
    closing: AtomicBool,
}

struct Conn {
    stream: Arc<TcpStream>,
    expect: Arc<Mutex<Expect>>,
    flags: Arc<Flags>,
    reader: thread::JoinHandle<()>,
    sends: usize,
    /// Sends made while the client is not reading go to a thread of their own, in order:
    /// once the server's buffers are full they cannot finish until the client reads again, and
    /// the `resume-reading` (or `reset`) that ends them is a later step of this same lane.
    writer: Option<Writer>,
}

/// The background sender: its queue of payloads, and the thread that writes them.
type Writer = (Sender<Payload>, thread::JoinHandle<Result<(), String>>);

impl Conn {
    /// Waits for the sends still queued in the background.
    fn finish_writing(&mut self) -> Result<(), String> {
        match self.writer.take() {
            Some((queue, w)) => {
                drop(queue);
                w.join().map_err(|_| "writer thread panicked")?
            }
            None => Ok(()),
        }
    }

    /// Waits until the reader has seen the end of the connection (the server's FIN or RST
    /// reaches it within its read timeout): a send or shutdown that failed may be the first
    /// sign that the server turned the client away.
    fn wait_for_reader(&self) {
        let deadline = Instant::now() + ECHO_TIMEOUT;
        while !self.reader.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Writes all of `payload`, a chunk at a time, waking every [`SEND_TICK`] to see whether the
/// client reset meanwhile (then it stops, as a reset discards what was not sent). While the
/// client reads its echo, a server that takes no byte for [`ECHO_TIMEOUT`] fails the send.
fn write_payload(stream: &TcpStream, payload: &Payload, flags: &Flags) -> Result<(), String> {
    let mut at = 0;
    let mut since = Instant::now();
    while at < payload.len() {
        let chunk = payload.slice(at, CHUNK);
        let mut off = 0;
        while off < chunk.len() {
            match (&*stream).write(&chunk[off..]) {
                Ok(0) => return Err(crate::t!("err-client-send-full")),
                Ok(n) => {
                    off += n;
                    since = Instant::now();
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if flags.resetting.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                    if flags.paused.load(Ordering::SeqCst) {
                        // Not reading: the server rightly stops taking bytes (backpressure).
                        since = Instant::now();
                    } else if since.elapsed() > ECHO_TIMEOUT {
                        return Err(crate::t!(
                            "err-client-send-stalled",
                            secs = ECHO_TIMEOUT.as_secs().to_string(),
                            sent = (at + off).to_string(),
                            total = payload.len().to_string()
                        ));
                    }
                }
                Err(e) => {
                    return Err(crate::t!(
                        "err-client-failed",
                        what = "send",
                        why = e.to_string()
                    ));
                }
            }
        }
        at += chunk.len();
    }
    Ok(())
}

impl Lane {
    fn new(rec: &Recorder, name: &str, board: &Arc<Board>, app: App, steps: &[Step]) -> Lane {
        let expected = steps.iter().filter_map(|s| match &s.action {
            Action::Expect(p) => Some(p.clone()),
            _ => None,
        });
        Lane {
            rec: rec.clone(),
            name: name.to_string(),
            actor: Arc::from(format!("client {name}")),
            checked: Arc::default(),
            board: board.clone(),
            refused: Arc::default(),
            chat: (app == App::Chat).then(|| expected.collect()),
            anytime: steps
                .iter()
                .filter_map(|s| match &s.action {
                    Action::ExpectAnytime(line) => Some(line.clone()),
                    _ => None,
                })
                .collect(),
            drop_expected: steps.iter().any(|s| s.action == Action::ExpectDrop),
        }
    }

    /// The event for a scripted step: it carries the step's index.
    fn step_event(&self, step: &Step, what: &'static str, note: String) -> Event {
        let mut ev = self.event(what, note);
        ev.step = Some(step.index);
        ev
    }

    fn event(&self, what: &'static str, note: String) -> Event {
        let mut ev = Event::new(Kind::Client, what, Stage::Client);
        ev.t_us = self.rec.micros(Instant::now());
        ev.actor = self.actor.clone();
        ev.client = Some(self.name.clone());
        ev.note = note;
        ev
    }

    fn say(&self, what: &'static str, note: String) {
        if self.rec.enabled() {
            self.rec.send(self.event(what, note));
        }
    }

    fn act(
        self,
        steps: Vec<Step>,
        addr: SocketAddr,
        t0: Instant,
        mut premade: Option<Socket>,
    ) -> LaneReport {
        let mut conn: Option<Conn> = None;
        let mut failures = Vec::new();
        for step in steps {
            let wait = until_due(t0, step.at, Instant::now());
            if !wait.is_zero() {
                thread::sleep(wait);
            }
            if self.was_refused() {
                // Turned away: the rest of the script has no connection to act on.
                conn = None;
                break;
            }
            self.board.set(
                &self.name,
                Some(crate::t!(
                    "client-at-line",
                    line = step.line.to_string(),
                    verb = step.action.verb()
                )),
            );
            if let Err(e) = self.step(&step, &mut conn, addr, &mut premade) {
                if let Some(c) = &conn {
                    c.wait_for_reader();
                }
                if !self.was_refused() {
                    failures.push(crate::t!(
                        "err-client-line",
                        client = &*self.name,
                        line = step.line.to_string(),
                        why = e
                    ));
                }
                conn = None;
                break;
            }
        }
        // A client the script leaves open closes at the end, as if it had said `close`.
        if let Some(c) = conn.take()
            && let Err(e) = self.close(c, None)
        {
            failures.push(crate::t!("err-client", client = &*self.name, why = e));
        }
        self.board.set(&self.name, None);
        let refused = self.refused.lock().ok().and_then(|r| r.clone());
        LaneReport {
            failures,
            bytes: self.checked.load(Ordering::SeqCst),
            refused: refused.map(|why| crate::t!("err-client", client = &*self.name, why = why)),
        }
    }

    fn was_refused(&self) -> bool {
        self.refused.lock().is_ok_and(|r| r.is_some())
    }

    fn step(
        &self,
        step: &Step,
        conn: &mut Option<Conn>,
        addr: SocketAddr,
        premade: &mut Option<Socket>,
    ) -> Result<(), String> {
        match &step.action {
            Action::Connect(rcvbuf) => {
                let sock = match premade.take() {
                    Some(sock) => sock,
                    None => client_socket(addr.ip())?,
                };
                if let Some(n) = rcvbuf {
                    sock.set_recv_buffer_size(*n).map_err(|e| {
                        crate::t!("err-client-failed", what = "SO_RCVBUF", why = e.to_string())
                    })?;
                }
                let port = sock
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .map_or(0, |a| a.port());
                let note = match rcvbuf {
                    Some(n) => crate::t!(
                        "client-connects-rcvbuf",
                        port = port.to_string(),
                        bytes = n.to_string()
                    ),
                    None => crate::t!("client-connects", port = port.to_string()),
                };
                let mut ev = self.step_event(step, "connect", note);
                ev.port = Some(port);
                self.rec.send(ev);
                sock.connect_timeout(&addr.into(), ECHO_TIMEOUT)
                    .map_err(|e| {
                        let what = format!("connect to {addr}");
                        crate::t!("err-client-failed", what = what, why = e.to_string())
                    })?;
                *conn = Some(self.spawn_reader(sock.into())?);
            }
            Action::Send(payload) => {
                let c = conn.as_mut().ok_or("not connected")?;
                c.sends += 1;
                if self.chat.is_none() {
                    c.expect
                        .lock()
                        .map_err(|_| "reader failed")?
                        .pending
                        .push_back((c.sends, payload.clone(), 0));
                }
                let mut ev = self.step_event(
                    step,
                    "send",
                    crate::t!(
                        "client-sends",
                        shown = payload.shown(24),
                        bytes = payload.len().to_string()
                    ),
                );
                ev.bytes = Some(payload.len() as u64);
                self.rec.send(ev);
                if c.writer.is_none() && c.flags.paused.load(Ordering::SeqCst) {
                    let (queue, sends) = channel::<Payload>();
                    let (stream, flags) = (c.stream.clone(), c.flags.clone());
                    let w = thread::Builder::new()
                        .name(format!("client {} writer", self.name))
                        .spawn(move || {
                            sends
                                .iter()
                                .try_for_each(|p| write_payload(&stream, &p, &flags))
                        })
                        .map_err(|e| e.to_string())?;
                    c.writer = Some((queue, w));
                }
                match &c.writer {
                    // A send queued behind another keeps their order.
                    Some((queue, _)) => queue
                        .send(payload.clone())
                        .map_err(|_| "the background send failed")?,
                    None => write_payload(&c.stream, payload, &c.flags)?,
                }
            }
            Action::StopReading => {
                let c = conn.as_ref().ok_or("not connected")?;
                c.flags.paused.store(true, Ordering::SeqCst);
                let ev = self.step_event(step, "stop-reading", crate::t!("client-stops-reading"));
                self.rec.send(ev);
            }
            Action::ResumeReading => {
                let c = conn.as_ref().ok_or("not connected")?;
                c.flags.paused.store(false, Ordering::SeqCst);
                let ev =
                    self.step_event(step, "resume-reading", crate::t!("client-resumes-reading"));
                self.rec.send(ev);
            }
            Action::Expect(p) => {
                conn.as_ref().ok_or("not connected")?;
                let note = crate::t!(
                    "client-expects",
                    shown = p.shown(24),
                    bytes = p.len().to_string()
                );
                self.rec.send(self.step_event(step, "expect", note));
            }
            Action::ExpectAnytime(line) => {
                conn.as_ref().ok_or("not connected")?;
                let note = crate::t!("client-expects-anytime", shown = escape(line, 24));
                self.rec.send(self.step_event(step, "expect", note));
            }
            Action::ExpectDrop => {
                conn.as_ref().ok_or("not connected")?;
                let note = crate::t!("client-expects-drop");
                self.rec.send(self.step_event(step, "expect-drop", note));
            }
            Action::Close => self.close(conn.take().ok_or("not connected")?, Some(step))?,
            Action::Reset => {
                let mut c = conn.take().ok_or("not connected")?;
                self.rec
                    .send(self.step_event(step, "reset", crate::t!("client-resets")));
                // A reset discards what was not sent yet: a send still waiting gives up.
                c.flags.resetting.store(true, Ordering::SeqCst);
                c.flags.paused.store(false, Ordering::SeqCst);
                c.finish_writing()?;
                let sock = socket2::SockRef::from(&*c.stream);
                sock.set_linger(Some(Duration::ZERO)).map_err(|e| {
                    crate::t!("err-client-failed", what = "SO_LINGER", why = e.to_string())
                })?;
                // Wake the reader without sending anything, then drop the last handle: RST.
                let _ = c.stream.shutdown(Shutdown::Read);
                let _ = c.reader.join();
            }
        }
        Ok(())
    }

    /// `close`: stop writing, wait until every byte is echoed and the server closes, then close.
    fn close(&self, mut c: Conn, step: Option<&Step>) -> Result<(), String> {
        let note = crate::t!("client-closes");
        self.rec.send(match step {
            Some(step) => self.step_event(step, "close", note),
            None => self.event("close", note),
        });
        c.flags.paused.store(false, Ordering::SeqCst);
        c.finish_writing()?;
        c.flags.closing.store(true, Ordering::SeqCst);
        // A server that hung up (or reset) first leaves nothing to shut down: not an error of
        // ours; the reader says whether it had echoed everything.
        let _ = c.stream.shutdown(Shutdown::Write);
        c.reader.join().map_err(|_| "reader thread panicked")?;
        let expect = c.expect.lock().map_err(|_| "reader failed")?;
        match &expect.failure {
            Some(f) => Err(f.clone()),
            None if self.drop_expected && !expect.dropped => Err(
                "expected the server to drop this client for reading too slowly; it kept it to the end"
                    .into(),
            ),
            None => Ok(()),
        }
    }

    fn spawn_reader(&self, stream: TcpStream) -> Result<Conn, String> {
        stream
            .set_read_timeout(Some(ECHO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(SEND_TICK))
            .map_err(|e| e.to_string())?;
        let stream = Arc::new(stream);
        let mut expect = Expect::default();
        for (i, p) in self.chat.iter().flat_map(|c| c.iter()).enumerate() {
            expect.pending.push_back((i + 1, p.clone(), 0));
        }
        expect.anytime = self.anytime.to_vec();
        let expect = Arc::new(Mutex::new(expect));
        let flags = Arc::new(Flags::default());
        let reader = {
            let (lane, stream, expect, flags) =
                (self.clone(), stream.clone(), expect.clone(), flags.clone());
            thread::Builder::new()
                .name(format!("client {} reader", self.name))
                .spawn(move || {
                    let outcome = lane.read_echo(&stream, &expect, &flags);
                    let Ok(mut ex) = expect.lock() else { return };
                    if let Err(f) = outcome {
                        let mut ev =
                            lane.event("check", crate::t!("client-check-failed", why = &f));
                        ev.ok = Some(false);
                        lane.rec.send(ev);
                        ex.failure = Some(f);
                    }
                })
                .map_err(|e| e.to_string())?
        };
        Ok(Conn {
            stream,
            expect,
            flags,
            reader,
            sends: 0,
            writer: None,
        })
    }

    fn read_echo(
        &self,
        mut stream: &TcpStream,
        expect: &Mutex<Expect>,
        flags: &Flags,
    ) -> Result<(), String> {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            while flags.paused.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(2));
            }
            let n = match stream.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if self.drop_expected && e.kind() == ErrorKind::ConnectionReset => {
                    return self.was_dropped(expect);
                }
                Err(_) if flags.resetting.load(Ordering::SeqCst) => return Ok(()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(crate::t!(
                        "err-client-no-echo",
                        secs = ECHO_TIMEOUT.as_secs().to_string(),
                        missing = missing(expect).to_string()
                    ));
                }
                Err(e) => {
                    return self.turned_away(expect, flags, &[]).unwrap_or_else(|| {
                        Err(crate::t!(
                            "err-client-failed",
                            what = "read",
                            why = e.to_string()
                        ))
                    });
                }
            };
            if flags.resetting.load(Ordering::SeqCst) {
                return Ok(());
            }
            if n == 0 && self.drop_expected {
                // Closed, not reset: it was not dropped (`close` says so).
                return Ok(());
            }
            if n == 0 {
                if let Some(r) = self.turned_away(expect, flags, &[]) {
                    return r;
                }
                let left = missing(expect);
                if left > 0 {
                    return Err(crate::t!("err-client-closed", left = left.to_string()));
                }
                self.say("eof", crate::t!("client-eof"));
                return Ok(());
            }
            if self.drop_expected {
                // What reaches a client the server drops depends on when it fell behind.
                continue;
            }
            if let Err(e) = self.check(&buf[..n], expect) {
                return self.turned_away(expect, flags, &buf[..n]).unwrap_or(Err(e));
            }
        }
    }

    /// A connection the server ended (`got`: what it sent instead of an echo, if anything)
    /// before echoing a byte was turned away: the server refused it (past `--max-conns` it says
    /// `busy: …` first; out of descriptors or past FD_SETSIZE it just hangs up). Says so, and
    /// returns the reader's outcome; None if this is no refusal.
    fn turned_away(
        &self,
        expect: &Mutex<Expect>,
        flags: &Flags,
        got: &[u8],
    ) -> Option<Result<(), String>> {
        let echoed = expect.lock().map_or(true, |ex| ex.echoed);
        let busy = got.starts_with(b"busy:");
        let hung_up = got.is_empty() && !flags.closing.load(Ordering::SeqCst);
        if echoed || !(busy || hung_up) {
            return None;
        }
        let why = match got.split(|&b| b == b'\n').next() {
            Some(line) if !line.is_empty() => {
                crate::t!("client-refused-said", line = escape(line, 80))
            }
            _ => crate::t!("client-refused-hung-up"),
        };
        self.say("refused", why.clone());
        *self.refused.lock().ok()? = Some(why);
        Some(Ok(()))
    }

    /// `expect-drop`: the server reset the connection, as the client expected.
    fn was_dropped(&self, expect: &Mutex<Expect>) -> Result<(), String> {
        if let Ok(mut ex) = expect.lock() {
            ex.dropped = true;
        }
        let mut ev = self.event("dropped", crate::t!("client-dropped"));
        ev.ok = Some(true);
        self.rec.send(ev);
        Ok(())
    }

    /// Matches received bytes against the pending sends, noting each send fully echoed.
    fn check(&self, got: &[u8], expect: &Mutex<Expect>) -> Result<(), String> {
        let mut ex = expect.lock().map_err(|_| "lock poisoned")?;
        if self.chat.is_none() {
            return self.in_order(got, &mut ex);
        }
        // A chat arrives in lines: each is one of the lines expected at any time, or the next
        // of those expected in order.
        let mut rest = got;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let mut line = std::mem::take(&mut ex.partial);
            line.extend_from_slice(&rest[..=end]);
            rest = &rest[end + 1..];
            match ex.anytime.iter().position(|l| *l == line) {
                Some(k) => {
                    ex.anytime.remove(k);
                    ex.echoed = true;
                    self.checked.fetch_add(line.len() as u64, Ordering::SeqCst);
                    let note = crate::t!("client-got-anytime", shown = escape(&line, 32));
                    let mut ev = self.event("echo", note);
                    ev.bytes = Some(line.len() as u64);
                    ev.ok = Some(true);
                    self.rec.send(ev);
                }
                None => self.in_order(&line, &mut ex)?,
            }
        }
        ex.partial.extend_from_slice(rest);
        Ok(())
    }

    /// Matches received bytes against what is expected in order (the echo: the sends).
    fn in_order(&self, mut got: &[u8], ex: &mut Expect) -> Result<(), String> {
        while !got.is_empty() {
            let Some((num, sent, done)) = ex.pending.front_mut() else {
                return Err(crate::t!(
                    "err-client-unasked",
                    count = got.len().to_string(),
                    app = if self.chat.is_some() { "chat" } else { "echo" },
                    got = escape(got, 24)
                ));
            };
            let take = got.len().min(sent.len() - *done);
            let want = sent.slice(*done, take);
            if got[..take] != *want {
                let at = want.iter().zip(got).position(|(a, b)| a != b).unwrap_or(0);
                return Err(crate::t!(
                    "err-client-differs",
                    app = if self.chat.is_some() { "chat" } else { "echo" },
                    num = num.to_string(),
                    byte = (*done + at).to_string(),
                    want = escape(&want[at..], 12),
                    got = escape(&got[at..take], 12)
                ));
            }
            *done += take;
            got = &got[take..];
            let finished = *done == sent.len();
            ex.echoed = true;
            if finished {
                let (num, sent, _) = ex.pending.pop_front().expect("front exists");
                self.checked.fetch_add(sent.len() as u64, Ordering::SeqCst);
                let (n, shown, bytes) = (num.to_string(), sent.shown(24), sent.len().to_string());
                let note = match self.chat {
                    Some(_) => {
                        crate::t!("client-got-expected", n = n, shown = shown, bytes = bytes)
                    }
                    None => crate::t!("client-got-echo", n = n, shown = shown, bytes = bytes),
                };
                let mut ev = self.event("echo", note);
                ev.bytes = Some(sent.len() as u64);
                ev.ok = Some(true);
                self.rec.send(ev);
            }
        }
        Ok(())
    }
}

fn missing(expect: &Mutex<Expect>) -> usize {
    expect.lock().map_or(0, |ex| {
        let anytime: usize = ex.anytime.iter().map(Vec::len).sum();
        ex.pending
            .iter()
            .map(|(_, s, done)| s.len() - done)
            .sum::<usize>()
            + anytime
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness names a stuck run's clients from the board: each with the step it is on,
    /// and none that has finished.
    #[test]
    fn the_board_names_the_clients_still_acting() {
        let board = Board::default();
        board.set("A", Some("line 3: send".into()));
        board.set("B", Some("line 4: close".into()));
        board.set("C", Some("line 5: connect".into()));
        board.set("B", None);
        assert_eq!(
            board.stuck(),
            ["client A (line 3: send)", "client C (line 5: connect)"]
        );
        assert_eq!(board.started(), None);
    }

    #[test]
    fn each_client_gets_its_own_steps_in_script_order() {
        let s = Scenario::parse(
            "0ms B connect\n10ms A connect\n20ms B send \"1\"\n30ms A send \"2\"\n\
             40ms B send \"3\"\n50ms A close\n60ms B close\n",
        )
        .unwrap();
        let got: Vec<(&str, Vec<usize>)> = lanes(&s)
            .into_iter()
            .map(|(name, steps)| {
                assert!(steps.iter().all(|st| st.client == name));
                (name, steps.iter().map(|st| st.line).collect())
            })
            .collect();
        assert_eq!(got, vec![("B", vec![1, 3, 5, 7]), ("A", vec![2, 4, 6])]);
    }

    #[test]
    fn steps_are_due_at_their_script_time_from_the_start() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(until_due(t0, ms(300), t0), ms(300));
        assert_eq!(until_due(t0, ms(300), t0 + ms(100)), ms(200));
        // Running late: due at once, and the next step keeps its own time.
        assert_eq!(until_due(t0, ms(300), t0 + ms(350)), Duration::ZERO);
        assert_eq!(until_due(t0, ms(400), t0 + ms(350)), ms(50));
    }
}
