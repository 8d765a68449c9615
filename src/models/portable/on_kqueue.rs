//! The `polling` crate's kqueue backend (macOS, FreeBSD), call by call: `Poller::new` is a
//! `kqueue`, an `fcntl(F_SETFD, FD_CLOEXEC)` and a `kevent` registering an `EVFILT_USER` event
//! (how another thread could wake the poller); every `add`, `modify` and `delete` is one
//! `kevent` that changes both the read and the write filter (`EV_RECEIPT`, so errors come back
//! per change); `wait` is one `kevent` with no changes; dropping the Poller deletes the
//! `EVFILT_USER` event and closes the kqueue.

use super::server::{errno, own};
use crate::trace::{Call, Stage, Tracer};
use polling::Poller;
use rustix::fd::{AsFd, AsRawFd};

/// `add` and `modify`: both become `EV_ADD` (or `EV_DELETE`) changes in one `kevent`.
pub const ADD: &str = "add";
pub const MOD: &str = "modify";
/// What `Poller::wait` sleeps in.
pub const WAIT: &str = "kevent";

/// `kevent`'s arguments for a wait: no changes, room for `capacity` events, no timeout.
pub fn wait_args(capacity: usize) -> String {
    format!("[], 0, {capacity}, NULL")
}

/// The kqueue behind the Poller, and the calls the library makes on it without being asked.
pub struct Lib {
    kq: i32,
}

impl Lib {
    /// The kqueue: what `Poller::wait` sleeps on.
    pub fn fd(&self) -> i32 {
        self.kq
    }

    /// Records the `kevent` an `add` or `modify` made (`op`: which one we asked for).
    #[allow(clippy::too_many_arguments)]
    pub fn ctl(
        &mut self,
        tr: &mut Tracer,
        op: &str,
        fd: i32,
        readable: bool,
        writable: bool,
        r: std::io::Result<()>,
        note: &str,
    ) -> std::io::Result<()> {
        let call = Call::new("kevent", Stage::Setup)
            .fd(self.kq)
            .args(changes(fd, readable, writable));
        let start = tr.begin();
        // With EV_RECEIPT every change comes back as a receipt: 2 on success.
        let shown = r.as_ref().map(|_| 2).map_err(errno);
        tr.end(call, start, shown, format!("{op}(): {note}"));
        r
    }

    /// `Poller::delete`: one `kevent` deleting both filters, before the descriptor is closed.
    pub fn delete(
        &mut self,
        tr: &mut Tracer,
        poller: &Poller,
        fd: &impl AsFd,
    ) -> std::io::Result<()> {
        let raw = fd.as_fd().as_raw_fd();
        let call = Call::new("kevent", Stage::Teardown)
            .fd(self.kq)
            .args(changes(raw, false, false));
        let start = tr.begin();
        let r = poller.delete(fd);
        tr.end(
            call,
            start,
            r.as_ref().map(|_| 2).map_err(errno),
            "delete(): stop watching it",
        );
        r
    }

    /// Nothing around a wait: the `EVFILT_USER` event is `EV_CLEAR`, so it needs no re-arming.
    pub fn before_wait(&self, _tr: &mut Tracer) {}

    pub fn after_wait(&self, _tr: &mut Tracer, _got: &[polling::Event]) {}

    /// The Poller was dropped: its `EVFILT_USER` event is deleted and the kqueue closed.
    pub fn dropped(&self, tr: &mut Tracer) {
        own(
            tr,
            Call::new("kevent", Stage::Teardown)
                .fd(self.kq)
                .args("[0 EVFILT_USER EV_DELETE|EV_RECEIPT], 1, 1, NULL"),
            Ok(1),
            "dropping the Poller: delete its wake-up event",
        );
        // std checks a descriptor is open before closing it, in debug builds only.
        if cfg!(debug_assertions) {
            own(
                tr,
                Call::new("fcntl", Stage::Teardown)
                    .fd(self.kq)
                    .args("F_GETFD"),
                Ok(1),
                "std's debug check that the descriptor is open",
            );
        }
        own(
            tr,
            Call::new("close", Stage::Teardown).fd(self.kq),
            Ok(0),
            "dropping the Poller: close the kqueue",
        );
    }
}

/// `Poller::new`: a kqueue for us, made close-on-exec, with the library's wake-up event in it.
pub fn new_poller(tr: &mut Tracer) -> std::io::Result<(Poller, Lib)> {
    let call = Call::new("kqueue", Stage::Setup);
    let start = tr.begin();
    let poller = Poller::new();
    let r = poller.as_ref().map(|p| p.as_raw_fd()).map_err(errno);
    tr.end(
        call,
        start,
        r,
        "Poller::new(): the kqueue behind the Poller",
    );
    let poller = poller?;
    let lib = Lib {
        kq: poller.as_raw_fd(),
    };
    own(
        tr,
        Call::new("fcntl", Stage::Setup)
            .fd(lib.kq)
            .args("F_SETFD, FD_CLOEXEC"),
        Ok(0),
        "make the kqueue close-on-exec",
    );
    own(
        tr,
        Call::new("kevent", Stage::Setup)
            .fd(lib.kq)
            .args("[0 EVFILT_USER EV_ADD|EV_RECEIPT|EV_CLEAR], 1, 1, NULL"),
        Ok(1),
        "an EVFILT_USER event, so another thread could wake the Poller",
    );
    Ok((poller, lib))
}

/// The two changes polling submits for an `add`/`modify`: read and write filters, each added
/// oneshot or deleted.
fn changes(fd: i32, readable: bool, writable: bool) -> String {
    let flags = |on: bool| {
        if on {
            "EV_ADD|EV_ONESHOT|EV_RECEIPT"
        } else {
            "EV_DELETE|EV_RECEIPT"
        }
    };
    format!(
        "[{fd} EVFILT_READ {}, {fd} EVFILT_WRITE {}], 2, 2, NULL",
        flags(readable),
        flags(writable)
    )
}
