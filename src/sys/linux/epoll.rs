//! Linux `epoll(7)`, traced: each call is one line in a model; what it is named, which stage it
//! belongs to and what it means are written here, beside the call.
//!
//! See epoll_create1(2), epoll_ctl(2), epoll_wait(2).

use crate::trace::{Call, Gloss, Stage, Tracer, names};
use rustix::event::epoll;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use rustix::io::Result;
use std::fmt;
use std::sync::{Arc, Mutex};

pub use rustix::event::epoll::EventFlags;

/// Most events one `epoll_wait` hands back.
pub const MAX_EVENTS: usize = 64;

/// An epoll instance, and how many descriptors its interest list holds (for the trace: epoll
/// hands back only the ready ones, however many it watches).
pub struct Epoll {
    fd: OwnedFd,
    watched: usize,
    /// The listening socket among them, so that a wait can say it reported one.
    listener: Option<RawFd>,
    /// Where `epoll_wait` writes; [`Epoll::wait`] hands the events on as `(fd, flags)`.
    events: Vec<epoll::Event>,
}

// SAFETY: `events` only holds what the kernel wrote there, each event's data a descriptor
// number (`EventData::new_u64`), never a pointer; nothing in it is dereferenced, so an instance
// may move to another thread (reactors makes each thread's before starting it).
unsafe impl Send for Epoll {}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`: an instance whose interest list the kernel keeps.
    #[doc(alias = "epoll_create1")]
    pub fn create(tr: &mut Tracer) -> Result<Epoll> {
        let fd = tr.call(
            Call::new("epoll_create1", Stage::Setup).args("EPOLL_CLOEXEC"),
            || epoll::create(epoll::CreateFlags::CLOEXEC),
            crate::msg!("epoll-create"),
        )?;
        Ok(Epoll {
            fd,
            watched: 0,
            listener: None,
            events: Vec::with_capacity(MAX_EVENTS),
        })
    }

    /// `epoll_ctl(EPOLL_CTL_ADD, fd, {flags})`: watch `fd`; `why` is the gloss.
    #[doc(alias = "epoll_ctl")]
    pub fn add(
        &mut self,
        tr: &mut Tracer,
        fd: &impl AsFd,
        flags: EventFlags,
        why: impl Gloss<()>,
    ) -> Result<()> {
        self.ctl(tr, Ctl::Add, fd.as_fd(), flags, why)?;
        self.watched += 1;
        Ok(())
    }

    /// Marks `fd`, already added, as the listening socket: a wait that reports it says so
    /// (`listener` in the JSON trace). Not a system call.
    pub fn mark_listener(&mut self, fd: &impl AsFd) {
        self.listener = Some(fd.as_fd().as_raw_fd());
    }

    /// `epoll_ctl(EPOLL_CTL_MOD, fd, {flags})`: change what we wait for on `fd`.
    pub fn modify(
        &mut self,
        tr: &mut Tracer,
        fd: &impl AsFd,
        flags: EventFlags,
        why: impl Gloss<()>,
    ) -> Result<()> {
        self.ctl(tr, Ctl::Mod, fd.as_fd(), flags, why)
    }

    /// `epoll_ctl(EPOLL_CTL_DEL, fd)`: stop watching `fd` before it is closed.
    pub fn delete(&mut self, tr: &mut Tracer, fd: &impl AsFd) -> Result<()> {
        let raw = fd.as_fd().as_raw_fd();
        tr.call(
            Call::new("epoll_ctl", Stage::Teardown)
                .fd(self.fd.as_raw_fd())
                .args(format_args!("EPOLL_CTL_DEL, {raw}")),
            || epoll::delete(&self.fd, fd),
            crate::msg!("epoll-del"),
        )?;
        self.watched -= 1;
        Ok(())
    }

    /// `epoll_wait(epfd, MAX_EVENTS, -1)` (issued as `epoll_pwait`): stage ①, sleeping until a
    /// watched descriptor is ready. `ready` gets exactly those, as `(fd, flags)`.
    #[doc(alias = "epoll_wait")]
    #[doc(alias = "epoll_pwait")]
    pub fn wait(&mut self, tr: &mut Tracer, ready: &mut Vec<(RawFd, EventFlags)>) -> Result<usize> {
        ready.clear();
        self.events.clear();
        let call = Call::new("epoll_pwait", Stage::DataReady)
            .fd(self.fd.as_raw_fd())
            .args(format_args!("{MAX_EVENTS}, -1"))
            .blocking(true);
        let start = tr.enter(&call);
        let r = epoll::wait(
            &self.fd,
            rustix::buffer::spare_capacity(&mut self.events),
            None,
        );
        ready.extend(self.events.iter().map(|e| (e.data.u64() as RawFd, e.flags)));
        let watched = self.watched;
        let listener = self.listener;
        tr.record(
            call,
            start,
            &r,
            |r, ev| {
                ev.watched = Some(r.as_ref().map_or(0, |&n| n as u64));
                ev.listener = ready
                    .iter()
                    .any(|&(fd, _)| Some(fd) == listener)
                    .then_some(true);
            },
            |r: &Result<usize>| match r {
                Ok(n) => crate::t!(
                    "epoll-ready",
                    n = n.to_string(),
                    watched = watched.to_string(),
                    which = ready_list(ready)
                ),
                Err(_) => crate::t!("epoll-wait-failed"),
            },
        );
        r
    }

    /// Closes the instance (closing a descriptor also takes it off every interest list).
    pub fn close(self, tr: &mut Tracer) {
        crate::sys::close(tr, self.fd, crate::msg!("epoll-close"));
    }

    /// `epoll_ctl(ADD|MOD)`, its flags by name; the descriptor is the event's data.
    fn ctl(
        &self,
        tr: &mut Tracer,
        op: Ctl,
        fd: BorrowedFd,
        flags: EventFlags,
        why: impl Gloss<()>,
    ) -> Result<()> {
        let raw = fd.as_raw_fd();
        let data = epoll::EventData::new_u64(raw as u64);
        let (name, make): (_, fn(_, _, _, _) -> _) = match op {
            Ctl::Add => ("EPOLL_CTL_ADD", epoll::add::<&OwnedFd, BorrowedFd>),
            Ctl::Mod => ("EPOLL_CTL_MOD", epoll::modify::<&OwnedFd, BorrowedFd>),
        };
        let call = Call::new("epoll_ctl", Stage::Setup)
            .fd(self.fd.as_raw_fd())
            .args(format_args!("{name}, {raw}, {}", Names(flags)));
        tr.call(call, || make(&self.fd, fd, data, flags), why)
    }
}

/// The two `epoll_ctl` operations that register interest.
enum Ctl {
    Add,
    Mod,
}

/// `EPOLLIN|EPOLLRDHUP|EPOLLET`: epoll flags by name, the way strace prints them (the epoll
/// model's calls and polling's epoll backend's), formatted only when shown.
pub struct Names(pub EventFlags);

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let flags = self.0;
        let table = [
            (EventFlags::IN, "EPOLLIN"),
            (EventFlags::PRI, "EPOLLPRI"),
            (EventFlags::OUT, "EPOLLOUT"),
            (EventFlags::ERR, "EPOLLERR"),
            (EventFlags::HUP, "EPOLLHUP"),
            (EventFlags::RDHUP, "EPOLLRDHUP"),
            (EventFlags::EXCLUSIVE, "EPOLLEXCLUSIVE"),
            (EventFlags::ONESHOT, "EPOLLONESHOT"),
            (EventFlags::ET, "EPOLLET"),
        ]
        .map(|(bit, n)| (bit.bits() as u64, n));
        f.write_str(&names::flags(flags.bits() as u64, &table))
    }
}

/// `5 EPOLLIN, 7 EPOLLOUT`: the ready list as the gloss shows it (at most six).
fn ready_list(ready: &[(RawFd, EventFlags)]) -> String {
    let shown: Vec<String> = ready
        .iter()
        .map(|(fd, f)| format!("{fd} {}", Names(*f)))
        .collect();
    names::list(&shown, ", ", 6)
}

/// `setsockopt(SOL_SOCKET, SO_REUSEPORT, 1)`, before `bind`: every socket that sets it (as the
/// same user) may bind the same port, and the kernel hands each new connection to one of the
/// group's listeners, chosen by a hash of its addresses and ports. See socket(7).
#[doc(alias = "SO_REUSEPORT")]
pub fn reuseport(tr: &mut Tracer, listener: &OwnedFd) -> Result<()> {
    tr.call(
        Call::new("setsockopt", Stage::Setup)
            .fd(listener.as_raw_fd())
            .args("SOL_SOCKET, SO_REUSEPORT, 1"),
        || rustix::net::sockopt::set_socket_reuseport(listener, true),
        "share the port: each listener of the group gets its own accept queue, and the kernel spreads connections over them",
    )
}

/// `reactors --app chat`: one reactor's doorbell, an eventfd in its epoll's interest list.
/// Another reactor that queues lines for one of this reactor's members rings it (a `write`
/// from the ringing thread, in its trace), so that this one, asleep in `epoll_wait`, wakes,
/// answers it (a `read`, which clears it) and sends the lines. See eventfd(2).
///
/// The descriptor sits in a shared slot that the ringing threads lock around their `write`:
/// when its reactor is done, it takes the descriptor out and closes it, and a later ring finds
/// the slot empty and does nothing (the room never forgets a waker).
pub struct Doorbell {
    slot: Arc<Mutex<Option<OwnedFd>>>,
    raw: RawFd,
    /// Its reactor's number, for the glosses.
    k: usize,
}

impl Doorbell {
    /// `eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK)` → `epoll_ctl(ADD, {EPOLLIN})` on reactor `k`'s
    /// epoll: readable from the first ring until it is answered.
    pub fn new(tr: &mut Tracer, ep: &mut Epoll, k: usize) -> Result<Doorbell> {
        let fd = tr.call(
            Call::new("eventfd2", Stage::Setup).args("0, EFD_CLOEXEC|EFD_NONBLOCK"),
            || {
                use rustix::event::{EventfdFlags, eventfd};
                eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            },
            |_: &Result<OwnedFd>| crate::t!("reactors-doorbell", k = k.to_string()),
        )?;
        let why = |_: &Result<()>| crate::t!("reactors-doorbell-watch", k = k.to_string());
        ep.add(tr, &fd, EventFlags::IN, why)?;
        Ok(Doorbell {
            raw: fd.as_raw_fd(),
            slot: Arc::new(Mutex::new(Some(fd))),
            k,
        })
    }

    /// Its descriptor number: what `epoll_wait` reports when it rang.
    pub fn raw(&self) -> RawFd {
        self.raw
    }

    /// How another thread rings it: `write(efd, 1)`, on the ringing thread's tracer.
    pub fn ring(&self) -> impl Fn(&mut Tracer) + Send + Sync + 'static {
        let (slot, k) = (self.slot.clone(), self.k);
        move |tr| {
            let slot = slot.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(fd) = &*slot {
                let _ = tr.call(
                    Call::new("write", Stage::Setup)
                        .fd(fd.as_raw_fd())
                        .args(r#""\1\0\0\0\0\0\0\0", 8"#),
                    || rustix::io::write(fd, &1u64.to_ne_bytes()),
                    |_: &Result<usize>| crate::t!("reactors-doorbell-ring", k = k.to_string()),
                );
            }
        }
    }

    /// `read(efd, 8)`: it rang; reading clears it (the count of rings since, which we need
    /// not know: the room's `touched` says whom the lines are for).
    pub fn answer(&self, tr: &mut Tracer) {
        let slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(fd) = &*slot {
            let mut count = [0; 8];
            let _ = tr.call(
                Call::new("read", Stage::DataReady).fd(self.raw).args("8"),
                || rustix::io::read(fd, &mut count),
                crate::msg!("reactors-doorbell-answer"),
            );
        }
    }

    /// Closes it; a ring that comes later finds nothing to write to.
    pub fn close(self, tr: &mut Tracer) {
        let fd = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(fd) = fd {
            crate::sys::close(tr, fd, crate::msg!("reactors-doorbell-close"));
        }
    }
}
