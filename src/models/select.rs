//! I/O multiplexing with `select(2)` (UNP figure 6.3): one call waits on many descriptors.
//!
//! Stage ① moves into `select`: the thread sleeps there until at least one descriptor in its
//! sets is readable or writable, and the kernel answers by overwriting the sets with the ready
//! bits. Stage ② is still the process's own `recvfrom`, which no longer waits (data is there).
//! The process is told by *readiness*, and must find out *who* is ready by testing every bit
//! (`FD_ISSET`) — a linear scan, every time.
//!
//! An `fd_set` is a fixed bitmap of `FD_SETSIZE` (1024) bits: a descriptor numbered 1024 or more
//! has no bit, and `FD_SET` on it writes past the end of the set. So a `select` server cannot
//! watch descriptor 1024, however many connections it could otherwise hold. This server refuses
//! such a connection (closes it, and says why) and keeps serving the rest. Winsock's `fd_set`
//! is another shape with another wall: an array of at most 64 sockets and a count, so a Windows
//! `select` server cannot watch a 65th socket, whatever its handle value.
//!
//! See select(2), select_tut(2) (`FD_SETSIZE`), UNP §6.3 and §16.6 (a nonblocking listener).

use super::{Kind, Model};
use crate::echo::Conn;
use crate::limits;
use crate::server::{Server, accept_never_waits};
use crate::sys::select::{Sets, fits, wall, wall_hit, wall_not_hit};
use crate::sys::set_nonblocking;
use crate::trace::summary::Summary;
use anyhow::Context;
use rustix::io::{Errno, Result};

pub const MODEL: Model = Model {
    name: "select",
    summary: "select(2) sleeps on fd_set bitmaps; the process scans them for who is ready",
    kind: Kind::Readiness,
    figure: "6.3",
    platforms: "Linux, macOS, BSD, Windows",
    serve: Some(serve),
    instead: "",
    state: "a list of connections; two fd_set bitmaps rebuilt from it before every select",
    told: "readiness",
    notice,
    examples: &[
        "iomodels select --scenario demos/crowd.scenario    one fd_set scanned for four clients",
        "iomodels select --idle 1000            1000 idle descriptors in the fd_set, scanned each wake-up",
    ],
};

// ANCHOR: serve
/// Loop: rebuild the read and write `fd_set`s → `select(nfds, &read, &write, NULL, NULL)` sleeps
/// until something is ready → scan every descriptor with `FD_ISSET` → accept, read, write.
#[doc(alias = "FD_SET")]
#[doc(alias = "FD_ISSET")]
#[doc(alias = "FD_ZERO")]
#[doc(alias = "FD_SETSIZE")]
pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
    let lfd = srv.lfd();
    set_nonblocking(&mut srv.tr, &srv.listener, accept_never_waits("select"));
    let mut conns: Vec<Conn> = Vec::new();
    let accepted = crate::t!("select-accept");
    loop {
        // 1. Rebuild both sets from scratch: select overwrote them last time.
        let mut sets = Sets::new();
        sets.read(lfd);
        for c in &conns {
            // Every connection in `conns` fits in a set: the others were refused.
            if c.can_read() {
                sets.read(c.raw());
            }
            if c.wants_write() {
                sets.write(c.raw());
            }
        }

        // 2. Stage ①: sleep until some descriptor is ready. The kernel checks nfds slots.
        match sets.select(&mut srv.tr) {
            Err(Errno::INTR) => continue,
            r => r.with_context(|| crate::t!("err-failed", call = "select"))?,
        };

        // 3. Who is ready? Test every descriptor we put in, one FD_ISSET at a time. First the
        //    listener: a client is waiting (or the harness shut it down).
        if sets.readable(lfd) {
            let over = srv.accept_waiting(&accepted, |srv, conn| {
                // The listener and every connection so far take a place in the set too.
                if fits(conn.raw(), conns.len() + 2) {
                    conns.push(conn);
                } else {
                    let fd = conn.raw();
                    limits::refuse(&mut srv.tr, conn.fd, move |_: &Result<()>| {
                        crate::t!("select-refused", why = wall(fd))
                    });
                }
                Ok(())
            })?;
            if over {
                break;
            }
        }

        // 4. Stage ②: read what select said is there, and write where there is room.
        let mut i = 0;
        while i < conns.len() {
            let conn = &mut conns[i];
            let readable = sets.readable(conn.raw());
            // Try the echo at once; only what does not fit waits for writability.
            let writable = readable || sets.writable(conn.raw());
            match conn.serve_ready(&mut srv.tr, readable, writable) {
                Some(why) => conns.remove(i).close(&mut srv.tr, why),
                None => i += 1,
            }
            // A chat: what it said goes to the other members now, a sendto each, ready or
            // not (a full send buffer answers EAGAIN, and the rest waits for the write set).
            super::fan_out(srv, &mut conns, &mut i, |_| ());
        }
    }
    for conn in conns {
        conn.close(&mut srv.tr, crate::t!("models-run-over"));
    }
    Ok(())
}
// ANCHOR_END: serve

fn notice(s: &Summary) -> Vec<String> {
    let per_wakeup = |n: u64| format!("{:.1}", n as f64 / s.wakeups.max(1) as f64);
    let mut out = vec![crate::t!(
        "select-notice-wakeups",
        wakeups = s.wakeups.to_string(),
        watched = per_wakeup(s.watched),
        ready = per_wakeup(s.ready)
    )];
    out.push(if s.refused > 0 {
        wall_hit(s.refused, s.accepted, s.max_fd)
    } else {
        wall_not_hit(s.max_fd)
    });
    out
}
