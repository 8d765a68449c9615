//! Blocking I/O (UNP figure 6.1): one connection at a time, every call waits.
//!
//! Stage ① and stage ② happen inside one `recvfrom`: the thread sleeps until data arrives, then
//! the kernel copies it, then the call returns. While the server sleeps on client A, client B can
//! connect and send: the kernel finishes B's handshake and buffers B's bytes, but nobody reads
//! them until A is done. That is head-of-line blocking, and the trace shows how long B waited.
//!
//! See accept(2), recv(2), send(2), ioctl_fionread via tcp(7).

use super::{Kind, Model};
use crate::server::Server;
use crate::trace::summary::Summary;
use rustix::io::{Errno, Result};

pub const MODEL: Model = Model {
    name: "blocking",
    summary: "one client at a time; every call sleeps until it is done",
    kind: Kind::Blocking,
    figure: "6.1",
    platforms: "Linux, macOS, BSD, Windows",
    serve: Some(serve),
    instead: "",
    state: "the server's one stack: it can hold only the connection it is serving",
    told: "the call returning",
    notice,
    examples: &[
        "iomodels blocking                      B's bytes wait in the kernel while the server is stuck on A",
        "iomodels blocking --scenario demos/slow-sender.scenario",
        "iomodels blocking --serve --port 7000  then, in two terminals: nc 127.0.0.1 7000",
    ],
};

// ANCHOR: serve
/// `accept4(listener)` → serve that one client to the end → `close` → accept the next.
#[doc(alias = "accept4")]
#[doc(alias = "recvfrom")]
pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
    loop {
        // Stage ① for connections: sleep until a client's handshake is done.
        let accepted = srv.accept(true, &crate::t!("blocking-accept"));
        let mut conn = match accepted {
            Ok(conn) => conn,
            // The harness shut the listener down: the run is over.
            Err(Errno::INVAL) => return Ok(()),
            Err(Errno::CONNABORTED | Errno::INTR) => continue,
            Err(e) => {
                return Err(
                    anyhow::Error::from(e).context(crate::t!("err-failed", call = "accept4"))
                );
            }
        };

        // How much did this client send while we were busy with someone else?
        let _ = crate::sys::bytes_waiting(&mut srv.tr, &conn.fd, waited);

        // Stage ① + ②: each recvfrom sleeps until data arrives, then copies it.
        conn.echo_blocking(&mut srv.tr);
        conn.close(&mut srv.tr, crate::t!("blocking-done"));
    }
}
// ANCHOR_END: serve

/// What `FIONREAD` found: the gloss of the `ioctl`.
fn waited(r: &Result<u64>) -> String {
    match r {
        Ok(0) => crate::t!("blocking-waiting-none"),
        Ok(n) => crate::t!("blocking-waiting", n = n.to_string()),
        Err(_) => crate::t!("blocking-waiting-failed"),
    }
}

fn notice(s: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(w) = s.longest_wait() {
        out.push(crate::t!(
            "blocking-notice-head",
            client = w.client.to_string(),
            bytes = w.bytes.to_string(),
            ms = format!("{:.1}", w.wait_us as f64 / 1e3)
        ));
    }
    out.push(crate::t!(
        "blocking-notice-open",
        n = s.max_open.to_string()
    ));
    out
}
