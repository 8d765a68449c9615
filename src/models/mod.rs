//! The registry of I/O models: each one's name, lesson, platforms and server loop.
//!
//! Every model meets the same contract: `serve` gets a [`Server`] whose listener is bound and
//! listening, serves echo clients until the harness stops it (a blocked `accept4` fails with
//! `EINVAL`, or [`Server::stopping`] turns true), and returns; the harness then closes the
//! listener and records the thread's CPU time. Every system call goes through the server's
//! [`crate::trace::Tracer`], so the trace is exactly what `strace -f` sees.

use crate::limits::Knobs;
use crate::server::Server;
use crate::trace::summary::Summary;

// Every model is compiled on every OS: its name, lesson and notice are data, and only its
// `serve` (with the module contents that implement it) is `#[cfg]`'d to the OSes that have it.
pub mod aio;
pub mod apc;
pub mod blocking;
#[cfg(any(target_os = "linux", windows))]
mod completion;
pub mod epoll;
pub mod iocp;
pub mod kqueue;
pub mod nonblocking;
pub mod poll;
pub mod portable;
pub mod posix_aio;
pub mod reactors;
pub mod select;
pub mod sigio;
pub mod threads;
pub mod uring;
pub mod wsaevent;

/// `--app chat`, for a model that keeps its connections in a list and has just served one:
/// what that one said goes out at once to every member it was queued for, one `sendto` each
/// (the fan-out), without waiting for the next round's readiness; a member the room dropped, or
/// whose send failed, is closed now, event or not. Closing one may queue lines too (`* NAME
/// left`), so this goes on until nothing is left touched. `next` is where the caller's walk of
/// `conns` is: it moves back for each connection removed before it; `removed(j)` is told of
/// each removal (poll removes the pollfd entry beside it).
fn fan_out(
    srv: &mut Server,
    conns: &mut Vec<crate::echo::Conn>,
    next: &mut usize,
    mut removed: impl FnMut(usize),
) {
    loop {
        let touched = srv.touched();
        if touched.is_empty() {
            return;
        }
        for fd in touched {
            let Some(j) = conns.iter().position(|c| c.raw() == fd) else {
                continue;
            };
            if let Some(why) = conns[j].deliver(&mut srv.tr) {
                conns.remove(j).close(&mut srv.tr, why);
                removed(j);
                if j < *next {
                    *next -= 1;
                }
            }
        }
    }
}

/// Of three values (a name, a sentence, a notice), the one for this OS: Linux, macOS/BSD,
/// Windows.
const fn here<T: Copy>(linux: T, bsd: T, windows: T) -> T {
    if cfg!(target_os = "linux") {
        linux
    } else if cfg!(windows) {
        windows
    } else {
        bsd
    }
}

/// A model's server loop.
pub type Serve = fn(&mut Server) -> anyhow::Result<()>;

/// One I/O model.
pub struct Model {
    /// The subcommand name (`epoll`).
    pub name: &'static str,
    /// One line for `iomodels list`.
    pub summary: &'static str,
    /// How it waits for stage ①: the row of UNP fig. 6.6 it stands for.
    pub kind: Kind,
    /// Its figure in UNP vol. 1, ch. 6.
    pub figure: &'static str,
    /// The operating systems that have it.
    pub platforms: &'static str,
    /// The server loop, where this OS has the model.
    pub serve: Option<Serve>,
    /// What to run on this OS instead, when it lacks the model.
    pub instead: &'static str,
    /// Where each connection's state lives while the server waits.
    pub state: &'static str,
    /// What tells the process that stage ① is over (UNP fig. 6.6's last row).
    pub told: &'static str,
    /// "What to notice": sentences drawn from this run's numbers.
    pub notice: fn(&Summary) -> Vec<String>,
    /// Its `--help` examples: what is worth watching under this model, a line each.
    pub examples: &'static [&'static str],
}

/// How a model waits for data: the rows of the table in DESIGN.md (UNP fig. 6.6). Tests and
/// commands choose models by it (`bench` leaves out the one that serves one client at a time,
/// `bench --scaling` sweeps the readiness and completion models).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One thread that sleeps in every call: one client at a time.
    Blocking,
    /// A blocking thread per connection.
    Threads,
    /// Nonblocking sockets asked again and again (`EAGAIN`) until one has data.
    Polling,
    /// One call sleeps until some socket is ready; the process then copies the data itself.
    Readiness,
    /// The process is free until a signal says a socket changed; then it copies the data.
    Signal,
    /// The kernel waits *and* copies; the process is told when the operation is done.
    Completion,
}

impl Kind {
    /// Its name in `iomodels list --format json`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Blocking => "blocking",
            Kind::Threads => "threads",
            Kind::Polling => "polling",
            Kind::Readiness => "readiness",
            Kind::Signal => "signal",
            Kind::Completion => "completion",
        }
    }
}

/// A model this OS has but the kernel refuses to run here (a system call that fails with
/// `ENOSYS` or `EPERM`): the run ends with this one line and exit code 2.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Model {
    pub fn available(&self) -> bool {
        self.serve.is_some()
    }

    /// Whether its library starts threads of its own, whose system calls the kernel lane
    /// records (glibc's POSIX AIO helpers).
    pub fn library_threads(&self) -> bool {
        self.name == posix_aio::MODEL.name
    }

    /// Whether it serves many connections at once (all but `blocking`).
    pub fn concurrent(&self) -> bool {
        self.kind != Kind::Blocking
    }

    /// Whether it serves many connections at once in the mode `knobs` choose (`aio --poll`
    /// does, plain `aio` does not).
    pub fn concurrent_with(&self, knobs: &Knobs) -> bool {
        MODES
            .iter()
            .find(|m| m.model == self.name && knobs.has_mode(m.flag))
            .map_or(self.concurrent(), |m| m.concurrent)
    }

    /// Why this model cannot serve `--app chat` in the mode `knobs` choose, if it cannot: a
    /// server that serves one client at a time leaves the others unheard.
    pub fn no_chat(&self, knobs: &Knobs) -> Option<String> {
        if self.name == threads::MODEL.name && knobs.pool > 0 {
            let n = knobs.pool;
            return Some(crate::t!(
                "err-no-chat-pool",
                n = n.to_string(),
                next = (n + 1).to_string()
            ));
        }
        (!self.concurrent_with(knobs)).then(|| crate::t!("err-no-chat-serial", model = self.name))
    }
}

/// Every model, in teaching order.
pub const MODELS: &[Model] = &[
    blocking::MODEL,
    threads::MODEL,
    nonblocking::MODEL,
    select::MODEL,
    poll::MODEL,
    epoll::MODEL,
    reactors::MODEL,
    kqueue::MODEL,
    portable::MODEL,
    sigio::MODEL,
    uring::MODEL,
    aio::MODEL,
    posix_aio::MODEL,
    wsaevent::MODEL,
    apc::MODEL,
    iocp::MODEL,
];

/// A mode of one model, chosen by a flag of its own (`--edge`): refused on the other models.
pub struct Mode {
    pub model: &'static str,
    /// The flag, without its dashes.
    pub flag: &'static str,
    /// What it is, for the refusal ("epoll's edge-triggered mode (EPOLLET)").
    pub what: crate::lang::Msg,
    /// Whether the model serves many connections at once in this mode (`aio --poll` does,
    /// plain `aio` does not).
    pub concurrent: bool,
    /// Whether this OS has the mode where it has the model (`threads --pool` is Linux's: the
    /// model refuses it elsewhere, and `list` does not offer it).
    pub here: bool,
}

/// Every model's modes.
pub const MODES: &[Mode] = &[
    Mode {
        model: "epoll",
        flag: "edge",
        what: crate::msg!("mode-edge"),
        concurrent: true,
        here: true,
    },
    Mode {
        model: "reactors",
        flag: "share",
        what: crate::msg!("mode-share"),
        concurrent: true,
        here: true,
    },
    Mode {
        model: "reactors",
        flag: "exclusive",
        what: crate::msg!("mode-exclusive"),
        concurrent: true,
        here: true,
    },
    Mode {
        model: "reactors",
        flag: "reuseport",
        what: crate::msg!("mode-reuseport"),
        concurrent: true,
        here: true,
    },
    Mode {
        model: "threads",
        flag: "pool",
        what: crate::msg!("mode-pool"),
        // At most N at once: client N+1 waits in the listen queue until a thread is free.
        concurrent: false,
        here: cfg!(target_os = "linux"),
    },
    Mode {
        model: "uring",
        flag: "multishot",
        what: crate::msg!("mode-multishot"),
        concurrent: true,
        here: true,
    },
    Mode {
        model: "uring",
        flag: "sqpoll",
        what: crate::msg!("mode-sqpoll"),
        concurrent: true,
        here: true,
    },
    Mode {
        model: "iocp",
        flag: "workers",
        what: crate::msg!("mode-workers"),
        concurrent: true,
        here: true,
    },
    Mode {
        model: "aio",
        flag: "poll",
        what: crate::msg!("mode-poll"),
        concurrent: true,
        here: true,
    },
];

pub fn find(name: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.name == name)
}
