//! The load generator: N connections in a closed loop, driven by ONE thread with `epoll`.
//!
//! Each connection sends a message, waits for its whole echo, checks it byte for byte, and only
//! then sends the next. One thread for all of them matters on a small machine: a client thread
//! per connection would compete with a single-threaded server for the same cores and decide the
//! ranking by itself.

use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use rustix::buffer::spare_capacity;
use rustix::event::epoll;
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// When the load stops.
#[derive(Clone, Copy, Debug)]
pub enum Until {
    /// Send for this long, then stop (echoes still in flight are not counted).
    Time(Duration),
    /// Each connection sends this many messages.
    Messages(u64),
}

/// What one load run measured.
pub struct Outcome {
    /// Echoes received in full.
    pub requests: u64,
    /// Echoes that matched what was sent, byte for byte.
    pub verified: u64,
    /// Connections that failed or echoed wrong bytes, with why: in English whatever the
    /// language, as they are values of the JSON's rows too (not yet translated for the table).
    pub errors: Vec<String>,
    /// Round-trip times, in nanoseconds.
    pub hist: Histogram<u64>,
    /// From the first send to the end of the load.
    pub elapsed: Duration,
}

/// One connection of the load.
struct Client {
    fd: OwnedFd,
    /// The message in flight.
    msg: Vec<u8>,
    sent: usize,
    got: usize,
    /// Messages echoed so far.
    done: u64,
    started: Instant,
    /// Whether EPOLLOUT is in the interest set (a partial send waits for room).
    wants_out: bool,
    alive: bool,
    /// No longer counted as active (failed, or sent its quota).
    retired: bool,
}

/// Fills `msg` with the bytes of message `seq` of connection `conn`: every message differs, so
/// an echo from the wrong connection or the wrong turn is caught.
fn fill(msg: &mut [u8], conn: usize, seq: u64) {
    let base = conn as u64 * 7 + seq * 13;
    for (i, b) in msg.iter_mut().enumerate() {
        *b = b'a' + ((base + i as u64) % 26) as u8;
    }
    if let Some(last) = msg.last_mut() {
        *last = b'\n';
    }
}

/// Opens `n` connections to `addr`, with `TCP_NODELAY` (small messages go out at once).
pub fn connect(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<TcpStream>> {
    (0..n)
        .map(|i| {
            let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| {
                anyhow::anyhow!(crate::t!(
                    "bench-err-connect",
                    i = (i + 1).to_string(),
                    n = n.to_string(),
                    addr = addr.to_string(),
                    why = e.to_string()
                ))
            })?;
            s.set_nodelay(true)?;
            Ok(s)
        })
        .collect()
}

/// Drives `streams` in a closed loop with `size`-byte messages until `until`; `last` runs
/// when the load is over, before the connections close (a thread-per-connection server still
/// has every thread then).
pub fn drive<R>(
    streams: Vec<TcpStream>,
    size: usize,
    until: Until,
    progress: Option<&ProgressBar>,
    last: impl FnOnce() -> R,
) -> anyhow::Result<(Outcome, R)> {
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    let mut clients = Vec::with_capacity(streams.len());
    for (i, s) in streams.into_iter().enumerate() {
        s.set_nonblocking(true)?;
        let fd = OwnedFd::from(s);
        epoll::add(
            &ep,
            &fd,
            epoll::EventData::new_u64(i as u64),
            epoll::EventFlags::IN,
        )?;
        clients.push(Client {
            fd,
            msg: vec![0; size.max(1)],
            sent: 0,
            got: 0,
            done: 0,
            started: Instant::now(),
            wants_out: false,
            alive: true,
            retired: false,
        });
    }
    let mut tally = Tally {
        requests: 0,
        verified: 0,
        errors: Vec::new(),
        hist: Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?,
        last_echo: Instant::now(),
    };
    let mut buf = vec![0u8; size.max(1)];
    let begun = Instant::now();
    let deadline = match until {
        Until::Time(d) => Some(begun + d),
        Until::Messages(_) => None,
    };
    let quota = match until {
        Until::Messages(n) => n,
        Until::Time(_) => u64::MAX,
    };
    let mut active = 0usize;
    for (i, c) in clients.iter_mut().enumerate() {
        if quota > 0 && start_message(&ep, c, i, &mut tally.errors) {
            active += 1;
        } else {
            c.retired = true;
        }
    }
    let mut events = Vec::with_capacity(256);
    let mut last_progress = Instant::now();
    let tick = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 50_000_000,
    };
    while active > 0 {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            break;
        }
        if now.duration_since(tally.last_echo) > Duration::from_secs(10) {
            tally.errors.push(format!(
                "no echo for 10 s with {active} messages in flight: the server is stuck"
            ));
            break;
        }
        if let Some(pb) = progress
            && now.duration_since(last_progress) > Duration::from_millis(100)
        {
            match until {
                Until::Time(d) => pb.set_position(
                    (now.duration_since(begun).as_millis() as u64).min(d.as_millis() as u64),
                ),
                Until::Messages(_) => pb.set_position(tally.requests),
            }
            last_progress = now;
        }
        events.clear();
        match epoll::wait(&ep, spare_capacity(&mut events), Some(&tick)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => {
                return Err(
                    anyhow::Error::from(e).context(crate::t!("err-failed", call = "epoll_wait"))
                );
            }
        }
        for ev in &events {
            let i = ev.data.u64() as usize;
            let c = &mut clients[i];
            if c.alive {
                serve_event(ev.flags, &ep, c, i, &mut buf, quota, &mut tally);
            }
            if !c.retired && (!c.alive || c.done >= quota) {
                c.retired = true;
                active -= 1;
            }
        }
    }
    let Tally {
        requests,
        verified,
        errors,
        hist,
        last_echo: _,
    } = tally;
    let elapsed = match deadline {
        Some(d) => d.min(Instant::now()).duration_since(begun),
        None => begun.elapsed(),
    };
    let end = last();
    // Dropping the descriptors closes every connection: the server sees EOF on each.
    drop(clients);
    let outcome = Outcome {
        requests,
        verified,
        errors,
        hist,
        elapsed,
    };
    Ok((outcome, end))
}

/// What the loop has counted so far.
struct Tally {
    requests: u64,
    verified: u64,
    errors: Vec<String>,
    hist: Histogram<u64>,
    last_echo: Instant,
}

/// Handles one readiness event of a connection: finish a partial send, read echo bytes, check
/// them, and start the next message when the echo is whole.
fn serve_event(
    flags: epoll::EventFlags,
    ep: &OwnedFd,
    c: &mut Client,
    i: usize,
    buf: &mut [u8],
    quota: u64,
    t: &mut Tally,
) {
    let errors = &mut t.errors;
    {
        {
            if flags.contains(epoll::EventFlags::OUT) && c.sent < c.msg.len() {
                push(ep, c, i, errors);
            }
            if !c.alive || !flags.intersects(epoll::EventFlags::IN | epoll::EventFlags::ERR) {
                return;
            }
            let want = c.sent.min(c.msg.len()) - c.got;
            let room = want.max(1).min(buf.len());
            match rustix::net::recv(&c.fd, &mut buf[..room], RecvFlags::empty()) {
                Ok((0, _)) => fail(c, errors, i, "the server closed the connection".into()),
                Ok((n, _)) if n > want => fail(
                    c,
                    errors,
                    i,
                    format!("{n} bytes came back before they were sent"),
                ),
                Ok((n, _)) => {
                    if buf[..n] != c.msg[c.got..c.got + n] {
                        fail(c, errors, i, "the echo differs from what was sent".into());
                    } else {
                        c.got += n;
                        if c.got == c.msg.len() {
                            let rtt = c.started.elapsed().as_nanos() as u64;
                            let _ = t.hist.record(rtt.max(1));
                            t.requests += 1;
                            t.verified += 1;
                            c.done += 1;
                            t.last_echo = Instant::now();
                            if c.done < quota {
                                start_message(ep, c, i, errors);
                            }
                        }
                    }
                }
                Err(Errno::AGAIN | Errno::INTR) => {}
                Err(e) => fail(c, errors, i, std::io::Error::from(e).to_string()),
            }
        }
    }
}

/// Starts the next message on a connection; false if the connection failed.
fn start_message(ep: &OwnedFd, c: &mut Client, i: usize, errors: &mut Vec<String>) -> bool {
    fill(&mut c.msg, i, c.done);
    c.sent = 0;
    c.got = 0;
    c.started = Instant::now();
    push(ep, c, i, errors);
    c.alive
}

/// Sends what is left of the message; a partial send waits for EPOLLOUT.
fn push(ep: &OwnedFd, c: &mut Client, i: usize, errors: &mut Vec<String>) {
    match rustix::net::send(&c.fd, &c.msg[c.sent..], SendFlags::NOSIGNAL) {
        Ok(n) => c.sent += n,
        Err(Errno::AGAIN | Errno::INTR) => {}
        Err(e) => {
            fail(c, errors, i, std::io::Error::from(e).to_string());
            return;
        }
    }
    let wants_out = c.sent < c.msg.len();
    if wants_out != c.wants_out {
        let mut flags = epoll::EventFlags::IN;
        if wants_out {
            flags |= epoll::EventFlags::OUT;
        }
        let _ = epoll::modify(ep, c.fd.as_fd(), epoll::EventData::new_u64(i as u64), flags);
        c.wants_out = wants_out;
    }
}

fn fail(c: &mut Client, errors: &mut Vec<String>, i: usize, why: String) {
    if c.alive {
        c.alive = false;
        errors.push(format!("connection {}: {why}", i + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_differ_by_connection_and_turn() {
        let mut a = vec![0; 8];
        let mut b = vec![0; 8];
        fill(&mut a, 0, 0);
        fill(&mut b, 1, 0);
        assert_ne!(a, b);
        fill(&mut b, 0, 1);
        assert_ne!(a, b);
        assert_eq!(a[7], b'\n');
    }
}
