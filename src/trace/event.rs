//! What the trace records: one [`Event`] per call, with its [`Kind`] and [`Stage`]. The field
//! names are the JSON interface (see DESIGN.md): add fields freely, rename none.

use serde::Serialize;
use std::sync::Arc;

/// What an event stands for. The JSON names are a stable interface (see DESIGN.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A real system call made by a server thread.
    Syscall,
    /// A call that has just started and may block; its `syscall` event follows when it returns.
    Wait,
    /// An operation the kernel runs for us and reports separately (an SQE, a CQE, a completion packet).
    Op,
    /// A C library function that is no system call (glibc's `aio_read`): the system calls it
    /// makes, on this thread or on threads it starts, are its own (`by` names the library).
    Library,
    /// A scripted client's action or check.
    Client,
    /// A remark that is not a system call: other work done, the harness stopping the server.
    Info,
    /// A tracepoint the kernel hit for one of the run's threads (`--kernel`): not a call the
    /// program made, but what the kernel did meanwhile (data arriving, a copy, a wake-up).
    Kernel,
}

/// The stage of I/O an event belongs to (Stevens, UNP vol. 1, §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Setup,
    /// Stage ①: waiting until the kernel has data or a connection for us.
    DataReady,
    /// Stage ②: the kernel copying received data into our buffer.
    CopyToUser,
    /// One call that does both stages (a blocking recv).
    #[serde(rename = "data-ready+copy")]
    DataReadyCopy,
    /// The echo going back out: our buffer copied into the socket's send buffer.
    CopyToKernel,
    /// The kernel finished an operation for us; the data is already where we asked.
    Completion,
    Teardown,
    Client,
    /// Useful work a server that is not blocked gets done while it waits.
    Work,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Setup => "setup",
            Stage::DataReady => "data-ready",
            Stage::CopyToUser => "copy-to-user",
            Stage::DataReadyCopy => "data-ready+copy",
            Stage::CopyToKernel => "copy-to-kernel",
            Stage::Completion => "completion",
            Stage::Teardown => "teardown",
            Stage::Client => "client",
            Stage::Work => "work",
        }
    }
}

/// One line of the trace. Field names are the JSON interface documented in DESIGN.md.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub kind: Kind,
    /// Microseconds since the run started, when the (first) call began.
    pub t_us: u64,
    /// Time spent inside the call(s); for a collapsed run, the sum over the run.
    pub dur_us: u64,
    /// For a collapsed run: microseconds from the first call's start to the last call's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_us: Option<u64>,
    pub tid: i64,
    pub actor: Arc<str>,
    pub call: &'static str,
    /// Arguments that matter besides the descriptor, as the OS spells them (`EPOLLIN`, `F_SETFL`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub args: String,
    pub fd: Option<i64>,
    pub ret: Option<i64>,
    pub errno: Option<&'static str>,
    pub count: u64,
    pub stage: Stage,
    pub note: String,
    /// TCP port of the peer (on an accept) or of the client itself (on a client connect), so that
    /// renderers can name descriptors after the clients behind them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// CPU time (user+sys, µs) a server thread used, on its closing `getrusage` line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_us: Option<u64>,
    /// On client events: the client's name (`A`), so that summaries can follow one client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// On client events: bytes sent, or bytes of echo checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// On client events: whether an echo matched, byte for byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// On a scripted client action: its index in the time-sorted scenario, so that runs of
    /// different models line up step by step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    /// On `op` events: the key (io_uring `user_data`) that ties a completion to its submission.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<u64>,
    /// On a readiness wait (`select`, `poll`, `epoll_pwait`): how many descriptors the process
    /// handed the kernel to watch, or has to look through to find the ready ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watched: Option<u64>,
    /// On a `poll`: how many entries of its array the process wrote since its last `poll` (a
    /// new or closed connection, a change of interest); the others it kept as they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewritten: Option<u64>,
    /// On a readiness wait: `true` when it reported a listening socket (a connection waiting
    /// to be accepted), so that a summary can count the wake-ups of many threads sharing one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener: Option<bool>,
    /// On a `close`: the server refused this connection (e.g. its descriptor is past
    /// `FD_SETSIZE`, so `select` cannot watch it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<bool>,
    /// Who made the call when it is not the model's own code: a library (`polling`) acting on
    /// its own behalf inside a call the model made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<&'static str>,
    /// On `kernel` events: the tracepoint, as `system:name` (`sock:sk_data_ready`); `call` is
    /// its name alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracepoint: Option<&'static str>,
    /// On `kernel` events: whose thread `tid` is (`server`, `client A reader`, `harness`,
    /// `crowd`, `other: NAME` for another task).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<Arc<str>>,
    /// On `kernel` events about a socket: which end it is (`server`: the server's socket for a
    /// client, `client`: the client's own, `listener`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<&'static str>,
    /// On `kernel` events: the system call the thread was inside, from the times of its calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inside: Option<&'static str>,
    /// On `kernel` events: `true` when the connection or descriptor named is inferred (from
    /// the call the thread was inside, or the event just before), not read from an address
    /// the kernel printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guess: Option<bool>,
    /// On `kernel` events: every field of the tracepoint as ftrace printed it (numbers as
    /// numbers, addresses whole), and the CPU it ran on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// On the server's remark that it listens: `true` (what came before is the listener's
    /// setup, the same in every model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listening: Option<bool>,
    /// On the chat room's remarks (`--app chat`): what the room did (a line fanned out, a
    /// member joining, leaving or dropped, a line refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room: Option<crate::chat::RoomNote>,
}

impl Event {
    pub fn new(kind: Kind, call: &'static str, stage: Stage) -> Event {
        Event {
            kind,
            t_us: 0,
            dur_us: 0,
            span_us: None,
            tid: 0,
            actor: Arc::from(""),
            call,
            args: String::new(),
            fd: None,
            ret: None,
            errno: None,
            count: 1,
            stage,
            note: String::new(),
            port: None,
            cpu_us: None,
            client: None,
            bytes: None,
            ok: None,
            step: None,
            key: None,
            watched: None,
            rewritten: None,
            listener: None,
            refused: None,
            by: None,
            tracepoint: None,
            on: None,
            end: None,
            inside: None,
            guess: None,
            fields: None,
            room: None,
            listening: None,
        }
    }

    /// Calls that a renderer may fold into one line: would-block spins, waits that timed out
    /// with nothing to report (`ETIME`), and units of other work.
    pub(super) fn spins(&self) -> bool {
        self.would_block() || self.timed_out() || self.stage == Stage::Work
    }

    /// The kernel said "not yet": `EAGAIN` (Winsock: `WSAEWOULDBLOCK`).
    pub fn would_block(&self) -> bool {
        matches!(self.errno, Some("EAGAIN" | "WSAEWOULDBLOCK"))
    }

    /// A wait for completions that timed out: `ETIME` (io_uring), `WAIT_TIMEOUT` (IOCP).
    pub fn timed_out(&self) -> bool {
        matches!(self.errno, Some("ETIME" | "WAIT_TIMEOUT"))
    }

    /// The call closes a descriptor: `close` (`closesocket` on Windows).
    pub fn closes(&self) -> bool {
        matches!(self.call, "close" | "closesocket")
    }

    /// A completion of a receive: the kernel has already copied the bytes into our buffer
    /// (an io_uring `recv` CQE, an IOCP `WSARecv` packet, a Linux AIO `pread` event).
    pub fn received_by_kernel(&self) -> bool {
        self.kind == Kind::Op
            && self.stage == Stage::Completion
            && matches!(self.call, "recv" | "WSARecv" | "pread")
    }

    /// A completion of a send (an io_uring `send` CQE, an IOCP `WSASend` packet).
    pub fn sent_by_kernel(&self) -> bool {
        self.kind == Kind::Op
            && self.stage == Stage::Completion
            && matches!(self.call, "send" | "WSASend")
    }

    /// The call as people read it: an operation in angle brackets (`⟨recv⟩`), a library
    /// function with its library's name (`glibc aio_read`: no system call), else its name.
    pub fn named(&self) -> String {
        match self.kind {
            Kind::Op => format!("⟨{}⟩", self.call),
            Kind::Library => format!("{} {}", self.by.unwrap_or("libc"), self.call),
            _ => self.call.to_string(),
        }
    }

    /// A read a library finished for us (glibc's `aio_return` of an `aio_read`): its helper
    /// thread's `read` copied the bytes into our buffer.
    pub fn received_by_library(&self) -> bool {
        self.finished_by_library("LIO_READ")
    }

    /// A write a library finished for us (`aio_return` of an `aio_write`).
    pub fn sent_by_library(&self) -> bool {
        self.finished_by_library("LIO_WRITE")
    }

    /// An `aio_return` of the operation `opcode` (its args open with the aiocb's opcode).
    fn finished_by_library(&self, opcode: &str) -> bool {
        self.kind == Kind::Library
            && self.stage == Stage::Completion
            && self.call == "aio_return"
            && self.args.starts_with(opcode)
    }

    pub(super) fn same_call(&self, other: &Event) -> bool {
        self.kind == other.kind
            && self.call == other.call
            && self.fd == other.fd
            && self.ret == other.ret
            && self.errno == other.errno
            && self.stage == other.stage
            && self.args == other.args
    }
}
