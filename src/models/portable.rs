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
//! eventfd and an `epoll_ctl(MOD)` re-arming that. The trace records those too, marked as the
//! library's (`by: polling`), in the order strace sees them.
//!
//! On macOS and FreeBSD the same code runs on polling's kqueue backend: `Poller::new` is a
//! `kqueue` plus the library's `fcntl(F_SETFD)` and an `EVFILT_USER` wake-up event, every
//! `add`/`modify` one `kevent` with read and write changes, `wait` a `kevent` with none, and
//! nothing around it. On Windows polling *emulates* readiness on a completion port: `add` and
//! `modify` only queue the socket, and inside `wait` each queued one gets an `IOCTL_AFD_POLL`
//! request to the AFD driver (`NtDeviceIoControlFile`) before `GetQueuedCompletionStatusEx`
//! takes the packets of the requests that completed; the program still calls `recv` itself.
//! The model calls a traced `Poller` (`portable/poller.rs`), one line per call of polling's;
//! which calls each backend makes is in `portable/on_epoll.rs`, `portable/on_kqueue.rs` and
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

/// The server loop: polling has a backend on every OS this program builds for.
const SERVE: Option<Serve> = Some(server::serve);

// The calls polling makes on this OS, recorded by name: its epoll backend on Linux, its IOCP
// backend on Windows, its kqueue backend on macOS and the BSDs; `poller` is what they share.
#[cfg(target_os = "linux")]
mod on_epoll;
#[cfg(windows)]
mod on_iocp;
#[cfg(all(unix, not(target_os = "linux")))]
mod on_kqueue;
mod poller;

mod server {
    use super::poller::Poller;
    use crate::echo::{Conn, Recv, Send};
    use crate::server::Server;
    use crate::sys::set_nonblocking;
    use polling::Event;
    use std::collections::{BTreeMap, BTreeSet};

    // ANCHOR: serve
    /// `Poller::new` → `add(listener)` → loop: `wait` → handle each event → `modify` to re-arm it.
    #[doc(alias = "Poller")]
    #[doc(alias = "selectors")]
    #[doc(alias = "DefaultSelector")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        let lfd = srv.lfd();
        let why = |_: &rustix::io::Result<()>| {
            crate::t!("portable-never-waits", accept = crate::sys::ACCEPT.0)
        };
        set_nonblocking(&mut srv.tr, &srv.listener, why);

        // Poller::new: the OS's multiplexer for us, and whatever the library adds of its own.
        let mut poller = Poller::new(&mut srv.tr)?;
        let listening = Event::readable(lfd as usize);
        let why = crate::msg!("portable-add-listener");
        // SAFETY: the listener outlives its registration: it is deleted below before we return.
        unsafe { poller.add(&mut srv.tr, &srv.listener, listening, why) }?;

        let mut conns: BTreeMap<usize, Conn> = BTreeMap::new();
        // The connections armed for writability too (an echo or the room's lines wait).
        let mut writing: BTreeSet<usize> = BTreeSet::new();
        let mut ready = Vec::new();
        let accepted = crate::t!("portable-accept");
        'serve: loop {
            // Stage ①: Poller::wait (on Linux, polling makes four calls around the epoll_pwait).
            poller.wait(&mut srv.tr, &mut ready)?;

            for &ev in &ready {
                if ev.key == lfd as usize {
                    let over = srv.accept_waiting(&accepted, |srv, conn| {
                        let client = Event::readable(conn.raw() as usize);
                        let why = crate::msg!("portable-add-client");
                        // SAFETY: every connection is deleted from the poller before it is closed.
                        unsafe { poller.add(&mut srv.tr, &conn.fd, client, why) }?;
                        conns.insert(client.key, conn);
                        Ok(())
                    })?;
                    if over {
                        break 'serve;
                    }
                    let why = crate::msg!("portable-rearm-listener");
                    poller.modify(&mut srv.tr, &srv.listener, listening, why)?;
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
                    writing.remove(&ev.key);
                    poller.delete(&mut srv.tr, &conn.fd)?;
                    let note = if failed {
                        crate::t!("models-conn-failed")
                    } else {
                        crate::t!("models-conn-done")
                    };
                    conn.close(&mut srv.tr, &note);
                    continue;
                }
                // Re-arm with what we want now: readable while there is room, writable while an
                // echo waits. Oneshot means this call comes after every single event.
                let want = Event::new(ev.key, conn.can_read(), conn.wants_write());
                let why = crate::msg!("portable-rearm");
                poller.modify(&mut srv.tr, &conn.fd, want, why)?;
                if want.writable {
                    writing.insert(ev.key);
                } else {
                    writing.remove(&ev.key);
                }
            }
            // A chat: what a client said goes to the other members now, a sendto each (no
            // event would come for them: they are armed for reading). Where lines are left,
            // re-arm with writability; a member the room dropped is closed now. Closing one
            // may queue lines too (`* NAME left`): go on until nothing is touched.
            loop {
                let touched = srv.touched();
                if touched.is_empty() {
                    break;
                }
                for key in touched.into_iter().map(|fd| fd as usize) {
                    let Some(conn) = conns.get_mut(&key) else {
                        continue;
                    };
                    if writing.contains(&key) && !conn.dropped() {
                        continue; // armed for writability already: its event sends
                    }
                    match conn.deliver(&mut srv.tr) {
                        Some(why) => {
                            let conn = conns.remove(&key).expect("still there");
                            writing.remove(&key);
                            poller.delete(&mut srv.tr, &conn.fd)?;
                            conn.close(&mut srv.tr, why);
                        }
                        None if conn.wants_write() => {
                            let want = Event::new(key, conn.can_read(), true);
                            let why = crate::msg!("portable-rearm-writable");
                            poller.modify(&mut srv.tr, &conn.fd, want, why)?;
                            writing.insert(key);
                        }
                        None => {}
                    }
                }
            }
        }
        // The Poller's contract: delete every source before it is closed.
        for (_, conn) in conns {
            poller.delete(&mut srv.tr, &conn.fd)?;
            conn.close(&mut srv.tr, crate::t!("models-run-over"));
        }
        poller.delete(&mut srv.tr, &srv.listener)?;
        poller.close(&mut srv.tr);
        Ok(())
    }
    // ANCHOR_END: serve
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
        crate::t!(
            "portable-notice-epoll-own",
            own = own.to_string(),
            calls = s.syscalls.to_string(),
            which = library_calls(s),
            waits = s.wakeups.to_string()
        ),
        crate::t!(
            "portable-notice-epoll-ctl",
            ours = (ctl - own_ctl).to_string(),
            theirs = own_ctl.to_string()
        ),
    ]
}

/// What to notice on polling's kqueue backend (macOS, FreeBSD).
fn kqueue_notice(s: &Summary) -> Vec<String> {
    let own: u64 = s.library_calls.values().sum();
    let kevents = s.calls.get("kevent").copied().unwrap_or(0);
    vec![
        crate::t!(
            "portable-notice-kqueue-own",
            own = own.to_string(),
            calls = s.syscalls.to_string(),
            which = library_calls(s)
        ),
        crate::t!(
            "portable-notice-kqueue-kevent",
            kevents = kevents.to_string(),
            waits = s.wakeups.to_string()
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
        crate::t!(
            "portable-notice-iocp-own",
            own = own.to_string(),
            calls = s.syscalls.to_string(),
            which = library_calls(s),
            polls = polls.to_string(),
            waits = s.wakeups.to_string()
        ),
        crate::t!("portable-notice-iocp-emulated"),
    ]
}
