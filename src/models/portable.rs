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
//! On macOS and FreeBSD the same code runs on polling's kqueue backend: `Poller::new` is a
//! `kqueue` plus the library's `fcntl(F_SETFD)` and an `EVFILT_USER` wake-up event, every
//! `add`/`modify` one `kevent` with read and write changes, `wait` a `kevent` with none, and
//! nothing around it. On Windows polling *emulates* readiness on a completion port: `add` and
//! `modify` only queue the socket, and inside `wait` each queued one gets an `IOCTL_AFD_POLL`
//! request to the AFD driver (`NtDeviceIoControlFile`) before `GetQueuedCompletionStatusEx`
//! takes the packets of the requests that completed; the program still calls `recv` itself.
//! Which backend's calls are recorded is in `portable/on_epoll.rs`, `portable/on_kqueue.rs` and
//! `portable/on_iocp.rs`.
//!
//! See the polling crate's docs (`Poller`, `Event`, `PollMode::Oneshot`), epoll(7), eventfd(2),
//! timerfd_create(2), GetQueuedCompletionStatusEx on learn.microsoft.com, and Python's
//! `selectors` module.

use super::{Kind, Model, Serve};
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "portable",
    summary: super::here(
        "the polling crate (like Python's selectors): epoll here, kqueue or IOCP elsewhere",
        "the polling crate (like Python's selectors): kqueue here, epoll or IOCP elsewhere",
        "the polling crate (like Python's selectors): AFD polls on IOCP here, epoll or kqueue elsewhere",
    ),
    kind: Kind::Readiness,
    figure: "6.3",
    platforms: "Linux (epoll), macOS/BSD (kqueue), Windows (IOCP)",
    serve: SERVE,
    instead: super::here("", "kqueue", "poll"),
    state: super::here(
        "a map from key to connection; the interest list lives in the kernel, re-armed after every event",
        "a map from key to connection; the interest list lives in the kernel, re-armed after every event",
        "a map from key to connection; polling keeps the interests and re-sends an AFD poll request after every event",
    ),
    told: "readiness",
    notice: super::here(epoll_notice, kqueue_notice, iocp_notice),
    examples: &[
        "iomodels portable                      the polling crate's own calls, beside ours",
        "iomodels portable --idle 40            polling's backend with a crowd to watch",
    ],
};

/// The server loop, where polling has a backend this program records.
#[cfg(any(
    target_os = "linux",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly",
    windows
))]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(any(
    target_os = "linux",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly",
    windows
)))]
const SERVE: Option<Serve> = None;

// The calls polling makes on this OS, recorded by name: its epoll backend on Linux, its IOCP
// backend on Windows, its kqueue backend on macOS and FreeBSD.
#[cfg(target_os = "linux")]
mod on_epoll;
#[cfg(windows)]
mod on_iocp;
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly"
))]
mod on_kqueue;

#[cfg(any(
    target_os = "linux",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly",
    windows
))]
mod server {
    #[cfg(target_os = "linux")]
    use super::on_epoll::{ADD, MOD, WAIT, new_poller, wait_args};
    #[cfg(windows)]
    use super::on_iocp::{ADD, MOD, WAIT, new_poller, wait_args};
    #[cfg(not(any(target_os = "linux", windows)))]
    use super::on_kqueue::{ADD, MOD, WAIT, new_poller, wait_args};
    use crate::echo::{Conn, Recv, Send};
    use crate::server::Server;
    use crate::sys::set_nonblocking;
    use crate::trace::{Call, Stage, Tracer};
    use polling::{Event, Events};
    use rustix::io::Errno;
    use std::collections::BTreeMap;
    use std::num::NonZeroUsize;

    /// Records a call polling made on its own (`by: polling`), already returned with `result`.
    pub(super) fn own(tr: &mut Tracer, call: Call, result: Result<i64, Errno>, note: &str) {
        let start = tr.begin();
        tr.end_with(
            call,
            start,
            result,
            |ev| ev.by = POLLING,
            format!("polling's own: {note}"),
        );
    }

    /// Most events one wait hands back.
    const CAPACITY: usize = 64;

    /// Who made a call the model did not ask for.
    pub(super) const POLLING: Option<&str> = Some("polling");

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
            |_: &rustix::io::Result<()>| {
                format!(
                    "a client that gives up between the wait and {a} must not make {a} wait (UNP §16.6)",
                    a = crate::sys::ACCEPT.0
                )
            },
        );

        // Poller::new: the OS's multiplexer for us, and whatever the library adds of its own.
        let (poller, mut lib) = new_poller(&mut srv.tr)?;

        // SAFETY: the listener outlives its registration: it is deleted below before we return.
        let r = unsafe { poller.add(&srv.listener, Event::readable(lfd as usize)) };
        lib.ctl(
            &mut srv.tr,
            ADD,
            lfd,
            true,
            false,
            r,
            "add(listener, readable): oneshot, like every interest polling registers",
        )?;

        let mut conns: BTreeMap<usize, Conn> = BTreeMap::new();
        let mut events = Events::with_capacity(NonZeroUsize::new(CAPACITY).expect("not zero"));
        'serve: loop {
            // Stage ①: Poller::wait (on Linux, polling makes four calls around the epoll_pwait).
            events.clear();
            lib.before_wait(&mut srv.tr);
            let call = Call::new(WAIT, Stage::DataReady)
                .fd(lib.fd())
                .args(wait_args(CAPACITY))
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
            lib.after_wait(&mut srv.tr, &got);
            r?;

            for ev in got {
                if ev.key == lfd as usize {
                    let over = srv.accept_waiting(
                        "the Poller said the listener is readable: a client is waiting",
                        |srv, conn| {
                            let cfd = conn.raw();
                            // SAFETY: every connection is deleted from the poller before it is closed.
                            let r = unsafe { poller.add(&conn.fd, Event::readable(cfd as usize)) };
                            lib.ctl(
                                &mut srv.tr,
                                ADD,
                                cfd,
                                true,
                                false,
                                r,
                                "add(client, readable)",
                            )?;
                            conns.insert(cfd as usize, conn);
                            Ok(())
                        },
                    )?;
                    if over {
                        break 'serve;
                    }
                    let r = poller.modify(&srv.listener, Event::readable(lfd as usize));
                    lib.ctl(
                        &mut srv.tr,
                        MOD,
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
                    match conn.recv(&mut srv.tr) {
                        Recv::Failed(_) => failed = true,
                        Recv::Data(_) => got_data = true,
                        _ => {}
                    }
                }
                if !failed && conn.wants_write() && (ev.writable || got_data) {
                    failed = matches!(conn.send(&mut srv.tr), Send::Failed(_));
                }
                if failed || conn.finished() {
                    let conn = conns.remove(&ev.key).expect("still there");
                    lib.delete(&mut srv.tr, &poller, &conn.fd)?;
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
                lib.ctl(
                    &mut srv.tr,
                    MOD,
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
            lib.delete(&mut srv.tr, &poller, &conn.fd)?;
            conn.close(&mut srv.tr, "the run is over");
        }
        lib.delete(&mut srv.tr, &poller, &srv.listener)?;
        drop(poller);
        lib.dropped(&mut srv.tr);
        Ok(())
    }
    // ANCHOR_END: serve

    pub(super) fn errno(e: &std::io::Error) -> Errno {
        Errno::from_io_error(e).unwrap_or(Errno::INVAL)
    }
}

/// The calls polling made on its own, by name: `epoll_ctl ×12, read ×5`.
fn library_calls(s: &Summary) -> String {
    let shown: Vec<String> = s
        .library_calls
        .iter()
        .map(|(n, c)| format!("{n} ×{c}"))
        .collect();
    shown.join(", ")
}

/// What to notice on polling's epoll backend (Linux).
fn epoll_notice(s: &Summary) -> Vec<String> {
    let own: u64 = s.library_calls.values().sum();
    let ctl = s.calls.get("epoll_ctl").copied().unwrap_or(0);
    let own_ctl = s.library_calls.get("epoll_ctl").copied().unwrap_or(0);
    vec![
        format!(
            "polling made {own} of the {} system calls on its own ({}): an eventfd and a timerfd at start, then four calls around each of the {} waits — the raw epoll model makes none of them",
            s.syscalls,
            library_calls(s),
            s.wakeups
        ),
        format!(
            "{} epoll_ctl calls were ours: oneshot interest means one re-arming MOD after every event (the raw epoll model only MODs when interest changes); {own_ctl} more were polling's",
            ctl - own_ctl
        ),
    ]
}

/// What to notice on polling's kqueue backend (macOS, FreeBSD).
fn kqueue_notice(s: &Summary) -> Vec<String> {
    let own: u64 = s.library_calls.values().sum();
    let kevents = s.calls.get("kevent").copied().unwrap_or(0);
    vec![
        format!(
            "polling made {own} of the {} calls on its own ({}: making its kqueue close-on-exec, its EVFILT_USER wake-up event, and deleting it at the end); on kqueue it adds nothing around a wait",
            s.syscalls,
            library_calls(s)
        ),
        format!(
            "{kevents} kevent calls in all, {} of them waits: oneshot interest means one re-arming kevent after every event — the raw kqueue model registers a filter once and changes it only when the interest changes",
            s.wakeups
        ),
    ]
}

/// What to notice on polling's IOCP backend (Windows).
fn iocp_notice(s: &Summary) -> Vec<String> {
    let own: u64 = s.library_calls.values().sum();
    let polls = s
        .library_calls
        .get("NtDeviceIoControlFile")
        .copied()
        .unwrap_or(0);
    vec![
        format!(
            "polling made {own} of the {} calls on its own ({}); our add and modify calls made none: polling queued each socket and submitted its IOCTL_AFD_POLL inside the next wait — {polls} poll requests for {} waits",
            s.syscalls,
            library_calls(s),
            s.wakeups
        ),
        "a completion port, used only to emulate readiness: each packet says \"this socket is ready\", and the program still calls recv — the iocp model hands Windows the WSARecv itself and hears only when the data is already copied".into(),
    ]
}
