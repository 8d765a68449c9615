//! Portable readiness with the `polling` crate (UNP figure 6.3): one API over epoll, kqueue, IOCP.
//!
//! `polling::Poller` is what Python's `selectors.DefaultSelector` is: the best multiplexer the OS
//! has, behind one interface. Stage ① happens inside `Poller::wait` (here: `epoll_pwait`), stage
//! ② is still our own `recvfrom`, and the process is told by *readiness*, one event per key.
//!
//! The price of portability shows in the trace. To behave the same everywhere, polling's
//! interest is *oneshot*: after one event a descriptor is disarmed, and we must re-arm it with
//! `modify` (an `epoll_ctl(MOD)`) after every event — calls the raw `epoll` model never makes.
//! And polling makes system calls of its own that we never asked for: an eventfd (so another
//! thread can wake the poller) and a timerfd (for timeouts) in `Poller::new`, and around every
//! `epoll_pwait` a `timerfd_settime`, an `epoll_ctl(MOD)` re-arming its timerfd, a `read` of its
//! eventfd and an `epoll_ctl(MOD)` re-arming that. This file records those too, marked as the
//! library's (`by: polling`), in the order strace sees them.
//!
//! See the polling crate's docs (`Poller`, `Event`, `PollMode::Oneshot`), epoll(7), eventfd(2),
//! timerfd_create(2), and Python's `selectors` module.

use super::Model;
use super::epoll::names;
use super::nonblocking::set_nonblocking;
use crate::echo::{Conn, Recv, Send};
use crate::server::Server;
use crate::trace::summary::Summary;
use crate::trace::{Call, Stage, Started, Tracer};
use polling::{Event, Events, Poller};
use rustix::event::epoll::EventFlags;
use rustix::fd::{AsFd, AsRawFd};
use rustix::io::Errno;
use std::collections::BTreeMap;
use std::num::NonZeroUsize;

pub const MODEL: Model = Model {
    name: "portable",
    summary: "the polling crate (like Python's selectors): epoll here, kqueue or IOCP elsewhere",
    figure: "6.3",
    platforms: "Linux (epoll), macOS/BSD (kqueue), Windows (IOCP)",
    serve: Some(serve),
    instead: "",
    state: "a map from key to connection; the interest list lives in the kernel, re-armed after every event",
    told: "readiness",
    notice,
};

/// Most events one wait hands back.
const CAPACITY: usize = 64;

/// The interest polling registers for its own eventfd and timerfd: readable, oneshot.
const ARMED: EventFlags = EventFlags::IN
    .union(EventFlags::ERR)
    .union(EventFlags::HUP)
    .union(EventFlags::PRI)
    .union(EventFlags::ONESHOT);

/// Who made a call the model did not ask for.
const POLLING: Option<&str> = Some("polling");

// ANCHOR: serve
/// `Poller::new` → `add(listener)` → loop: `wait` → handle each event → `modify` to re-arm it.
#[doc(alias = "Poller")]
#[doc(alias = "selectors")]
#[doc(alias = "DefaultSelector")]
pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
    let lfd = srv.lfd();
    set_nonblocking(
        &mut srv.tr,
        &srv.listener,
        lfd,
        "a client that gives up between the wait and accept4 must not make accept4 wait (UNP §16.6)",
    );

    // Poller::new: one epoll instance for us, and the library's own eventfd and timerfd.
    let call = Call::new("epoll_create1", Stage::Setup).args("EPOLL_CLOEXEC");
    let start = srv.tr.begin();
    let poller = Poller::new();
    let r = poller.as_ref().map(|p| p.as_raw_fd()).map_err(errno);
    srv.tr.end(
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
    lib.new_poller(&mut srv.tr);

    // SAFETY: the listener outlives its registration: it is deleted below before we return.
    let r = unsafe { poller.add(&srv.listener, Event::readable(lfd as usize)) };
    ctl(
        &mut srv.tr,
        epfd,
        "EPOLL_CTL_ADD",
        lfd,
        true,
        false,
        r,
        "add(listener, readable): oneshot, like every interest polling registers",
    )?;

    let mut conns: BTreeMap<usize, Conn> = BTreeMap::new();
    let mut events = Events::with_capacity(NonZeroUsize::new(CAPACITY).expect("not zero"));
    'serve: loop {
        // Stage ①: Poller::wait. Around the epoll_pwait we asked for, polling makes four calls.
        events.clear();
        lib.before_wait(&mut srv.tr);
        let call = Call::new("epoll_pwait", Stage::DataReady)
            .fd(epfd)
            .args(format!("{CAPACITY}, -1"))
            .blocking(true);
        let start = srv.tr.enter(&call);
        let r = poller.wait(&mut events, None);
        let got: Vec<Event> = events.iter().collect();
        let n = got.len() as u64;
        let note = format!(
            "Poller::wait(): {n} ready out of {} watched; each one is now disarmed (oneshot)",
            conns.len() + 1
        );
        srv.tr.end_with(
            call,
            start,
            r.as_ref().map(|n| *n).map_err(errno),
            |ev| ev.watched = Some(n),
            note,
        );
        lib.after_wait(&mut srv.tr);
        r?;

        for ev in got {
            if ev.key == lfd as usize {
                match srv.accept(
                    false,
                    "the Poller said the listener is readable: a client is waiting",
                ) {
                    Ok(conn) => {
                        let cfd = conn.raw();
                        set_nonblocking(
                            &mut srv.tr,
                            &conn.fd,
                            cfd,
                            "recvfrom and sendto will never wait",
                        );
                        // SAFETY: every connection is deleted from the poller before it is closed.
                        let r = unsafe { poller.add(&conn.fd, Event::readable(cfd as usize)) };
                        ctl(
                            &mut srv.tr,
                            epfd,
                            "EPOLL_CTL_ADD",
                            cfd,
                            true,
                            false,
                            r,
                            "add(client, readable)",
                        )?;
                        conns.insert(cfd as usize, conn);
                    }
                    Err(Errno::AGAIN | Errno::CONNABORTED | Errno::INTR) => {}
                    // The harness shut the listener down: the run is over.
                    Err(Errno::INVAL) => break 'serve,
                    Err(e) => return Err(anyhow::Error::from(e).context("accept4 failed")),
                }
                let r = poller.modify(&srv.listener, Event::readable(lfd as usize));
                ctl(
                    &mut srv.tr,
                    epfd,
                    "EPOLL_CTL_MOD",
                    lfd,
                    true,
                    false,
                    r,
                    "re-arm the listener: polling's oneshot mode disarmed it after the event",
                )?;
                continue;
            }
            let Some(conn) = conns.get_mut(&ev.key) else {
                continue;
            };
            let mut failed = false;
            let mut got_data = false;
            if ev.readable && conn.can_read() {
                match conn.recv(&mut srv.tr, Stage::CopyToUser, false) {
                    Recv::Failed(_) => failed = true,
                    Recv::Data(_) => got_data = true,
                    _ => {}
                }
            }
            if !failed && conn.wants_write() && (ev.writable || got_data) {
                failed = matches!(conn.send(&mut srv.tr, false), Send::Failed(_));
            }
            if failed || conn.finished() {
                let conn = conns.remove(&ev.key).expect("still there");
                delete(&mut srv.tr, &poller, &conn.fd)?;
                let note = if failed {
                    "the connection failed: drop it"
                } else {
                    "echoed everything and the client is done"
                };
                conn.close(&mut srv.tr, note);
                continue;
            }
            // Re-arm with what we want now: readable while there is room, writable while an
            // echo waits. Oneshot means this call comes after every single event.
            let (rd, wr) = (conn.can_read(), conn.wants_write());
            let r = poller.modify(&conn.fd, Event::new(ev.key, rd, wr));
            ctl(
                &mut srv.tr,
                epfd,
                "EPOLL_CTL_MOD",
                conn.raw(),
                rd,
                wr,
                r,
                "re-arm: polling's oneshot mode disarmed it after the event",
            )?;
        }
    }
    // The Poller's contract: delete every source before it is closed.
    for (_, conn) in conns {
        delete(&mut srv.tr, &poller, &conn.fd)?;
        conn.close(&mut srv.tr, "the run is over");
    }
    delete(&mut srv.tr, &poller, &srv.listener)?;
    drop(poller);
    lib.dropped(&mut srv.tr);
    Ok(())
}
// ANCHOR_END: serve

/// The library's own descriptors, and the calls it makes on them without being asked.
struct Lib {
    epfd: i32,
    /// Lets another thread wake the poller (`Poller::notify`).
    eventfd: i32,
    /// Turns `wait`'s timeout into a readable descriptor.
    timerfd: i32,
}

impl Lib {
    /// One call the library made on its own, already returned with `result`.
    fn call(
        &self,
        tr: &mut Tracer,
        call: Call,
        start: Started,
        result: Result<i64, Errno>,
        note: &str,
    ) {
        tr.end_with(
            call,
            start,
            result,
            |ev| ev.by = POLLING,
            format!("polling's own: {note}"),
        );
    }

    fn own(&self, tr: &mut Tracer, call: Call, result: Result<i64, Errno>, note: &str) {
        let start = tr.begin();
        self.call(tr, call, start, result, note);
    }

    fn ctl(&self, tr: &mut Tracer, op: &str, fd: i32, flags: EventFlags, note: &str) {
        let args = format!("{op}, {fd}, {}", names(flags));
        self.own(
            tr,
            Call::new("epoll_ctl", Stage::Setup)
                .fd(self.epfd)
                .args(args),
            Ok(0),
            note,
        );
    }

    fn new_poller(&self, tr: &mut Tracer) {
        self.own(
            tr,
            Call::new("eventfd2", Stage::Setup).args("0, EFD_CLOEXEC|EFD_NONBLOCK"),
            Ok(self.eventfd.into()),
            "an eventfd, so another thread could wake the Poller",
        );
        self.own(
            tr,
            Call::new("timerfd_create", Stage::Setup)
                .args("CLOCK_MONOTONIC, TFD_CLOEXEC|TFD_NONBLOCK"),
            Ok(self.timerfd.into()),
            "a timerfd, to turn wait timeouts into readiness",
        );
        self.ctl(
            tr,
            "EPOLL_CTL_ADD",
            self.timerfd,
            EventFlags::ONESHOT,
            "watch its timerfd",
        );
        self.ctl(
            tr,
            "EPOLL_CTL_ADD",
            self.eventfd,
            ARMED,
            "watch its eventfd",
        );
    }

    fn before_wait(&self, tr: &mut Tracer) {
        self.own(
            tr,
            Call::new("timerfd_settime", Stage::DataReady)
                .fd(self.timerfd)
                .args("0, {it_value=0}"),
            Ok(0),
            "set the wait's timeout on its timerfd (none: disarmed)",
        );
        self.ctl(
            tr,
            "EPOLL_CTL_MOD",
            self.timerfd,
            ARMED,
            "re-arm its oneshot timerfd",
        );
    }

    fn after_wait(&self, tr: &mut Tracer) {
        self.own(
            tr,
            Call::new("read", Stage::DataReady)
                .fd(self.eventfd)
                .args("8"),
            Err(Errno::AGAIN),
            "clear its eventfd in case someone woke it (nobody did)",
        );
        self.ctl(
            tr,
            "EPOLL_CTL_MOD",
            self.eventfd,
            ARMED,
            "re-arm its oneshot eventfd",
        );
    }

    fn dropped(&self, tr: &mut Tracer) {
        let del = |tr: &mut Tracer, fd: i32| {
            self.own(
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
                self.own(
                    tr,
                    Call::new("fcntl", Stage::Teardown).fd(fd).args("F_GETFD"),
                    Ok(1),
                    "std's debug check that the descriptor is open",
                );
            }
            self.own(tr, Call::new("close", Stage::Teardown).fd(fd), Ok(0), what);
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

/// Records one `epoll_ctl` the model asked for (`add`, `modify`), with the flags polling sets.
#[allow(clippy::too_many_arguments)]
fn ctl(
    tr: &mut Tracer,
    epfd: i32,
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
        .fd(epfd)
        .args(format!("{op}, {fd}, {}", names(flags)));
    let start = tr.begin();
    tr.end(call, start, r.as_ref().map(|_| ()).map_err(errno), note);
    r
}

/// `Poller::delete`: an `epoll_ctl(DEL)`, made before the descriptor is closed.
fn delete(tr: &mut Tracer, poller: &Poller, fd: &impl AsFd) -> std::io::Result<()> {
    let raw = fd.as_fd().as_raw_fd();
    let call = Call::new("epoll_ctl", Stage::Teardown)
        .fd(poller.as_raw_fd())
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

fn errno(e: &std::io::Error) -> Errno {
    Errno::from_io_error(e).unwrap_or(Errno::INVAL)
}

fn notice(s: &Summary) -> Vec<String> {
    let own: u64 = s.library_calls.values().sum();
    let ctl = s.calls.get("epoll_ctl").copied().unwrap_or(0);
    let own_ctl = s.library_calls.get("epoll_ctl").copied().unwrap_or(0);
    vec![
        format!(
            "polling made {own} of the {} system calls on its own ({}): an eventfd and a timerfd at start, then four calls around each of the {} waits — the raw epoll model makes none of them",
            s.syscalls,
            s.library_calls
                .iter()
                .map(|(n, c)| format!("{n} ×{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            s.wakeups
        ),
        format!(
            "{} epoll_ctl calls were ours: oneshot interest means one re-arming MOD after every event (the raw epoll model only MODs when interest changes); {own_ctl} more were polling's",
            ctl - own_ctl
        ),
    ]
}
