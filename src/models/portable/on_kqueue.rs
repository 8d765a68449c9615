//! The `polling` crate's kqueue backend (macOS, FreeBSD), call by call: `Poller::new` is a
//! `kqueue`, an `fcntl(F_SETFD, FD_CLOEXEC)` and a `kevent` registering an `EVFILT_USER` event
//! (how another thread could wake the poller); every `add`, `modify` and `delete` is one
//! `kevent` that changes both the read and the write filter (`EV_RECEIPT`, so errors come back
//! per change); `wait` is one `kevent` with no changes; dropping the Poller deletes the
//! `EVFILT_USER` event and closes the kqueue.

use super::poller::{Change, own, record, traced};
use crate::sys::kqueue::{EventFlags, FlagNames};
use crate::trace::{Call, Stage, Started, Tracer};
use rustix::fd::AsRawFd;
use std::fmt;
use std::io;

/// The kqueue behind the Poller, and the calls the library makes on it without being asked.
pub struct Lib {
    kq: i32,
}

impl Lib {
    /// `Poller::new`: a kqueue for us, made close-on-exec, with the library's wake-up event in it.
    pub fn new(tr: &mut Tracer) -> io::Result<(polling::Poller, Lib)> {
        let poller = traced(
            tr,
            Call::new("kqueue", Stage::Setup),
            polling::Poller::new,
            |p| p.as_raw_fd().into(),
            crate::msg!("portable-kqueue-new"),
        )?;
        let lib = Lib {
            kq: poller.as_raw_fd(),
        };
        own(
            tr,
            Call::new("fcntl", Stage::Setup)
                .fd(lib.kq)
                .args("F_SETFD, FD_CLOEXEC"),
            Ok(0),
            crate::msg!("portable-kqueue-cloexec"),
        );
        own(
            tr,
            Call::new("kevent", Stage::Setup)
                .fd(lib.kq)
                .args("[0 EVFILT_USER EV_ADD|EV_RECEIPT|EV_CLEAR], 1, 1, NULL"),
            Ok(1),
            crate::msg!("portable-kqueue-user"),
        );
        Ok((poller, lib))
    }

    /// What `Poller::wait` sleeps in: a `kevent` with no changes, room for `capacity` events
    /// and no timeout.
    pub fn wait_call(&self, capacity: usize) -> Call {
        Call::new("kevent", Stage::DataReady)
            .fd(self.kq)
            .args(format_args!("[], 0, {capacity}, NULL"))
    }

    /// An `add` or `modify`: one `kevent` with read and write changes. With `EV_RECEIPT` every
    /// change comes back as a receipt: 2 on success.
    pub fn ctl(&mut self, tr: &mut Tracer, start: Started, c: &Change, r: &io::Result<()>) {
        let call = self.changes(Stage::Setup, c.fd, c.readable, c.writable);
        let gloss = |_: &_| crate::t!("portable-change", op = c.op.name(), why = c.why.to_string());
        record(tr, call, start, r, |_| 2, gloss);
    }

    /// A `delete`: one `kevent` deleting both filters, before the descriptor is closed.
    pub fn deleted(&mut self, tr: &mut Tracer, start: Started, fd: i32, r: &io::Result<()>) {
        let call = self.changes(Stage::Teardown, fd, false, false);
        record(tr, call, start, r, |_| 2, crate::msg!("portable-delete"));
    }

    /// Nothing around a wait: the `EVFILT_USER` event is `EV_CLEAR`, so it needs no re-arming.
    pub fn before_wait(&mut self, _tr: &mut Tracer) {}

    pub fn after_wait(&mut self, _tr: &mut Tracer, _got: &[polling::Event]) {}

    /// The Poller was dropped: its `EVFILT_USER` event is deleted and the kqueue closed.
    pub fn dropped(&mut self, tr: &mut Tracer) {
        own(
            tr,
            Call::new("kevent", Stage::Teardown)
                .fd(self.kq)
                .args("[0 EVFILT_USER EV_DELETE|EV_RECEIPT], 1, 1, NULL"),
            Ok(1),
            crate::msg!("portable-drop-user"),
        );
        // std checks a descriptor is open before closing it, in debug builds only.
        if cfg!(debug_assertions) {
            own(
                tr,
                Call::new("fcntl", Stage::Teardown)
                    .fd(self.kq)
                    .args("F_GETFD"),
                Ok(1),
                crate::msg!("portable-debug-check"),
            );
        }
        own(
            tr,
            Call::new("close", Stage::Teardown).fd(self.kq),
            Ok(0),
            crate::msg!("portable-drop-kqueue"),
        );
    }

    /// The `kevent` polling makes for an `add`, `modify` or `delete` of `fd`.
    fn changes(&self, stage: Stage, fd: i32, readable: bool, writable: bool) -> Call {
        Call::new("kevent", stage).fd(self.kq).args(Changes {
            fd,
            readable,
            writable,
        })
    }
}

/// The two changes polling submits for an `add`/`modify`/`delete`: read and write filters,
/// each added oneshot or deleted (`[5 EVFILT_READ EV_ADD|EV_ONESHOT|EV_RECEIPT, …], 2, 2, NULL`).
struct Changes {
    fd: i32,
    readable: bool,
    writable: bool,
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let flags = |on: bool| {
            FlagNames(if on {
                EventFlags::ADD | EventFlags::ONESHOT | EventFlags::RECEIPT
            } else {
                EventFlags::DELETE | EventFlags::RECEIPT
            })
        };
        let fd = self.fd;
        write!(
            f,
            "[{fd} EVFILT_READ {}, {fd} EVFILT_WRITE {}], 2, 2, NULL",
            flags(self.readable),
            flags(self.writable)
        )
    }
}
