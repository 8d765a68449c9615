//! A minimal single-threaded epoll echo server, the floor a readiness model can reach: no
//! trace, no abstractions, level-triggered `epoll_wait`, `accept4`, `recv`, `send`. A peer for
//! `iomodels bench --peer`.
//!
//! `peer-epoll [--port N]` prints `serving on IP:PORT …` first on stderr, like
//! `iomodels MODEL --serve`, and runs until killed (Ctrl-C).

use rustix::buffer::spare_capacity;
use rustix::event::epoll;
use rustix::fd::{AsFd, AsRawFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags, SocketFlags};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};

/// A connection and the echo bytes the kernel had no room for yet.
struct Conn {
    fd: OwnedFd,
    pending: Vec<u8>,
    /// Whether the interest is EPOLLOUT (waiting for room) rather than EPOLLIN.
    out: bool,
}

fn main() -> std::io::Result<()> {
    let port = port_arg();
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    eprintln!(
        "serving on {local} — connect with: nc {} {}",
        local.ip(),
        local.port()
    );
    let listener = OwnedFd::from(listener);
    let lfd = listener.as_raw_fd() as u64;
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    epoll::add(
        &ep,
        &listener,
        epoll::EventData::new_u64(lfd),
        epoll::EventFlags::IN,
    )?;
    let mut conns: HashMap<u64, Conn> = HashMap::new();
    let mut events = Vec::with_capacity(1024);
    let mut buf = vec![0u8; 4096];
    loop {
        events.clear();
        match epoll::wait(&ep, spare_capacity(&mut events), None) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        for ev in &events {
            let (key, flags) = (ev.data.u64(), ev.flags);
            if key == lfd {
                while let Ok(fd) = rustix::net::accept_with(&listener, SocketFlags::NONBLOCK) {
                    let k = fd.as_raw_fd() as u64;
                    epoll::add(
                        &ep,
                        &fd,
                        epoll::EventData::new_u64(k),
                        epoll::EventFlags::IN,
                    )?;
                    conns.insert(
                        k,
                        Conn {
                            fd,
                            pending: Vec::new(),
                            out: false,
                        },
                    );
                }
                continue;
            }
            let Some(c) = conns.get_mut(&key) else {
                continue;
            };
            let mut close = false;
            if !c.pending.is_empty() && flags.contains(epoll::EventFlags::OUT) {
                close = flush(&ep, c, key, &[]);
            }
            if !close
                && c.pending.is_empty()
                && flags.intersects(
                    epoll::EventFlags::IN | epoll::EventFlags::ERR | epoll::EventFlags::HUP,
                )
            {
                match rustix::net::recv(&c.fd, &mut buf, RecvFlags::empty()) {
                    Ok((0, _)) => close = true,
                    Ok((n, _)) => close = flush(&ep, c, key, &buf[..n]),
                    Err(Errno::AGAIN | Errno::INTR) => {}
                    Err(_) => close = true,
                }
            }
            if close {
                conns.remove(&key);
            }
        }
    }
}

/// Sends the pending bytes and then `more`; what does not fit waits for EPOLLOUT (and reading
/// stops until it is gone). Returns true if the connection failed.
fn flush(ep: &OwnedFd, c: &mut Conn, key: u64, more: &[u8]) -> bool {
    c.pending.extend_from_slice(more);
    let mut sent = 0;
    while sent < c.pending.len() {
        match rustix::net::send(&c.fd, &c.pending[sent..], SendFlags::NOSIGNAL) {
            Ok(n) => sent += n,
            Err(Errno::AGAIN) => break,
            Err(Errno::INTR) => {}
            Err(_) => return true,
        }
    }
    c.pending.drain(..sent);
    let out = !c.pending.is_empty();
    if out != c.out {
        let flags = if out {
            epoll::EventFlags::OUT
        } else {
            epoll::EventFlags::IN
        };
        let _ = epoll::modify(ep, c.fd.as_fd(), epoll::EventData::new_u64(key), flags);
        c.out = out;
    }
    false
}

fn port_arg() -> u16 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}
