//! Readiness through Winsock event objects (UNP figure 6.3, Windows-style): `WSAEventSelect`
//! ties each socket's network events to an event object, and one thread sleeps in
//! `WSAWaitForMultipleEvents` on all of them.
//!
//! Stage ① moves into `WSAWaitForMultipleEvents`: the thread sleeps until Winsock signals one of
//! the events (data arrived, a connection waits, room to write, the peer closed). The answer is
//! only *which event*: `WSAEnumNetworkEvents` then says what happened on its socket
//! (`FD_ACCEPT`, `FD_READ`, `FD_WRITE`, `FD_CLOSE`) and resets it. Stage ② is still the process's
//! own `recv`, which no longer waits. Winsock re-arms an event only when the program makes the
//! call that consumes it (`recv` for `FD_READ`, `accept` for `FD_ACCEPT`, a `send` that answered
//! `WSAEWOULDBLOCK` for `FD_WRITE`), so a read the server put off (its echo backlog was full)
//! is remembered here, not asked again.
//!
//! The wall: one wait takes at most `WSA_MAXIMUM_WAIT_EVENTS` (64) handles, and the listener
//! has one of them. More connections need more waiting threads, each with its own 64, and a way
//! to share the work between them. This server keeps to one thread, as select keeps to one
//! fd_set: past the wall a connection is accepted, told nothing, and closed, with a trace line
//! saying why (`--idle 70` shows it). That the answer to "more than 64" is "more threads" is the
//! problem I/O completion ports solve (`iocp --workers`).
//!
//! See WSAEventSelect, WSAWaitForMultipleEvents, WSAEnumNetworkEvents, WSACreateEvent and
//! WSACloseEvent on learn.microsoft.com.

use super::{Kind, Model, Serve};
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "wsaevent",
    summary: "WSAEventSelect: an event object per socket, one thread in WSAWaitForMultipleEvents (at most 64)",
    kind: Kind::Readiness,
    figure: "6.3",
    platforms: "Windows",
    serve: SERVE,
    instead: super::here("poll", "poll", ""),
    state: "a list of connections, each with its event object; the events' array is what the thread waits on",
    told: "readiness (an event object signalled, then WSAEnumNetworkEvents)",
    notice,
    examples: &[
        "iomodels wsaevent                      an event per socket, one WSAWaitForMultipleEvents",
        "iomodels wsaevent --idle 70            the 64-event wall: the 64th connection is refused",
    ],
};

/// The server loop, where this OS has Winsock event objects.
#[cfg(windows)]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(windows))]
const SERVE: Option<Serve> = None;

#[cfg(windows)]
mod server {
    use crate::echo::{Conn, Recv, Send};
    use crate::lang::Msg;
    use crate::limits;
    use crate::server::Server;
    use crate::sys::wsaevent::{self, Event, Interest, MAX_EVENTS, News, Timeout};
    use crate::sys::{call_failed, failed};
    use crate::trace::Tracer;
    use anyhow::Context;
    use rustix::io::{Errno, Result};

    /// How long the wait sleeps before it looks at the listener anyway (see `serve`): long
    /// enough that the lesson's runs, whose clients act every 50 ms, never see it.
    const LOOK_AGAIN_MS: u32 = 500;

    /// A connection, and what its event has told us that is not acted on yet.
    struct Watched {
        conn: Conn,
        /// `FD_READ` (or `FD_CLOSE`) came and no `recv` has consumed it yet. Winsock will not
        /// signal `FD_READ` again until a `recv`, so a read put off is remembered here.
        owe_read: bool,
        /// `FD_CLOSE` came: read until `recv` answers 0, whatever `FD_READ` says.
        closed: bool,
        /// A `send` may go out: no `WSAEWOULDBLOCK` since the last `FD_WRITE`.
        may_write: bool,
    }

    impl Watched {
        /// Something to do without waiting for an event.
        fn owes_work(&self) -> bool {
            (self.owe_read && self.conn.can_read()) || (self.may_write && self.conn.wants_write())
        }
    }

    // ANCHOR: serve
    /// An event for the listener (`FD_ACCEPT`), one per connection (`FD_READ|FD_WRITE|FD_CLOSE`);
    /// loop: `WSAWaitForMultipleEvents` → `WSAEnumNetworkEvents` on the signalled one → accept,
    /// `recv`, `send`.
    #[doc(alias = "WSAEventSelect")]
    #[doc(alias = "WSAWaitForMultipleEvents")]
    #[doc(alias = "WSAEnumNetworkEvents")]
    #[doc(alias = "WSA_MAXIMUM_WAIT_EVENTS")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        // events[0] is the listener's; events[i + 1] is conns[i]'s.
        let mut events = vec![
            Event::on_listener(&mut srv.tr, &srv.listener)
                .with_context(|| crate::t!("win-listener-event-failed"))?,
        ];
        let mut conns: Vec<Watched> = Vec::new();
        let mut over = false;
        while !over {
            // Stage ①: sleep until an event is signalled (not at all when a put-off read or
            // send can go now). The lowest signalled index wins, so after each one the wait
            // goes on past it, without sleeping: every socket gets its turn.
            let owed = conns.iter().any(Watched::owes_work);
            let mut timeout = if owed {
                Timeout::Ms(0)
            } else {
                Timeout::Ms(LOOK_AGAIN_MS)
            };
            let mut from = 0;
            while from < events.len() && !over {
                let at = match wsaevent::wait(
                    &mut srv.tr,
                    &events[from..],
                    from,
                    timeout,
                    false,
                    signalled(from, !owed),
                ) {
                    Ok(Some(k)) => from + k as usize,
                    // A whole quiet wait: look at the listener anyway. Under Wine, a burst of
                    // connections (or the harness's wake-up among clients) can leave its event
                    // unsignalled with clients waiting, and the run would never end.
                    Ok(None) if from == 0 && !owed => {
                        over = accept_all(srv, &mut events, &mut conns)?;
                        break;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return Err(
                            anyhow::Error::from(e).context(call_failed("WSAWaitForMultipleEvents"))
                        );
                    }
                };
                from = at + 1;
                timeout = Timeout::Ms(0);
                if at == 0 {
                    over = accept_all(srv, &mut events, &mut conns)?;
                    continue;
                }
                // What happened on that socket (the event is reset).
                let w = &mut conns[at - 1];
                match events[at].news(&mut srv.tr, &w.conn.fd) {
                    Ok(news) => take(w, news),
                    Err(_) => w.conn.eof = true,
                }
            }
            // Stage ②: read and write what the events said, and what was put off.
            let mut i = 0;
            while i < conns.len() {
                match serve_one(&mut srv.tr, &mut conns[i]) {
                    Some(why) => {
                        conns.remove(i).conn.close(&mut srv.tr, why);
                        events
                            .remove(i + 1)
                            .close(&mut srv.tr, crate::msg!("wsaevent-free-event"));
                    }
                    None => i += 1,
                }
            }
        }
        for (w, ev) in conns.into_iter().zip(events.drain(1..)) {
            w.conn.close(&mut srv.tr, crate::msg!("models-run-over"));
            ev.close(&mut srv.tr, crate::msg!("wsaevent-free-event"));
        }
        for ev in events {
            ev.close(&mut srv.tr, crate::msg!("win-listener-event"));
        }
        Ok(())
    }
    // ANCHOR_END: serve

    /// `FD_ACCEPT`: accept every connection waiting (Winsock signals again only after an
    /// `accept`); each gets an event of its own, unless the wait's 64 handles are taken. Returns
    /// `true` when the harness ended the run.
    fn accept_all(
        srv: &mut Server,
        events: &mut Vec<Event>,
        conns: &mut Vec<Watched>,
    ) -> anyhow::Result<bool> {
        let _ = events[0].news(&mut srv.tr, &srv.listener);
        loop {
            let conn = match srv.accept(false, &crate::t!("win-fd-accept")) {
                Ok(conn) => conn,
                Err(Errno::AGAIN) => return Ok(false),
                Err(Errno::CONNABORTED | Errno::INTR) => continue,
                Err(Errno::INVAL) => return Ok(true),
                Err(e) => return Err(anyhow::Error::from(e).context(crate::t!("accept-failed"))),
            };
            if events.len() == MAX_EVENTS {
                let fd = conn.raw();
                limits::refuse(&mut srv.tr, conn.fd, move |_: &Result<()>| wall(fd));
                continue;
            }
            let index = events.len();
            let ev = Event::create(&mut srv.tr, move |_: &Result<i64>| {
                crate::t!(
                    "wsaevent-event-conn",
                    index = index.to_string(),
                    max = MAX_EVENTS.to_string()
                )
            })
            .with_context(|| call_failed("WSACreateEvent"))?;
            // It replaces the listener's selection, which an accepted socket inherits.
            if ev
                .select(
                    &mut srv.tr,
                    &conn.fd,
                    Interest::CONNECTION,
                    crate::msg!("wsaevent-select-conn"),
                )
                .is_err()
            {
                conn.close(&mut srv.tr, crate::msg!("models-conn-failed"));
                ev.close(&mut srv.tr, crate::msg!("wsaevent-free-event"));
                continue;
            }
            events.push(ev);
            conns.push(Watched {
                conn,
                owe_read: false,
                closed: false,
                // Winsock signals FD_WRITE once a connection is accepted; no need to wait for it.
                may_write: true,
            });
        }
    }

    /// What `WSAEnumNetworkEvents` said, noted for stage ②.
    fn take(w: &mut Watched, news: News) {
        if news.error() != 0 {
            // The next recv reports the failure itself.
            w.owe_read = true;
        }
        w.owe_read |= news.events.read() || news.events.close();
        w.closed |= news.events.close();
        w.may_write |= news.events.write();
    }

    /// One `recv` if a read is owed and there is room for it, one `send` if there is something
    /// to echo and the socket may take it. Returns why to close the connection.
    fn serve_one(tr: &mut Tracer, w: &mut Watched) -> Option<Msg> {
        if w.owe_read && w.conn.can_read() {
            match w.conn.recv(tr) {
                Recv::Failed(_) => return Some(crate::msg!("models-conn-failed")),
                // This recv re-armed FD_READ; after FD_CLOSE, read on until 0.
                _ => w.owe_read = w.closed && !w.conn.eof,
            }
        }
        if w.may_write && w.conn.wants_write() {
            let before = w.conn.pending();
            match w.conn.send(tr) {
                Send::Failed(_) => return Some(crate::msg!("models-conn-failed")),
                // Nothing went: WSAEWOULDBLOCK, and FD_WRITE will say when there is room. (A
                // partial send may try again at once.)
                Send::WouldBlock if w.conn.pending() == before => w.may_write = false,
                _ => {}
            }
        }
        w.conn.finished().then_some(crate::msg!("models-conn-done"))
    }

    /// Why a connection past the wall is refused.
    fn wall(fd: i32) -> String {
        crate::t!(
            "wsaevent-refused",
            fd = fd.to_string(),
            nth = (MAX_EVENTS + 1).to_string(),
            max = MAX_EVENTS.to_string()
        )
    }

    /// The gloss of a wait over `events[from..]`.
    /// `quiet`: the wait that sleeps (not one that only looks, with work put off).
    fn signalled(from: usize, quiet: bool) -> impl FnOnce(&Result<u32>) -> String {
        move |r| match r {
            Ok(k) if from + *k as usize == 0 => crate::t!("wsaevent-signalled-listener"),
            Ok(k) => crate::t!(
                "wsaevent-signalled",
                index = (from + *k as usize).to_string()
            ),
            r if wsaevent::timed_out(r) && from == 0 && quiet => {
                crate::t!("wsaevent-timeout-quiet", ms = LOOK_AGAIN_MS.to_string())
            }
            r if wsaevent::timed_out(r) && from == 0 => crate::t!("wsaevent-timeout-first"),
            r if wsaevent::timed_out(r) => crate::t!("wsaevent-timeout-rest"),
            Err(e) => failed(*e),
        }
    }
}

fn notice(s: &Summary) -> Vec<String> {
    let waits = s
        .calls
        .get("WSAWaitForMultipleEvents")
        .copied()
        .unwrap_or(0);
    let news = s.calls.get("WSAEnumNetworkEvents").copied().unwrap_or(0);
    vec![
        crate::t!(
            "wsaevent-notice-calls",
            waits = waits.to_string(),
            news = news.to_string()
        ),
        if s.refused > 0 {
            crate::t!(
                "wsaevent-notice-wall-hit",
                refused = s.refused.to_string(),
                accepted = s.accepted.to_string()
            )
        } else {
            crate::t!("wsaevent-notice-wall-not-hit")
        },
    ]
}
