//! The `polling` crate's epoll backend, call by call: what `Poller::new`, `add`/`modify`,
//! `wait`, `delete` and the drop make on Linux, in the order strace sees them.

use super::server::{errno, own};
use crate::sys::epoll::flag_names as epoll_flags;
use crate::trace::{Call, Stage, Tracer};
use polling::Poller;
use rustix::event::epoll::EventFlags;
use rustix::fd::{AsFd, AsRawFd};
use rustix::io::Errno;

/// The interest polling registers for its own eventfd and timerfd: readable, oneshot.
const ARMED: EventFlags = EventFlags::IN
    .union(EventFlags::ERR)
    .union(EventFlags::HUP)
    .union(EventFlags::PRI)
    .union(EventFlags::ONESHOT);

/// `add` and `modify` as epoll_ctl spells them.
pub const ADD: &str = "EPOLL_CTL_ADD";
pub const MOD: &str = "EPOLL_CTL_MOD";
/// What `Poller::wait` sleeps in.
pub const WAIT: &str = "epoll_pwait";

/// `epoll_pwait`'s arguments: room for `capacity` events, no timeout.
pub fn wait_args(capacity: usize) -> String {
    format!("{capacity}, -1")
}

/// `Poller::new`: one epoll instance for us, and the library's own eventfd and timerfd.
pub fn new_poller(tr: &mut Tracer) -> std::io::Result<(Poller, Lib)> {
    let call = Call::new("epoll_create1", Stage::Setup).args("EPOLL_CLOEXEC");
    let start = tr.begin();
    let poller = Poller::new();
    let r = poller.as_ref().map(|p| p.as_raw_fd()).map_err(errno);
    tr.end(
        call,
        start,
        r,
        "Poller::new(): the epoll instance behind the Poller",
    );
    let poller = poller?;
    let epfd = poller.as_raw_fd();
    // The library's helpers take the next free descriptors, in this order (strace confirms it).
    let lib = Lib {
        epfd,
        eventfd: epfd + 1,
        timerfd: epfd + 2,
    };
    lib.new_poller(tr);
    Ok((poller, lib))
}

/// The library's own descriptors, and the calls it makes on them without being asked.
pub struct Lib {
    epfd: i32,
    /// Lets another thread wake the poller (`Poller::notify`).
    eventfd: i32,
    /// Turns `wait`'s timeout into a readable descriptor.
    timerfd: i32,
}

impl Lib {
    /// The epoll instance: what `Poller::wait` sleeps on.
    pub fn fd(&self) -> i32 {
        self.epfd
    }

    /// Records one `epoll_ctl` the model asked for (`add`, `modify`), with the flags polling sets.
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
        let mut flags = EventFlags::ONESHOT;
        if readable {
            flags |= EventFlags::IN | EventFlags::HUP | EventFlags::ERR | EventFlags::PRI;
        }
        if writable {
            flags |= EventFlags::OUT | EventFlags::HUP | EventFlags::ERR;
        }
        let call = Call::new("epoll_ctl", Stage::Setup)
            .fd(self.epfd)
            .args(format!("{op}, {fd}, {}", epoll_flags(flags)));
        let start = tr.begin();
        tr.end(call, start, r.as_ref().map(|_| ()).map_err(errno), note);
        r
    }

    /// `Poller::delete`: an `epoll_ctl(DEL)`, made before the descriptor is closed.
    pub fn delete(
        &mut self,
        tr: &mut Tracer,
        poller: &Poller,
        fd: &impl AsFd,
    ) -> std::io::Result<()> {
        let raw = fd.as_fd().as_raw_fd();
        let call = Call::new("epoll_ctl", Stage::Teardown)
            .fd(self.epfd)
            .args(format!("EPOLL_CTL_DEL, {raw}"));
        let start = tr.begin();
        let r = poller.delete(fd);
        tr.end(
            call,
            start,
            r.as_ref().map(|_| ()).map_err(errno),
            "delete(): stop watching it",
        );
        r
    }

    fn own_ctl(&self, tr: &mut Tracer, op: &str, fd: i32, flags: EventFlags, note: &str) {
        let args = format!("{op}, {fd}, {}", epoll_flags(flags));
        own(
            tr,
            Call::new("epoll_ctl", Stage::Setup)
                .fd(self.epfd)
                .args(args),
            Ok(0),
            note,
        );
    }

    fn new_poller(&self, tr: &mut Tracer) {
        own(
            tr,
            Call::new("eventfd2", Stage::Setup).args("0, EFD_CLOEXEC|EFD_NONBLOCK"),
            Ok(self.eventfd.into()),
            "an eventfd, so another thread could wake the Poller",
        );
        own(
            tr,
            Call::new("timerfd_create", Stage::Setup)
                .args("CLOCK_MONOTONIC, TFD_CLOEXEC|TFD_NONBLOCK"),
            Ok(self.timerfd.into()),
            "a timerfd, to turn wait timeouts into readiness",
        );
        self.own_ctl(
            tr,
            "EPOLL_CTL_ADD",
            self.timerfd,
            EventFlags::ONESHOT,
            "watch its timerfd",
        );
        self.own_ctl(
            tr,
            "EPOLL_CTL_ADD",
            self.eventfd,
            ARMED,
            "watch its eventfd",
        );
    }

    pub fn before_wait(&self, tr: &mut Tracer) {
        own(
            tr,
            Call::new("timerfd_settime", Stage::DataReady)
                .fd(self.timerfd)
                .args("0, {it_value=0}"),
            Ok(0),
            "set the wait's timeout on its timerfd (none: disarmed)",
        );
        self.own_ctl(
            tr,
            "EPOLL_CTL_MOD",
            self.timerfd,
            ARMED,
            "re-arm its oneshot timerfd",
        );
    }

    pub fn after_wait(&self, tr: &mut Tracer, _got: &[polling::Event]) {
        own(
            tr,
            Call::new("read", Stage::DataReady)
                .fd(self.eventfd)
                .args("8"),
            Err(Errno::AGAIN),
            "clear its eventfd in case someone woke it (nobody did)",
        );
        self.own_ctl(
            tr,
            "EPOLL_CTL_MOD",
            self.eventfd,
            ARMED,
            "re-arm its oneshot eventfd",
        );
    }

    pub fn dropped(&self, tr: &mut Tracer) {
        let del = |tr: &mut Tracer, fd: i32| {
            own(
                tr,
                Call::new("epoll_ctl", Stage::Teardown)
                    .fd(self.epfd)
                    .args(format!("EPOLL_CTL_DEL, {fd}")),
                Ok(0),
                "dropping the Poller: unwatch its helper",
            );
        };
        let close = |tr: &mut Tracer, fd: i32, what: &str| {
            // std checks a descriptor is open before closing it, in debug builds only.
            if cfg!(debug_assertions) {
                own(
                    tr,
                    Call::new("fcntl", Stage::Teardown).fd(fd).args("F_GETFD"),
                    Ok(1),
                    "std's debug check that the descriptor is open",
                );
            }
            own(tr, Call::new("close", Stage::Teardown).fd(fd), Ok(0), what);
        };
        del(tr, self.timerfd);
        close(tr, self.timerfd, "dropping the Poller: close its timerfd");
        del(tr, self.eventfd);
        close(
            tr,
            self.epfd,
            "dropping the Poller: close the epoll instance",
        );
        close(tr, self.eventfd, "dropping the Poller: close its eventfd");
    }
}
