//! `select(2)` (Winsock: `select`), traced: a read set and a write set, rebuilt before every
//! call, and the call that sleeps until a descriptor in them is ready. The set type, its wall
//! and the call itself are this OS's (`unix/select.rs`: a bitmap of `FD_SETSIZE` bits;
//! `windows/select.rs`: an array of 64 sockets); what the trace shows of them is written once,
//! here.
//!
//! See select(2), select_tut(2), select (Winsock).

#[cfg(unix)]
#[path = "unix/select.rs"]
mod os;
#[cfg(windows)]
#[path = "windows/select.rs"]
mod os;

pub use os::{fits, wall, wall_hit, wall_not_hit};

use crate::trace::{Call, Stage, Tracer, names};
use rustix::io::Result;
use std::fmt;

/// The two sets one `select` waits on, and the descriptors put in each: after the call, the
/// process tests exactly those with `FD_ISSET`.
pub struct Sets {
    read: os::FdSet,
    write: os::FdSet,
    /// The descriptors put in `read`, in order.
    reading: Vec<i32>,
    /// The descriptors put in `write`, in order.
    writing: Vec<i32>,
}

impl Sets {
    /// `FD_ZERO` on both sets.
    #[doc(alias = "FD_ZERO")]
    pub fn new() -> Sets {
        Sets {
            read: os::FdSet::new(),
            write: os::FdSet::new(),
            reading: Vec::new(),
            writing: Vec::new(),
        }
    }

    /// `FD_SET(fd, &readfds)`: wake us when `fd` is readable. The caller checked [`fits`].
    #[doc(alias = "FD_SET")]
    pub fn read(&mut self, fd: i32) {
        self.read.insert(fd);
        self.reading.push(fd);
    }

    /// `FD_SET(fd, &writefds)`: wake us when `fd` has room to send.
    pub fn write(&mut self, fd: i32) {
        self.write.insert(fd);
        self.writing.push(fd);
    }

    /// `FD_ISSET(fd, &readfds)`, after [`Sets::select`]: is `fd` readable?
    #[doc(alias = "FD_ISSET")]
    pub fn readable(&self, fd: i32) -> bool {
        self.read.contains(fd)
    }

    /// `FD_ISSET(fd, &writefds)`, after [`Sets::select`]: may we send on `fd`?
    pub fn writable(&self, fd: i32) -> bool {
        self.write.contains(fd)
    }

    /// `select(nfds, &readfds, &writefds, NULL, NULL)`: stage ①, sleeping until a descriptor in
    /// either set is ready. The kernel overwrites both sets with the ready ones; how many it
    /// looked at is `nfds` (the highest descriptor + 1; Winsock ignores it).
    #[doc(alias = "pselect6")]
    pub fn select(&mut self, tr: &mut Tracer) -> Result<usize> {
        let highest = self.reading.iter().chain(&self.writing).max();
        let nfds = os::nfds(highest.map_or(0, |fd| fd + 1));
        let (reading, writing) = (Fds(&self.reading), Fds(&self.writing));
        let call = Call::new(os::SELECT, Stage::DataReady)
            .args(format_args!("{nfds}, {reading}, {writing}, NULL, NULL"))
            .blocking(true);
        let start = tr.enter(&call);
        let r = super::count(os::select(nfds, &mut self.read, &mut self.write));
        let sets = &*self;
        let scanned = sets.reading.len() + sets.writing.len();
        tr.record(
            call,
            start,
            &r,
            |_, ev| ev.watched = Some(scanned as u64),
            |r: &Result<usize>| match r {
                Ok(n) => crate::t!(
                    "select-ready",
                    checked = os::checked(nfds, scanned),
                    n = n.to_string(),
                    reading = Fds(&ready(&sets.reading, &sets.read)).to_string(),
                    writing = Fds(&ready(&sets.writing, &sets.write)).to_string()
                ),
                Err(_) => crate::t!("select-failed"),
            },
        );
        r
    }
}

/// Of the descriptors `put` in `set`, those the kernel left in it: the ready ones.
fn ready(put: &[i32], set: &os::FdSet) -> Vec<i32> {
    put.iter().copied().filter(|&fd| set.contains(fd)).collect()
}

/// `[3 5 6]`, the way strace prints an fd_set (the first twelve), formatted only when shown.
struct Fds<'a>(&'a [i32]);

impl fmt::Display for Fds<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let shown: Vec<String> = self.0.iter().map(i32::to_string).collect();
        f.write_str(&names::list(&shown, " ", 12))
    }
}
