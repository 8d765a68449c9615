//! The `polling` crate's epoll backend, call by call: what `Poller::new`, `add`/`modify`,
//! `wait`, `delete` and the drop make on Linux, in the order strace sees them.

use super::poller::{Change, Op, own, record, traced};
use crate::sys::epoll::{EventFlags, Names as Flags};
use crate::trace::{Call, Stage, Started, Tracer};
use rustix::fd::AsRawFd;
use rustix::io::Errno;
use std::io;

/// The interest polling registers for its own eventfd and timerfd: readable, oneshot.
const ARMED: EventFlags = EventFlags::IN
    .union(EventFlags::ERR)
    .union(EventFlags::HUP)
    .union(EventFlags::PRI)
    .union(EventFlags::ONESHOT);

/// The library's own descriptors, and the calls it makes on them without being asked.
pub struct Lib {
    epfd: i32,
    /// Lets another thread wake the poller (`Poller::notify`).
    eventfd: i32,
    /// Turns `wait`'s timeout into a readable descriptor.
    timerfd: i32,
}

impl Lib {
    /// `Poller::new`: one epoll instance for us, and the library's own eventfd and timerfd.
    pub fn new(tr: &mut Tracer) -> io::Result<(polling::Poller, Lib)> {
        let poller = traced(
            tr,
            Call::new("epoll_create1", Stage::Setup).args("EPOLL_CLOEXEC"),
            polling::Poller::new,
            |p| p.as_raw_fd().into(),
            crate::msg!("portable-epoll-new"),
        )?;
        let epfd = poller.as_raw_fd();
        // The library's helpers take the next free descriptors, in this order (strace confirms it).
        let lib = Lib {
            epfd,
            eventfd: epfd + 1,
            timerfd: epfd + 2,
        };
        own(
            tr,
            Call::new("eventfd2", Stage::Setup).args("0, EFD_CLOEXEC|EFD_NONBLOCK"),
            Ok(lib.eventfd.into()),
            crate::msg!("portable-eventfd"),
        );
        own(
            tr,
            Call::new("timerfd_create", Stage::Setup)
                .args("CLOCK_MONOTONIC, TFD_CLOEXEC|TFD_NONBLOCK"),
            Ok(lib.timerfd.into()),
            crate::msg!("portable-timerfd"),
        );
        let watch = |tr: &mut Tracer, fd, flags, note| {
            own(tr, lib.ctl_call("EPOLL_CTL_ADD", fd, flags), Ok(0), note);
        };
        watch(
            tr,
            lib.timerfd,
            EventFlags::ONESHOT,
            crate::msg!("portable-watch-timerfd"),
        );
        watch(
            tr,
            lib.eventfd,
            ARMED,
            crate::msg!("portable-watch-eventfd"),
        );
        Ok((poller, lib))
    }

    /// What `Poller::wait` sleeps in: `epoll_pwait(epfd, capacity, -1)`.
    pub fn wait_call(&self, capacity: usize) -> Call {
        Call::new("epoll_pwait", Stage::DataReady)
            .fd(self.epfd)
            .args(format_args!("{capacity}, -1"))
    }

    /// An `add` or `modify`: one `epoll_ctl`, with the flags polling sets (always oneshot).
    pub fn ctl(&mut self, tr: &mut Tracer, start: Started, c: &Change, r: &io::Result<()>) {
        let op = match c.op {
            Op::Add => "EPOLL_CTL_ADD",
            Op::Modify => "EPOLL_CTL_MOD",
        };
        let call = self.ctl_call(op, c.fd, interest(c.readable, c.writable));
        record(tr, call, start, r, |_| 0, c.why);
    }

    /// A `delete`: an `epoll_ctl(DEL)`, made before the descriptor is closed.
    pub fn deleted(&mut self, tr: &mut Tracer, start: Started, fd: i32, r: &io::Result<()>) {
        let call = self.del_call(fd);
        record(tr, call, start, r, |_| 0, crate::msg!("portable-delete"));
    }

    /// Before `epoll_pwait`: the wait's timeout goes on the timerfd, which is re-armed.
    pub fn before_wait(&mut self, tr: &mut Tracer) {
        own(
            tr,
            Call::new("timerfd_settime", Stage::DataReady)
                .fd(self.timerfd)
                .args("0, {it_value=0}"),
            Ok(0),
            crate::msg!("portable-settime"),
        );
        let call = self.ctl_call("EPOLL_CTL_MOD", self.timerfd, ARMED);
        own(tr, call, Ok(0), crate::msg!("portable-rearm-timerfd"));
    }

    /// After it: the eventfd is read (cleared) and re-armed.
    pub fn after_wait(&mut self, tr: &mut Tracer, _got: &[polling::Event]) {
        own(
            tr,
            Call::new("read", Stage::DataReady)
                .fd(self.eventfd)
                .args("8"),
            Err(Errno::AGAIN),
            crate::msg!("portable-clear-eventfd"),
        );
        let call = self.ctl_call("EPOLL_CTL_MOD", self.eventfd, ARMED);
        own(tr, call, Ok(0), crate::msg!("portable-rearm-eventfd"));
    }

    /// The Poller was dropped: its helpers are unwatched and closed, with the epoll instance.
    pub fn dropped(&mut self, tr: &mut Tracer) {
        let del = |tr: &mut Tracer, fd: i32| {
            let note = crate::msg!("portable-drop-unwatch");
            own(tr, self.del_call(fd), Ok(0), note);
        };
        let close = |tr: &mut Tracer, fd: i32, what: crate::lang::Msg| {
            // std checks a descriptor is open before closing it, in debug builds only.
            if cfg!(debug_assertions) {
                own(
                    tr,
                    Call::new("fcntl", Stage::Teardown).fd(fd).args("F_GETFD"),
                    Ok(1),
                    crate::msg!("portable-debug-check"),
                );
            }
            own(tr, Call::new("close", Stage::Teardown).fd(fd), Ok(0), what);
        };
        del(tr, self.timerfd);
        close(tr, self.timerfd, crate::msg!("portable-drop-timerfd"));
        del(tr, self.eventfd);
        close(tr, self.epfd, crate::msg!("portable-drop-epoll"));
        close(tr, self.eventfd, crate::msg!("portable-drop-eventfd"));
    }

    /// `epoll_ctl(epfd, op, fd, {flags})` at setup.
    fn ctl_call(&self, op: &str, fd: i32, flags: EventFlags) -> Call {
        Call::new("epoll_ctl", Stage::Setup)
            .fd(self.epfd)
            .args(format_args!("{op}, {fd}, {}", Flags(flags)))
    }

    /// `epoll_ctl(epfd, EPOLL_CTL_DEL, fd)` at teardown.
    fn del_call(&self, fd: i32) -> Call {
        Call::new("epoll_ctl", Stage::Teardown)
            .fd(self.epfd)
            .args(format_args!("EPOLL_CTL_DEL, {fd}"))
    }
}

/// The flags polling's epoll backend registers for an interest: always oneshot.
fn interest(readable: bool, writable: bool) -> EventFlags {
    let mut flags = EventFlags::ONESHOT;
    if readable {
        flags |= EventFlags::IN | EventFlags::HUP | EventFlags::ERR | EventFlags::PRI;
    }
    if writable {
        flags |= EventFlags::OUT | EventFlags::HUP | EventFlags::ERR;
    }
    flags
}
