//! Completion-based I/O with a Windows I/O completion port (UNP figure 6.5): hand Windows the
//! whole operation, buffer and all, and be told when it is done.
//!
//! Stage ① and stage ② are both the kernel's: an overlapped `WSARecv` waits for data *and*
//! copies it into the buffer we gave, while the thread is free. What the thread gets back is a
//! completion packet — the OVERLAPPED's address, the bytes moved, a status — not readiness. The
//! loop is four steps:
//!
//! 1. **make a key and map it to a callback**: each operation gets its own boxed `OVERLAPPED`;
//!    its address is the key, and a table the program owns maps it to `on_accepted`,
//!    `on_received` or `on_sent`;
//! 2. **make the overlapped call** with that key: `AcceptEx`, `WSARecv`, `WSASend` return at once
//!    (`ERROR_IO_PENDING`, or success); either way the result comes only from the port, as a
//!    packet (this program does not set `FILE_SKIP_COMPLETION_PORT_ON_SUCCESS`);
//! 3. **ask the port what finished**: `GetQueuedCompletionStatusEx` with a 1 ms timeout, doing
//!    other work whenever nothing has;
//! 4. **look the key up and call back**: the packet's OVERLAPPED address leaves the table and its
//!    callback runs.
//!
//! This is `uring`'s design on Windows (same key table, same callbacks). Where the threads model
//! keeps each connection's state on a thread's stack, here it lives in the key → callback table
//! and the buffers Windows is filling: one thread, and the program does the scheduling.
//!
//! Readiness models (select, poll, epoll, kqueue) are told "you may recv now" and still make the
//! copy themselves; here the copy is done when we hear about it. The `polling` crate's Windows
//! backend (the `portable` model) also sits on a completion port, but only to *emulate
//! readiness*: it posts `IOCTL_AFD_POLL` requests to the AFD driver and turns their completions
//! back into "readable"/"writable", after which the program calls `recv` itself.
//!
//! See CreateIoCompletionPort, AcceptEx, GetAcceptExSockaddrs, WSARecv, WSASend,
//! GetQueuedCompletionStatusEx and CancelIoEx on learn.microsoft.com.

use super::{Kind, Model, Serve};
use crate::trace::summary::Summary;

pub const MODEL: Model = Model {
    name: "iocp",
    summary: "I/O completion port: overlapped AcceptEx/WSARecv/WSASend; Windows completes them, data and all",
    kind: Kind::Completion,
    figure: "6.5",
    platforms: "Windows",
    serve: SERVE,
    instead: super::here("uring", "kqueue", ""),
    state: "a key → callback table the program owns (the OVERLAPPED's address), not thread stacks",
    told: "a completion packet",
    notice,
    examples: &[
        "iomodels iocp                          AcceptEx and WSARecv, then completion packets",
        "iomodels iocp --scenario demos/crowd.scenario       one completion port for four clients",
    ],
};

/// The server loop, where this OS has I/O completion ports.
#[cfg(windows)]
const SERVE: Option<Serve> = Some(server::serve);
#[cfg(not(windows))]
const SERVE: Option<Serve> = None;

#[cfg(windows)]
mod server {
    use crate::echo::Conn;
    use crate::server::Server;
    use crate::trace::{Call, Stage, Tracer, escape};
    use rustix::fd::{AsRawFd, FromRawFd, OwnedFd};
    use rustix::io::Errno;
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
    use windows_sys::Win32::Networking::WinSock::{
        AF_INET, AF_INET6, INVALID_SOCKET, IPPROTO_TCP, LPFN_ACCEPTEX, LPFN_GETACCEPTEXSOCKADDRS,
        SIO_GET_EXTENSION_FUNCTION_POINTER, SO_UPDATE_ACCEPT_CONTEXT, SOCK_STREAM, SOCKADDR,
        SOCKADDR_IN, SOCKADDR_IN6, SOCKADDR_STORAGE, SOCKET, SOCKET_ERROR, SOL_SOCKET,
        WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED, WSABUF, WSAGetLastError, WSAID_ACCEPTEX,
        WSAID_GETACCEPTEXSOCKADDRS, WSAIoctl, WSARecv, WSASend, WSASocketW, setsockopt,
    };
    use windows_sys::Win32::System::IO::{
        CancelIoEx, CreateIoCompletionPort, GetQueuedCompletionStatusEx, OVERLAPPED,
        OVERLAPPED_ENTRY,
    };

    /// How long one `GetQueuedCompletionStatusEx` may wait before the server does other work.
    const WAIT_MS: u32 = 1;

    /// Most packets one `GetQueuedCompletionStatusEx` takes off the port.
    const BATCH: usize = 16;

    /// Room for one address in `AcceptEx`'s output buffer (the API asks for 16 bytes more).
    const ADDR_LEN: usize = std::mem::size_of::<SOCKADDR_STORAGE>() + 16;

    /// `WSA_IO_PENDING` / `ERROR_IO_PENDING`: the call has started; a packet will say when it ends.
    const IO_PENDING: i32 = 997;

    // ANCHOR: table
    /// Step 4's target: what to do when the operation with this key completes.
    type Callback =
        fn(&mut Loop, &mut Server, Option<usize>, Result<u32, Errno>) -> anyhow::Result<()>;

    /// One entry of the key → callback table: an operation Windows has not finished yet.
    struct Pending {
        /// Called with the packet's result.
        callback: Callback,
        /// The overlapped call, for the trace (`AcceptEx`, `WSARecv`, `WSASend`).
        op: &'static str,
        /// The socket it acts on.
        fd: i32,
        /// The connection it belongs to (its slot), if any.
        slot: Option<usize>,
        /// The OVERLAPPED whose address is the key. Windows writes to it until the packet is
        /// dequeued, so it lives here, boxed (it never moves), until then.
        ov: Box<OVERLAPPED>,
    }
    // ANCHOR_END: table

    /// A connection and the key of the one operation it has in flight.
    struct Slot {
        conn: Conn,
        key: Option<usize>,
    }

    /// The socket an `AcceptEx` in flight will turn into a connection, and where it writes the
    /// two addresses.
    struct Accepting {
        sock: OwnedFd,
        addrs: Box<[u8; 2 * ADDR_LEN]>,
    }

    /// Everything the loop owns: the port, the table, the connections and their buffers.
    struct Loop {
        port: HANDLE,
        /// `AcceptEx` and `GetAcceptExSockaddrs`, which Winsock hands out through `WSAIoctl`.
        accept_ex: LPFN_ACCEPTEX,
        accept_addrs: LPFN_GETACCEPTEXSOCKADDRS,
        /// Step 1's table: key (the OVERLAPPED's address) → what to call back.
        table: BTreeMap<usize, Pending>,
        /// Connections by slot; a slot is reused once its connection is closed.
        slots: Vec<Option<Slot>>,
        /// The `AcceptEx` in flight, if one is, and its key.
        accepting: Option<(Accepting, usize)>,
        /// The run is over: cancel what is in flight and start nothing new.
        stopping: bool,
        /// When the server first saw the harness's stop flag.
        stop_seen: Option<Instant>,
    }

    // ANCHOR: serve
    /// Make a port, start an `AcceptEx`, then ask the port → look up → call back until the run is
    /// over and every key has completed.
    #[doc(alias = "CreateIoCompletionPort")]
    #[doc(alias = "GetQueuedCompletionStatusEx")]
    #[doc(alias = "AcceptEx")]
    #[doc(alias = "WSARecv")]
    #[doc(alias = "OVERLAPPED")]
    pub fn serve(srv: &mut Server) -> anyhow::Result<()> {
        let mut lp = Loop::new(srv)?;
        lp.start_accept(srv)?;
        while !lp.table.is_empty() {
            // The harness's wake-up connection normally ends the run (in `on_accepted`); should it
            // not come, the stop flag alone does, a second later.
            if srv.stopping() && !lp.stopping {
                let seen = *lp.stop_seen.get_or_insert_with(Instant::now);
                if seen.elapsed() > Duration::from_secs(1) {
                    lp.cancel_all(&mut srv.tr);
                }
            }
            // Step 3: ask the port what has finished (at most 1 ms).
            let packets = lp.wait(&mut srv.tr)?;
            if packets.is_empty() {
                srv.tr.work(&mut srv.work);
            }
            // Step 4: each packet's key says which callback to run.
            for entry in packets {
                lp.dispatch(srv, entry)?;
            }
        }
        for slot in lp.slots.drain(..).flatten() {
            slot.conn.close(&mut srv.tr, "the run is over");
        }
        let port = lp.port;
        let _ = srv.tr.sys(
            Call::new("CloseHandle", Stage::Teardown).fd(port as i64 as i32),
            "close the completion port",
            // SAFETY: the port is ours, every packet has been dequeued, and nothing uses it after.
            || win_bool(unsafe { CloseHandle(port) }),
        );
        Ok(())
    }
    // ANCHOR_END: serve

    impl Loop {
        /// `CreateIoCompletionPort` twice (make the port; associate the listener with it), and
        /// `WSAIoctl` for the extension functions `AcceptEx` and `GetAcceptExSockaddrs`.
        fn new(srv: &mut Server) -> anyhow::Result<Loop> {
            let lfd = srv.lfd();
            let tr = &mut srv.tr;
            let call = Call::new("CreateIoCompletionPort", Stage::Setup)
                .args("INVALID_HANDLE_VALUE, NULL, 0, 1");
            let start = tr.begin();
            // SAFETY: INVALID_HANDLE_VALUE with no existing port asks for a new, empty port.
            let port =
                unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, std::ptr::null_mut(), 0, 1) };
            let made = if port.is_null() {
                Err(last_error())
            } else {
                Ok(port as i64)
            };
            tr.end(call, start, made, "a completion port: Windows queues a packet here for every overlapped call that finishes");
            made.map_err(|e| anyhow::Error::from(e).context("CreateIoCompletionPort failed"))?;
            associate(
                tr,
                port,
                lfd,
                "the listener's AcceptEx packets will come to our port, with completion key = its socket",
            )?;
            let accept_ex: LPFN_ACCEPTEX =
                extension(tr, &srv.listener, &WSAID_ACCEPTEX, "WSAID_ACCEPTEX")?;
            let accept_addrs: LPFN_GETACCEPTEXSOCKADDRS = extension(
                tr,
                &srv.listener,
                &WSAID_GETACCEPTEXSOCKADDRS,
                "WSAID_GETACCEPTEXSOCKADDRS",
            )?;
            Ok(Loop {
                port,
                accept_ex,
                accept_addrs,
                table: BTreeMap::new(),
                slots: Vec::new(),
                accepting: None,
                stopping: false,
                stop_seen: None,
            })
        }

        /// Step 1: a fresh OVERLAPPED whose address is the key, mapped to `callback`. Returns the
        /// key; the caller hands `key as *mut OVERLAPPED` to the overlapped call.
        fn make_key(
            &mut self,
            callback: Callback,
            op: &'static str,
            fd: i32,
            slot: Option<usize>,
        ) -> usize {
            // SAFETY: OVERLAPPED is plain data; all zeroes is the state an overlapped call wants.
            let ov: Box<OVERLAPPED> = Box::new(unsafe { std::mem::zeroed() });
            let key = &*ov as *const OVERLAPPED as usize;
            self.table.insert(
                key,
                Pending {
                    callback,
                    op,
                    fd,
                    slot,
                    ov,
                },
            );
            key
        }

        /// Step 2's bookkeeping: the overlapped call returned. Pending or done at once, the result
        /// will come as a packet; a real failure means no packet, so the key leaves the table.
        fn started(
            &mut self,
            tr: &mut Tracer,
            call: Call,
            start: crate::trace::Started,
            key: usize,
            r: Result<i32, Errno>,
            done_note: &str,
        ) -> Result<(), Errno> {
            let note = match r {
                Ok(_) => format!(
                    "done at once — the result still comes as a packet under key {key:#x}; {done_note}"
                ),
                Err(e) if e.raw_os_error() == IO_PENDING => {
                    format!(
                        "started: Windows owns the buffer now and will post a packet under key {key:#x}; {done_note}"
                    )
                }
                Err(e) => format!("failed to start: {}", std::io::Error::from(e)),
            };
            tr.end_with(call, start, r, |ev| ev.key = Some(key as u64), note);
            match r {
                Err(e) if e.raw_os_error() != IO_PENDING => {
                    self.table.remove(&key);
                    Err(e)
                }
                _ => Ok(()),
            }
        }

        /// `WSASocketW(…, WSA_FLAG_OVERLAPPED)` for the next connection, then `AcceptEx` into it.
        fn start_accept(&mut self, srv: &mut Server) -> anyhow::Result<()> {
            let (af, fam) = if srv.local.is_ipv4() {
                (AF_INET, "AF_INET")
            } else {
                (AF_INET6, "AF_INET6")
            };
            let call = Call::new("WSASocketW", Stage::Setup)
                .args(format!("{fam}, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED|WSA_FLAG_NO_HANDLE_INHERIT"));
            let start = srv.tr.begin();
            // SAFETY: plain arguments; no protocol info structure.
            let raw = unsafe {
                WSASocketW(
                    af as i32,
                    SOCK_STREAM,
                    IPPROTO_TCP,
                    std::ptr::null(),
                    0,
                    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
                )
            };
            let made = if raw == INVALID_SOCKET {
                Err(wsa_error())
            } else {
                Ok(raw as i32)
            };
            srv.tr.end(
                call,
                start,
                made,
                "AcceptEx needs the socket the connection will become, made in advance",
            );
            made.map_err(|e| anyhow::Error::from(e).context("WSASocketW failed"))?;
            // SAFETY: WSASocketW just made this socket; nothing else owns it.
            let sock = unsafe { OwnedFd::from_raw_fd(raw as _) };
            let mut acc = Accepting {
                sock,
                addrs: Box::new([0; 2 * ADDR_LEN]),
            };

            let lfd = srv.lfd();
            let afd = acc.sock.as_raw_fd() as i32;
            let key = self.make_key(on_accepted, "AcceptEx", lfd, None);
            let call = Call::new("AcceptEx", Stage::DataReady)
                .fd(lfd)
                .args(format!("accept={afd}, 0 bytes of data, ov={key:#x}"));
            let start = srv.tr.begin();
            let mut got = 0u32;
            let accept_ex = self.accept_ex.expect("WSAIoctl gave AcceptEx");
            // SAFETY: the listener and the new socket are open; `addrs` (boxed, kept in
            // `self.accepting`) and the OVERLAPPED (boxed, in the table) stay put until the packet
            // for `key` is dequeued.
            let ok = unsafe {
                accept_ex(
                    srv.listener.as_raw_fd() as SOCKET,
                    afd as SOCKET,
                    acc.addrs.as_mut_ptr().cast(),
                    0,
                    ADDR_LEN as u32,
                    ADDR_LEN as u32,
                    &mut got,
                    key as *mut OVERLAPPED,
                )
            };
            let r = if ok != 0 { Ok(1) } else { Err(wsa_error()) };
            self.started(
                &mut srv.tr,
                call,
                start,
                key,
                r,
                "on_accepted when a client connects",
            )
            .map_err(|e| anyhow::Error::from(e).context("AcceptEx failed"))?;
            self.accepting = Some((acc, key));
            Ok(())
        }

        /// An overlapped `WSARecv` into the connection's buffer.
        fn start_recv(&mut self, tr: &mut Tracer, slot: usize) {
            let fd = self.conn(slot).raw();
            let key = self.make_key(on_received, "WSARecv", fd, Some(slot));
            let buf = self.slot(slot).conn.read_buf();
            let wsabuf = WSABUF {
                len: buf.len() as u32,
                buf: buf.as_mut_ptr(),
            };
            let call = Call::new("WSARecv", Stage::DataReady)
                .fd(fd)
                .args(format!("{} bytes, ov={key:#x}", wsabuf.len));
            let start = tr.begin();
            let (mut got, mut flags) = (0u32, 0u32);
            // SAFETY: the read buffer belongs to the Conn in this slot, which is not closed or read
            // before this key's packet is dequeued; its heap memory does not move. The OVERLAPPED
            // lives in the table until then.
            let rc = unsafe {
                WSARecv(
                    fd as SOCKET,
                    &wsabuf,
                    1,
                    &mut got,
                    &mut flags,
                    key as *mut OVERLAPPED,
                    None,
                )
            };
            // WSARecv returns 0 when done at once (`got` bytes are in the buffer), else an error.
            let r = if rc == 0 { Ok(rc) } else { Err(wsa_error()) };
            let note = if rc == 0 {
                format!("{got} bytes were there already; on_received when the packet comes")
            } else {
                "on_received when data has arrived and been copied".to_string()
            };
            match self.started(tr, call, start, key, r, &note) {
                Ok(()) => self.slot(slot).key = Some(key),
                Err(_) => self.close(tr, slot, "the connection failed: drop it"),
            }
        }

        /// An overlapped `WSASend` of what is left to echo.
        fn start_send(&mut self, tr: &mut Tracer, slot: usize) {
            let fd = self.conn(slot).raw();
            let key = self.make_key(on_sent, "WSASend", fd, Some(slot));
            let data = self.conn(slot).unsent();
            let wsabuf = WSABUF {
                len: data.len() as u32,
                buf: data.as_ptr().cast_mut(),
            };
            let note = format!(
                "echo {} bytes: {}; on_sent when Windows has taken them",
                data.len(),
                escape(data, 32)
            );
            let call = Call::new("WSASend", Stage::CopyToKernel)
                .fd(fd)
                .args(format!("{} bytes, ov={key:#x}", wsabuf.len));
            let start = tr.begin();
            let mut sent = 0u32;
            // SAFETY: nothing is read into this connection's echo queue until the send completes,
            // so the slice stays where it is; Windows only reads it. The OVERLAPPED lives in the
            // table until the packet is dequeued.
            let rc = unsafe {
                WSASend(
                    fd as SOCKET,
                    &wsabuf,
                    1,
                    &mut sent,
                    0,
                    key as *mut OVERLAPPED,
                    None,
                )
            };
            // WSASend returns 0 when done at once (`sent` bytes taken), else an error.
            let r = if rc == 0 { Ok(rc) } else { Err(wsa_error()) };
            let note = if rc == 0 {
                format!("{note} ({sent} taken at once)")
            } else {
                note
            };
            match self.started(tr, call, start, key, r, &note) {
                Ok(()) => self.slot(slot).key = Some(key),
                Err(_) => self.close(tr, slot, "the connection failed: drop it"),
            }
        }

        /// The run is over: `CancelIoEx` every operation still in flight. Each still reports, as a
        /// packet with `ERROR_OPERATION_ABORTED` (or its result, if it finished first).
        fn cancel_all(&mut self, tr: &mut Tracer) {
            self.stopping = true;
            let keys: Vec<usize> = self.table.keys().copied().collect();
            for key in keys {
                let p = &self.table[&key];
                let fd = p.fd;
                let call = Call::new("CancelIoEx", Stage::Teardown)
                    .fd(fd)
                    .args(format!("ov={key:#x}"));
                let start = tr.begin();
                // SAFETY: the socket is open, and the OVERLAPPED is the one its call was given.
                let ok = unsafe { CancelIoEx(fd as SOCKET as HANDLE, &*p.ov) };
                let r = win_bool(ok);
                let note = match r {
                    Ok(_) => "the run is over: cancel that operation; its packet will still come",
                    Err(_) => "nothing to cancel: it has finished; its packet is on the way",
                };
                tr.end_with(call, start, r, |ev| ev.key = Some(key as u64), note);
            }
        }

        /// Step 3: `GetQueuedCompletionStatusEx(port, …, 1 ms)`: up to [`BATCH`] packets.
        fn wait(&mut self, tr: &mut Tracer) -> anyhow::Result<Vec<OVERLAPPED_ENTRY>> {
            let mut entries = [OVERLAPPED_ENTRY::default(); BATCH];
            let mut n = 0u32;
            let call = Call::new("GetQueuedCompletionStatusEx", Stage::Completion)
                .fd(self.port as i64 as i32)
                .args(format!("{BATCH} entries, {WAIT_MS} ms"));
            let start = tr.begin();
            // SAFETY: `entries` has room for BATCH packets; `n` receives how many were filled.
            let ok = unsafe {
                GetQueuedCompletionStatusEx(
                    self.port,
                    entries.as_mut_ptr(),
                    BATCH as u32,
                    &mut n,
                    WAIT_MS,
                    0,
                )
            };
            let r = if ok != 0 {
                Ok(n as i32)
            } else {
                Err(last_error())
            };
            let note = match r {
                Ok(n) => format!("{n} packet{} from the port", plural(n as usize)),
                Err(e) if e.raw_os_error() == 258 => {
                    "no packet within 1 ms (WAIT_TIMEOUT): back to other work".into()
                }
                Err(e) => format!("failed: {}", std::io::Error::from(e)),
            };
            tr.end(call, start, r, note);
            match r {
                Ok(n) => Ok(entries[..n as usize].to_vec()),
                Err(e) if e.raw_os_error() == 258 => Ok(Vec::new()),
                Err(e) => Err(anyhow::Error::from(e).context("GetQueuedCompletionStatusEx failed")),
            }
        }

        /// Step 4: the packet's OVERLAPPED address is the key; it leaves the table, and its
        /// callback runs.
        fn dispatch(&mut self, srv: &mut Server, entry: OVERLAPPED_ENTRY) -> anyhow::Result<()> {
            let key = entry.lpOverlapped as usize;
            let Some(p) = self.table.remove(&key) else {
                srv.tr.info(format!("a packet for unknown key {key:#x}"));
                return Ok(());
            };
            // The packet's status: 0 is success; otherwise an NTSTATUS, named by its Win32 code.
            let res = match entry.Internal as u32 {
                0 => Ok(entry.dwNumberOfBytesTransferred),
                status => Err(Errno::from_raw_os_error(win32_error(status))),
            };
            self.record_packet(&mut srv.tr, key, &p, res);
            drop(p.ov);
            (p.callback)(self, srv, p.slot, res)
        }

        fn record_packet(&self, tr: &mut Tracer, key: usize, p: &Pending, res: Result<u32, Errno>) {
            let note = match (p.op, res) {
                ("AcceptEx", Ok(_)) => {
                    "a connection, already accepted into the socket we made → on_accepted"
                        .to_string()
                }
                ("WSARecv", Ok(0)) => {
                    "0 bytes: the client shut down writing (FIN) → on_received".into()
                }
                ("WSARecv", Ok(n)) => format!(
                    "Windows already copied {n} bytes into our buffer: {} → on_received",
                    escape(
                        self.conn(p.slot.expect("WSARecv has a slot"))
                            .last_read(n as usize),
                        32
                    )
                ),
                ("WSASend", Ok(n)) => format!("Windows took {n} bytes to send → on_sent"),
                (_, Ok(_)) => "done".into(),
                (_, Err(e)) if e.raw_os_error() == 995 => {
                    "cancelled at our request → its callback closes up".into()
                }
                (_, Err(e)) => format!("failed: {}", std::io::Error::from(e)),
            };
            let call = Call::new(p.op, Stage::Completion)
                .fd(p.fd)
                .args(format!("packet ov={key:#x}"))
                .op();
            let start = tr.begin();
            tr.end_with(call, start, res, |ev| ev.key = Some(key as u64), note);
        }

        fn slot(&mut self, slot: usize) -> &mut Slot {
            self.slots[slot].as_mut().expect("a live slot")
        }

        fn conn(&self, slot: usize) -> &Conn {
            &self.slots[slot].as_ref().expect("a live slot").conn
        }

        /// Closes a connection whose operation has completed, and frees its slot.
        fn close(&mut self, tr: &mut Tracer, slot: usize, note: &str) {
            if let Some(s) = self.slots[slot].take() {
                s.conn.close(tr, note);
            }
        }
    }

    // ANCHOR: callbacks
    /// `AcceptEx` finished: tell the new socket it was accepted (`SO_UPDATE_ACCEPT_CONTEXT`), learn
    /// the peer (`GetAcceptExSockaddrs`), tie it to the port, start its first `WSARecv`, and
    /// accept the next.
    fn on_accepted(
        lp: &mut Loop,
        srv: &mut Server,
        _: Option<usize>,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        let (acc, _) = lp.accepting.take().expect("an AcceptEx was in flight");
        if let Err(e) = res {
            sock_close(
                &mut srv.tr,
                acc.sock,
                "the accept did not happen: drop the socket we made for it",
            );
            if e.raw_os_error() == 995 || lp.stopping {
                return Ok(());
            }
            return lp.start_accept(srv);
        }
        let afd = acc.sock.as_raw_fd() as i32;
        let lsock = srv.listener.as_raw_fd() as SOCKET;
        let call = Call::new("setsockopt", Stage::Setup).fd(afd).args(format!(
            "SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, {}",
            srv.lfd()
        ));
        let start = srv.tr.begin();
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
        let r = if rc == SOCKET_ERROR {
            Err(wsa_error())
        } else {
            Ok(rc)
        };
        srv.tr.end(call, start, r, "give the accepted socket its listener's properties (getpeername, shutdown work after this)");

        // Where the connection comes from: parsed from the buffer AcceptEx filled.
        let call = Call::new("GetAcceptExSockaddrs", Stage::Setup).fd(afd);
        let start = srv.tr.begin();
        let (mut local, mut remote) = (
            std::ptr::null_mut::<SOCKADDR>(),
            std::ptr::null_mut::<SOCKADDR>(),
        );
        let (mut llen, mut rlen) = (0i32, 0i32);
        let addrs = lp.accept_addrs.expect("WSAIoctl gave GetAcceptExSockaddrs");
        // SAFETY: `acc.addrs` is the buffer AcceptEx filled, with the same lengths; the pointers
        // it returns point into that buffer, which lives until the end of this function.
        unsafe {
            addrs(
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
        let wake_up = srv.stopping();
        let note = if wake_up {
            "the harness's wake-up connection: the run is over".to_string()
        } else {
            format!(
                "the peer is port {}",
                port.map_or("?".into(), |p| p.to_string())
            )
        };
        srv.tr.end_with(
            call,
            start,
            Ok(afd),
            |ev| ev.port = port.filter(|_| !wake_up),
            note,
        );
        if wake_up {
            sock_close(&mut srv.tr, acc.sock, "close the wake-up connection");
            if !lp.stopping {
                lp.cancel_all(&mut srv.tr);
            }
            return Ok(());
        }

        // Past --max-conns the client is told and closed (see `limits`); accept the next one.
        let Some(conn) = srv.admit(acc.sock) else {
            return lp.start_accept(srv);
        };
        associate(
            &mut srv.tr,
            lp.port,
            afd,
            "this connection's packets will come to our port too",
        )?;
        let slot = match lp.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                lp.slots.push(None);
                lp.slots.len() - 1
            }
        };
        lp.slots[slot] = Some(Slot { conn, key: None });
        lp.start_recv(&mut srv.tr, slot);
        lp.start_accept(srv)
    }

    /// `WSARecv` finished: the bytes are already in the connection's buffer. Echo them, or close on
    /// EOF, error or cancellation.
    fn on_received(
        lp: &mut Loop,
        srv: &mut Server,
        slot: Option<usize>,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        let slot = slot.expect("WSARecv has a slot");
        lp.slot(slot).key = None;
        match res {
            Ok(n) if n > 0 && !lp.stopping => {
                lp.slot(slot).conn.received(n as usize);
                lp.start_send(&mut srv.tr, slot);
            }
            Ok(0) => lp.close(
                &mut srv.tr,
                slot,
                "the client is done and everything is echoed",
            ),
            Ok(_) => lp.close(&mut srv.tr, slot, "the run is over"),
            Err(e) if e.raw_os_error() == 995 => lp.close(&mut srv.tr, slot, "the run is over"),
            Err(_) => lp.close(&mut srv.tr, slot, "the connection failed: drop it"),
        }
        Ok(())
    }

    /// `WSASend` finished: send the rest of a short send, or start the next `WSARecv`.
    fn on_sent(
        lp: &mut Loop,
        srv: &mut Server,
        slot: Option<usize>,
        res: Result<u32, Errno>,
    ) -> anyhow::Result<()> {
        let slot = slot.expect("WSASend has a slot");
        lp.slot(slot).key = None;
        match res {
            Ok(n) => {
                let done = lp.slot(slot).conn.mark_sent(n as usize);
                if lp.stopping {
                    lp.close(&mut srv.tr, slot, "the run is over");
                } else if done {
                    lp.start_recv(&mut srv.tr, slot);
                } else {
                    lp.start_send(&mut srv.tr, slot);
                }
            }
            Err(e) if e.raw_os_error() == 995 => lp.close(&mut srv.tr, slot, "the run is over"),
            Err(_) => lp.close(&mut srv.tr, slot, "the connection failed: drop it"),
        }
        Ok(())
    }
    // ANCHOR_END: callbacks

    /// `CreateIoCompletionPort(socket, port, key, 0)`: packets for this socket's overlapped calls
    /// go to our port. The completion key is the socket (each packet also carries the
    /// OVERLAPPED's address, which is the key this program looks up).
    fn associate(tr: &mut Tracer, port: HANDLE, fd: i32, note: &str) -> anyhow::Result<()> {
        let call = Call::new("CreateIoCompletionPort", Stage::Setup)
            .fd(fd)
            .args(format!("port, CompletionKey={fd}, 0"));
        let start = tr.begin();
        // SAFETY: the socket is open and overlapped-capable; the port is ours.
        let h = unsafe { CreateIoCompletionPort(fd as SOCKET as HANDLE, port, fd as usize, 0) };
        let r = if h.is_null() {
            Err(last_error())
        } else {
            Ok(h as i64)
        };
        tr.end(call, start, r, note);
        r.map(|_| ())
            .map_err(|e| anyhow::Error::from(e).context("CreateIoCompletionPort failed"))
    }

    /// `WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, guid)`: Winsock's extension functions are not
    /// exported by name; the provider hands out their addresses.
    fn extension<F: Copy>(
        tr: &mut Tracer,
        listener: &OwnedFd,
        guid: &windows_sys::core::GUID,
        name: &str,
    ) -> anyhow::Result<Option<F>> {
        let mut f: Option<F> = None;
        let mut got = 0u32;
        let lfd = listener.as_raw_fd() as i32;
        let call = Call::new("WSAIoctl", Stage::Setup)
            .fd(lfd)
            .args(format!("SIO_GET_EXTENSION_FUNCTION_POINTER, {name}"));
        let start = tr.begin();
        // SAFETY: in: the GUID; out: room for one function pointer (`Option<fn>` has its size);
        // no OVERLAPPED, so the call is synchronous.
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
        let r = if rc == SOCKET_ERROR {
            Err(wsa_error())
        } else {
            Ok(rc)
        };
        tr.end(
            call,
            start,
            r,
            format!("ask Winsock where {} is", name.trim_start_matches("WSAID_")),
        );
        r.map_err(|e| anyhow::Error::from(e).context("WSAIoctl failed"))?;
        Ok(f)
    }

    /// Closes a socket that never became a [`Conn`].
    fn sock_close(tr: &mut Tracer, sock: OwnedFd, note: &str) {
        crate::sys::close(tr, sock, note);
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
    fn wsa_error() -> Errno {
        // SAFETY: no arguments; reads this thread's last error.
        Errno::from_raw_os_error(unsafe { WSAGetLastError() })
    }

    /// The last Win32 error (`GetLastError`).
    fn last_error() -> Errno {
        Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    /// A Win32 `BOOL` result as a result.
    fn win_bool(ok: windows_sys::core::BOOL) -> rustix::io::Result<i32> {
        if ok != 0 { Ok(ok) } else { Err(last_error()) }
    }

    fn plural(n: usize) -> &'static str {
        if n == 1 { "" } else { "s" }
    }
}

fn notice(s: &Summary) -> Vec<String> {
    let waits = s
        .calls
        .get("GetQueuedCompletionStatusEx")
        .copied()
        .unwrap_or(0);
    let own_recvs = s.calls.get("recv").copied().unwrap_or(0);
    vec![
        format!(
            "the server made {own_recvs} recv calls of its own: Windows copied all {} bytes into our buffers and posted {} completion packets; each overlapped call (AcceptEx {}, WSARecv {}, WSASend {}) returned at once",
            s.bytes_in_by_kernel,
            s.cqes,
            s.calls.get("AcceptEx").copied().unwrap_or(0),
            s.calls.get("WSARecv").copied().unwrap_or(0),
            s.calls.get("WSASend").copied().unwrap_or(0),
        ),
        format!(
            "{} calls in all, {waits} of them GetQueuedCompletionStatusEx: {} came back empty after 1 ms (WAIT_TIMEOUT) so the thread could do other work ({} units)",
            s.syscalls, s.timeouts, s.work
        ),
        "readiness models (select, poll, epoll, kqueue) hear \"you may recv now\" and then copy; here the packet means the copy is done. The polling crate's Windows backend (`portable`) uses a completion port too, but only to emulate readiness through AFD polls — the program still calls recv".into(),
    ]
}
