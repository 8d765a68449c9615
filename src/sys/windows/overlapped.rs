//! Winsock's overlapped calls, traced: each returns at once (`ERROR_IO_PENDING`, or done), and
//! the operation's end comes later as a packet on the completion port (see [`super::iocp`]).
//! `WSASocketW` makes the socket an `AcceptEx` accepts into; `WSAIoctl` hands out `AcceptEx` and
//! `GetAcceptExSockaddrs`, which are not exported by name; `WSARecv` and `WSASend` move the
//! echo's bytes; `CancelIoEx` ends an operation early; `setsockopt(SO_UPDATE_ACCEPT_CONTEXT)`
//! finishes an accept.
//!
//! See WSASocketW, WSAIoctl, AcceptEx, GetAcceptExSockaddrs, WSARecv, WSASend and CancelIoEx
//! on learn.microsoft.com.

use super::apc::Ran;
use super::failed;
use super::iocp::{Packet, win_bool, wsa_error};
use crate::lang::Msg;
use crate::trace::{Call, Stage, Started, Tracer, escape};
use anyhow::Context;
use rustix::fd::{AsRawFd, FromRawFd, OwnedFd};
use rustix::io::{Errno, Result};
use std::net::SocketAddr;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Networking::WinSock::{
    AF_INET, AF_INET6, INVALID_SOCKET, IPPROTO_TCP, LPFN_ACCEPTEX, LPFN_GETACCEPTEXSOCKADDRS,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE, SIO_GET_EXTENSION_FUNCTION_POINTER,
    SO_UPDATE_ACCEPT_CONTEXT, SOCK_STREAM, SOCKADDR, SOCKADDR_IN, SOCKADDR_IN6, SOCKADDR_STORAGE,
    SOCKET, SOCKET_ERROR, SOL_SOCKET, WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED, WSABUF,
    WSAID_ACCEPTEX, WSAID_GETACCEPTEXSOCKADDRS, WSAIoctl, WSARecv, WSASend, WSASocketW, setsockopt,
};
use windows_sys::Win32::System::IO::{CancelIoEx, OVERLAPPED};

/// Room for one address in `AcceptEx`'s output buffer (the API asks for 16 bytes more).
const ADDR_LEN: usize = std::mem::size_of::<SOCKADDR_STORAGE>() + 16;

/// `WSA_IO_PENDING` / `ERROR_IO_PENDING`: the call has started; a packet will say when it ends.
const IO_PENDING: i32 = 997;

/// `ERROR_OPERATION_ABORTED`: the status of an operation `CancelIoEx` ended.
pub const ABORTED: Errno = Errno::from_raw_os_error(995);

/// An overlapped call in flight: its OVERLAPPED, whose address the program looks it up by,
/// and what the trace says of it. Windows writes to the OVERLAPPED until the operation has
/// reported, so it lives here, boxed (it never moves), until then.
pub struct Overlapped {
    ov: Box<OVERLAPPED>,
    what: What,
    /// The socket it acts on.
    fd: i32,
    told: Told,
    /// A send's callback, as its end names it: `on_sent` (the echo) or `on_delivered` (a chat's
    /// line to a member).
    then: &'static str,
}

// SAFETY: Windows writes the OVERLAPPED from no thread of ours in particular; a pool worker hands
// it to another only under the pool's lock, and it is freed once its operation has reported.
unsafe impl Send for Overlapped {}

/// How an overlapped call reports its end.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// A packet on the completion port the socket is tied to.
    Port,
    /// Its completion routine ([`super::apc::routine`]), queued to the thread that made the
    /// call and run inside that thread's next alertable wait.
    Routine,
}

#[derive(Clone, Copy)]
enum What {
    AcceptEx,
    WSARecv,
    WSASend,
}

impl What {
    fn name(self) -> &'static str {
        match self {
            What::AcceptEx => "AcceptEx",
            What::WSARecv => "WSARecv",
            What::WSASend => "WSASend",
        }
    }
}

/// `AcceptEx` and `GetAcceptExSockaddrs`, which Winsock hands out through `WSAIoctl`.
pub struct Extensions {
    accept_ex: AcceptExFn,
    sockaddrs: SockaddrsFn,
}

// The `LPFN_…` types are `Option<fn>`, for a pointer that may be null; these are the `fn`s.
type AcceptExFn = <LPFN_ACCEPTEX as IntoIterator>::Item;
type SockaddrsFn = <LPFN_GETACCEPTEXSOCKADDRS as IntoIterator>::Item;

/// The socket an `AcceptEx` turns into a connection, made in advance, and where it writes the
/// two addresses.
pub struct Accepting {
    pub sock: OwnedFd,
    addrs: Box<[u8; 2 * ADDR_LEN]>,
}

impl Accepting {
    /// `WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED|…)`: the
    /// socket the next connection will become, of the listener's family.
    #[doc(alias = "WSASocketW")]
    pub fn socket(tr: &mut Tracer, local: &SocketAddr) -> Result<Accepting> {
        let (family, fam) = crate::sys::family(local);
        let sock = tr.call(
            Call::new("WSASocketW", Stage::Setup).args(format_args!(
                "{fam}, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED|WSA_FLAG_NO_HANDLE_INHERIT"
            )),
            || {
                // SAFETY: plain arguments; no protocol info structure.
                let raw = unsafe {
                    WSASocketW(
                        family.as_raw() as i32,
                        SOCK_STREAM,
                        IPPROTO_TCP,
                        std::ptr::null(),
                        0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
                    )
                };
                if raw == INVALID_SOCKET {
                    return Err(wsa_error());
                }
                // SAFETY: WSASocketW just made this socket; nothing else owns it.
                Ok(unsafe { OwnedFd::from_raw_fd(raw as _) })
            },
            crate::msg!("iocp-wsasocket"),
        )?;
        Ok(Accepting {
            sock,
            addrs: Box::new([0; 2 * ADDR_LEN]),
        })
    }

    /// `setsockopt(SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, listener)`: the accepted socket gets
    /// its listener's properties (`getpeername` and `shutdown` work after this).
    pub fn update_context(&self, tr: &mut Tracer, listener: &OwnedFd) {
        let lsock = listener.as_raw_fd() as SOCKET;
        let afd = self.fd();
        let _ = tr.call(
            Call::new("setsockopt", Stage::Setup)
                .fd(afd)
                .args(format_args!(
                    "SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, {}",
                    lsock as i32
                )),
            || {
                // SAFETY: the option value is the listening SOCKET, passed by address with its size.
                let rc = unsafe {
                    setsockopt(
                        afd as SOCKET,
                        SOL_SOCKET,
                        SO_UPDATE_ACCEPT_CONTEXT,
                        (&raw const lsock).cast(),
                        std::mem::size_of::<SOCKET>() as i32,
                    )
                };
                if rc == SOCKET_ERROR {
                    Err(wsa_error())
                } else {
                    Ok(rc)
                }
            },
            crate::msg!("iocp-update-context"),
        );
    }

    fn fd(&self) -> i32 {
        self.sock.as_raw_fd() as i32
    }
}

impl Extensions {
    /// `WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, …)` twice: where `AcceptEx` and
    /// `GetAcceptExSockaddrs` are.
    pub fn load(tr: &mut Tracer, listener: &OwnedFd) -> anyhow::Result<Extensions> {
        Ok(Extensions {
            accept_ex: extension(tr, listener, &WSAID_ACCEPTEX, "WSAID_ACCEPTEX")?,
            sockaddrs: extension(
                tr,
                listener,
                &WSAID_GETACCEPTEXSOCKADDRS,
                "WSAID_GETACCEPTEXSOCKADDRS",
            )?,
        })
    }

    /// `AcceptEx(listener, acc, 0 bytes of data, ov)`: accept the next connection into the
    /// socket made for it. Returns the key and the call in flight; a failure to start posts no
    /// packet.
    ///
    /// # Safety
    /// `acc` (its socket and address buffer) and the returned [`Overlapped`] are kept until the
    /// packet for the key is dequeued.
    #[doc(alias = "AcceptEx")]
    pub unsafe fn accept(
        &self,
        tr: &mut Tracer,
        listener: &OwnedFd,
        acc: &mut Accepting,
    ) -> Result<(usize, Overlapped)> {
        let lfd = listener.as_raw_fd() as i32;
        let afd = acc.fd();
        let ov = Overlapped::new(What::AcceptEx, lfd, Told::Port);
        let key = ov.key();
        let call = Call::new("AcceptEx", Stage::DataReady)
            .fd(lfd)
            .args(format_args!("accept={afd}, 0 bytes of data, ov={key:#x}"));
        let start = tr.enter(&call);
        let mut got = 0u32;
        // SAFETY: the listener and the new socket are open; the caller keeps `acc.addrs` (boxed)
        // and the OVERLAPPED (boxed, in `ov`) until the packet for `key` is dequeued.
        let ok = unsafe {
            (self.accept_ex)(
                listener.as_raw_fd() as SOCKET,
                afd as SOCKET,
                acc.addrs.as_mut_ptr().cast(),
                0,
                ADDR_LEN as u32,
                ADDR_LEN as u32,
                &mut got,
                ov.ptr(),
            )
        };
        let r = if ok != 0 { Ok(1) } else { Err(wsa_error()) };
        ov.started(tr, call, start, r, |_| crate::t!("iocp-then-accepted"))
    }

    /// `GetAcceptExSockaddrs`: where the accepted connection comes from, parsed from the buffer
    /// `AcceptEx` filled (no system call). The harness's wake-up connection is named as such,
    /// and its port is not recorded: it is no client.
    #[doc(alias = "GetAcceptExSockaddrs")]
    pub fn sockaddrs(&self, tr: &mut Tracer, acc: &Accepting, wake_up: bool) {
        let afd = acc.fd();
        let call = Call::new("GetAcceptExSockaddrs", Stage::Setup).fd(afd);
        let start = tr.enter(&call);
        let (mut local, mut remote) = (
            std::ptr::null_mut::<SOCKADDR>(),
            std::ptr::null_mut::<SOCKADDR>(),
        );
        let (mut llen, mut rlen) = (0i32, 0i32);
        // SAFETY: `acc.addrs` is the buffer AcceptEx filled, with the same lengths; the pointers
        // it returns point into that buffer, which outlives this function.
        unsafe {
            (self.sockaddrs)(
                acc.addrs.as_ptr().cast(),
                0,
                ADDR_LEN as u32,
                ADDR_LEN as u32,
                &mut local,
                &mut llen,
                &mut remote,
                &mut rlen,
            )
        };
        // SAFETY: `remote` points into `acc.addrs`, at a sockaddr of `rlen` bytes.
        let port = unsafe { peer_port(remote) };
        tr.record(
            call,
            start,
            &Ok(afd),
            |_, ev| ev.port = port.filter(|_| !wake_up),
            |_: &Result<i32>| match port {
                _ if wake_up => crate::t!("accept-wake-up"),
                port => crate::t!(
                    "iocp-peer-port",
                    port = port.map_or("?".into(), |p| p.to_string())
                ),
            },
        );
    }
}

impl Overlapped {
    /// A fresh OVERLAPPED for `what` on `fd`.
    fn new(what: What, fd: i32, told: Told) -> Overlapped {
        Overlapped {
            // SAFETY: OVERLAPPED is plain data; all zeroes is the state an overlapped call wants.
            ov: Box::new(unsafe { std::mem::zeroed() }),
            what,
            fd,
            told,
            then: "on_sent",
        }
    }

    /// The key the program looks the call up by: the OVERLAPPED's address, which the packet
    /// (or the completion routine) brings back. Not the port's CompletionKey, which is per
    /// socket.
    fn key(&self) -> usize {
        &*self.ov as *const OVERLAPPED as usize
    }

    fn ptr(&self) -> *mut OVERLAPPED {
        self.key() as *mut OVERLAPPED
    }

    /// Records that the call returned. Pending or done at once, the result will come as a
    /// packet (or a completion routine), so the caller gets the key and keeps this until then;
    /// any other failure means none will come. `then` says which callback it goes to (told
    /// whether it was done at once).
    fn started(
        self,
        tr: &mut Tracer,
        call: Call,
        start: Started,
        r: Result<i32>,
        then: impl FnOnce(bool) -> String,
    ) -> Result<(usize, Overlapped)> {
        let key = self.key();
        let told = self.told;
        tr.record(
            call,
            start,
            &r,
            |_, ev| ev.key = Some(key as u64),
            |r: &Result<i32>| {
                let key = format!("{key:#x}");
                match (r, told) {
                    (Ok(_), Told::Port) => {
                        crate::t!("win-started-done-port", key = key, then = then(true))
                    }
                    (Ok(_), Told::Routine) => {
                        crate::t!("win-started-done-routine", key = key, then = then(true))
                    }
                    (Err(e), Told::Port) if e.raw_os_error() == IO_PENDING => {
                        crate::t!("win-started-pending-port", key = key, then = then(false))
                    }
                    (Err(e), Told::Routine) if e.raw_os_error() == IO_PENDING => {
                        crate::t!("win-started-pending-routine", key = key, then = then(false))
                    }
                    (Err(e), _) => crate::t!(
                        "win-start-failed",
                        why = std::io::Error::from(*e).to_string()
                    ),
                }
            },
        );
        match r {
            Err(e) if e.raw_os_error() != IO_PENDING => Err(e),
            _ => Ok((key, self)),
        }
    }

    /// `CancelIoEx(socket, ov)`: end this operation early. It still reports (a packet, or its
    /// routine) with `ERROR_OPERATION_ABORTED`, or with its result if it finished first. `why`
    /// begins the gloss.
    #[doc(alias = "CancelIoEx")]
    pub fn cancel(&self, tr: &mut Tracer, why: Msg) {
        let key = self.key();
        let _ = tr.call_with(
            Call::new("CancelIoEx", Stage::Teardown)
                .fd(self.fd)
                .args(format_args!("ov={key:#x}")),
            // SAFETY: the socket is open, and the OVERLAPPED is the one its call was given.
            || win_bool(unsafe { CancelIoEx(self.fd as SOCKET as HANDLE, &*self.ov) }),
            |_, ev| ev.key = Some(key as u64),
            |r: &Result<i32>| match (r, self.told) {
                (Ok(_), Told::Port) => crate::t!("win-cancel-port", why = why.to_string()),
                (Ok(_), Told::Routine) => crate::t!("win-cancel-routine", why = why.to_string()),
                (Err(_), Told::Port) => crate::t!("win-cancel-late-port"),
                (Err(_), Told::Routine) => crate::t!("win-cancel-late-routine"),
            },
        );
    }

    /// Records the packet that ended this call as an `op` line: what Windows did for us, and
    /// the callback it goes to. `read` is what a `WSARecv` left in its buffer.
    pub fn completed(&self, tr: &mut Tracer, packet: Packet, read: &[u8]) {
        let what = self.what;
        let _ = tr.call_with(
            Call::new(what.name(), Stage::Completion)
                .fd(self.fd)
                .args(format_args!(
                    "packet CompletionKey={}, ov={:#x}",
                    packet.completion_key, packet.key
                ))
                .op(),
            || packet.result(),
            |_, ev| ev.key = Some(packet.key as u64),
            |r: &Result<u32>| dequeued(what, self.then, r, read),
        );
    }

    /// Records the completion routine that ended this call as an `op` line at the moment it
    /// ran, on the thread it ran on, inside `wait` (the alertable wait that returned
    /// `WSA_WAIT_IO_COMPLETION`): what Windows did for us, and the callback the loop runs next.
    pub fn ran(&self, tr: &mut Tracer, ran: &Ran, wait: &'static str, read: &[u8]) {
        let what = self.what;
        let at = tr.recorder().micros(ran.at);
        let _ = tr.call_with(
            Call::new(what.name(), Stage::Completion)
                .fd(self.fd)
                .args(format_args!(
                    "routine(dwError={}, cbTransferred={}, ov={:#x})",
                    ran.error, ran.bytes, ran.ov
                ))
                .op(),
            || ran.result(),
            |_, ev| {
                ev.key = Some(ran.ov as u64);
                ev.t_us = at;
                ev.dur_us = 0;
                ev.tid = ran.tid as i64;
                ev.inside = Some(wait);
            },
            |r: &Result<u32>| {
                crate::t!(
                    "apc-ran",
                    wait = wait,
                    tid = ran.tid.to_string(),
                    what = dequeued(what, self.then, r, read)
                )
            },
        );
    }
}

/// `WSARecv(socket, buf, 1, &got, &flags, ov, routine)`: receive into `buf`; Windows waits
/// for data and copies it there, then reports as `told` says (`routine` is NULL for a packet).
/// Returns the key and the call in flight; a failure to start reports nothing.
///
/// # Safety
/// `buf` and the returned [`Overlapped`] stay valid, unmoved and untouched until the packet for
/// the key is dequeued.
#[doc(alias = "WSARecv")]
pub unsafe fn recv(
    tr: &mut Tracer,
    fd: i32,
    buf: &mut [u8],
    told: Told,
) -> Result<(usize, Overlapped)> {
    let ov = Overlapped::new(What::WSARecv, fd, told);
    let key = ov.key();
    let wsabuf = WSABUF {
        len: buf.len() as u32,
        buf: buf.as_mut_ptr(),
    };
    let call = Call::new("WSARecv", Stage::DataReady)
        .fd(fd)
        .args(format_args!(
            "{} bytes, ov={key:#x}{}",
            wsabuf.len,
            told.arg()
        ));
    let start = tr.enter(&call);
    let (mut got, mut flags) = (0u32, 0u32);
    // SAFETY: the caller keeps the buffer and the OVERLAPPED until the packet is dequeued.
    let rc = unsafe {
        WSARecv(
            fd as SOCKET,
            &wsabuf,
            1,
            &mut got,
            &mut flags,
            ov.ptr(),
            told.routine(),
        )
    };
    // WSARecv returns 0 when done at once (`got` bytes are in the buffer), else an error.
    let r = if rc == 0 { Ok(rc) } else { Err(wsa_error()) };
    ov.started(tr, call, start, r, |at_once| match (at_once, told) {
        (true, Told::Port) => crate::t!("win-recv-at-once-port", n = got.to_string()),
        (true, Told::Routine) => crate::t!("win-recv-at-once-routine", n = got.to_string()),
        (false, _) => crate::t!("win-recv-then"),
    })
}

/// `WSASend(socket, data, 1, &sent, 0, ov, routine)`: send what is left to echo (or, `verb`
/// `deliver`, a chat's lines); Windows only reads it, and reports as `told` says. Returns the
/// key and the call in flight; a failure to start reports nothing.
///
/// # Safety
/// `data` and the returned [`Overlapped`] stay valid and unmoved until the packet for the key is
/// dequeued.
#[doc(alias = "WSASend")]
pub unsafe fn send(
    tr: &mut Tracer,
    fd: i32,
    data: &[u8],
    told: Told,
    verb: &'static str,
) -> Result<(usize, Overlapped)> {
    let mut ov = Overlapped::new(What::WSASend, fd, told);
    if verb == "deliver" {
        ov.then = "on_delivered";
    }
    let key = ov.key();
    let wsabuf = WSABUF {
        len: data.len() as u32,
        buf: data.as_ptr().cast_mut(),
    };
    let call = Call::new("WSASend", Stage::CopyToKernel)
        .fd(fd)
        .args(format_args!(
            "{} bytes, ov={key:#x}{}",
            wsabuf.len,
            told.arg()
        ));
    let start = tr.enter(&call);
    let mut sent = 0u32;
    // SAFETY: the caller keeps the data and the OVERLAPPED until the packet is dequeued; Windows
    // only reads the data.
    let rc = unsafe {
        WSASend(
            fd as SOCKET,
            &wsabuf,
            1,
            &mut sent,
            0,
            ov.ptr(),
            told.routine(),
        )
    };
    // WSASend returns 0 when done at once (`sent` bytes taken), else an error.
    let r = if rc == 0 { Ok(rc) } else { Err(wsa_error()) };
    let ov_then = ov.then;
    ov.started(tr, call, start, r, |at_once| {
        let (n, shown) = (data.len().to_string(), escape(data, 32));
        let note = if verb == "deliver" {
            crate::t!("win-send-deliver", n = n, shown = shown, then = ov_then)
        } else {
            crate::t!("win-send-echo", n = n, shown = shown, then = ov_then)
        };
        if at_once {
            crate::t!("win-send-at-once", note = note, sent = sent.to_string())
        } else {
            note
        }
    })
}

impl Told {
    /// The completion routine argument: ours, or NULL (a packet on the port).
    fn routine(self) -> LPWSAOVERLAPPED_COMPLETION_ROUTINE {
        match self {
            Told::Port => None,
            Told::Routine => Some(super::apc::routine),
        }
    }

    /// How the trace shows that argument.
    fn arg(self) -> &'static str {
        match self {
            Told::Port => "",
            Told::Routine => ", completion routine",
        }
    }
}

/// The gloss of a packet or a routine: what Windows did for us, and which callback runs.
fn dequeued(what: What, then: &str, r: &Result<u32>, read: &[u8]) -> String {
    match (what, r) {
        (What::AcceptEx, Ok(_)) => crate::t!("win-done-accept"),
        (What::WSARecv, Ok(0)) => crate::t!("win-done-fin"),
        (What::WSARecv, Ok(n)) => {
            crate::t!("win-done-recv", n = n.to_string(), shown = escape(read, 32))
        }
        (What::WSASend, Ok(n)) => crate::t!("win-done-send", n = n.to_string(), then = then),
        (_, Err(e)) if *e == ABORTED => crate::t!("win-done-cancelled"),
        (_, Err(e)) => failed(*e),
    }
}

/// `WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, guid)`: Winsock's extension functions are not
/// exported by name; the provider hands out their addresses.
fn extension<F: Copy>(
    tr: &mut Tracer,
    listener: &OwnedFd,
    guid: &windows_sys::core::GUID,
    name: &str,
) -> anyhow::Result<F> {
    let function = name.trim_start_matches("WSAID_");
    let mut f: Option<F> = None;
    let mut got = 0u32;
    tr.call(
        Call::new("WSAIoctl", Stage::Setup)
            .fd(listener.as_raw_fd() as i32)
            .args(format_args!("SIO_GET_EXTENSION_FUNCTION_POINTER, {name}")),
        || {
            // SAFETY: in: the GUID; out: room for one function pointer (`Option<fn>` has its
            // size); no OVERLAPPED, so the call is synchronous.
            let rc = unsafe {
                WSAIoctl(
                    listener.as_raw_fd() as SOCKET,
                    SIO_GET_EXTENSION_FUNCTION_POINTER,
                    (guid as *const windows_sys::core::GUID).cast(),
                    std::mem::size_of::<windows_sys::core::GUID>() as u32,
                    (&raw mut f).cast(),
                    std::mem::size_of::<Option<F>>() as u32,
                    &mut got,
                    std::ptr::null_mut(),
                    None,
                )
            };
            if rc == SOCKET_ERROR {
                Err(wsa_error())
            } else {
                Ok(rc)
            }
        },
        |_: &Result<i32>| crate::t!("iocp-ask-extension", name = function),
    )
    .with_context(|| super::call_failed("WSAIoctl"))?;
    f.with_context(|| crate::t!("iocp-extension-missing", name = function))
}

/// The port in a sockaddr Winsock wrote (IPv4 or IPv6).
///
/// # Safety
/// `sa` is null or points to a sockaddr of the family it names.
unsafe fn peer_port(sa: *const SOCKADDR) -> Option<u16> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: the caller vouches for `sa`; its family says which sockaddr it is.
    unsafe {
        match (*sa).sa_family {
            AF_INET => Some(u16::from_be((*sa.cast::<SOCKADDR_IN>()).sin_port)),
            AF_INET6 => Some(u16::from_be((*sa.cast::<SOCKADDR_IN6>()).sin6_port)),
            _ => None,
        }
    }
}
