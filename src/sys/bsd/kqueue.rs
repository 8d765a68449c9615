//! BSD `kqueue(2)`, traced: each call is one line in the kqueue model; what it is named, which
//! stage it belongs to and what it means are written here, beside the call, with the flags'
//! names in one table (the kqueue model's events and polling's kqueue backend spell them alike).
//!
//! See kqueue(2), kevent(2) (`EVFILT_READ`, `EVFILT_WRITE`, `EV_ADD`, `EV_EOF`).

use crate::trace::{Call, Stage, Tracer};
use rustix::buffer::spare_capacity;
use rustix::event::kqueue;
use rustix::fd::{AsRawFd, OwnedFd, RawFd};
use rustix::io::Result;
use std::fmt;

pub use rustix::event::kqueue::{Event, EventFilter, EventFlags};

/// Most events one `kevent` call returns.
pub const MAX_EVENTS: usize = 64;

/// The `EV_*` flags by name, in the order they are shown.
const FLAGS: [(EventFlags, &str); 8] = [
    (EventFlags::ADD, "EV_ADD"),
    (EventFlags::DELETE, "EV_DELETE"),
    (EventFlags::ENABLE, "EV_ENABLE"),
    (EventFlags::DISABLE, "EV_DISABLE"),
    (EventFlags::ONESHOT, "EV_ONESHOT"),
    (EventFlags::RECEIPT, "EV_RECEIPT"),
    (EventFlags::CLEAR, "EV_CLEAR"),
    (EventFlags::EOF, "EV_EOF"),
];

/// A kernel event queue.
pub struct Kqueue {
    fd: OwnedFd,
}

impl Kqueue {
    /// `kqueue()`: a queue that will hold our interest in each socket (a filter per socket).
    /// See kqueue(2).
    #[doc(alias = "kqueue")]
    pub fn create(tr: &mut Tracer) -> Result<Kqueue> {
        let fd = tr.call(
            Call::new("kqueue", Stage::Setup),
            kqueue::kqueue,
            crate::msg!("kqueue-create"),
        )?;
        Ok(Kqueue { fd })
    }

    /// `kevent(kq, changes, events, NULL)`: stage ①, one call that hands the kernel `changes`
    /// (then emptied) and sleeps until `events` come.
    ///
    /// # Safety
    /// Every descriptor `changes` names must be open (kevent(2) acts on it by number).
    ///
    /// See kevent(2).
    #[doc(alias = "kevent")]
    pub unsafe fn wait(
        &self,
        tr: &mut Tracer,
        changes: &mut Vec<Event>,
        events: &mut Vec<Event>,
    ) -> Result<usize> {
        events.clear();
        let call = Call::new("kevent", Stage::DataReady)
            .fd(self.fd.as_raw_fd())
            .args(format_args!("[{}], {MAX_EVENTS}, NULL", List(changes)))
            .blocking(true);
        let start = tr.enter(&call);
        // SAFETY: the caller keeps every descriptor in `changes` open; udata is null and never
        // dereferenced.
        let r = unsafe { kqueue::kevent(&self.fd, changes, spare_capacity(events), None) };
        tr.record(
            call,
            start,
            &r,
            |_, _| (),
            |r: &Result<usize>| match r {
                Ok(_) => crate::t!("kqueue-ready", events = List(events).to_string()),
                Err(e) => crate::t!("kqueue-failed", why = std::io::Error::from(*e).to_string()),
            },
        );
        changes.clear();
        r
    }

    /// Closes the queue (closing a descriptor also removes its filters from every kqueue).
    pub fn close(self, tr: &mut Tracer) {
        crate::sys::close(tr, self.fd, crate::msg!("kqueue-close"));
    }
}

/// A change for the next [`Kqueue::wait`]: `flags` on `filter` (no user data).
pub fn change(filter: EventFilter, flags: EventFlags) -> Event {
    Event::new(filter, flags, std::ptr::null_mut())
}

/// `EV_ADD|EV_ONESHOT|EV_RECEIPT`: kqueue flags by name, as kevent(2) spells them (formatted
/// only when shown).
pub struct FlagNames(pub EventFlags);

impl fmt::Display for FlagNames {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let mut sep = "";
        for (flag, name) in FLAGS {
            if self.0.contains(flag) {
                write!(f, "{sep}{name}")?;
                sep = "|";
            }
        }
        Ok(())
    }
}

/// Events as kevent(2) spells them: `5 EVFILT_READ EV_ADD, 7 EVFILT_READ EV_EOF data=6`.
struct List<'a>(&'a [Event]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, ev) in self.0.iter().enumerate() {
            let (fd, filter): (RawFd, _) = match ev.filter() {
                EventFilter::Read(fd) => (fd, "EVFILT_READ"),
                EventFilter::Write(fd) => (fd, "EVFILT_WRITE"),
                _ => (-1, "EVFILT_?"),
            };
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{fd} {filter}")?;
            for (flag, name) in FLAGS {
                if ev.flags().contains(flag) {
                    write!(f, " {name}")?;
                }
            }
            if ev.data() != 0 {
                write!(f, " data={}", ev.data())?;
            }
        }
        Ok(())
    }
}
