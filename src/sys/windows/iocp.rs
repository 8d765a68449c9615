//! Windows I/O completion ports, traced: `CreateIoCompletionPort` (make a port; tie a socket to
//! it), `GetQueuedCompletionStatusEx` (take the packets of finished operations off it),
//! `PostQueuedCompletionStatus` (queue a packet of our own) and `CloseHandle`; and the Win32
//! error helpers the overlapped calls share.
//!
//! See CreateIoCompletionPort, GetQueuedCompletionStatusEx, PostQueuedCompletionStatus and
//! CloseHandle on learn.microsoft.com.

use crate::lang::Msg;
use crate::sys::last_errno;
use crate::trace::{Call, Stage, Tracer};
use rustix::fd::OwnedFd;
use rustix::io::{Errno, Result};
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Networking::WinSock::{SOCKET, WSAGetLastError};
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatusEx, OVERLAPPED_ENTRY,
    PostQueuedCompletionStatus,
};

/// How long one `GetQueuedCompletionStatusEx` may wait before the server does other work.
const WAIT_MS: u32 = 1;

/// Most packets one `GetQueuedCompletionStatusEx` takes off the port.
const BATCH: usize = 16;

/// `WAIT_TIMEOUT`: no packet came in time.
const WAIT_TIMEOUT: i32 = 258;

/// A completion port: Windows queues a packet on it for every overlapped call that finishes on
/// a socket tied to it.
pub struct Port {
    handle: HANDLE,
}

// SAFETY: a completion port is made to be waited on by many threads at once (that is the worker
// pool); the handle is closed once, by `close`, which takes the port by value.
unsafe impl Send for Port {}
// SAFETY: as above: every call on the handle may come from any thread, concurrently.
unsafe impl Sync for Port {}

/// One completion packet: the OVERLAPPED's address (what this program looks the operation up
/// by), the CompletionKey of the socket it came from (Windows' key, one per handle, given when
/// the socket was tied to the port), and how the operation ended.
#[derive(Clone, Copy)]
pub struct Packet {
    /// The OVERLAPPED's address.
    pub key: usize,
    /// `lpCompletionKey`: the per-handle key (here, the socket's number).
    pub completion_key: usize,
    /// 0, or the NTSTATUS the operation failed with.
    status: u32,
    /// Bytes moved.
    bytes: u32,
}

impl Packet {
    /// The result as a callback reads it: the bytes moved, or the Win32 error the status
    /// stands for.
    pub fn result(self) -> Result<u32> {
        match self.status {
            0 => Ok(self.bytes),
            status => Err(Errno::from_raw_os_error(win32_error(status))),
        }
    }
}

impl Port {
    /// `CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, threads)`: a new, empty port, on
    /// which Windows lets at most `threads` waiting threads run at once
    /// (`NumberOfConcurrentThreads`).
    #[doc(alias = "CreateIoCompletionPort")]
    pub fn create(tr: &mut Tracer, threads: u32) -> Result<Port> {
        let call = Call::new("CreateIoCompletionPort", Stage::Setup)
            .args(format_args!("INVALID_HANDLE_VALUE, NULL, 0, {threads}"));
        let start = tr.enter(&call);
        // SAFETY: INVALID_HANDLE_VALUE with no existing port asks for a new, empty port.
        let handle = unsafe {
            CreateIoCompletionPort(INVALID_HANDLE_VALUE, std::ptr::null_mut(), 0, threads)
        };
        let made = handle_result(handle);
        tr.record(
            call,
            start,
            &made,
            |_, _| (),
            |_: &Result<i64>| match threads {
                1 => crate::t!("iocp-port"),
                n => crate::t!("iocp-port-threads", n = n.to_string()),
            },
        );
        made.map(|_| Port { handle })
    }

    /// `CreateIoCompletionPort(socket, port, key, 0)`: packets for this socket's overlapped
    /// calls come to our port, each carrying this CompletionKey (Windows' key, one per handle:
    /// here the socket's number) and the OVERLAPPED's address of its own call, which is what
    /// this program looks up.
    pub fn associate(&self, tr: &mut Tracer, sock: &OwnedFd, note: Msg) -> Result<()> {
        let fd = super::raw(sock);
        tr.call(
            Call::new("CreateIoCompletionPort", Stage::Setup)
                .fd(fd)
                .args(format_args!("port, CompletionKey={fd}, 0")),
            // SAFETY: the socket is open and overlapped-capable; the port is ours.
            || {
                handle_result(unsafe {
                    CreateIoCompletionPort(fd as SOCKET as HANDLE, self.handle, fd as usize, 0)
                })
            },
            note,
        )
        .map(|_| ())
    }

    /// Step 3: `GetQueuedCompletionStatusEx(port, entries, 16, &n, 1 ms, FALSE)`: the packets
    /// of up to 16 finished operations. None within 1 ms (`WAIT_TIMEOUT`) is no failure: the
    /// list is empty, and the caller does other work.
    #[doc(alias = "GetQueuedCompletionStatusEx")]
    pub fn wait(&self, tr: &mut Tracer) -> Result<Vec<Packet>> {
        self.take(tr, BATCH, WAIT_MS)
    }

    /// A pool worker's wait: `GetQueuedCompletionStatusEx(port, entries, 1, &n, ms, FALSE)`,
    /// one packet, so that the next finished operation goes to the next waiting worker. The
    /// worker sleeps in it (announced as a wait).
    pub fn wait_one(&self, tr: &mut Tracer, ms: u32) -> Result<Vec<Packet>> {
        self.take(tr, 1, ms)
    }

    /// `PostQueuedCompletionStatus(port, 0, 0, NULL)`: a packet of our own, with no OVERLAPPED,
    /// which a worker takes as "stop".
    #[doc(alias = "PostQueuedCompletionStatus")]
    pub fn post_stop(&self, tr: &mut Tracer, gloss: Msg) -> Result<i32> {
        tr.call(
            Call::new("PostQueuedCompletionStatus", Stage::Teardown)
                .fd(self.fd())
                .args("0 bytes, CompletionKey=0, ov=NULL"),
            // SAFETY: the port is open; a NULL OVERLAPPED is allowed and reaches the waiter as is.
            || win_bool(unsafe { PostQueuedCompletionStatus(self.handle, 0, 0, std::ptr::null()) }),
            gloss,
        )
    }

    /// Up to `batch` packets, waiting at most `ms`.
    fn take(&self, tr: &mut Tracer, batch: usize, ms: u32) -> Result<Vec<Packet>> {
        let mut entries = [OVERLAPPED_ENTRY::default(); BATCH];
        let mut n = 0u32;
        let call = Call::new("GetQueuedCompletionStatusEx", Stage::Completion)
            .fd(self.fd())
            .args(format_args!("{batch} entries, {ms} ms"))
            .blocking(ms > WAIT_MS);
        let r = tr.call(
            call,
            || {
                // SAFETY: `entries` has room for BATCH packets; `n` receives how many were filled.
                let ok = unsafe {
                    GetQueuedCompletionStatusEx(
                        self.handle,
                        entries.as_mut_ptr(),
                        batch.min(BATCH) as u32,
                        &mut n,
                        ms,
                        0,
                    )
                };
                win_bool(ok).map(|_| n as i32)
            },
            waited(ms),
        );
        match r {
            Ok(n) => Ok(entries[..n as usize]
                .iter()
                .map(|e| Packet {
                    key: e.lpOverlapped as usize,
                    completion_key: e.lpCompletionKey,
                    status: e.Internal as u32,
                    bytes: e.dwNumberOfBytesTransferred,
                })
                .collect()),
            Err(e) if e.raw_os_error() == WAIT_TIMEOUT => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// A packet whose OVERLAPPED the program does not hold: said, and otherwise ignored.
    pub fn unknown(tr: &mut Tracer, packet: Packet) {
        tr.info(|| {
            crate::t!(
                "iocp-unknown-packet",
                ov = format!("{:#x}", packet.key),
                key = packet.completion_key.to_string()
            )
        });
    }

    /// `CloseHandle(port)`, once every packet has been taken off it.
    pub fn close(self, tr: &mut Tracer) {
        let _ = tr.call(
            Call::new("CloseHandle", Stage::Teardown).fd(self.fd()),
            // SAFETY: the port is ours, every packet has been dequeued, and nothing uses it after.
            || win_bool(unsafe { CloseHandle(self.handle) }),
            crate::msg!("iocp-close-port"),
        );
    }

    /// The port's handle as the trace shows it.
    fn fd(&self) -> i32 {
        self.handle as i64 as i32
    }
}

/// The gloss of a `GetQueuedCompletionStatusEx` that waited at most `ms`.
fn waited(ms: u32) -> impl FnOnce(&Result<i32>) -> String {
    move |r| match r {
        Ok(n) => crate::t!("iocp-packets", n = n.to_string(), count = *n),
        Err(e) if e.raw_os_error() == WAIT_TIMEOUT && ms == WAIT_MS => {
            crate::t!("iocp-wait-timeout")
        }
        Err(e) if e.raw_os_error() == WAIT_TIMEOUT => {
            crate::t!("iocp-wait-timeout-long", ms = ms.to_string())
        }
        Err(e) => super::failed(*e),
    }
}

/// A handle `CreateIoCompletionPort` returned: NULL is a failure.
fn handle_result(h: HANDLE) -> Result<i64> {
    if h.is_null() {
        Err(last_errno())
    } else {
        Ok(h as i64)
    }
}

/// The Win32 error code a packet's NTSTATUS stands for (the few a socket server meets).
fn win32_error(status: u32) -> i32 {
    match status {
        0xC000_0120 => 995,              // STATUS_CANCELLED → ERROR_OPERATION_ABORTED
        0xC000_020D => 10054,            // STATUS_CONNECTION_RESET → WSAECONNRESET
        0xC000_013B | 0xC000_013C => 64, // STATUS_LOCAL/REMOTE_DISCONNECT → ERROR_NETNAME_DELETED
        0xC000_0241 => 1236,             // STATUS_CONNECTION_ABORTED → ERROR_CONNECTION_ABORTED
        other => other as i32,
    }
}

/// The last Winsock error (`WSAGetLastError`).
pub(super) fn wsa_error() -> Errno {
    // SAFETY: no arguments; reads this thread's last error.
    Errno::from_raw_os_error(unsafe { WSAGetLastError() })
}

/// A Win32 `BOOL` result as a result.
pub(super) fn win_bool(ok: windows_sys::core::BOOL) -> Result<i32> {
    if ok != 0 { Ok(ok) } else { Err(last_errno()) }
}
