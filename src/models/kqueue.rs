//! I/O multiplexing with kqueue (UNP figure 6.3, the BSD way): one `kevent` call both changes
//! what the kernel watches and waits for what is ready.
//!
//! Stage ① is spent blocked in `kevent`, for every socket at once; stage ② is still ours: when a
//! socket's `EVFILT_READ` fires, the server calls `recvfrom`, and the copy happens inside it.
//! Interest lives in the kernel (a filter per socket, added once with `EV_ADD`), as with epoll,
//! and each event carries `data`: how many bytes wait (or, on the listener, how many
//! connections). Two details the trace shows:
//!
//! - `EV_EOF` may arrive with data still buffered (the client sent its last bytes and closed):
//!   the server drains the socket before it closes it;
//! - while a send is pending (the socket's send buffer was full), `EVFILT_WRITE` is added, and
//!   when the echo backlog is full the read filter is disabled (`EV_DISABLE`) until the client
//!   reads its echo (backpressure, [`Conn::can_read`]).
//!
//! See kqueue(2), kevent(2) (`EVFILT_READ`, `EVFILT_WRITE`, `EV_EOF`).

use super::{Kind, Model, Serve};
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "kqueue",
    summary: "kqueue/kevent: filters registered once; one call changes interest and waits",
    kind: Kind::Readiness,
    figure: "6.3",
    platforms: "macOS, FreeBSD, NetBSD, OpenBSD",
    serve: SERVE,
    instead: super::here("epoll", "", "poll"),
    state: "a map of connections the loop owns; interest (one filter per socket) lives in the kernel",
    told: "readiness",
    notice,
    examples: &[
        "iomodels kqueue                        one kevent call changes interest and waits",
        "iomodels kqueue --scenario demos/faults.scenario    EV_EOF with data still to drain",
    ],
};

/// The server loop, where this OS has kqueue.
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
const SERVE: Option<Serve> = None;

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
mod server {
    use crate::echo::{Conn, Recv, Send};
    use crate::server::Server;
    use crate::sys::kqueue::{Event, EventFilter, EventFlags, Kqueue, MAX_EVENTS, change};
    use crate::trace::Tracer;
    use anyhow::Context;
    use rustix::io::Errno;
    use std::collections::BTreeMap;

    /// A connection and which of its filters are on.
    struct Watched {
        conn: Conn,
        /// `EVFILT_READ` is enabled (off while the echo backlog is full).
        reading: bool,
        /// `EVFILT_WRITE` is registered (while a send waits for room).
        writing: bool,
    }

    // ANCHOR: serve
    /// `kqueue` → `EV_ADD` the listener → loop { `kevent` (apply changes, wait) → accept / recv /
    /// send for each event }.
    #[doc(alias = "kevent")]
    #[doc(alias = "EVFILT_READ")]
    #[doc(alias = "EV_EOF")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        let kq = Kqueue::create(&mut srv.tr)
            .with_context(|| crate::t!("err-failed", call = "kqueue"))?;
        let lfd = srv.lfd();
        crate::sys::set_nonblocking(
            &mut srv.tr,
            &srv.listener,
            "accept will say EAGAIN when the queue is empty",
        );
        // Changes waiting to be handed to the kernel by the next kevent call.
        let mut changes = vec![change(EventFilter::Read(lfd), EventFlags::ADD)];
        let mut conns: BTreeMap<i32, Watched> = BTreeMap::new();
        let mut events: Vec<Event> = Vec::with_capacity(MAX_EVENTS);
        'run: loop {
            // Stage ①: one call applies our changes and sleeps until something is ready.
            // SAFETY: every descriptor in `changes` is open (closed ones were dropped from it).
            match unsafe { kq.wait(&mut srv.tr, &mut changes, &mut events) } {
                Err(Errno::INTR) => continue,
                r => r.with_context(|| crate::t!("err-failed", call = "kevent"))?,
            };
            for ev in &events {
                match ev.filter() {
                    EventFilter::Read(fd) if fd == lfd => {
                        // Connections are waiting (`data` says how many): accept them all.
                        let over = srv.accept_waiting(
                            "a connection kevent said was waiting",
                            |_, conn| {
                                let cfd = conn.raw();
                                changes.push(change(EventFilter::Read(cfd), EventFlags::ADD));
                                let w = Watched {
                                    conn,
                                    reading: true,
                                    writing: false,
                                };
                                conns.insert(cfd, w);
                                Ok(())
                            },
                        )?;
                        // The harness's wake-up: the run is over.
                        if over {
                            break 'run;
                        }
                    }
                    EventFilter::Read(fd) | EventFilter::Write(fd) => {
                        let Some(w) = conns.get_mut(&fd) else {
                            continue;
                        };
                        let eof = ev.flags().contains(EventFlags::EOF);
                        if eof && ev.data() > 0 {
                            srv.tr.info(|| format!(
                                "EV_EOF on fd {fd} with {} bytes still buffered: read them before closing",
                                ev.data()
                            ));
                        }
                        if serve_conn(&mut srv.tr, w, &mut changes) {
                            let note = if w.conn.finished() {
                                "echoed everything and the client is done"
                            } else {
                                "the connection failed: drop it"
                            };
                            // Closing the socket removes its filters from the kqueue too.
                            let w = conns.remove(&fd).expect("a watched connection");
                            changes.retain(|c| !matches!(c.filter(), EventFilter::Read(f) | EventFilter::Write(f) if f == fd));
                            w.conn.close(&mut srv.tr, note);
                        }
                    }
                    _ => {}
                }
            }
            // A chat: what a client said is queued for the others. Send it now, one sendto
            // per member (the fan-out); where it does not all fit, EVFILT_WRITE is added. A
            // member the room dropped is closed now; closing one may queue lines too (`* NAME
            // left`): go on until nothing is touched.
            loop {
                let touched = srv.touched();
                if touched.is_empty() {
                    break;
                }
                for fd in touched {
                    let Some(w) = conns.get_mut(&fd) else {
                        continue;
                    };
                    if w.writing && !w.conn.dropped() {
                        continue; // EVFILT_WRITE is on: its event sends
                    }
                    let Some(why) = w.conn.deliver(&mut srv.tr) else {
                        if w.conn.wants_write() {
                            changes.push(change(EventFilter::Write(fd), EventFlags::ADD));
                            w.writing = true;
                        }
                        continue;
                    };
                    let w = conns.remove(&fd).expect("a watched connection");
                    changes.retain(|c| !matches!(c.filter(), EventFilter::Read(f) | EventFilter::Write(f) if f == fd));
                    w.conn.close(&mut srv.tr, why);
                }
            }
        }
        for (_, w) in conns {
            w.conn.close(&mut srv.tr, "the run is over");
        }
        kq.close(&mut srv.tr);
        Ok(())
    }
    // ANCHOR_END: serve

    // ANCHOR: drain
    /// Reads what is there (draining to `EAGAIN`, so data that came with `EV_EOF` is not lost),
    /// sends what is pending, and adjusts the filters. Returns whether to close the connection.
    fn serve_conn(tr: &mut Tracer, w: &mut Watched, changes: &mut Vec<Event>) -> bool {
        let fd = w.conn.raw();
        while w.conn.can_read() {
            match w.conn.recv(tr) {
                Recv::Data(_) => {}
                Recv::Eof | Recv::WouldBlock => break,
                Recv::Failed(_) => return true,
            }
        }
        if w.conn.wants_write() {
            match w.conn.send(tr) {
                Send::Done | Send::WouldBlock => {}
                Send::Failed(_) => return true,
            }
        }
        if w.conn.finished() {
            return true;
        }
        // Interest follows the state: write while a send waits, read while there is room.
        let want_write = w.conn.wants_write();
        if want_write != w.writing {
            let flags = if want_write {
                EventFlags::ADD
            } else {
                EventFlags::DELETE
            };
            changes.push(change(EventFilter::Write(fd), flags));
            w.writing = want_write;
        }
        let want_read = w.conn.can_read();
        if want_read != w.reading {
            let flags = if want_read {
                EventFlags::ENABLE
            } else {
                EventFlags::DISABLE
            };
            changes.push(change(EventFilter::Read(fd), flags));
            w.reading = want_read;
        }
        false
    }
    // ANCHOR_END: drain
}

fn notice(s: &Summary) -> Vec<String> {
    let waits = s.calls.get("kevent").copied().unwrap_or(0);
    vec![
        format!(
            "{waits} kevent calls: each one handed the kernel our interest changes and slept until a socket was ready — no EAGAIN spinning ({} EAGAIN answers, from draining)",
            s.eagain
        ),
        format!(
            "{} bytes copied by our own recvfrom calls: readiness says \"you may read now\"; stage ② is still the server's",
            s.bytes_in
        ),
    ]
}
