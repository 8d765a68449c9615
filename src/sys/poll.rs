//! `poll(2)` (Winsock: `WSAPoll`), traced: an array with one entry per descriptor watched, and
//! the call that sleeps until one of them is ready. The entry type, its flags and the call itself
//! are this OS's (`unix/poll.rs`, `windows/poll.rs`: the same items); what the trace shows of
//! them is written once, here.
//!
//! See poll(2), WSAPoll (Winsock).

#[cfg(unix)]
#[path = "unix/poll.rs"]
mod os;
#[cfg(windows)]
#[path = "windows/poll.rs"]
mod os;

pub use os::{POLL_BITS, POLLERR, POLLHUP, POLLIN, POLLOUT, PollFd, pollfd};

use crate::trace::{Call, Gloss, Stage, Tracer, names};
use rustix::io::Result;
use std::fmt;

/// `poll(fds, nfds, -1)`: stage ①, sleeping until an entry is ready; the kernel writes what
/// happened into each entry's `revents`, and the process walks the whole array to find them.
/// `rewritten`: how many entries the process wrote since its last call (the rest it kept).
#[doc(alias = "WSAPoll")]
pub fn wait(tr: &mut Tracer, fds: &mut [PollFd], rewritten: usize) -> Result<usize> {
    let call = Call::new(os::POLL, Stage::DataReady)
        .args(format_args!("{}, {}, -1", Entries(fds, false), fds.len()))
        .blocking(true);
    let start = tr.enter(&call);
    let r = super::count(os::poll(fds, -1));
    let fds = &*fds;
    let watched = fds.len();
    tr.record(
        call,
        start,
        &r,
        |_, ev| {
            ev.watched = Some(watched as u64);
            ev.rewritten = Some(rewritten as u64);
        },
        |r: &Result<usize>| match r {
            Ok(n) => crate::t!(
                "poll-ready",
                watched = watched.to_string(),
                rewritten = rewritten.to_string(),
                n = n.to_string(),
                which = Entries(fds, true).to_string()
            ),
            Err(_) => crate::t!("poll-failed"),
        },
    );
    r
}

/// `poll([{fd, POLLIN}], 1, 0)`: is `fd` readable right now? Never sleeps; `gloss` says what the
/// answer means.
pub fn peek(tr: &mut Tracer, fd: i32, gloss: impl Gloss<usize>) -> Result<usize> {
    let mut one = [pollfd(fd, POLLIN)];
    let call =
        Call::new(os::POLL, Stage::DataReady).args(format_args!("{}, 1, 0", Entries(&one, false)));
    tr.call(call, || super::count(os::poll(&mut one, 0)), gloss)
}

/// `POLLIN|POLLOUT`: poll's event bits by name, the way strace prints them (also SIGIO's
/// `si_band`, which carries the same bits).
pub fn flag_names(bits: u64) -> String {
    names::flags(bits, POLL_BITS)
}

/// `[{fd=3, events=POLLIN}, …]`, or after the call the entries with `revents` set (`true`):
/// the first six, formatted only when shown.
struct Entries<'a>(&'a [PollFd], bool);

impl fmt::Display for Entries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let Entries(fds, returned) = *self;
        let bits = |b: i16| flag_names(b as u16 as u64);
        let entries: Vec<String> = fds
            .iter()
            .filter(|p| !returned || p.revents != 0)
            .map(|p| {
                if returned {
                    format!("{{fd={}, revents={}}}", os::fd(p), bits(p.revents))
                } else {
                    format!("{{fd={}, events={}}}", os::fd(p), bits(p.events))
                }
            })
            .collect();
        f.write_str(&names::list(&entries, ", ", 6))
    }
}
