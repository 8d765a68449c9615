//! The registry of I/O models: each one's name, lesson, platforms and server loop.
//!
//! Every model meets the same contract: `serve` gets a [`Server`] whose listener is bound and
//! listening, serves echo clients until the harness stops it (a blocked `accept4` fails with
//! `EINVAL`, or [`Server::stopping`] turns true), and returns; the harness then closes the
//! listener and records the thread's CPU time. Every system call goes through the server's
//! [`crate::trace::Tracer`], so the trace is exactly what `strace -f` sees.

use crate::server::Server;
use crate::trace::summary::Summary;

pub mod blocking;
#[cfg(target_os = "linux")]
pub mod epoll;
#[cfg(windows)]
pub mod iocp;
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
pub mod kqueue;
pub mod nonblocking;
pub mod poll;
#[cfg(any(
    target_os = "linux",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly",
    windows
))]
pub mod portable;
pub mod select;
#[cfg(target_os = "linux")]
pub mod sigio;
pub mod threads;
#[cfg(target_os = "linux")]
pub mod uring;

/// The models this OS lacks, as it lists them: there, `serve` is `None`, and `instead` names
/// the model to run here.
#[cfg(not(target_os = "linux"))]
pub mod sigio {
    pub const MODEL: super::Model = super::elsewhere(
        "sigio",
        "6.4",
        "O_ASYNC sockets and F_SETSIG",
        "Linux",
        super::here("", "kqueue", "iocp"),
    );
}

#[cfg(not(target_os = "linux"))]
pub mod uring {
    pub const MODEL: super::Model = super::elsewhere(
        "uring",
        "6.5",
        "io_uring completions",
        "Linux",
        super::here("", "kqueue", "iocp"),
    );
}

#[cfg(not(windows))]
pub mod iocp {
    pub const MODEL: super::Model = super::elsewhere(
        "iocp",
        "6.5",
        "I/O completion ports: overlapped calls, completion packets",
        "Windows",
        super::here("uring", "kqueue", ""),
    );
}

#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
pub mod kqueue {
    pub const MODEL: super::Model = super::elsewhere(
        "kqueue",
        "6.3",
        "kqueue/kevent readiness filters",
        "macOS, FreeBSD, NetBSD, OpenBSD",
        super::here("epoll", "", "poll"),
    );
}

#[cfg(not(target_os = "linux"))]
pub mod epoll {
    pub const MODEL: super::Model = super::elsewhere(
        "epoll",
        "6.3",
        "epoll: an interest list in the kernel, a ready list back",
        "Linux",
        super::here("", "kqueue", "poll"),
    );
}

/// The portable model's trace names the calls the `polling` crate makes on each backend: its
/// epoll (Linux), kqueue (macOS, FreeBSD) and IOCP/AFD (Windows) backends are written down.
#[cfg(not(any(
    target_os = "linux",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly",
    windows
)))]
pub mod portable {
    pub const MODEL: super::Model = super::elsewhere(
        "portable",
        "6.3",
        "the polling crate: traced on its epoll, kqueue and IOCP backends",
        "Linux, macOS, FreeBSD, Windows",
        super::here("", "kqueue", "poll"),
    );
}

/// Of three names, the one for this OS: Linux, macOS/BSD, Windows.
const fn here(linux: &'static str, bsd: &'static str, windows: &'static str) -> &'static str {
    if cfg!(target_os = "linux") {
        linux
    } else if cfg!(windows) {
        windows
    } else {
        bsd
    }
}

/// The registry entry of a model this OS lacks: where it runs, and what to run here instead.
const fn elsewhere(
    name: &'static str,
    figure: &'static str,
    summary: &'static str,
    platforms: &'static str,
    instead: &'static str,
) -> Model {
    fn no_notice(_: &Summary) -> Vec<String> {
        Vec::new()
    }
    Model {
        name,
        summary,
        figure,
        platforms,
        serve: None,
        instead,
        state: "",
        told: "",
        notice: no_notice,
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
}

/// Every model, in teaching order.
pub const MODELS: &[Model] = &[
    blocking::MODEL,
    threads::MODEL,
    nonblocking::MODEL,
    select::MODEL,
    poll::MODEL,
    epoll::MODEL,
    kqueue::MODEL,
    portable::MODEL,
    sigio::MODEL,
    uring::MODEL,
    iocp::MODEL,
];

pub fn find(name: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.name == name)
}
