//! Winsock's event objects, traced: `WSACreateEvent` (a manual-reset event), `WSAEventSelect`
//! (tie a socket's network events to it), `WSAWaitForMultipleEvents` (sleep until one of at
//! most `WSA_MAXIMUM_WAIT_EVENTS` is signalled — alertably, so that completion routines run
//! inside it), `WSAEnumNetworkEvents` (what happened, and reset the event) and `WSACloseEvent`.
//!
//! See WSACreateEvent, WSAEventSelect, WSAWaitForMultipleEvents, WSAEnumNetworkEvents and
//! WSACloseEvent on learn.microsoft.com.

use super::failed;
use super::iocp::wsa_error;
use crate::lang::Msg;
use crate::trace::{Call, Gloss, Stage, Tracer};
use rustix::fd::AsRawFd;
use rustix::io::{Errno, Result};
use std::fmt;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Networking::WinSock::{
    FD_ACCEPT, FD_ACCEPT_BIT, FD_CLOSE, FD_CLOSE_BIT, FD_READ, FD_READ_BIT, FD_WRITE, FD_WRITE_BIT,
    SOCKET, SOCKET_ERROR, WSA_MAXIMUM_WAIT_EVENTS, WSA_WAIT_IO_COMPLETION, WSA_WAIT_TIMEOUT,
    WSACloseEvent, WSACreateEvent, WSAEnumNetworkEvents, WSAEventSelect, WSANETWORKEVENTS,
    WSAWaitForMultipleEvents,
};

/// Most events one `WSAWaitForMultipleEvents` can wait on (`WSA_MAXIMUM_WAIT_EVENTS`, which is
/// `MAXIMUM_WAIT_OBJECTS`).
pub const MAX_EVENTS: usize = WSA_MAXIMUM_WAIT_EVENTS as usize;

/// What a wait returned when completion routines ran inside it (`WSA_WAIT_IO_COMPLETION`).
pub const IO_COMPLETION: u32 = WSA_WAIT_IO_COMPLETION as u32;

/// `WAIT_TIMEOUT`, as an error: folded like every other "nothing yet".
const TIMED_OUT: Errno = Errno::from_raw_os_error(WSA_WAIT_TIMEOUT as i32);

/// A set of network events, by the names `WSAEventSelect` takes (`FD_READ|FD_CLOSE`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u32);

impl Interest {
    /// A listener's: a connection waits to be accepted. (An accepted socket inherits this
    /// selection, and `FD_ACCEPT` never happens on a connection.)
    pub const LISTENER: Interest = Interest(FD_ACCEPT);
    /// A connection's: data (or its end) to read, room to write, the peer gone.
    pub const CONNECTION: Interest = Interest(FD_READ | FD_WRITE | FD_CLOSE);
    /// None: `WSAEventSelect(s, event, 0)` ends the socket's association with any event.
    pub const NONE: Interest = Interest(0);

    pub fn read(self) -> bool {
        self.0 & FD_READ != 0
    }
    pub fn write(self) -> bool {
        self.0 & FD_WRITE != 0
    }
    pub fn close(self) -> bool {
        self.0 & FD_CLOSE != 0
    }
}

impl fmt::Display for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (FD_ACCEPT, "FD_ACCEPT"),
            (FD_READ, "FD_READ"),
            (FD_WRITE, "FD_WRITE"),
            (FD_CLOSE, "FD_CLOSE"),
        ];
        let mut first = true;
        for (bit, name) in names {
            if self.0 & bit != 0 {
                f.write_str(if first { "" } else { "|" })?;
                f.write_str(name)?;
                first = false;
            }
        }
        if first { f.write_str("0") } else { Ok(()) }
    }
}

/// What `WSAEnumNetworkEvents` reported for one socket: the events, and the error code of
/// each (0 when it went well).
#[derive(Clone, Copy)]
pub struct News {
    pub events: Interest,
    errors: [i32; 10],
}

impl News {
    /// The error code `WSAEnumNetworkEvents` gave for a read, write or close (0: none).
    pub fn error(&self) -> i32 {
        [FD_READ_BIT, FD_WRITE_BIT, FD_CLOSE_BIT, FD_ACCEPT_BIT]
            .iter()
            .map(|&b| self.errors[b as usize])
            .find(|&e| e != 0)
            .unwrap_or(0)
    }
}

/// A Winsock event object (`WSACreateEvent`: manual reset, not signalled). Transparent, so
/// that a slice of them is the array of handles [`wait`] hands Winsock.
#[repr(transparent)]
pub struct Event(windows_sys::Win32::Networking::WinSock::WSAEVENT);

impl Event {
    /// `WSACreateEvent()`.
    #[doc(alias = "WSACreateEvent")]
    pub fn create(tr: &mut Tracer, gloss: impl Gloss<i64>) -> Result<Event> {
        let made = tr.call(
            Call::new("WSACreateEvent", Stage::Setup),
            || {
                // SAFETY: no arguments; the handle is ours to close.
                let ev = unsafe { WSACreateEvent() };
                if ev == 0 {
                    Err(wsa_error())
                } else {
                    Ok(ev as i64)
                }
            },
            gloss,
        )?;
        Ok(Event(made as _))
    }

    /// `WSACreateEvent()`, then `WSAEventSelect(listener, event, FD_ACCEPT)`: the listener's
    /// event, signalled when a connection waits to be accepted.
    pub fn on_listener(tr: &mut Tracer, listener: &impl AsRawFd) -> Result<Event> {
        let ev = Event::create(tr, crate::msg!("wsaevent-event-listener"))?;
        ev.select(
            tr,
            listener,
            Interest::LISTENER,
            crate::msg!("wsaevent-select-listener"),
        )?;
        Ok(ev)
    }

    /// `WSAEventSelect(s, event, interest)`: Winsock signals this event when one of those
    /// network events happens on the socket (and makes the socket nonblocking).
    #[doc(alias = "WSAEventSelect")]
    pub fn select(
        &self,
        tr: &mut Tracer,
        sock: &impl AsRawFd,
        interest: Interest,
        gloss: impl Gloss<i32>,
    ) -> Result<i32> {
        let fd = sock.as_raw_fd() as i32;
        tr.call(
            Call::new("WSAEventSelect", Stage::Setup)
                .fd(fd)
                .args(format_args!("event={}, {interest}", self.0)),
            || {
                // SAFETY: the socket is open, the event is ours and outlives the association
                // (its socket is closed before it).
                let rc = unsafe { WSAEventSelect(fd as SOCKET, self.0, interest.0 as i32) };
                if rc == SOCKET_ERROR {
                    Err(wsa_error())
                } else {
                    Ok(rc)
                }
            },
            gloss,
        )
    }

    /// `WSAEnumNetworkEvents(s, event, &news)`: which network events happened on the socket
    /// since it was last asked; the event object is reset.
    #[doc(alias = "WSAEnumNetworkEvents")]
    pub fn news(&self, tr: &mut Tracer, sock: &impl AsRawFd) -> Result<News> {
        let fd = sock.as_raw_fd() as i32;
        let call = Call::new("WSAEnumNetworkEvents", Stage::DataReady)
            .fd(fd)
            .args(format_args!("event={}", self.0));
        let start = tr.enter(&call);
        // SAFETY: WSANETWORKEVENTS is plain data.
        let mut out = unsafe { std::mem::zeroed::<WSANETWORKEVENTS>() };
        // SAFETY: the socket is open, the event is the one it was selected with, and `out` is a
        // valid, writable WSANETWORKEVENTS.
        let rc = unsafe { WSAEnumNetworkEvents(fd as SOCKET, self.0, &mut out) };
        let r = if rc == SOCKET_ERROR {
            Err(wsa_error())
        } else {
            Ok(News {
                events: Interest(out.lNetworkEvents as u32),
                errors: out.iErrorCode,
            })
        };
        tr.record(
            call,
            start,
            &r.map(|n| n.events.0 as i32),
            |_, _| (),
            |r: &Result<i32>| match r {
                Ok(0) => crate::t!("wsaevent-news-none"),
                Ok(bits) => crate::t!("wsaevent-news", events = Interest(*bits as u32).to_string()),
                Err(e) => failed(*e),
            },
        );
        r
    }

    /// `WSACloseEvent(event)`, once no socket is tied to it any more.
    pub fn close(self, tr: &mut Tracer, gloss: Msg) {
        let _ = tr.call(
            Call::new("WSACloseEvent", Stage::Teardown).args(self.0),
            // SAFETY: the event is ours and nothing waits on it any more.
            || super::iocp::win_bool(unsafe { WSACloseEvent(self.0) }),
            gloss,
        );
    }
}

/// How long a wait may sleep.
#[derive(Clone, Copy)]
pub enum Timeout {
    Ms(u32),
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timeout::Ms(ms) => write!(f, "{ms} ms"),
        }
    }
}

/// `WSAWaitForMultipleEvents(n, events, FALSE, timeout, alertable)`: sleep until one of the
/// events is signalled (the answer is the lowest such index), the timeout passes
/// (`WAIT_TIMEOUT`: `None`; recorded as an error, folded like `EAGAIN`), or — when `alertable` — completion
/// routines queued to this thread have run inside the call (`WSA_WAIT_IO_COMPLETION`).
/// `first` is the index of `events[0]` in the caller's list, for the trace.
#[doc(alias = "WSAWaitForMultipleEvents")]
pub fn wait(
    tr: &mut Tracer,
    events: &[Event],
    first: usize,
    timeout: Timeout,
    alertable: bool,
    gloss: impl Gloss<u32>,
) -> Result<Option<u32>> {
    // The wall: at most 64 handles; the caller keeps within it (`MAX_EVENTS`).
    let n = events.len().min(MAX_EVENTS);
    let ms = match timeout {
        Timeout::Ms(ms) => ms,
    };
    let call = Call::new("WSAWaitForMultipleEvents", Stage::DataReady)
        .args(format_args!(
            "{n}, events[{first}..{}], FALSE, {timeout}, {}",
            first + n,
            if alertable { "TRUE" } else { "FALSE" }
        ))
        // A wait of a millisecond or none is not announced: its timeouts fold like spins.
        .blocking(ms > 1);
    let r = tr.call(
        call,
        || {
            // SAFETY: `Event` is a transparent WSAEVENT, a handle-sized integer, so `events` is
            // an array of `n` (≤ 64) open event handles.
            let r = unsafe {
                WSAWaitForMultipleEvents(
                    n as u32,
                    events.as_ptr().cast::<HANDLE>(),
                    0,
                    ms,
                    alertable.into(),
                )
            };
            match r {
                WSA_WAIT_TIMEOUT => Err(TIMED_OUT),
                // WSA_WAIT_FAILED
                u32::MAX => Err(wsa_error()),
                r => Ok(r),
            }
        },
        gloss,
    );
    match r {
        Ok(i) => Ok(Some(i)),
        Err(TIMED_OUT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether a wait's result is `WAIT_TIMEOUT` (for glosses).
pub fn timed_out(r: &Result<u32>) -> bool {
    matches!(r, Err(TIMED_OUT))
}
