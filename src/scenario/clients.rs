//! The scripted clients: one thread per client acts out its steps on time, and a reader thread
//! per connection checks every echoed byte against what was sent.

use super::{Action, Scenario, Step};
use crate::trace::{Event, Kind, Recorder, Stage, escape};
use socket2::{Domain, Socket, Type};
use std::collections::{BTreeMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a client waits for an echo (or for the server to finish) before it gives up.
pub const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// What the clients found: empty when every byte came back exactly and every close was clean.
#[derive(Debug, Default)]
pub struct Report {
    pub failures: Vec<String>,
    /// Echoed bytes checked, over all clients.
    pub bytes_checked: u64,
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
            let moved = crate::sys::move_fd(sock.into(), base)
                .map_err(|e| format!("cannot move client {name}'s socket above {base}: {e}"))?;
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
    .map_err(|e| format!("cannot make a client socket: {e}"))?;
    sock.bind(&SocketAddr::new(ip, 0).into())
        .map_err(|e| format!("cannot bind a client socket: {e}"))?;
    Ok(sock)
}

/// Runs every client of the scenario against `addr`, with times counted from `t0`; a client
/// with a socket in `premade` connects with it.
pub fn run(
    scenario: &Scenario,
    addr: SocketAddr,
    rec: &Recorder,
    t0: Instant,
    mut premade: Premade,
) -> Report {
    let handles: Vec<_> = scenario
        .clients()
        .into_iter()
        .map(|name| {
            let steps: Vec<Step> = scenario
                .steps
                .iter()
                .filter(|s| s.client == name)
                .cloned()
                .collect();
            let sock = premade.remove(name);
            let lane = Lane::new(rec, name);
            thread::Builder::new()
                .name(format!("client {name}"))
                .spawn(move || lane.act(steps, addr, t0, sock))
                .expect("spawn client thread")
        })
        .collect();
    let mut report = Report::default();
    for h in handles {
        match h.join() {
            Ok((failures, bytes)) => {
                report.failures.extend(failures);
                report.bytes_checked += bytes;
            }
            Err(_) => report.failures.push("a client thread panicked".into()),
        }
    }
    report
}

/// One client's lane in the trace.
#[derive(Clone)]
struct Lane {
    rec: Recorder,
    name: String,
    actor: Arc<str>,
    /// Echoed bytes this client has checked.
    checked: Arc<AtomicU64>,
}

/// The bytes sent and not yet echoed, in order; the reader checks the echo against them.
#[derive(Default)]
struct Expect {
    /// Each pending send: its number (1-based), its bytes, how many have come back.
    pending: VecDeque<(usize, Vec<u8>, usize)>,
    failure: Option<String>,
}

struct Conn {
    stream: Arc<TcpStream>,
    expect: Arc<Mutex<Expect>>,
    paused: Arc<AtomicBool>,
    /// Set before a reset, so the reader treats the end of its reads as expected.
    resetting: Arc<AtomicBool>,
    reader: thread::JoinHandle<()>,
    sends: usize,
    /// A send made while the client is not reading runs on a thread of its own: once the
    /// server's buffers are full it cannot finish until the client reads again, and the
    /// `resume-reading` that lets it finish is a later step of this same lane.
    writer: Option<thread::JoinHandle<Result<(), String>>>,
}

impl Conn {
    /// Waits for a send still running in the background.
    fn finish_writing(&mut self) -> Result<(), String> {
        match self.writer.take() {
            Some(w) => w.join().map_err(|_| "writer thread panicked")?,
            None => Ok(()),
        }
    }
}

impl Lane {
    fn new(rec: &Recorder, name: &str) -> Lane {
        Lane {
            rec: rec.clone(),
            name: name.to_string(),
            actor: Arc::from(format!("client {name}")),
            checked: Arc::default(),
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
    ) -> (Vec<String>, u64) {
        let mut conn: Option<Conn> = None;
        let mut failures = Vec::new();
        for step in steps {
            if let Some(wait) = (t0 + step.at).checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
            if let Err(e) = self.step(&step, &mut conn, addr, &mut premade) {
                failures.push(format!("client {} (line {}): {e}", self.name, step.line));
                break;
            }
        }
        // A client the script leaves open closes at the end, as if it had said `close`.
        if let Some(c) = conn.take()
            && let Err(e) = self.close(c, None)
        {
            failures.push(format!("client {}: {e}", self.name));
        }
        (failures, self.checked.load(Ordering::SeqCst))
    }

    fn step(
        &self,
        step: &Step,
        conn: &mut Option<Conn>,
        addr: SocketAddr,
        premade: &mut Option<Socket>,
    ) -> Result<(), String> {
        match &step.action {
            Action::Connect => {
                let sock = match premade.take() {
                    Some(sock) => sock,
                    None => client_socket(addr.ip())?,
                };
                let port = sock
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .map_or(0, |a| a.port());
                let mut ev = self.step_event(step, "connect", format!("connects from port {port}"));
                ev.port = Some(port);
                self.rec.send(ev);
                sock.connect_timeout(&addr.into(), ECHO_TIMEOUT)
                    .map_err(|e| format!("connect to {addr} failed: {e}"))?;
                *conn = Some(self.spawn_reader(sock.into())?);
            }
            Action::Send(bytes) => {
                let c = conn.as_mut().ok_or("not connected")?;
                c.sends += 1;
                c.expect
                    .lock()
                    .map_err(|_| "reader failed")?
                    .pending
                    .push_back((c.sends, bytes.clone(), 0));
                let mut ev = self.step_event(
                    step,
                    "send",
                    format!("sends {} ({} bytes)", escape(bytes, 24), bytes.len()),
                );
                ev.bytes = Some(bytes.len() as u64);
                self.rec.send(ev);
                c.finish_writing()?;
                if c.paused.load(Ordering::SeqCst) {
                    let (stream, bytes) = (c.stream.clone(), bytes.clone());
                    c.writer = Some(
                        thread::Builder::new()
                            .name(format!("client {} writer", self.name))
                            .spawn(move || {
                                (&*stream)
                                    .write_all(&bytes)
                                    .map_err(|e| format!("send failed: {e}"))
                            })
                            .map_err(|e| e.to_string())?,
                    );
                } else {
                    (&*c.stream)
                        .write_all(bytes)
                        .map_err(|e| format!("send failed: {e}"))?;
                }
            }
            Action::StopReading => {
                let c = conn.as_ref().ok_or("not connected")?;
                c.paused.store(true, Ordering::SeqCst);
                let ev = self.step_event(step, "stop-reading", "stops reading its echo".into());
                self.rec.send(ev);
            }
            Action::ResumeReading => {
                let c = conn.as_ref().ok_or("not connected")?;
                c.paused.store(false, Ordering::SeqCst);
                let ev = self.step_event(step, "resume-reading", "reads its echo again".into());
                self.rec.send(ev);
            }
            Action::Close => self.close(conn.take().ok_or("not connected")?, Some(step))?,
            Action::Reset => {
                let mut c = conn.take().ok_or("not connected")?;
                c.paused.store(false, Ordering::SeqCst);
                c.finish_writing()?;
                self.rec.send(self.step_event(
                    step,
                    "reset",
                    "closes with SO_LINGER 0: the server gets a reset".into(),
                ));
                c.resetting.store(true, Ordering::SeqCst);
                let sock = socket2::SockRef::from(&*c.stream);
                sock.set_linger(Some(Duration::ZERO))
                    .map_err(|e| format!("SO_LINGER failed: {e}"))?;
                // Wake the reader without sending anything, then drop the last handle: RST.
                let _ = c.stream.shutdown(Shutdown::Read);
                let _ = c.reader.join();
            }
        }
        Ok(())
    }

    /// `close`: stop writing, wait until every byte is echoed and the server closes, then close.
    fn close(&self, mut c: Conn, step: Option<&Step>) -> Result<(), String> {
        let note = "shuts down writing (FIN), waits for the rest of its echo".to_string();
        self.rec.send(match step {
            Some(step) => self.step_event(step, "close", note),
            None => self.event("close", note),
        });
        c.paused.store(false, Ordering::SeqCst);
        c.finish_writing()?;
        c.stream
            .shutdown(Shutdown::Write)
            .map_err(|e| format!("shutdown failed: {e}"))?;
        c.reader.join().map_err(|_| "reader thread panicked")?;
        let expect = c.expect.lock().map_err(|_| "reader failed")?;
        match &expect.failure {
            Some(f) => Err(f.clone()),
            None => Ok(()),
        }
    }

    fn spawn_reader(&self, stream: TcpStream) -> Result<Conn, String> {
        stream
            .set_read_timeout(Some(ECHO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let stream = Arc::new(stream);
        let expect = Arc::new(Mutex::new(Expect::default()));
        let paused = Arc::new(AtomicBool::new(false));
        let resetting = Arc::new(AtomicBool::new(false));
        let reader = {
            let (lane, stream, expect, paused, resetting) = (
                self.clone(),
                stream.clone(),
                expect.clone(),
                paused.clone(),
                resetting.clone(),
            );
            thread::Builder::new()
                .name(format!("client {} reader", self.name))
                .spawn(move || {
                    let outcome = lane.read_echo(&stream, &expect, &paused, &resetting);
                    let mut ex = expect.lock().expect("reader owns the lock");
                    if let Err(f) = outcome {
                        let mut ev = lane.event("check", format!("FAILED: {f}"));
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
            paused,
            resetting,
            reader,
            sends: 0,
            writer: None,
        })
    }

    fn read_echo(
        &self,
        mut stream: &TcpStream,
        expect: &Mutex<Expect>,
        paused: &AtomicBool,
        resetting: &AtomicBool,
    ) -> Result<(), String> {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            while paused.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(2));
            }
            let n = match stream.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) if resetting.load(Ordering::SeqCst) => return Ok(()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(format!(
                        "no echo for {}s ({} bytes still missing)",
                        ECHO_TIMEOUT.as_secs(),
                        missing(expect)
                    ));
                }
                Err(e) => return Err(format!("read failed: {e}")),
            };
            if resetting.load(Ordering::SeqCst) {
                return Ok(());
            }
            if n == 0 {
                let left = missing(expect);
                if left > 0 {
                    return Err(format!("the server closed with {left} bytes not echoed"));
                }
                self.say("eof", "the server closed the connection (EOF)".into());
                return Ok(());
            }
            self.check(&buf[..n], expect)?;
        }
    }

    /// Matches received bytes against the pending sends, noting each send fully echoed.
    fn check(&self, mut got: &[u8], expect: &Mutex<Expect>) -> Result<(), String> {
        let mut ex = expect.lock().map_err(|_| "lock poisoned")?;
        while !got.is_empty() {
            let Some((num, sent, done)) = ex.pending.front_mut() else {
                return Err(format!(
                    "the server sent {} bytes that nobody sent: {}",
                    got.len(),
                    escape(got, 24)
                ));
            };
            let take = got.len().min(sent.len() - *done);
            let want = &sent[*done..*done + take];
            if got[..take] != *want {
                let at = want.iter().zip(got).position(|(a, b)| a != b).unwrap_or(0);
                return Err(format!(
                    "echo of send #{num} differs at byte {}: expected {}, got {}",
                    *done + at,
                    escape(&want[at..], 12),
                    escape(&got[at..take], 12)
                ));
            }
            *done += take;
            got = &got[take..];
            if *done == sent.len() {
                let (num, sent, _) = ex.pending.pop_front().expect("front exists");
                self.checked.fetch_add(sent.len() as u64, Ordering::SeqCst);
                let mut ev = self.event(
                    "echo",
                    format!(
                        "gets the echo of send #{num}: {} ({} bytes) ✓",
                        escape(&sent, 24),
                        sent.len()
                    ),
                );
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
        ex.pending.iter().map(|(_, s, done)| s.len() - done).sum()
    })
}
