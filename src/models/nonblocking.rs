//! Nonblocking I/O with busy polling (UNP figure 6.2): ask, ask again, and again.
//!
//! Every socket is set `O_NONBLOCK` with `fcntl`. Stage ① becomes the process's job: it asks each
//! socket in turn whether anything is there, and the kernel answers `EAGAIN` ("not yet") until
//! something is. Between rounds the server is free to do other work, and it never sleeps, so it
//! burns a whole CPU even when nobody talks to it. Stage ② is still a copy the process waits for
//! inside the `recvfrom` that finally succeeds.
//!
//! See fcntl(2) (`O_NONBLOCK`), accept(2) and recv(2) (`EAGAIN`).

use super::{Kind, Model};
use crate::echo::Conn;
use crate::server::Server;
use crate::sys::set_nonblocking;
use crate::trace::summary::Summary;
use crate::trace::text::thousands;

pub const MODEL: Model = Model {
    name: "nonblocking",
    summary: "O_NONBLOCK sockets polled in a loop: EAGAIN, EAGAIN, … data",
    kind: Kind::Polling,
    figure: "6.2",
    platforms: "Linux, macOS, BSD, Windows",
    serve: Some(serve),
    instead: "",
    state: "a list of connections the loop walks; each entry holds its unsent echo",
    told: "a recv that succeeds",
    notice,
    examples: &[
        "iomodels nonblocking                   EAGAIN, EAGAIN, …: the spins, folded and counted",
        "iomodels nonblocking --read-size 1     partial reads: one byte per recvfrom",
        "iomodels nonblocking --scenario demos/slow-sender.scenario",
    ],
};

// ANCHOR: serve
/// Loop forever: try `accept4`, try `recvfrom` on every client, send what is pending, do a
/// unit of other work; no call ever sleeps.
#[doc(alias = "O_NONBLOCK")]
#[doc(alias = "EAGAIN")]
pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
    let why = crate::msg!("nonblocking-listener");
    set_nonblocking(&mut srv.tr, &srv.listener, why);
    let mut conns: Vec<Conn> = Vec::new();
    let accepted = crate::t!("nonblocking-accept");
    loop {
        // Are connections waiting? Take them all (stage ① for connections, asked, not waited for).
        let over = srv.accept_waiting(&accepted, |_, conn| {
            conns.push(conn);
            Ok(())
        })?;
        if over {
            break;
        }

        // Ask every client in turn; the answer is usually EAGAIN.
        let mut i = 0;
        while i < conns.len() {
            let conn = &mut conns[i];
            let readable = conn.can_read();
            match conn.serve_ready(&mut srv.tr, readable, true) {
                Some(why) => conns.remove(i).close(&mut srv.tr, why),
                None => i += 1,
            }
            // A chat: what it said goes to the other members now, a sendto each.
            super::fan_out(srv, &mut conns, &mut i, |_| ());
        }

        // Nothing blocks, so the process is free between rounds: it does other work.
        srv.tr.work(&mut srv.work);
    }
    for conn in conns {
        conn.close(&mut srv.tr, crate::t!("models-run-over"));
    }
    Ok(())
}
// ANCHOR_END: serve

fn notice(s: &Summary) -> Vec<String> {
    vec![
        crate::t!(
            "nonblocking-notice-eagain",
            eagain = thousands(s.eagain),
            pct = format!("{:.0}", 100.0 * s.eagain as f64 / s.syscalls.max(1) as f64),
            calls = thousands(s.syscalls)
        ),
        crate::t!(
            "nonblocking-notice-never-slept",
            cpu = format!("{:.1}", s.cpu_us as f64 / 1e3),
            run = format!("{:.1}", s.run_us as f64 / 1e3),
            work = thousands(s.work)
        ),
    ]
}
