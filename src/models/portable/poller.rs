//! polling's `Poller`, traced: each method makes one call of polling's and records what it made
//! the OS do, so that the portable model makes each call in one line.
//!
//! Which system calls those are is the backend's part, one per OS, each a mirror of polling's
//! own backend of that name: `on_epoll.rs` (Linux), `on_kqueue.rs` (macOS, the BSDs),
//! `on_iocp.rs` (Windows). A backend's `Lib` knows polling's descriptors or handles (and on
//! Windows, polling's state) and offers the same items:
//! - `Lib::new(tr)`: makes the `polling::Poller`, recording what `Poller::new` made;
//! - `wait_call(capacity)`: the call `Poller::wait` sleeps in;
//! - `ctl(tr, start, change, result)`: what an `add` or `modify` made (a [`Change`]);
//! - `deleted(tr, start, fd, result)`: what a `delete` made;
//! - `before_wait(tr)`, `after_wait(tr, events)`: the calls polling makes around its wait;
//! - `dropped(tr)`: what dropping the Poller made.
//!
//! What every backend shares is here once: the wait and its gloss, how many sources are
//! watched, and how a call polling made on its own is recorded (`by: polling`).

#[cfg(target_os = "linux")]
use super::on_epoll::Lib;
#[cfg(windows)]
use super::on_iocp::Lib;
#[cfg(all(unix, not(target_os = "linux")))]
use super::on_kqueue::Lib;
use crate::sys::raw;
use crate::trace::{Call, Tracer};
use polling::{Event, Events};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use std::fmt::Display;
use std::io::{self, Result};
use std::num::NonZeroUsize;

/// Most events one wait hands back.
const CAPACITY: usize = 64;

/// Who made a call the model did not ask for.
const POLLING: Option<&str> = Some("polling");

/// A `polling::Poller`, and the mirror of what its backend does on this OS.
pub struct Poller {
    poller: polling::Poller,
    lib: Lib,
    /// Where `Poller::wait` writes; [`Poller::wait`] hands the events on.
    events: Events,
    /// Sources added and not deleted (for the wait's gloss).
    watched: usize,
}

/// Which of polling's two registering calls the model made.
#[derive(Clone, Copy)]
pub enum Op {
    Add,
    Modify,
}

impl Op {
    /// polling's name for it (the kqueue and IOCP backends say it; epoll names its own op).
    #[cfg(not(target_os = "linux"))]
    pub fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Modify => "modify",
        }
    }
}

/// An `add` or `modify` as a backend records it: the source, the interest, and why (the gloss).
pub struct Change {
    pub op: Op,
    /// The source's descriptor (its socket handle on Windows).
    pub fd: i32,
    /// The interest: readable, writable, or both (none: only errors).
    pub readable: bool,
    pub writable: bool,
    /// The gloss the model gave.
    pub why: crate::lang::Msg,
}

impl Poller {
    /// `Poller::new()`: the OS's multiplexer for us, and whatever the library adds of its own.
    pub fn new(tr: &mut Tracer) -> Result<Poller> {
        let (poller, lib) = Lib::new(tr)?;
        Ok(Poller {
            poller,
            lib,
            events: Events::with_capacity(NonZeroUsize::new(CAPACITY).expect("not zero")),
            watched: 0,
        })
    }

    /// `Poller::add(fd, ev)`: watch `fd`, oneshot (as every interest polling registers);
    /// `why` is the gloss.
    ///
    /// # Safety
    /// `fd` must be deleted from the poller before it is closed (polling's contract).
    pub unsafe fn add(
        &mut self,
        tr: &mut Tracer,
        fd: &OwnedFd,
        ev: Event,
        why: crate::lang::Msg,
    ) -> Result<()> {
        // SAFETY: the caller deletes `fd` before closing it.
        self.change(tr, Op::Add, fd, ev, why, |p| unsafe { p.add(fd, ev) })?;
        self.watched += 1;
        Ok(())
    }

    /// `Poller::modify(fd, ev)`: re-arm `fd` with what we want now (oneshot disarmed it after
    /// its event).
    pub fn modify(
        &mut self,
        tr: &mut Tracer,
        fd: &OwnedFd,
        ev: Event,
        why: crate::lang::Msg,
    ) -> Result<()> {
        self.change(tr, Op::Modify, fd, ev, why, |p| p.modify(fd, ev))
    }

    /// `Poller::delete(fd)`: stop watching `fd`, before it is closed.
    pub fn delete(&mut self, tr: &mut Tracer, fd: &OwnedFd) -> Result<()> {
        let start = tr.begin();
        let r = self.poller.delete(fd);
        self.lib.deleted(tr, start, raw(fd), &r);
        r?;
        self.watched -= 1;
        Ok(())
    }

    /// `Poller::wait(events, None)`: stage ①, sleeping until a watched source is ready, with
    /// the calls polling makes around it. `ready` gets the events; each source is now disarmed.
    pub fn wait(&mut self, tr: &mut Tracer, ready: &mut Vec<Event>) -> Result<usize> {
        self.events.clear();
        ready.clear();
        self.lib.before_wait(tr);
        let call = self.lib.wait_call(CAPACITY).blocking(true);
        let start = tr.enter(&call);
        let r = self.poller.wait(&mut self.events, None);
        ready.extend(self.events.iter());
        let (n, watched) = (ready.len(), self.watched);
        tr.record(
            call,
            start,
            &r.as_ref().copied().map_err(errno),
            |_, ev| ev.watched = Some(n as u64),
            |_: &_| {
                crate::t!(
                    "portable-wait",
                    n = n.to_string(),
                    watched = watched.to_string()
                )
            },
        );
        self.lib.after_wait(tr, ready);
        r
    }

    /// Drops the Poller, and records what dropping it made the OS do.
    pub fn close(self, tr: &mut Tracer) {
        let Poller {
            poller, mut lib, ..
        } = self;
        drop(poller);
        lib.dropped(tr);
    }

    /// An `add` or `modify` (`make`), and what the backend says it made.
    fn change(
        &mut self,
        tr: &mut Tracer,
        op: Op,
        fd: &OwnedFd,
        interest: Event,
        why: crate::lang::Msg,
        make: impl FnOnce(&polling::Poller) -> Result<()>,
    ) -> Result<()> {
        let start = tr.begin();
        let r = make(&self.poller);
        let change = Change {
            op,
            fd: raw(fd),
            readable: interest.readable,
            writable: interest.writable,
            why,
        };
        self.lib.ctl(tr, start, &change, &r);
        r
    }
}

/// polling's `io::Error` as the errno the trace shows.
pub fn errno(e: &io::Error) -> Errno {
    Errno::from_io_error(e).unwrap_or(Errno::INVAL)
}

/// Makes a call of polling's that makes one system call, and records it as that call: `ret` is
/// the raw value the OS returned. (On Windows polling's calls are mirrored, never wrapped.)
#[cfg(unix)]
pub fn traced<T>(
    tr: &mut Tracer,
    call: Call,
    make: impl FnOnce() -> Result<T>,
    ret: impl FnOnce(&T) -> i64,
    gloss: impl crate::trace::Gloss<i64>,
) -> Result<T> {
    let start = tr.enter(&call);
    let r = make();
    record(tr, call, start, &r, ret, gloss);
    r
}

/// Records the one system call a call of polling's made since `start`, with result `r`.
#[cfg(unix)]
pub fn record<T>(
    tr: &mut Tracer,
    call: Call,
    start: crate::trace::Started,
    r: &Result<T>,
    ret: impl FnOnce(&T) -> i64,
    gloss: impl crate::trace::Gloss<i64>,
) {
    tr.record(
        call,
        start,
        &r.as_ref().map(ret).map_err(errno),
        |_, _| (),
        gloss,
    );
}

/// Records a call polling made on its own (`by: polling`), already returned with `result`.
pub fn own(tr: &mut Tracer, call: Call, result: rustix::io::Result<i64>, note: impl Display) {
    own_with(tr, call, result, |_| (), note);
}

/// Like [`own`], with `extra` filling more of the event.
pub fn own_with(
    tr: &mut Tracer,
    call: Call,
    result: rustix::io::Result<i64>,
    extra: impl FnOnce(&mut crate::trace::Event),
    note: impl Display,
) {
    let start = tr.begin();
    tr.record(
        call,
        start,
        &result,
        |_, ev| {
            ev.by = POLLING;
            extra(ev);
        },
        |_: &_| crate::t!("portable-own", note = note.to_string()),
    );
}
