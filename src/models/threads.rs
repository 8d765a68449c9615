//! Thread per connection (UNP figure 6.1, once per thread): blocking I/O, many times over.
//!
//! The main thread sleeps in `accept4`; each new connection gets its own thread (`clone3`), which
//! sleeps in its own `recvfrom`. Stage ① and ② are still one blocking call, but the kernel's
//! scheduler now juggles the clients: whichever thread's data arrives runs. Each connection's
//! state (its buffer, where it is in the echo) lives on its thread's stack.
//!
//! See clone(2), pthread_create(3), accept(2), recv(2).

use super::{Kind, Model};
use crate::echo::Conn;
use crate::server::Server;
use crate::trace::Tracer;
use crate::trace::summary::Summary;
use rustix::io::Errno;

pub const MODEL: Model = Model {
    name: "threads",
    summary: "a thread per client, each blocked in its own recv",
    kind: Kind::Threads,
    figure: "6.1×N",
    platforms: "Linux, macOS, BSD, Windows",
    serve: Some(serve),
    instead: "",
    state: "each connection's state lives on its own thread's stack; the kernel schedules them",
    told: "the call returning",
    notice,
    examples: &[
        "iomodels threads --scenario demos/crowd.scenario    a thread per client, all asleep at once",
        "iomodels threads --format json                      each call with the tid of its thread",
    ],
};

// ANCHOR: serve
/// `accept4` → `clone3` a worker for the client → back to `accept4`.
#[doc(alias = "clone3")]
#[doc(alias = "pthread_create")]
pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
    let mut workers = Vec::new();
    loop {
        let accepted = srv.accept(true, "sleep until a client has connected");
        let conn = match accepted {
            Ok(conn) => conn,
            Err(Errno::INVAL) => break,
            Err(Errno::CONNABORTED | Errno::INTR) => continue,
            Err(e) => return Err(anyhow::Error::from(e).context("accept4 failed")),
        };
        // A thread of its own for this client (`clone3`); this one goes back to accept.
        if let Some(worker) = srv.spawn(workers.len() + 2, conn, worker) {
            workers.push(worker);
        }
    }
    srv.tr
        .info("the listener is shut: waiting for the worker threads to finish");
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

/// One client's whole life, on its own thread: recv → send → … → close (and the thread's CPU
/// time, which every server thread records last: see `Server::spawn`).
fn worker(tr: &mut Tracer, mut conn: Conn) {
    conn.echo_blocking(tr);
    conn.close(tr, "this client is done; its thread ends");
}
// ANCHOR_END: serve

fn notice(s: &Summary) -> Vec<String> {
    vec![
        format!(
            "{} server threads for {} clients; the most served at once: {}",
            s.threads, s.accepted, s.max_open
        ),
        format!(
            "the longest any client's bytes waited before a recv took them: {:.1} ms — every client has a thread of its own to wait in",
            s.longest_wait().map_or(0, |w| w.wait_us) as f64 / 1e3
        ),
    ]
}
