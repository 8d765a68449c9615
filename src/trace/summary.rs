//! The numbers after the trace, computed from the events alone (so a JSON trace read back gives
//! the same summary).

use super::{Event, Kind, Stage};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Which client is behind which descriptor, learnt from ports: a client's `connect` carries its
/// local port, and the server's accept carries the peer port.
///
/// Descriptors are named by the events' own times, not by the order the events arrive in:
/// events reach a reader in the order their calls *ended*, so with several threads one thread's
/// `close(6)` can arrive after another thread's accept that got the freed number 6 again.
#[derive(Default, Debug)]
pub struct Peers {
    port_client: HashMap<u16, String>,
    /// Each descriptor's connections, the latest last.
    fd_held: HashMap<i64, Vec<Held>>,
}

/// A descriptor's life as one connection: from the end of the accept that made it to the end
/// of the close that freed it.
#[derive(Debug)]
struct Held {
    from_us: u64,
    until_us: Option<u64>,
    port: u16,
}

impl Peers {
    /// A descriptor's past connections kept: reordering spans a few calls, never more.
    const KEPT: usize = 4;

    pub fn observe(&mut self, ev: &Event) {
        match (ev.kind, ev.port) {
            (Kind::Client, Some(port)) => {
                if let Some(c) = &ev.client {
                    self.port_client.insert(port, c.clone());
                }
            }
            (Kind::Syscall | Kind::Op, Some(port)) => {
                if let Some(fd) = ev.ret {
                    let held = self.fd_held.entry(fd).or_default();
                    held.push(Held {
                        from_us: ev.t_us + ev.dur_us,
                        until_us: None,
                        port,
                    });
                    held.sort_by_key(|h| h.from_us);
                    if held.len() > Self::KEPT {
                        held.remove(0);
                    }
                }
            }
            _ => {}
        }
    }

    /// Where in `fd`'s list the connection it was at `at_us` stands: the latest accept of that
    /// number before then, unless a close ended it.
    fn held(&self, fd: i64, at_us: u64) -> Option<usize> {
        let list = self.fd_held.get(&fd)?;
        let i = list.iter().rposition(|h| h.from_us <= at_us)?;
        list[i].until_us.is_none_or(|u| at_us < u).then_some(i)
    }

    /// Ends the connection a closing call's descriptor was when the call began (its number
    /// may be reused). Returns the peer port it was connected to, if it was a connection.
    pub fn closed(&mut self, ev: &Event) -> Option<u16> {
        let fd = ev.fd?;
        let i = self.held(fd, ev.t_us)?;
        let h = &mut self.fd_held.get_mut(&fd)?[i];
        h.until_us = Some(ev.t_us + ev.dur_us);
        Some(h.port)
    }

    /// The client behind `fd` at `at_us` (µs since the run began).
    pub fn client(&self, fd: i64, at_us: u64) -> Option<&str> {
        let i = self.held(fd, at_us)?;
        self.client_at(self.fd_held[&fd][i].port)
    }

    /// The client behind an event's own descriptor when the event began.
    pub fn client_of(&self, ev: &Event) -> Option<&str> {
        self.client(ev.fd?, ev.t_us)
    }

    /// An event's descriptor, named after the client it was connected to when the event began
    /// (`5=A`), or its number alone; `None` for an event on no descriptor.
    pub fn fd_label(&self, ev: &Event) -> Option<String> {
        let fd = ev.fd?;
        Some(match self.client_of(ev) {
            Some(c) => format!("{fd}={c}"),
            None => fd.to_string(),
        })
    }

    /// The scripted client that connected from `port`.
    pub fn client_at(&self, port: u16) -> Option<&str> {
        self.port_client.get(&port).map(String::as_str)
    }
}

/// How long one client's bytes sat in the kernel before the server's copy took them.
#[derive(Clone, Debug, Serialize)]
pub struct Wait {
    pub client: String,
    pub bytes: u64,
    pub wait_us: u64,
    /// When each send whose bytes this copy took began (µs), for the timelines' arrows.
    #[serde(skip)]
    pub sent_us: Vec<u64>,
    /// The call that took them: its thread and start (µs). `None` for an accept's wait.
    #[serde(skip)]
    pub copied_by: Option<(i64, u64)>,
}

/// One server thread's part in accepting: what it took from a listener, and how often a
/// readiness wait woke it for one (see [`Summary::by_thread`]).
#[derive(Default, Debug, Serialize)]
pub struct Listening {
    /// Connections this thread accepted.
    pub accepted: u64,
    /// Its readiness waits that reported a listener, each followed by accepts until `EAGAIN`
    /// (the wait that told of the harness's stop is not counted).
    pub wakeups: u64,
    /// Of those, the ones whose first accept found the queue empty (`EAGAIN`): another thread
    /// had taken the connection first.
    pub lost: u64,
    /// Connections accepted since the last wait that reported a listener, until `EAGAIN`.
    #[serde(skip)]
    round: Option<u64>,
}

#[derive(Default, Debug, Serialize)]
pub struct Summary {
    /// `--app chat`: what the room did (from its trace lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomTotals>,
    /// System calls the server made (a collapsed run counts as its count).
    pub syscalls: u64,
    /// Operations the kernel ran for us (io_uring SQEs/CQEs, IOCP packets).
    pub ops: u64,
    pub calls: BTreeMap<&'static str, u64>,
    pub eagain: u64,
    /// Waits that ended at their timeout with nothing to report (`ETIME`).
    pub timeouts: u64,
    /// Time spent inside system calls (and library functions: POSIX AIO's), by stage (µs).
    pub stage_us: BTreeMap<&'static str, u64>,
    /// Bytes the server's own calls copied from the kernel into its buffers.
    pub bytes_in: u64,
    /// Bytes the kernel copied into our buffers on its own (completions).
    pub bytes_in_by_kernel: u64,
    /// Bytes a library's threads copied into our buffers for us (glibc's AIO helpers' reads).
    pub bytes_in_by_library: u64,
    /// Bytes handed back to the kernel to echo.
    pub bytes_out: u64,
    /// Server CPU, user+sys (µs), from each server thread's getrusage.
    pub cpu_us: u64,
    /// The call that reported it, as this OS names it (`getrusage`, `GetThreadTimes`).
    #[serde(skip)]
    pub cpu_call: &'static str,
    /// Units of other work done while waiting.
    pub work: u64,
    pub accepted: u64,
    pub max_open: u64,
    /// Server threads seen.
    pub threads: u64,
    /// From the first event to the end of the last.
    pub run_us: u64,
    pub echoes_ok: u64,
    pub echo_bytes: u64,
    pub failures: u64,
    /// Operations submitted to the kernel (io_uring SQEs) and completions reaped (CQEs).
    pub sqes: u64,
    pub cqes: u64,
    /// Most operations in flight at once (submitted, not yet completed).
    pub max_in_flight: u64,
    /// Signals the server took (signal-driven I/O: `rt_sigtimedwait` returning one).
    pub signals: u64,
    /// Of those, how many were followed by a copy of data from the socket they named.
    pub signals_with_data: u64,
    /// Each time a client's sent bytes reached the server's buffer: how long it took.
    pub waits: Vec<Wait>,
    /// Each scripted client the server accepted: how long from its `connect` (the client's
    /// event, just before the call) to the end of the accept that took it — its wait in the
    /// listen queue, and the handshake.
    pub queued: Vec<Wait>,
    /// When each client port's connect began, until an accept takes it.
    #[serde(skip)]
    connecting: HashMap<u16, u64>,
    /// The descriptor the last signal named, until data is copied from it or another comes.
    #[serde(skip)]
    signal_fd: Option<i64>,
    #[serde(skip)]
    in_flight: u64,
    /// Readiness waits (`select`, `poll`, `epoll_pwait`) that returned.
    pub wakeups: u64,
    /// Over those waits: descriptors watched / looked through, and descriptors found ready.
    pub watched: u64,
    pub ready: u64,
    /// `poll`'s array entries the process wrote (the rest it kept from call to call).
    pub rewritten: u64,
    /// Per server thread (by tid), its part in accepting.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_thread: BTreeMap<i64, Listening>,
    /// Connections the server accepted and then refused (closed at once).
    pub refused: u64,
    /// Scripted clients that saw the server turn them away before any echo.
    pub clients_refused: u64,
    /// The highest descriptor number an accept returned.
    pub max_fd: i64,
    /// C library functions the server called that are no system calls (POSIX AIO's), by name.
    pub library: BTreeMap<&'static str, u64>,
    /// System calls a library made on its own inside the model's calls, by call name.
    pub library_calls: BTreeMap<&'static str, u64>,
    /// `--kernel`: the kernel lane's events by tracepoint name (a folded line counts as its
    /// count, and lines past the lane's cap are counted too).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub kernel: BTreeMap<&'static str, u64>,
    /// `--kernel`: events the kernel could not record (its buffer was full).
    #[serde(skip_serializing_if = "is_zero")]
    pub kernel_lost: u64,
    /// `--kernel`: the run's events from the lane's first one on (at most [`STORY_EVENTS`]),
    /// for the lessons the lane shows (`trace::story`).
    #[serde(skip)]
    pub story: Vec<Event>,
    #[serde(skip)]
    open: u64,
    #[serde(skip)]
    tids: BTreeSet<i64>,
    /// Completions (IOCP packets, io_uring CQEs) by the server thread that took them: how a
    /// worker pool shared them out.
    #[serde(skip)]
    pub completions_by: BTreeMap<std::sync::Arc<str>, u64>,
    #[serde(skip)]
    peers: Peers,
    /// Per client: when its not-yet-read sends happened (oldest first, never empty), and how
    /// many bytes are pending.
    #[serde(skip)]
    unread: HashMap<String, (Vec<u64>, u64)>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Events kept for the kernel lane's lessons: a classroom run has a few hundred; a longer one
/// is told by its beginning.
const STORY_EVENTS: usize = 20_000;

impl Summary {
    pub fn add(&mut self, ev: &Event) {
        let lane = ev.kind == Kind::Kernel || !self.story.is_empty();
        if lane
            && self.story.len() < STORY_EVENTS
            && matches!(
                ev.kind,
                Kind::Kernel | Kind::Syscall | Kind::Op | Kind::Client
            )
        {
            self.story.push(ev.clone());
        }
        if ev.kind == Kind::Kernel {
            // The run's own numbers are the program's: the lane is counted apart.
            *self.kernel.entry(ev.call).or_default() += ev.count;
            return;
        }
        self.peers.observe(ev);
        self.run_us = self.run_us.max(ev.t_us + ev.span_us.unwrap_or(ev.dur_us));
        match ev.kind {
            Kind::Syscall | Kind::Op | Kind::Library => self.server(ev),
            Kind::Client => self.client(ev),
            Kind::Info if ev.stage == Stage::Work => self.work += ev.count,
            Kind::Info if ev.room.is_some() => {
                let note = ev.room.as_ref().expect("just checked");
                self.room.get_or_insert_default().add(note);
            }
            Kind::Info | Kind::Wait | Kind::Kernel => {}
        }
    }

    fn server(&mut self, ev: &Event) {
        if matches!(ev.kind, Kind::Syscall | Kind::Library) {
            let by_name = match ev.kind {
                Kind::Syscall => {
                    self.syscalls += ev.count;
                    &mut self.calls
                }
                _ => &mut self.library,
            };
            *by_name.entry(ev.call).or_default() += ev.count;
            *self.stage_us.entry(ev.stage.name()).or_default() += ev.dur_us;
            self.tids.insert(ev.tid);
            self.threads = self.tids.len() as u64;
        } else {
            self.ops += ev.count;
            if ev.stage == Stage::Completion {
                self.cqes += ev.count;
                *self.completions_by.entry(ev.actor.clone()).or_default() += ev.count;
                self.in_flight = self.in_flight.saturating_sub(ev.count);
            } else {
                self.sqes += ev.count;
                self.in_flight += ev.count;
                self.max_in_flight = self.max_in_flight.max(self.in_flight);
            }
        }
        if ev.would_block() {
            self.eagain += ev.count;
        }
        if ev.kind == Kind::Syscall {
            self.listening(ev);
        }
        if ev.timed_out() {
            self.timeouts += ev.count;
        }
        if let Some(cpu) = ev.cpu_us {
            self.cpu_us += cpu;
            self.cpu_call = ev.call;
        }
        if let Some(w) = ev.watched {
            self.wakeups += ev.count;
            self.watched += w * ev.count;
            self.ready += ev.ret.unwrap_or(0).max(0) as u64 * ev.count;
        }
        self.rewritten += ev.rewritten.unwrap_or(0) * ev.count;
        if ev.refused == Some(true) {
            self.refused += 1;
        }
        if ev.by.is_some() && ev.kind == Kind::Syscall {
            *self.library_calls.entry(ev.call).or_default() += ev.count;
        }
        if let (Some(port), Some(_)) = (ev.port, ev.ret)
            && let Some(began) = self.connecting.remove(&port)
            && let Some(client) = self.peers.client_at(port)
        {
            self.queued.push(Wait {
                client: client.to_string(),
                bytes: 0,
                wait_us: (ev.t_us + ev.dur_us).saturating_sub(began),
                sent_us: Vec::new(),
                copied_by: None,
            });
        }
        if ev.port.is_some() && ev.ret.is_some() {
            self.max_fd = self.max_fd.max(ev.ret.unwrap_or(0));
            self.accepted += 1;
            self.open += 1;
            self.max_open = self.max_open.max(self.open);
        }
        if ev.closes() && self.peers.client_of(ev).is_some() {
            self.open = self.open.saturating_sub(1);
        }
        let copied = ev.ret.filter(|&n| n > 0).unwrap_or(0) as u64;
        match (ev.kind, ev.stage) {
            (Kind::Syscall, Stage::CopyToUser | Stage::DataReadyCopy) => self.bytes_in += copied,
            _ if ev.received_by_kernel() => self.bytes_in_by_kernel += copied,
            // A client's bytes, not the doorbell's (a pipe between the model's threads).
            _ if ev.received_by_library() && self.peers.client_of(ev).is_some() => {
                self.bytes_in_by_library += copied
            }
            _ if ev.sent_by_kernel() || ev.sent_by_library() => self.bytes_out += copied,
            (Kind::Syscall, Stage::CopyToKernel) => self.bytes_out += copied,
            _ => {}
        }
        if ev.kind == Kind::Syscall && ev.call == "rt_sigtimedwait" && ev.ret.is_some() {
            self.signals += ev.count;
            self.signal_fd = ev.fd;
        }
        let took = matches!(ev.stage, Stage::CopyToUser | Stage::DataReadyCopy)
            || ev.received_by_kernel()
            || ev.received_by_library();
        if took && copied > 0 && ev.fd.is_some() && ev.fd == self.signal_fd {
            self.signals_with_data += 1;
            self.signal_fd = None;
        }
        if took
            && copied > 0
            && let Some(client) = self.peers.client_of(ev)
            && let Some((sent_us, bytes)) = self.unread.remove(client)
        {
            self.waits.push(Wait {
                client: client.to_string(),
                bytes,
                wait_us: (ev.t_us + ev.dur_us).saturating_sub(sent_us[0]),
                sent_us,
                copied_by: Some((ev.tid, ev.t_us)),
            });
        }
        if ev.closes() {
            self.peers.closed(ev);
        }
    }

    /// Follows each thread's accepting: a wait that reported a listener opens a round of
    /// accepts, which `EAGAIN` ends (`EINVAL`, the stop, ends it uncounted unless it accepted).
    fn listening(&mut self, ev: &Event) {
        let t = self.by_thread.entry(ev.tid).or_default();
        if ev.listener == Some(true) {
            t.round = Some(0);
            return;
        }
        if !ev.call.starts_with("accept") {
            return;
        }
        if ev.port.is_some() && ev.ret.is_some() {
            t.accepted += 1;
            if let Some(k) = &mut t.round {
                *k += 1;
            }
            return;
        }
        match (ev.errno, t.round) {
            (Some("EAGAIN"), Some(k)) => {
                t.wakeups += 1;
                t.lost += u64::from(k == 0);
                t.round = None;
            }
            (Some("EINVAL"), Some(k)) => {
                t.wakeups += u64::from(k > 0);
                t.round = None;
            }
            _ => {}
        }
    }

    fn client(&mut self, ev: &Event) {
        let Some(name) = &ev.client else { return };
        match (ev.call, ev.ok) {
            ("connect", _) => {
                if let Some(port) = ev.port {
                    self.connecting.insert(port, ev.t_us);
                }
            }
            ("send", _) => {
                let e = self.unread.entry(name.clone()).or_default();
                e.0.push(ev.t_us);
                e.1 += ev.bytes.unwrap_or(0);
            }
            ("echo", Some(true)) => {
                self.echoes_ok += 1;
                self.echo_bytes += ev.bytes.unwrap_or(0);
            }
            ("refused", _) => self.clients_refused += 1,
            (_, Some(false)) => self.failures += 1,
            _ => {}
        }
    }

    /// Whether this run was a chat (`--app chat`): the room said something, or a client
    /// checked a line from it.
    pub fn chat(&self) -> bool {
        self.room.is_some()
    }

    /// The client that waited longest to be accepted.
    pub fn longest_queued(&self) -> Option<&Wait> {
        self.queued.iter().max_by_key(|w| w.wait_us)
    }

    /// The client whose bytes waited longest in the kernel before the server took them.
    pub fn longest_wait(&self) -> Option<&Wait> {
        self.waits.iter().max_by_key(|w| w.wait_us)
    }

    pub fn stage(&self, stage: Stage) -> u64 {
        self.stage_us.get(stage.name()).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::text::TextRenderer;

    fn call(t: u64, dur: u64, call: &'static str, fd: Option<i64>) -> Event {
        let mut ev = Event::new(Kind::Syscall, call, Stage::Setup);
        (ev.t_us, ev.dur_us, ev.fd) = (t, dur, fd);
        ev.actor = std::sync::Arc::from("server");
        ev
    }

    fn client(name: &str, port: u16) -> Event {
        let mut ev = Event::new(Kind::Client, "connect", Stage::Client);
        (ev.client, ev.port) = (Some(name.into()), Some(port));
        ev
    }

    /// One thread closes A's descriptor 6, another's accept gets 6 again for C, and the
    /// accept's event arrives first: each call is still named after the client it acted on.
    #[test]
    fn a_reused_descriptor_is_named_by_the_events_times_not_their_order() {
        let mut accept_a = call(5, 5, "accept4", Some(3));
        (accept_a.ret, accept_a.port) = (Some(6), Some(1000));
        let mut accept_c = call(50, 51, "accept4", Some(3));
        (accept_c.ret, accept_c.port) = (Some(6), Some(3000));
        let close_a = call(99, 1, "close", Some(6));
        let recv_c = call(102, 1, "recvfrom", Some(6));
        let arrived = [
            client("A", 1000),
            client("C", 3000),
            accept_a,
            accept_c,
            close_a.clone(),
            recv_c.clone(),
        ];
        let mut peers = Peers::default();
        let mut named = Vec::new();
        for ev in &arrived {
            peers.observe(ev);
            named.push(peers.client_of(ev).map(str::to_string));
            if ev.closes() {
                assert_eq!(
                    peers.closed(ev),
                    Some(1000),
                    "the close ended A's connection"
                );
            }
        }
        assert_eq!(
            named[4].as_deref(),
            Some("A"),
            "close(6) acted on A's socket"
        );
        assert_eq!(
            named[5].as_deref(),
            Some("C"),
            "recvfrom(6) read C's socket"
        );
        // After A's close and before C's accept, 6 was no connection.
        assert_eq!(peers.client(6, 100), None);

        let mut out = Vec::new();
        let mut text = TextRenderer::new(&mut out, None);
        for ev in &arrived {
            text.event(ev);
        }
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("close(6=A)"), "{out}");
        assert!(out.contains("recvfrom(6=C)"), "{out}");
        assert!(out.contains("= 6 (C)"), "{out}");
    }
}

/// What a chat room did in a run (`--app chat`), counted from its trace lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RoomTotals {
    /// Members who joined (gave a name).
    pub joined: u64,
    /// Lines members said to the room.
    pub lines: u64,
    /// Lines and announcements queued for a member: one per line per member.
    pub deliveries: u64,
    /// Bytes queued for members, over all of them.
    pub delivered_bytes: u64,
    /// Members dropped for reading too slowly.
    pub dropped: u64,
    /// Lines refused (too long, a bad or taken name).
    pub refused: u64,
    /// The longest any member's queue grew, in bytes.
    pub peak_queue: u64,
}

impl RoomTotals {
    fn add(&mut self, n: &crate::chat::RoomNote) {
        match n.what {
            "join" => self.joined += 1,
            "drop" => self.dropped += 1,
            "refuse" => self.refused += 1,
            _ => {}
        }
        self.lines += n.lines;
        // A batch of lines reaches each member as one queued run of bytes, but it is still
        // `lines` deliveries to each.
        self.deliveries += n.to * n.lines.max(u64::from(n.what != "refuse"));
        self.delivered_bytes += n.bytes;
        self.peak_queue = self.peak_queue.max(n.queue);
    }
}
