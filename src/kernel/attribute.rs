//! From a tracepoint hit to a line of the trace: whose thread it ran on, which connection it
//! concerns, and what it means in the lesson's terms.
//!
//! Ties are read from the kernel's own fields where it prints them: a socket address
//! (`skaddr`, `sk`) is named by the ports `inet_sock_set_state` printed for it (local port =
//! the server's: the server's end of a connection; else a client's own end), a port by the
//! client whose `connect` carried it, and the server's descriptor by the accept that carried
//! the same peer port. What is inferred instead — the call a thread was inside (from the
//! times of the same thread's calls), a connection read off that call's descriptor, the
//! socket a signal is about — says so: `inside`, `guess`.

use super::Scope;
use super::parse::Raw;
use crate::trace::story::SLACK_US;
use crate::trace::summary::Peers;
use crate::trace::{Event, Kind, Stage};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// A thread, as the lane names it.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// A server thread: its actor in the trace (`server`, `server/2`).
    Server(Arc<str>),
    /// A scripted client's thread (`client A`, `client A reader`, `client A writer`).
    Client { client: String, name: Arc<str> },
    /// The harness's own threads (the scenario's, the crowd's feeder).
    Harness(Arc<str>),
    /// The idle crowd's helper process (`--idle`).
    Crowd,
    /// A thread a library started inside one of its functions on a server thread (glibc's
    /// AIO helpers: `Library("glibc")`). The trace never names it; the lane shows its calls.
    Library(&'static str),
    /// The thread that prints the trace (not followed: only seen being switched to).
    Printer,
    /// A thread that started the server or the clients (enlisted to be followed; not shown).
    Launcher,
    /// Any other task of the machine (the idle task, a kernel thread, another program).
    Other(String),
}

impl Role {
    /// Threads the lane follows (their events are shown).
    pub fn ours(&self) -> bool {
        matches!(
            self,
            Role::Server(_)
                | Role::Client { .. }
                | Role::Harness(_)
                | Role::Crowd
                | Role::Library(_)
        )
    }

    /// Short, for the JSON `on` field: `server`, `client A reader`, `harness`, `crowd`.
    fn short(&self) -> Arc<str> {
        match self {
            Role::Server(a) | Role::Client { name: a, .. } => a.clone(),
            Role::Harness(_) => "harness".into(),
            Role::Crowd => "crowd".into(),
            Role::Library("io_uring") => "io_uring thread".into(),
            Role::Library(by) => format!("{by} helper").into(),
            Role::Printer => "printer".into(),
            Role::Launcher => "launcher".into(),
            Role::Other(comm) => format!("other: {comm}").into(),
        }
    }

    /// In a sentence: "the server's thread", "client A's reader thread".
    /// In this run's language: a gloss's, made only when it is shown.
    fn whose(&self) -> String {
        match self {
            Role::Server(a) if a.as_ref() == "server" => crate::t!("story-who-server"),
            Role::Server(a) => crate::t!("lane-role-named", name = a.as_ref()),
            Role::Client { client, name } => match name.rsplit(' ').next() {
                Some("reader") => crate::t!("lane-role-reader", client = client),
                Some("writer") => crate::t!("lane-role-writer", client = client),
                _ => crate::t!("lane-role-client", client = client),
            },
            Role::Harness(_) => crate::t!("lane-role-harness"),
            Role::Crowd => crate::t!("lane-role-crowd"),
            Role::Library("io_uring") => crate::t!("story-who-uring"),
            Role::Library(by) => crate::t!("story-who-helper", lib = *by),
            Role::Printer => crate::t!("lane-role-printer"),
            Role::Launcher => crate::t!("lane-role-launcher"),
            Role::Other(comm) if comm.starts_with("swapper") => crate::t!("lane-role-idle"),
            Role::Other(comm) => crate::t!("lane-role-other", comm = comm),
        }
    }
}

/// Which end of a TCP connection a socket address is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    Listener,
    Server,
    Client,
}

impl End {
    fn name(self) -> &'static str {
        match self {
            End::Listener => "listener",
            End::Server => "server",
            End::Client => "client",
        }
    }
}

/// What `inet_sock_set_state` said about a socket address: its end, the client's port, its
/// TCP state now.
#[derive(Clone, Copy, Debug)]
struct Sock {
    end: End,
    port: u16,
    state: i64,
}

/// A connection a kernel event concerns, as the trace names it.
struct Conn {
    /// `None`: a socket the lane never saw change state, so cannot name.
    end: Option<End>,
    client: Option<String>,
    fd: Option<i64>,
    /// `5=B`, `B (not accepted yet)`, `B's socket`, `listener`, `idle :40312`.
    label: String,
    /// The peer, put in a sentence only when a gloss is shown.
    who: Who,
    guess: bool,
}

/// The peer of a connection, for a gloss.
#[derive(Clone, Debug)]
enum Who {
    Client(String),
    /// Under `--serve`, a client no script made.
    Port(u16),
    Idle,
    /// A guess from a call's descriptor.
    Fd(i64),
    Unnamed,
}

impl Who {
    /// In a sentence: `B`, `an idle client`, `the client on port 40312`, `fd 6`.
    fn who(&self) -> String {
        match self {
            Who::Client(c) => c.clone(),
            Who::Port(p) => crate::t!("lane-who-port", port = p.to_string()),
            Who::Idle => crate::t!("lane-who-idle"),
            Who::Fd(fd) => crate::t!("lane-who-fd", fd = fd.to_string()),
            Who::Unnamed => crate::t!("lane-who-unnamed"),
        }
    }

    /// The client itself in a sentence: `client B`, `an idle client`, ….
    fn cli(&self) -> String {
        match self {
            Who::Client(c) => crate::t!("lane-cli", client = c),
            w => w.who(),
        }
    }
}

/// What a `sk_data_ready` brought, for the gloss of a signal it raises.
#[derive(Clone, Debug)]
enum Arrived {
    Connection,
    Fin(Who),
    Data(Who),
    Something,
}

impl Arrived {
    fn text(&self) -> String {
        match self {
            Arrived::Connection => crate::t!("lane-arrived-connection"),
            Arrived::Fin(w) => crate::t!("lane-arrived-fin", who = w.who()),
            Arrived::Data(w) => crate::t!("lane-arrived-data", who = w.who()),
            Arrived::Something => crate::t!("lane-arrived-something"),
        }
    }
}

/// A kernel line's gloss, made only when the line is shown: a repeat that is only counted,
/// or a line past the lane's cap, never looks its messages up.
pub type Note = Box<dyn FnOnce() -> String + Send>;

fn note(f: impl FnOnce() -> String + Send + 'static) -> Note {
    Box::new(f)
}

/// Where a kernel event ran, kept for its gloss.
#[derive(Clone)]
struct Place {
    ran_on: Role,
    irq: Option<&'static str>,
    inside: Option<(&'static str, Option<i64>)>,
}

impl Place {
    /// Where it ran, with its preposition: "on client B's thread", "on client B's thread, in
    /// a softirq handler", "in a hardirq handler while another task (rustc) had the CPU".
    fn on(&self) -> String {
        let who = self.ran_on.whose();
        match self.irq {
            Some(irq) if !self.ran_on.ours() => {
                crate::t!("lane-on-irq-other", irq = irq, who = who)
            }
            Some(irq) => crate::t!("lane-on-irq", who = who, irq = irq),
            None => crate::t!("lane-on", who = who),
        }
    }

    fn inside_text(&self) -> String {
        self.inside
            .map(|(c, fd)| crate::t!("lane-inside", call = call_text(c, fd)))
            .unwrap_or_default()
    }
}

/// One finished call of a thread: (start, end, name, descriptor).
type Span = (u64, u64, &'static str, Option<i64>);

/// A kernel event made into a trace line, and what the lane's folding needs to know of it.
pub struct Made {
    pub ev: Event,
    /// The thread it is about (a wake-up is about the woken thread).
    pub subject: i64,
    /// A repeat of it may be folded (scheduling, waits, `EAGAIN`s; everything of the crowd's).
    pub foldable: bool,
    /// What makes two events "the same" for folding.
    pub sig: String,
    /// Its gloss, for `ev.note` when it is shown.
    pub note: Note,
}

/// Everything the lane knows to name kernel events, learnt from both sides of the trace.
pub struct Names {
    /// `--serve`: a connection no scripted client made is a real client's, not the crowd's.
    serve: bool,
    /// Whose scheduler events are shown.
    scope: Scope,
    server_port: Option<u16>,
    printer: i64,
    /// The lane's starter thread: followed, but not shown.
    starter: i64,
    /// The threads followed: the starter and every thread (or process) started from one.
    ours: HashSet<i64>,
    /// Of those, the crowd's helper process and its threads.
    crowd: HashSet<i64>,
    /// The name each thread was last seen with.
    comms: HashMap<i64, String>,
    /// Server threads by tid, from their own events' actors.
    actors: HashMap<i64, Arc<str>>,
    sockets: HashMap<u64, Sock>,
    /// Which client is behind which port and descriptor, as the trace's own renderers learn it.
    peers: Peers,
    /// The server's descriptor for each peer port (the other way round from `peers`).
    port_fd: HashMap<u16, i64>,
    /// Each client's last send, in bytes.
    sent: HashMap<String, u64>,
    /// A call announced as blocking that has not returned yet, per thread: (name, fd, start).
    open: HashMap<i64, (&'static str, Option<i64>, u64)>,
    /// Recent calls per thread, for "inside".
    calls: HashMap<i64, VecDeque<Span>>,
    /// io_uring requests by `user_data`: opcode and descriptor.
    uring: HashMap<u64, (String, Option<i64>)>,
    /// The last `sk_data_ready` per thread (time, client, descriptor, what arrived), for a
    /// signal raised right after it.
    ready: HashMap<i64, (u64, Option<String>, Option<i64>, Arrived)>,
    /// Library functions per thread (start, end, library), and one still running (start,
    /// library): whose are the threads started, and the calls made, inside them.
    library: HashMap<i64, VecDeque<(u64, u64, &'static str)>>,
    library_open: HashMap<i64, (u64, &'static str)>,
    /// Who started each thread the followed ones started, and when.
    forks: HashMap<i64, (i64, u64)>,
    /// The system call each thread is in, from `raw_syscalls:sys_enter`: its name and start.
    entered: HashMap<i64, (&'static str, u64)>,
    /// io_uring's own threads of this process (`iou-sqp-PID`, `iou-wrk-PID`): the kernel
    /// starts them without a fork event, so they are followed once seen by name; the ones
    /// seen and not yet followed wait in `unfollowed`.
    io_threads: HashSet<i64>,
    unfollowed: Vec<i64>,
}

/// What a library's helper threads call to start, end and get memory: shown with
/// `--kernel=all` only.
const HELPER_HOUSEKEEPING: &[&str] = &[
    "mmap",
    "munmap",
    "mprotect",
    "madvise",
    "rseq",
    "set_robust_list",
    "rt_sigprocmask",
    "exit",
];

/// The "thread" the idle crowd's connections fold under, whichever thread their events ran on.
const IDLE_CONNECTIONS: i64 = -1;

/// Recent calls kept per thread for "inside" (a thread makes a few calls per kernel event).
const RECENT: usize = 64;

impl Names {
    pub fn new(printer: i64, starter: i64, serve: bool, scope: Scope) -> Names {
        Names {
            serve,
            scope,
            server_port: None,
            printer,
            starter,
            ours: HashSet::from([starter]),
            crowd: HashSet::new(),
            comms: HashMap::new(),
            actors: HashMap::new(),
            sockets: HashMap::new(),
            peers: Peers::default(),
            port_fd: HashMap::new(),
            sent: HashMap::new(),
            open: HashMap::new(),
            calls: HashMap::new(),
            uring: HashMap::new(),
            ready: HashMap::new(),
            library: HashMap::new(),
            library_open: HashMap::new(),
            forks: HashMap::new(),
            entered: HashMap::new(),
            io_threads: HashSet::new(),
            unfollowed: Vec::new(),
        }
    }

    pub fn server_port(&mut self, port: u16) {
        self.server_port = Some(port);
    }

    /// A user-side event as it arrives: which threads are the server's, and the calls they
    /// are in (the kernel events of a call come before its line, which is sent at its end).
    pub fn arrived(&mut self, ev: &Event) {
        if !matches!(
            ev.kind,
            Kind::Syscall | Kind::Op | Kind::Library | Kind::Wait
        ) || ev.tid == 0
        {
            return;
        }
        // A library function: what it starts or calls meanwhile is the library's.
        match (ev.kind, ev.by) {
            (Kind::Wait, Some(by)) => {
                self.library_open.insert(ev.tid, (ev.t_us, by));
            }
            (Kind::Library, Some(by)) => {
                self.library_open.remove(&ev.tid);
                let q = self.library.entry(ev.tid).or_default();
                if q.len() == RECENT {
                    q.pop_front();
                }
                q.push_back((ev.t_us, ev.t_us + ev.dur_us, by));
            }
            _ => {}
        }
        if ev.actor.starts_with("server") {
            self.actors
                .entry(ev.tid)
                .or_insert_with(|| ev.actor.clone());
        }
        match ev.kind {
            Kind::Wait => {
                self.open.insert(ev.tid, (ev.call, ev.fd, ev.t_us));
            }
            Kind::Syscall | Kind::Library => {
                if self.open.get(&ev.tid).is_some_and(|o| o.0 == ev.call) {
                    self.open.remove(&ev.tid);
                }
                // A folded run is many calls over its span: no one call to be inside.
                if ev.count == 1 {
                    let q = self.calls.entry(ev.tid).or_default();
                    if q.len() == RECENT {
                        q.pop_front();
                    }
                    q.push_back((ev.t_us, ev.t_us + ev.dur_us, ev.call, ev.fd));
                }
            }
            _ => {}
        }
    }

    /// A user-side event as it is shown, in time order with the kernel's: ports, descriptors
    /// and sends known up to that moment.
    pub fn shown(&mut self, ev: &Event) {
        self.peers.observe(ev);
        if let (Kind::Syscall | Kind::Op, Some(port), Some(fd)) = (ev.kind, ev.port, ev.ret) {
            self.port_fd.insert(port, fd);
        }
        // An SQE's descriptor, by its key (the kernel names it only after taking the SQE).
        if ev.kind == Kind::Op
            && let Some(k) = ev.key
            && ev.ret.is_none()
            && ev.errno.is_none()
        {
            let op = ev.call.to_ascii_uppercase();
            self.uring.insert(k, (op, ev.fd.filter(|&fd| fd >= 0)));
        }
        if ev.kind == Kind::Client
            && ev.call == "send"
            && let (Some(c), Some(b)) = (&ev.client, ev.bytes)
        {
            self.sent.insert(c.clone(), b);
        }
        if matches!(ev.kind, Kind::Syscall)
            && ev.closes()
            && ev.ret == Some(0)
            && let Some(port) = self.peers.closed(ev)
        {
            self.port_fd.remove(&port);
        }
    }

    /// Learns from a kernel event, in the order read: the threads followed threads start
    /// (`event-fork` follows them: `sched_process_fork`), the crowd's helper (the one that
    /// `exec`s), and the names threads go by (the `comm` fields of the scheduler's events).
    pub fn learn(&mut self, raw: &Raw, t_us: u64) {
        match raw.tp.name {
            "sched_process_fork" => {
                if let (Some(parent), Some(child)) = (raw.int("parent_pid"), raw.int("child_pid")) {
                    if self.ours.contains(&parent) {
                        self.ours.insert(child);
                        self.forks.insert(child, (parent, t_us));
                    }
                    if self.crowd.contains(&parent) {
                        self.crowd.insert(child);
                    }
                    if let Some(c) = raw.text("child_comm") {
                        self.comms.insert(child, c.to_string());
                    }
                }
            }
            "sched_process_exec" => {
                // Only the crowd's helper is a program of its own.
                if let Some(pid) = raw.int("pid")
                    && self.ours.contains(&pid)
                {
                    self.crowd.insert(pid);
                }
            }
            _ => {}
        }
        for (pid, comm) in [
            ("pid", "comm"),
            ("prev_pid", "prev_comm"),
            ("next_pid", "next_comm"),
        ] {
            if let (Some(tid), Some(c)) = (raw.int(pid), raw.text(comm)) {
                if self.io_thread(c) && self.io_threads.insert(tid) {
                    self.unfollowed.push(tid);
                }
                self.comms.insert(tid, c.to_string());
            }
        }
        if raw.comm != "<...>" {
            self.comms
                .entry(raw.tid)
                .or_insert_with(|| raw.comm.clone());
        }
    }

    /// Who a thread is: a server thread (from its events), one the lane follows (by its
    /// name), the crowd's helper, or another task.
    pub fn role(&self, tid: i64) -> Role {
        let comm = self.comms.get(&tid).map_or("?", String::as_str);
        if tid == self.starter {
            Role::Launcher
        } else if tid == self.printer {
            Role::Printer
        } else if let Some(a) = self.actors.get(&tid) {
            Role::Server(a.clone())
        } else if self.crowd.contains(&tid) {
            Role::Crowd
        } else if let Some(by) = self.library_thread(tid) {
            Role::Library(by)
        } else if self.io_threads.contains(&tid) {
            Role::Library("io_uring")
        } else if self.ours.contains(&tid) {
            by_name(comm)
        } else {
            Role::Other(comm.to_string())
        }
    }

    /// An io_uring thread started for one of the followed threads (`iou-sqp-TID`: the SQPOLL
    /// thread; `iou-wrk-TID`: a worker for requests that must block), by the name the kernel
    /// gives it (after the thread that made the ring).
    fn io_thread(&self, comm: &str) -> bool {
        ["iou-sqp-", "iou-wrk-"].iter().any(|p| {
            comm.strip_prefix(p)
                .and_then(|t| t.parse::<i64>().ok())
                .is_some_and(|t| self.ours.contains(&t))
        })
    }

    /// io_uring's threads of this process that no event has named yet, from
    /// `/proc/self/task/*/comm`: the SQ thread (`--sqpoll`) is made with the ring, and may do
    /// its first copy before any event of another thread names it.
    pub fn look_for_io_threads(&mut self) {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return;
        };
        for task in tasks.flatten() {
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<i64>().ok())
            else {
                continue;
            };
            if self.io_threads.contains(&tid) {
                continue;
            }
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            let comm = comm.trim_end();
            if self.io_thread(comm) && self.io_threads.insert(tid) {
                self.unfollowed.push(tid);
                self.comms.insert(tid, comm.to_string());
            }
        }
    }

    /// Threads to add to the instance's filter: io_uring's, seen by name since the last call.
    pub fn take_unfollowed(&mut self) -> Vec<i64> {
        std::mem::take(&mut self.unfollowed)
    }

    /// The library that started `tid`: inside one of its functions on a server thread, or
    /// from a thread it had started before (glibc's helpers start more when work queues up).
    fn library_thread(&self, tid: i64) -> Option<&'static str> {
        let mut at = tid;
        // A chain of starts is short; the bound only keeps a cycle of reused tids finite.
        for _ in 0..64 {
            let &(parent, t) = self.forks.get(&at)?;
            if self.actors.contains_key(&parent) {
                return self.in_library(parent, t);
            }
            at = parent;
        }
        None
    }

    /// The library whose function `tid` was inside at `t_us`, if any.
    fn in_library(&self, tid: i64, t_us: u64) -> Option<&'static str> {
        let open = self
            .library_open
            .get(&tid)
            .filter(|&&(start, _)| start <= t_us)
            .map(|&(_, by)| by);
        open.or_else(|| {
            self.library.get(&tid).and_then(|q| {
                q.iter()
                    .rev()
                    .find(|&&(s, e, _)| s <= t_us && t_us <= e)
                    .map(|&(_, _, by)| by)
            })
        })
    }

    /// Whether `tid` started a call after `after` and by `by` (one the trace has seen).
    pub fn started_between(&self, tid: i64, after: u64, by: u64) -> bool {
        let open = self
            .open
            .get(&tid)
            .is_some_and(|&(_, _, s)| after < s && s <= by);
        open || self
            .calls
            .get(&tid)
            .is_some_and(|q| q.iter().rev().any(|&(s, _, _, _)| after < s && s <= by))
    }

    /// The call `tid` was inside at `t_us`, from its own calls' times. `ending`: the event is
    /// the last thing a call does (a recv's copy), so where a call ended and the next began
    /// in the same microsecond, it is the first call's.
    fn inside_at(&self, tid: i64, t_us: u64, ending: bool) -> Option<(&'static str, Option<i64>)> {
        let open = self
            .open
            .get(&tid)
            .filter(|&&(_, _, start)| start <= t_us)
            .map(|&(call, fd, _)| (call, fd));
        // A call whose own span holds the moment comes first; one that ended within the
        // clocks' slack before it only if none does (a copy at the start of a recvfrom must
        // not go to the epoll_ctl that ended a few µs earlier).
        let inside = |(s, e, _, _): &&Span| *s <= t_us && t_us <= *e;
        let within = |(s, e, _, _): &&Span| *s <= t_us && t_us <= e + SLACK_US;
        let finished = self.calls.get(&tid).and_then(|q| {
            let find = |f: &dyn Fn(&&Span) -> bool| {
                if ending {
                    q.iter().find(f)
                } else {
                    q.iter().rev().find(f)
                }
            };
            find(&inside).or_else(|| find(&within))
        });
        let finished = finished.map(|&(_, _, call, fd)| (call, fd));
        if ending {
            finished.or(open)
        } else {
            open.or(finished)
        }
    }

    fn inside(&self, tid: i64, t_us: u64) -> Option<(&'static str, Option<i64>)> {
        self.inside_at(tid, t_us, false)
    }

    /// Names the connection behind a socket address.
    fn conn(&self, sk: u64) -> Option<Conn> {
        let s = self.sockets.get(&sk)?;
        let client = self.peers.client_at(s.port).map(str::to_string);
        let fd = (s.end == End::Server)
            .then(|| self.port_fd.get(&s.port).copied())
            .flatten();
        // A port no scripted client connected from: the crowd's, or under --serve a real
        // client's.
        let (who, short) = match &client {
            Some(c) => (Who::Client(c.clone()), c.clone()),
            None if self.serve => (Who::Port(s.port), format!(":{}", s.port)),
            None if s.port == 0 => (Who::Idle, "idle".to_string()),
            None => (Who::Idle, format!("idle :{}", s.port)),
        };
        let label = match (s.end, &client, fd) {
            (End::Listener, _, _) => "listener".to_string(),
            (End::Server, Some(c), Some(fd)) => format!("{fd}={c}"),
            (End::Server, None, Some(fd)) => format!("{fd}"),
            (End::Server, _, None) => format!("{short} (not accepted yet)"),
            (End::Client, _, _) => format!("{short}'s socket"),
        };
        Some(Conn {
            end: Some(s.end),
            client,
            fd,
            label,
            who,
            guess: false,
        })
    }

    /// The connection a socket address is, or, when the lane never saw it change state (a
    /// `--serve` client's handshake runs in that client's process), a guess from the
    /// descriptor of the call the thread was inside.
    fn conn_or_guess(
        &self,
        sk: u64,
        inside: Option<(&'static str, Option<i64>)>,
        t_us: u64,
    ) -> Conn {
        if let Some(c) = self.conn(sk) {
            return c;
        }
        match inside.and_then(|(_, fd)| fd) {
            Some(fd) => {
                let client = self.peers.client(fd, t_us).map(str::to_string);
                let (label, who) = match &client {
                    Some(c) => (format!("{fd}={c}?"), Who::Client(c.clone())),
                    None => (format!("{fd}?"), Who::Fd(fd)),
                };
                Conn {
                    end: Some(End::Server),
                    who,
                    client,
                    fd: Some(fd),
                    label,
                    guess: true,
                }
            }
            None => Conn {
                end: None,
                client: None,
                fd: None,
                label: format!("sk {sk:#x}"),
                who: Who::Unnamed,
                guess: false,
            },
        }
    }

    /// Makes a kernel event into a trace line at `t_us`, or `None` when it is about no thread
    /// of ours (a followed thread waking or switching to another program's).
    pub fn make(&mut self, raw: &Raw, t_us: u64) -> Option<Made> {
        let ran_on = self.role(raw.tid);
        if ran_on == Role::Launcher {
            return None;
        }
        if raw.tp.system == "raw_syscalls" {
            return self.raw_syscall(raw, t_us, ran_on);
        }
        let (subject, subject_role) = match raw.tp.name {
            "sched_wakeup" => {
                let pid = raw.int("pid")?;
                let r = self.role(pid);
                (pid, r)
            }
            "sched_switch" => {
                let prev = raw.int("prev_pid")?;
                let prev_role = self.role(prev);
                if prev_role.ours() {
                    (prev, prev_role)
                } else {
                    let next = raw.int("next_pid")?;
                    let r = self.role(next);
                    (next, r)
                }
            }
            _ => (raw.tid, ran_on.clone()),
        };
        if !subject_role.ours() || !self.in_scope(raw, &subject_role) {
            return None;
        }
        let mut m = Line::new(raw, t_us, &ran_on, subject, subject_role.clone());
        m.inside = self.inside_at(raw.tid, t_us, raw.tp.name == "sock_recv_length");
        // A thread the trace does not follow (a library's): the call raw_syscalls saw it enter.
        if m.inside.is_none()
            && let Some(&(call, _)) = self.entered.get(&raw.tid)
        {
            m.inside = Some((call, None));
        }
        match raw.tp.name {
            "sk_data_ready" => self.sk_data_ready(raw, &mut m),
            "sock_recv_length" => self.sock_recv_length(raw, &mut m),
            "inet_sock_set_state" => self.inet_sock_set_state(raw, &mut m),
            "sched_wakeup" => self.sched_wakeup(raw, &mut m),
            "sched_switch" => self.sched_switch(raw, &mut m),
            "signal_generate" => self.signal_generate(raw, &mut m),
            "sched_process_fork" => self.sched_process_fork(raw, &mut m),
            "sched_process_exec" => self.sched_process_exec(raw, &mut m),
            _ => self.io_uring(raw, &mut m),
        }
        // The idle crowd's connections, on whichever thread (their handshakes on the
        // crowd's, their closes on the server's): one run of their own, folded by kind.
        let idle = !self.serve && m.client.is_none() && matches!(m.end, Some("server" | "client"));
        if idle || subject_role == Role::Crowd || matches!(subject_role, Role::Harness(_)) {
            m.foldable = true;
            m.sig_detail = format!(
                "{} {} {:?} {:?}",
                m.end.unwrap_or("-"),
                m.coarse,
                m.ret,
                m.errno
            );
            if idle {
                m.subject = IDLE_CONNECTIONS;
            }
        }
        Some(m.made())
    }

    /// A system call's entry or exit (`raw_syscalls`), shown only where the trace cannot see
    /// it: on a thread a library started, or on a server thread inside a library function.
    /// The server's other calls are lines of the trace already; the clients' are not the
    /// lesson.
    fn raw_syscall(&mut self, raw: &Raw, t_us: u64, ran_on: Role) -> Option<Made> {
        let name = usize::try_from(raw.int("id")?)
            .ok()
            .and_then(syscalls::Sysno::new)
            .map_or("?", |s| s.name());
        let enter = raw.tp.name == "sys_enter";
        let began = if enter {
            self.entered.insert(raw.tid, (name, t_us));
            None
        } else {
            self.entered
                .remove(&raw.tid)
                .filter(|&(n, _)| n == name)
                .map(|(_, t)| t)
        };
        let helper = matches!(ran_on, Role::Library(_));
        // A thread's start and its memory are the C library's business, not the lesson's.
        if helper && self.scope == Scope::Server && HELPER_HOUSEKEEPING.contains(&name) {
            return None;
        }
        let by = match ran_on {
            Role::Server(_) => self.in_library(raw.tid, t_us)?,
            Role::Library(by) => by,
            _ => return None,
        };
        let mut m = Line::new(raw, t_us, &ran_on, raw.tid, ran_on.clone());
        m.inside = self.inside(raw.tid, t_us);
        m.detail = name.to_string();
        m.sig_detail = format!("{name} {enter}");
        let io = matches!(name, "read" | "pread64" | "write" | "pwrite64");
        m.foldable = !io;
        m.stage = match (helper, name, m.inside) {
            (true, "read" | "pread64", _) => Stage::DataReadyCopy,
            (true, "write" | "pwrite64", _) => Stage::CopyToKernel,
            (false, _, Some(("aio_suspend", _))) => Stage::DataReady,
            _ => Stage::Setup,
        };
        let place = m.place();
        let took = move || {
            began.map_or(String::new(), |b| {
                let ms = format!("{:.3}", t_us.saturating_sub(b) as f64 / 1e3);
                crate::t!("lane-after-ms", ms = ms)
            })
        };
        m.note = if enter {
            note(move || {
                let whose = place.ran_on.whose();
                match (helper, name) {
                    (true, "pread64") => crate::t!("lane-helper-pread", whose = whose),
                    (true, "read") => crate::t!("lane-helper-read", whose = whose),
                    (true, "write") => crate::t!("lane-helper-write", whose = whose),
                    (true, "futex") => crate::t!("lane-helper-futex", whose = whose),
                    (true, _) => crate::t!("lane-helper-enters", whose = whose, call = name),
                    (false, _) => crate::t!(
                        "lane-library-enters",
                        by = by,
                        call = name,
                        whose = whose,
                        inside = place.inside_text()
                    ),
                }
            })
        } else {
            let r = raw.int("ret").unwrap_or(0);
            m.result(r);
            let errno = m.errno;
            note(move || {
                let (took, ret) = (took(), r.to_string());
                match (helper, name, errno) {
                    (true, "pread64", Some("ESPIPE")) => {
                        crate::t!("lane-pread-espipe", call = name, took = took, by = by)
                    }
                    (true, "read", None) => crate::t!(
                        "lane-helper-read-returns",
                        call = name,
                        ret = ret,
                        took = took,
                        whose = place.ran_on.whose()
                    ),
                    (true, "write", None) => {
                        crate::t!(
                            "lane-helper-write-returns",
                            call = name,
                            ret = ret,
                            took = took
                        )
                    }
                    (false, "clone3", None) => crate::t!(
                        "lane-clone3",
                        ret = ret,
                        took = took,
                        by = by,
                        inside = place.inside_text()
                    ),
                    _ => crate::t!(
                        "lane-returns",
                        call = name,
                        took = took,
                        whose = place.ran_on.whose(),
                        inside = place.inside_text()
                    ),
                }
            })
        };
        Some(m.made())
    }

    /// Scheduler events are shown for the server's threads only, unless `--kernel=all`: the
    /// clients' and the harness's context switches would drown the server's.
    fn in_scope(&self, raw: &Raw, subject: &Role) -> bool {
        // A library's helper threads are the server's too: they do its waiting.
        let server = |r: &Role| matches!(r, Role::Server(_) | Role::Library(_));
        match raw.tp.name {
            _ if self.scope == Scope::All => true,
            "sched_wakeup" | "sched_process_fork" => server(subject),
            "sched_switch" => {
                server(subject) || raw.int("next_pid").is_some_and(|n| server(&self.role(n)))
            }
            _ => true,
        }
    }

    fn sk_data_ready(&mut self, raw: &Raw, m: &mut Line) {
        let sk = raw.uint("skaddr").unwrap_or(0);
        let conn = self.conn_or_guess(sk, None, m.t_us);
        let place = m.place();
        let state = self.sockets.get(&sk).map(|s| s.state);
        let who = conn.who.clone();
        let arrived = match (conn.end, state) {
            (Some(End::Listener), _) => Arrived::Connection,
            (Some(End::Server), Some(TCP_CLOSE_WAIT)) => Arrived::Fin(who.clone()),
            (Some(End::Server), _) => Arrived::Data(who.clone()),
            _ => Arrived::Something,
        };
        m.stage = Stage::DataReady;
        let end = conn.end;
        if end == Some(End::Client) {
            m.stage = Stage::Client;
        }
        let sent = conn.client.as_ref().and_then(|c| self.sent.get(c)).copied();
        m.note = note(move || {
            let on = place.on();
            match end {
                Some(End::Listener) => crate::t!("lane-ready-connection", on = on),
                Some(End::Client) => {
                    crate::t!("lane-ready-client", cli = who.cli(), on = on)
                }
                Some(End::Server) if state == Some(TCP_CLOSE_WAIT) => {
                    crate::t!("lane-ready-fin", who = who.who(), on = on)
                }
                Some(End::Server) => crate::t!(
                    "lane-ready-data",
                    who = who.who(),
                    sent = sent
                        .map(|b| crate::t!("lane-it-sent", n = b.to_string()))
                        .unwrap_or_default(),
                    on = on
                ),
                None => crate::t!("lane-ready-unnamed", on = on),
            }
        });
        self.ready
            .insert(raw.tid, (m.t_us, conn.client.clone(), conn.fd, arrived));
        m.conn(conn);
    }

    fn sock_recv_length(&mut self, raw: &Raw, m: &mut Line) {
        let sk = raw.uint("sk").unwrap_or(0);
        let ret = raw.int("ret").unwrap_or(0);
        let flags = raw.int("flags").unwrap_or(0);
        let conn = self.conn_or_guess(sk, m.inside, m.t_us);
        let place = m.place();
        let peeked = flags & libc::MSG_PEEK as i64 != 0;
        m.result(ret);
        m.sig_detail = format!("{} {ret}", conn.label);
        m.foldable = ret < 0;
        let client_side = conn.end == Some(End::Client);
        let who = conn.who.clone();
        let guess = conn.guess;
        m.stage = match (client_side, ret) {
            (true, _) => Stage::Client,
            (false, r) if r > 0 => Stage::CopyToUser,
            (false, 0) => Stage::Teardown,
            _ => Stage::DataReady,
        };
        let errno = m.errno;
        m.note = note(move || {
            let peek = if peeked {
                crate::t!("lane-peek")
            } else {
                String::new()
            };
            let which = if guess {
                crate::t!("lane-which-inferred")
            } else {
                String::new()
            };
            let n = ret.to_string();
            let who_on = || place.ran_on.whose();
            let (on, inside) = (|| place.on(), || place.inside_text());
            match (client_side, ret) {
                (true, r) if r > 0 => {
                    crate::t!("lane-client-copied", whose = who_on(), n = n, peek = peek)
                }
                (true, 0) => crate::t!("lane-client-eof", whose = who_on()),
                (true, _) => crate::t!("lane-client-nothing", whose = who_on()),
                (false, r) if r > 0 => crate::t!(
                    "lane-copied",
                    n = n,
                    who = who.who(),
                    on = on(),
                    inside = inside(),
                    peek = peek,
                    which = which
                ),
                (false, 0) => crate::t!(
                    "lane-eof",
                    who = who.who(),
                    on = on(),
                    inside = inside(),
                    which = which
                ),
                (false, _) => crate::t!(
                    "lane-nothing-yet",
                    who = who.who(),
                    errno = errno.unwrap_or("error"),
                    on = on(),
                    inside = inside(),
                    which = which
                ),
            }
        });
        m.conn(conn);
    }

    fn inet_sock_set_state(&mut self, raw: &Raw, m: &mut Line) {
        let sk = raw.uint("skaddr").unwrap_or(0);
        let (old, new) = (
            raw.int("oldstate").unwrap_or(0),
            raw.int("newstate").unwrap_or(0),
        );
        let (sport, dport) = (
            raw.int("sport").unwrap_or(0) as u16,
            raw.int("dport").unwrap_or(0) as u16,
        );
        let end = match self.server_port {
            Some(p) if sport == p && dport == 0 => Some(End::Listener),
            Some(p) if sport == p => Some(End::Server),
            Some(p) if dport == p => Some(End::Client),
            _ => None,
        };
        if let Some(end) = end {
            let port = if end == End::Server { dport } else { sport };
            self.sockets.insert(
                sk,
                Sock {
                    end,
                    port,
                    state: new,
                },
            );
        }
        let conn = self.conn_or_guess(sk, None, m.t_us);
        let change = format!("{} → {}", tcp_state(old), tcp_state(new));
        m.sig_detail = change.clone();
        m.coarse = change.clone();
        m.detail = change;
        let place = m.place();
        let peer = conn.who.clone();
        let detail = m.detail.clone();
        m.stage = if matches!(
            new,
            TCP_SYN_SENT | TCP_SYN_RECV | TCP_ESTABLISHED | TCP_LISTEN
        ) {
            Stage::Setup
        } else {
            Stage::Teardown
        };
        m.note = note(move || {
            let (who, cli, on) = (|| peer.who(), || peer.cli(), || place.on());
            let (sport, dport) = (sport.to_string(), dport.to_string());
            match (end, old, new) {
                (None, _, _) => crate::t!(
                    "lane-tcp-other",
                    change = detail,
                    sport = sport,
                    dport = dport,
                    on = on()
                ),
                (Some(End::Listener), _, TCP_LISTEN) => crate::t!("lane-tcp-listen", port = sport),
                (Some(End::Listener), _, TCP_CLOSE) => crate::t!("lane-tcp-listener-closed"),
                (Some(End::Client), _, TCP_SYN_SENT) => {
                    crate::t!("lane-tcp-syn-sent", cli = cli(), on = on())
                }
                (Some(End::Client), TCP_SYN_SENT, TCP_ESTABLISHED) => {
                    crate::t!("lane-tcp-connected", cli = cli())
                }
                (Some(End::Server), _, TCP_SYN_RECV) => {
                    crate::t!("lane-tcp-syn-recv", who = who(), on = on())
                }
                (Some(End::Server), TCP_SYN_RECV, TCP_ESTABLISHED) => {
                    crate::t!("lane-tcp-established", who = who())
                }
                (Some(End::Client), _, TCP_FIN_WAIT1) => {
                    crate::t!("lane-tcp-fin-wait1", cli = cli())
                }
                (Some(End::Server), _, TCP_CLOSE_WAIT) => {
                    crate::t!("lane-tcp-close-wait", who = who())
                }
                (Some(End::Server), _, TCP_LAST_ACK) => crate::t!("lane-tcp-last-ack", who = who()),
                (Some(End::Client), _, TCP_FIN_WAIT2) => {
                    crate::t!("lane-tcp-fin-wait2", cli = cli())
                }
                (Some(End::Client), _, TCP_TIME_WAIT) => {
                    crate::t!("lane-tcp-time-wait", cli = cli())
                }
                (Some(End::Server), _, TCP_CLOSE) => {
                    crate::t!("lane-tcp-server-closed", who = who())
                }
                (Some(End::Client), _, TCP_CLOSE) => {
                    crate::t!("lane-tcp-client-closed", cli = cli())
                }
                (Some(End::Server), _, _) => {
                    crate::t!("lane-tcp-server-state", who = who(), change = detail)
                }
                (Some(_), _, _) => crate::t!("lane-tcp-client-state", cli = cli(), change = detail),
            }
        });
        m.conn(conn);
    }

    fn sched_wakeup(&mut self, raw: &Raw, m: &mut Line) {
        let place = m.place();
        let wakee = m.subject_role.clone();
        let asleep = self.inside(m.subject, m.t_us);
        m.detail = format!("wakes {}", m.subject_role.short());
        m.sig_detail = format!("{} by {}", m.subject_role.short(), sig_name(&m.ran_on));
        m.foldable = true;
        m.stage = self.stage_of(m.subject, m.t_us, &m.subject_role);
        let cpu = raw.int("target_cpu").unwrap_or(-1);
        m.note = note(move || {
            crate::t!(
                "lane-wakeup",
                wakee = wakee.whose(),
                asleep = asleep
                    .map(|(c, fd)| crate::t!("lane-asleep-in", call = call_text(c, fd)))
                    .unwrap_or_default(),
                cpu = cpu.to_string(),
                waker = place.on()
            )
        });
    }

    fn sched_switch(&mut self, raw: &Raw, m: &mut Line) {
        let prev = raw.int("prev_pid").unwrap_or(0);
        let next = raw.int("next_pid").unwrap_or(0);
        let (prev_role, next_role) = (self.role(prev), self.role(next));
        let state = raw.int("prev_state").unwrap_or(0);
        let (letter, how) = task_state(state);
        m.detail = format!("{} ({letter}) → {}", prev_role.short(), next_role.short());
        m.coarse = letter.to_string();
        m.foldable = true;
        if prev_role.ours() {
            m.sig_detail = format!("{letter} {}", sig_name(&next_role));
            m.stage = self.stage_of(prev, m.t_us, &prev_role);
            let inside = self.inside(prev, m.t_us);
            m.note = note(move || {
                let next = next_role.whose();
                crate::t!(
                    "lane-switch-out",
                    prev = prev_role.whose(),
                    how = how.to_string(),
                    inside = inside
                        .map(|(c, fd)| crate::t!("lane-switch-in-call", call = call_text(c, fd)))
                        .unwrap_or_default(),
                    then = if next_role.ours() {
                        crate::t!("lane-switch-then-runs", next = next)
                    } else {
                        crate::t!("lane-switch-then-cpu", next = next)
                    }
                )
            });
        } else {
            m.sig_detail = format!("in after {}", sig_name(&prev_role));
            m.stage = self.stage_of(next, m.t_us, &next_role);
            let cpu = raw.cpu;
            m.note = note(move || {
                crate::t!(
                    "lane-switch-in",
                    next = next_role.whose(),
                    cpu = cpu.to_string(),
                    prev = prev_role.whose()
                )
            });
        }
    }

    fn sched_process_fork(&mut self, raw: &Raw, m: &mut Line) {
        let child = raw.int("child_pid").unwrap_or(0);
        m.detail = format!("tid {child}");
        m.stage = Stage::Setup;
        // Named as it is known by now (a new thread takes its own name once it runs).
        let role = self.role(child);
        let parent = m.ran_on.clone();
        m.note = note(move || {
            let tid = child.to_string();
            let named = match role {
                Role::Harness(_) => crate::t!("lane-new-thread", tid = tid),
                r => crate::t!(
                    "lane-fork-named",
                    whose = r.whose().replacen("the ", "", 1),
                    tid = tid
                ),
            };
            crate::t!("lane-fork", parent = parent.whose(), named = named)
        });
    }

    fn sched_process_exec(&mut self, raw: &Raw, m: &mut Line) {
        m.detail = raw.text("filename").unwrap_or("").to_string();
        m.stage = Stage::Setup;
        let (pid, file) = (raw.int("pid").unwrap_or(0), m.detail.clone());
        m.note = note(move || crate::t!("lane-exec", tid = pid.to_string(), file = file));
    }

    fn signal_generate(&mut self, raw: &Raw, m: &mut Line) {
        let sig = raw.int("sig").unwrap_or(0);
        let target = raw.int("pid").unwrap_or(0);
        let to_role = self.role(target);
        let to = to_role.short();
        let result = match raw.int("result").unwrap_or(0) {
            0 => crate::msg!("lane-signal-delivered"),
            1 => crate::msg!("lane-signal-ignored"),
            2 => crate::msg!("lane-signal-pending"),
            3 => crate::msg!("lane-signal-no-memory"),
            _ => crate::msg!("lane-signal-dropped"),
        };
        m.detail = format!("{} → {to}", signal_name(sig));
        m.sig_detail = m.detail.clone();
        m.stage = Stage::DataReady;
        let just = self
            .ready
            .get(&raw.tid)
            .filter(|(t, _, _, _)| m.t_us.saturating_sub(*t) <= 50)
            .cloned();
        let arrived = just.map(|(_, client, fd, arrived)| {
            m.guess = true;
            m.client = client;
            m.fd = fd;
            arrived
        });
        m.note = note(move || {
            let (signal, whom, result) = (signal_name(sig), to_role.whose(), result.to_string());
            match arrived {
                Some(a) => crate::t!(
                    "lane-signal-arrived",
                    signal = signal,
                    whom = whom,
                    result = result,
                    arrived = a.text()
                ),
                None => crate::t!("lane-signal", signal = signal, whom = whom, result = result),
            }
        });
    }

    fn io_uring(&mut self, raw: &Raw, m: &mut Line) {
        let key = raw.uint("user_data");
        m.key = key;
        let op = raw
            .text("op_str")
            .map(str::to_string)
            .or_else(|| key.and_then(|k| self.uring.get(&k)).map(|(o, _)| o.clone()));
        let fd = key.and_then(|k| self.uring.get(&k)).and_then(|(_, fd)| *fd);
        let at = m.t_us;
        let place = m.place();
        let target = |s: &Names| match (key, &op, fd) {
            (Some(k), Some(op), Some(fd)) => {
                let c = s
                    .peers
                    .client(fd, at)
                    .map(|c| format!("={c}"))
                    .unwrap_or_default();
                format!("key {k} {op} {fd}{c}")
            }
            (Some(k), Some(op), None) => format!("key {k} {op}"),
            (Some(k), None, _) => format!("key {k}"),
            _ => String::new(),
        };
        let name = raw.tp.name;
        m.detail = target(self);
        m.sig_detail = format!(
            "{} {}",
            op.as_deref().unwrap_or(""),
            raw.int("res").unwrap_or(0)
        );
        m.stage = Stage::Completion;
        let int = |f: &str| raw.int(f).unwrap_or(0);
        m.note = match name {
            "io_uring_create" => {
                m.stage = Stage::Setup;
                let (sq, cq, flags) = (int("sq_entries"), int("cq_entries"), int("flags"));
                note(move || {
                    crate::t!(
                        "lane-uring-create",
                        sq = sq.to_string(),
                        cq = cq.to_string(),
                        flags = format!("{flags:#x}")
                    )
                })
            }
            "io_uring_submit_req" => {
                if let Some(k) = key {
                    let fd = self.uring.get(&k).and_then(|(_, fd)| *fd);
                    self.uring.insert(k, (op.clone().unwrap_or_default(), fd));
                }
                m.stage = match op.as_deref() {
                    Some("SEND" | "SENDMSG" | "WRITE") => Stage::CopyToKernel,
                    Some("ASYNC_CANCEL") => Stage::Teardown,
                    _ => Stage::DataReady,
                };
                let sqe = target(self);
                note(move || {
                    crate::t!(
                        "lane-uring-submit",
                        sqe = sqe,
                        on = place.on(),
                        inside = place.inside_text()
                    )
                })
            }
            "io_uring_file_get" => {
                let fd = raw.int("fd");
                if let Some(k) = key
                    && let Some(e) = self.uring.get_mut(&k)
                {
                    e.1 = fd;
                }
                m.detail = target(self);
                m.stage = Stage::Setup;
                let (fd, k) = (fd.unwrap_or(-1), key.unwrap_or(0));
                note(move || {
                    crate::t!(
                        "lane-uring-file-get",
                        fd = fd.to_string(),
                        key = k.to_string()
                    )
                })
            }
            "io_uring_poll_arm" => {
                m.stage = Stage::DataReady;
                let req = target(self);
                note(move || crate::t!("lane-uring-poll-arm", req = req))
            }
            "io_uring_task_add" => {
                m.stage = Stage::DataReady;
                let req = target(self);
                note(move || crate::t!("lane-uring-task-add", req = req, on = place.on()))
            }
            "io_uring_local_work_run" | "io_uring_task_work_run" => {
                let count = int("count");
                m.sig_detail = format!("{count}");
                note(move || {
                    crate::t!(
                        "lane-uring-work-run",
                        whose = place.ran_on.whose(),
                        count = count.to_string(),
                        inside = place.inside_text()
                    )
                })
            }
            "io_uring_complete" => {
                let res = int("res");
                m.result(res);
                let req = target(self);
                note(move || {
                    crate::t!(
                        "lane-uring-complete",
                        req = req,
                        res = res.to_string(),
                        on = place.on(),
                        inside = place.inside_text()
                    )
                })
            }
            "io_uring_cqring_wait" => {
                m.foldable = true;
                m.sig_detail.clear();
                let min = int("min_events");
                note(move || {
                    crate::t!(
                        "lane-uring-cqring-wait",
                        whose = place.ran_on.whose(),
                        n = min.to_string(),
                        inside = place.inside_text()
                    )
                })
            }
            "io_uring_queue_async_work" => {
                let req = target(self);
                note(move || crate::t!("lane-uring-async-work", req = req))
            }
            "io_uring_req_failed" => {
                let req = target(self);
                note(move || crate::t!("lane-uring-failed", req = req))
            }
            _ => {
                let what = name.trim_start_matches("io_uring_");
                note(move || format!("io_uring: {what}"))
            }
        };
        if let Some(fd) = fd {
            m.fd = Some(fd);
            m.client = self.peers.client(fd, m.t_us).map(str::to_string);
        }
    }

    /// The stage a thread's scheduling belongs to: that of the call it is inside, if known.
    fn stage_of(&self, tid: i64, t_us: u64, role: &Role) -> Stage {
        if !matches!(role, Role::Server(_)) {
            return match role {
                Role::Client { .. } => Stage::Client,
                _ => Stage::Setup,
            };
        }
        let call = self.inside(tid, t_us).map(|(c, _)| c);
        match call {
            Some("recvfrom" | "recv" | "read") => Stage::DataReadyCopy,
            Some("sendto" | "send" | "write") => Stage::CopyToKernel,
            Some("io_uring_enter") => Stage::Completion,
            _ => Stage::DataReady,
        }
    }
}

/// A line being made.
struct Line<'a> {
    raw: &'a Raw,
    t_us: u64,
    ran_on: Role,
    subject: i64,
    subject_role: Role,
    inside: Option<(&'static str, Option<i64>)>,
    stage: Stage,
    note: Note,
    /// Shown after the tracepoint's name: the connection, a state change, a key.
    detail: String,
    sig_detail: String,
    /// What the crowd's and the harness's events fold by (no address, no port).
    coarse: String,
    foldable: bool,
    ret: Option<i64>,
    errno: Option<&'static str>,
    client: Option<String>,
    fd: Option<i64>,
    end: Option<&'static str>,
    key: Option<u64>,
    guess: bool,
}

impl<'a> Line<'a> {
    fn new(raw: &'a Raw, t_us: u64, ran_on: &Role, subject: i64, subject_role: Role) -> Line<'a> {
        Line {
            raw,
            t_us,
            ran_on: ran_on.clone(),
            subject,
            subject_role,
            inside: None,
            stage: Stage::Setup,
            note: Box::new(String::new),
            detail: String::new(),
            sig_detail: String::new(),
            coarse: String::new(),
            foldable: false,
            ret: None,
            errno: None,
            client: None,
            fd: None,
            end: None,
            key: None,
            guess: false,
        }
    }

    fn place(&self) -> Place {
        Place {
            ran_on: self.ran_on.clone(),
            irq: self.raw.irq,
            inside: self.inside,
        }
    }

    /// A result as a syscall's: a count, or a negated errno.
    fn result(&mut self, r: i64) {
        if r < 0 {
            self.errno = Some(crate::trace::errno::name(
                rustix::io::Errno::from_raw_os_error((-r) as i32),
            ));
        } else {
            self.ret = Some(r);
        }
    }

    fn conn(&mut self, c: Conn) {
        self.detail = if self.detail.is_empty() {
            c.label.clone()
        } else {
            format!("{} {}", c.label, self.detail)
        };
        if self.sig_detail.is_empty() {
            self.sig_detail = c.label.clone();
        }
        self.end = c.end.map(End::name);
        self.client = c.client;
        self.fd = c.fd;
        self.guess |= c.guess;
    }

    fn made(self) -> Made {
        let raw = self.raw;
        let mut ev = Event::new(Kind::Kernel, raw.tp.name, self.stage);
        ev.t_us = self.t_us;
        ev.tid = raw.tid;
        ev.actor = Arc::from("kernel");
        ev.args = self.detail;
        ev.ret = self.ret;
        ev.errno = self.errno;
        ev.client = self.client;
        ev.fd = self.fd;
        ev.key = self.key;
        ev.tracepoint = Some(raw.tp.full);
        ev.on = Some(self.ran_on.short());
        ev.end = self.end;
        ev.inside = self.inside.map(|(c, _)| c);
        ev.guess = self.guess.then_some(true);
        let mut fields = Map::new();
        for (k, v) in &raw.fields {
            fields.insert(k.clone(), v.clone());
        }
        fields.insert("cpu".into(), Value::from(raw.cpu));
        if let Some(irq) = raw.irq {
            fields.insert("context".into(), Value::from(irq));
        }
        ev.fields = Some(fields);
        Made {
            ev,
            subject: self.subject,
            foldable: self.foldable,
            sig: format!("{} {}", raw.tp.name, self.sig_detail),
            note: self.note,
        }
    }
}

/// This process's threads by their names: std names them after `thread::Builder::name`.
fn by_name(name: &str) -> Role {
    if name.starts_with("server") {
        Role::Server(Arc::from(name))
    } else if let Some(rest) = name.strip_prefix("client ") {
        Role::Client {
            client: rest.split(' ').next().unwrap_or(rest).to_string(),
            name: Arc::from(name),
        }
    } else {
        Role::Harness(Arc::from(name))
    }
}

/// A thread's name for folding: another task is any other task.
fn sig_name(r: &Role) -> Arc<str> {
    match r {
        Role::Other(_) | Role::Printer => "other".into(),
        r => r.short(),
    }
}

fn call_text(call: &str, fd: Option<i64>) -> String {
    match fd {
        Some(fd) => format!("{call}({fd})"),
        None => call.to_string(),
    }
}

const TCP_ESTABLISHED: i64 = 1;
const TCP_SYN_SENT: i64 = 2;
const TCP_SYN_RECV: i64 = 3;
const TCP_FIN_WAIT1: i64 = 4;
const TCP_FIN_WAIT2: i64 = 5;
const TCP_TIME_WAIT: i64 = 6;
const TCP_CLOSE: i64 = 7;
const TCP_CLOSE_WAIT: i64 = 8;
const TCP_LAST_ACK: i64 = 9;
const TCP_LISTEN: i64 = 10;

/// A TCP state by the name the kernel's `inet_sock_set_state` prints (without `TCP_`).
fn tcp_state(s: i64) -> String {
    match s {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "NEW_SYN_RECV",
        _ => return format!("state {s}"),
    }
    .to_string()
}

/// `sched_switch`'s `prev_state`: the letter `ps` shows, and what it means.
fn task_state(s: i64) -> (&'static str, crate::lang::Msg) {
    use crate::msg;
    match s & 0xff {
        0 if s & 0x100 != 0 => ("R+", msg!("lane-state-preempted")),
        0 => ("R", msg!("lane-state-yields")),
        0x01 => ("S", msg!("lane-state-sleeps")),
        0x02 => ("D", msg!("lane-state-uninterruptible")),
        0x04 | 0x08 => ("T", msg!("lane-state-stopped")),
        0x10 | 0x20 => ("X", msg!("lane-state-ends")),
        0x80 => ("I", msg!("lane-state-idle")),
        _ => ("?", msg!("lane-state-leaves")),
    }
}

fn signal_name(sig: i64) -> String {
    let rtmin = libc::SIGRTMIN() as i64;
    match sig {
        s if s == libc::SIGIO as i64 => "SIGIO".into(),
        s if s == libc::SIGCHLD as i64 => "SIGCHLD".into(),
        s if s == libc::SIGINT as i64 => "SIGINT".into(),
        s if s == libc::SIGTERM as i64 => "SIGTERM".into(),
        s if s == libc::SIGPIPE as i64 => "SIGPIPE".into(),
        s if s == libc::SIGALRM as i64 => "SIGALRM".into(),
        s if s == rtmin => "SIGRTMIN".into(),
        s if s > rtmin && s <= libc::SIGRTMAX() as i64 => format!("SIGRTMIN+{}", s - rtmin),
        s => format!("signal {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tracepoints::TRACEPOINTS;

    const STARTER: i64 = 100;
    const SERVER: i64 = 101;
    const CLIENT_A: i64 = 102;

    fn raw(tid: i64, name: &str, fields: &[(&str, Value)]) -> Raw {
        Raw {
            tid,
            comm: "<...>".into(),
            cpu: 0,
            irq: None,
            mono_us: 0,
            tp: TRACEPOINTS.iter().find(|t| t.name == name).expect("known"),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    fn fork(parent: i64, child: i64, comm: &str) -> Raw {
        raw(
            parent,
            "sched_process_fork",
            &[
                ("parent_pid", parent.into()),
                ("child_comm", comm.into()),
                ("child_pid", child.into()),
            ],
        )
    }

    fn user(kind: Kind, call: &'static str, tid: i64, actor: &str) -> Event {
        let mut ev = Event::new(kind, call, Stage::Setup);
        ev.tid = tid;
        ev.actor = Arc::from(actor);
        ev
    }

    /// A server on port 7000, client A (port 5000) accepted on descriptor 5.
    fn names(serve: bool) -> Names {
        let mut n = Names::new(1, STARTER, serve, Scope::All);
        n.server_port(7000);
        n.learn(&fork(STARTER, SERVER, "kernel lane"), 0);
        n.learn(&fork(STARTER, CLIENT_A, "kernel lane"), 0);
        n.learn(
            &raw(
                CLIENT_A,
                "sched_switch",
                &[
                    ("prev_comm", "client A".into()),
                    ("prev_pid", CLIENT_A.into()),
                    ("next_comm", "swapper/0".into()),
                    ("next_pid", 0.into()),
                ],
            ),
            0,
        );
        let mut gettid = user(Kind::Syscall, "gettid", SERVER, "server");
        gettid.ret = Some(SERVER);
        n.arrived(&gettid);
        n
    }

    fn state(sk: u64, sport: u16, dport: u16, old: i64, new: i64) -> Raw {
        raw(
            CLIENT_A,
            "inet_sock_set_state",
            &[
                ("skaddr", Value::from(format!("{sk:#x}"))),
                ("oldstate", old.into()),
                ("newstate", new.into()),
                ("sport", sport.into()),
                ("dport", dport.into()),
            ],
        )
    }

    #[test]
    fn a_socket_is_named_by_its_ports_then_by_the_accept() {
        let mut n = names(false);
        let mut connect = user(Kind::Client, "connect", 0, "client A");
        connect.client = Some("A".into());
        connect.port = Some(5000);
        n.shown(&connect);
        let sk = 0xffff_8881_0000_1000;
        let made = n
            .make(&state(sk, 7000, 5000, TCP_SYN_RECV, TCP_ESTABLISHED), 10)
            .expect("shown");
        assert_eq!(made.ev.args, "A (not accepted yet) SYN_RECV → ESTABLISHED");
        let note = (made.note)();
        assert!(note.contains("accept queue"), "{note}");
        let mut accept = user(Kind::Syscall, "accept4", SERVER, "server");
        accept.ret = Some(5);
        accept.port = Some(5000);
        n.shown(&accept);
        let ready = raw(
            CLIENT_A,
            "sk_data_ready",
            &[("skaddr", format!("{sk:#x}").into())],
        );
        let made = n.make(&ready, 20).expect("shown");
        assert_eq!(made.ev.args, "5=A");
        assert_eq!(
            (made.ev.client.as_deref(), made.ev.fd, made.ev.end),
            (Some("A"), Some(5), Some("server"))
        );
        let note = (made.note)();
        assert!(note.starts_with("data for A"), "{note}");
        assert_eq!(made.ev.on.as_deref(), Some("client A"));
        assert_eq!(made.ev.guess, None, "read from the kernel's own fields");
    }

    #[test]
    fn a_copy_on_a_socket_never_seen_names_the_calls_descriptor_as_a_guess() {
        let mut n = names(true);
        let mut recv = user(Kind::Syscall, "recvfrom", SERVER, "server");
        (recv.fd, recv.ret, recv.t_us, recv.dur_us) = (Some(6), Some(3), 100, 10);
        n.arrived(&recv);
        let copy = raw(
            SERVER,
            "sock_recv_length",
            &[
                ("sk", "0xffff888100002000".into()),
                ("ret", 3.into()),
                ("flags", 0.into()),
            ],
        );
        let made = n.make(&copy, 105).expect("shown");
        assert_eq!(made.ev.args, "6?");
        assert_eq!(
            (made.ev.fd, made.ev.guess, made.ev.inside),
            (Some(6), Some(true), Some("recvfrom"))
        );
        assert_eq!(made.ev.ret, Some(3));
        let note = (made.note)();
        assert!(note.contains("inferred"), "{note}");
    }

    /// A copy a few µs after an epoll_ctl ended, inside the recvfrom that began after it: the
    /// recvfrom's, though the epoll_ctl's end plus the clocks' slack reaches it too.
    #[test]
    fn a_copy_goes_to_the_call_whose_span_holds_it_before_one_that_just_ended() {
        let mut n = names(true);
        let mut ctl = user(Kind::Syscall, "epoll_ctl", SERVER, "server");
        (ctl.fd, ctl.ret, ctl.t_us, ctl.dur_us) = (Some(5), Some(0), 100, 0);
        let mut recv = user(Kind::Syscall, "recvfrom", SERVER, "server");
        (recv.fd, recv.ret, recv.t_us, recv.dur_us) = (Some(6), Some(3), 101, 5);
        n.arrived(&ctl);
        n.arrived(&recv);
        assert_eq!(n.inside_at(SERVER, 102, true), Some(("recvfrom", Some(6))));
        // A moment only the slack reaches still goes to the call that just ended.
        assert_eq!(n.inside_at(SERVER, 108, true), Some(("recvfrom", Some(6))));
    }

    #[test]
    fn threads_the_followed_start_are_followed_and_others_are_not() {
        let mut n = names(false);
        assert_eq!(n.role(STARTER), Role::Launcher);
        assert_eq!(n.role(SERVER), Role::Server("server".into()));
        assert!(matches!(n.role(CLIENT_A), Role::Client { ref client, .. } if client == "A"));
        assert_eq!(n.role(1), Role::Printer);
        assert!(matches!(n.role(999), Role::Other(_)));
        // The crowd's helper: a followed thread that becomes a program of its own.
        n.learn(&fork(CLIENT_A, 200, "scenario"), 0);
        n.learn(
            &raw(
                200,
                "sched_process_exec",
                &[("filename", "/bin/iomodels".into()), ("pid", 200.into())],
            ),
            0,
        );
        n.learn(&fork(200, 201, "iomodels"), 0);
        assert_eq!((n.role(200), n.role(201)), (Role::Crowd, Role::Crowd));
        // A wake-up of another program's thread is not about the run.
        let wake = raw(
            SERVER,
            "sched_wakeup",
            &[("comm", "other".into()), ("pid", 999.into())],
        );
        assert!(n.make(&wake, 1).is_none());
    }

    #[test]
    fn threads_a_library_starts_inside_its_functions_are_its_helpers() {
        let mut n = names(false);
        // server's aio_read at 10..20 µs; a thread started at 15 µs is glibc's, and so is
        // one that thread starts; a thread started outside the call is not.
        let mut read = user(Kind::Library, "aio_read", SERVER, "server");
        (read.t_us, read.dur_us, read.by) = (10, 10, Some("glibc"));
        n.arrived(&read);
        n.learn(&fork(SERVER, 300, "server"), 15);
        n.learn(&fork(300, 301, "server"), 40);
        n.learn(&fork(SERVER, 302, "server"), 30);
        assert_eq!(n.role(300), Role::Library("glibc"));
        assert_eq!(n.role(301), Role::Library("glibc"));
        assert_eq!(n.role(302), Role::Server("server".into()));
        // A helper's read is shown, stage ①+②; the server's own calls outside a library
        // function are the trace's lines already, and are not.
        let read_nr = Value::from(0);
        let made = n
            .make(&raw(300, "sys_enter", &[("id", read_nr.clone())]), 50)
            .expect("a helper's read is shown");
        assert_eq!(
            (made.ev.args.as_str(), made.ev.stage),
            ("read", Stage::DataReadyCopy)
        );
        assert!(
            n.make(&raw(SERVER, "sys_enter", &[("id", read_nr)]), 50)
                .is_none()
        );
    }

    #[test]
    fn states_read_as_ps_and_the_kernel_print_them() {
        assert_eq!(tcp_state(TCP_CLOSE_WAIT), "CLOSE_WAIT");
        assert_eq!(task_state(0x100).0, "R+");
        assert_eq!(task_state(1).0, "S");
        assert_eq!(signal_name(i64::from(libc::SIGRTMIN())), "SIGRTMIN");
    }
}
