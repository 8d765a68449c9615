//! The `polling` crate's IOCP backend (Windows), call by call: readiness *emulated* on a
//! completion port with the AFD driver's poll requests.
//!
//! Winsock sits on the Auxiliary Function Driver (`\Device\Afd`). polling opens it directly with
//! `NtCreateFile` and asks it, per socket, for an `IOCTL_AFD_POLL` (`NtDeviceIoControlFile`):
//! a request that completes — as a packet on polling's completion port — once the socket is
//! readable or writable. `Poller::wait` is `GetQueuedCompletionStatusEx`, and each packet is
//! turned back into "readable"/"writable". Nothing is copied for us: the program still calls
//! `recv` (the `iocp` model, by contrast, hands Windows the `WSARecv` itself).
//!
//! What polling does, from its source (`src/iocp/{mod,afd,port}.rs`, 3.11):
//! - `Poller::new`: `NtCreateFile(\Device\Afd\Smol)` and `CloseHandle` (a trial: is AFD
//!   there?), then `CreateIoCompletionPort` for the port. (The first time in a process it also
//!   looks up the `Nt*` functions in ntdll with `GetProcAddress`: no I/O, not recorded.)
//! - `add`: `WSAIoctl(SIO_BASE_HANDLE)` for the base socket AFD polls; an AFD handle serves 32
//!   sockets, so the 1st, 33rd… live socket also opens one (`NtCreateFile`), ties it to the port
//!   (`CreateIoCompletionPort`) and sets `FILE_SKIP_SET_EVENT_ON_HANDLE`. Then the socket is only
//!   *queued*: no call registers it.
//! - `modify`: no call; the socket is queued again if its poll must change.
//! - `wait`: first the queue is drained — an idle socket gets its `NtDeviceIoControlFile(IOCTL_AFD_POLL)`,
//!   a deleted one is dropped (closing its AFD handle if it was the last) — then one
//!   `GetQueuedCompletionStatusEx`. Each packet makes its socket idle and queues it again, for
//!   the next wait: that is where oneshot re-arming happens.
//! - `delete`: `NtCancelIoFileEx` if a poll request is in flight and AFD has not completed it
//!   yet; otherwise no call.
//! - dropping the Poller: `CloseHandle` of the port, then of each AFD handle whose last socket
//!   was still queued. A cancelled poll whose packet was never dequeued keeps its AFD handle
//!   open: polling leaks it.
//!
//! [`Lib`] mirrors the state those calls depend on (each socket's poll status, the update queue,
//! the sockets per AFD handle) so that the trace names the calls polling really makes. What only
//! the kernel and polling's memory know is not claimed: whether a poll request answered
//! `STATUS_PENDING` or, the socket being ready already, `STATUS_SUCCESS` (the event's result is
//! left empty), and whether a poll request was still pending when `delete` cancels it (an `info`
//! line says so, not a `syscall` event). One assumption is this model's flow: every packet a
//! wait dequeues becomes an event (no poll is cancelled before a later wait), so one wait is one
//! `GetQueuedCompletionStatusEx`. `scripts/cross-check windows` compares the trace with what
//! Wine's relay log sees.

use super::poller::{Change, Op, own, own_with};
use crate::trace::names;
use crate::trace::{Call, Stage, Started, Tracer};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::{self, Display};
use std::io;
use std::os::windows::io::AsRawHandle;
use std::sync::atomic::{AtomicBool, Ordering};

/// The AFD poll events (`AFD_POLL_*`), as polling defines them.
const RECEIVE: u32 = 0x001;
const RECEIVE_EXPEDITED: u32 = 0x002;
const SEND: u32 = 0x004;
const DISCONNECT: u32 = 0x008;
const ABORT: u32 = 0x010;
const ACCEPT: u32 = 0x080;
const CONNECT_FAIL: u32 = 0x100;

/// How many sockets polling lets one AFD handle poll (wepoll's number).
const AFD_MAX_SIZE: usize = 32;

/// How many updates polling's queue holds before an update must drain it.
const QUEUE_CAPACITY: usize = 1024;

/// polling looks its ntdll functions up once per process (a `OnceLock`).
static NTDLL_LOADED: AtomicBool = AtomicBool::new(false);

/// The events polling asks AFD for (its `event_properties_to_afd_mask`).
fn afd_mask(readable: bool, writable: bool, error: bool) -> u32 {
    let mut mask = 0;
    if error || readable || writable {
        mask |= ABORT | CONNECT_FAIL;
    }
    if readable {
        mask |= RECEIVE | ACCEPT | DISCONNECT | RECEIVE_EXPEDITED;
    }
    if writable {
        mask |= SEND;
    }
    mask
}

/// AFD poll events by name (`AFD_POLL_RECEIVE|AFD_POLL_ABORT`), formatted only when shown.
struct MaskNames(u32);

impl Display for MaskNames {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let table = [
            (RECEIVE, "AFD_POLL_RECEIVE"),
            (RECEIVE_EXPEDITED, "AFD_POLL_RECEIVE_EXPEDITED"),
            (SEND, "AFD_POLL_SEND"),
            (DISCONNECT, "AFD_POLL_DISCONNECT"),
            (ABORT, "AFD_POLL_ABORT"),
            (ACCEPT, "AFD_POLL_ACCEPT"),
            (CONNECT_FAIL, "AFD_POLL_CONNECT_FAIL"),
        ]
        .map(|(bit, name)| (u64::from(bit), name));
        f.write_str(&names::flags(self.0.into(), &table))
    }
}

/// Where a socket's poll request stands (polling's `SocketStatus`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Idle,
    /// A poll request for these events was submitted.
    Polling(u32),
    /// Its poll request was cancelled; its packet has not been dequeued.
    Cancelled,
}

/// polling's state for one socket it was given (its `SocketState`, inside a packet that lives
/// while the map, the queue or Windows holds it).
struct Source {
    socket: i32,
    /// The AFD handle that polls it (an index into `Lib::afds`).
    afd: usize,
    /// The events its interest asks for now.
    mask: u32,
    status: Status,
    /// `delete` was called (`waiting_on_delete`).
    deleted: bool,
    /// Still in polling's map of sources.
    registered: bool,
    /// Entries in the update queue.
    queued: usize,
    /// A poll request not yet dequeued from the port: Windows holds the packet.
    in_flight: bool,
}

/// The completion port behind the Poller, and a mirror of polling's state.
pub struct Lib {
    port: i32,
    /// Sources by a number of our own (a socket's handle value is reused once it is closed).
    sources: BTreeMap<u64, Source>,
    next: u64,
    /// Registered sockets → their source.
    by_socket: BTreeMap<i32, u64>,
    /// polling's `pending_updates`, in order.
    queue: VecDeque<u64>,
    /// Live sources per AFD handle, by the handle's number (#1, #2…) minus one.
    afds: Vec<usize>,
    /// polling's list of AFD handles to reuse, in its order (it `swap_remove`s closed ones).
    reusable: Vec<usize>,
}

impl Lib {
    /// `Poller::new`: a trial AFD handle (is the driver there?), then the completion port.
    pub fn new(tr: &mut Tracer) -> io::Result<(polling::Poller, Lib)> {
        let poller = match polling::Poller::new() {
            Ok(p) => p,
            Err(e) => {
                // Which of its calls failed, polling does not say: record only that it did.
                say(tr, format_args!("Poller::new() failed: {e}"));
                return Err(e);
            }
        };
        if !NTDLL_LOADED.swap(true, Ordering::Relaxed) {
            tr.info("Poller::new() looked up NtCreateFile, NtDeviceIoControlFile and NtCancelIoFileEx in ntdll.dll (GetProcAddress): the AFD driver is reached through these native calls, which are not part of the documented Win32 API");
        }
        let lib = Lib {
            port: poller.as_raw_handle() as i32,
            sources: BTreeMap::new(),
            next: 0,
            by_socket: BTreeMap::new(),
            queue: VecDeque::new(),
            afds: Vec::new(),
            reusable: Vec::new(),
        };
        own(
            tr,
            Call::new("NtCreateFile", Stage::Setup).args(OPEN_AFD),
            Ok(0),
            "a trial: can this Windows open the AFD driver directly?",
        );
        own(
            tr,
            Call::new("CloseHandle", Stage::Setup).args(r"\Device\Afd\Smol"),
            Ok(1),
            "the trial handle is closed at once",
        );
        let call = Call::new("CreateIoCompletionPort", Stage::Setup)
            .args("INVALID_HANDLE_VALUE, NULL, 0, 0");
        let start = tr.begin();
        tr.record(
            call,
            start,
            &Ok(i64::from(lib.port)),
            |_, _| (),
            "Poller::new(): the completion port behind the Poller — it will carry readiness, not completed I/O",
        );
        Ok((poller, lib))
    }

    /// What `Poller::wait` sleeps in: `GetQueuedCompletionStatusEx` on the port, room for
    /// `capacity` packets, no timeout.
    pub fn wait_call(&self, capacity: usize) -> Call {
        Call::new("GetQueuedCompletionStatusEx", Stage::DataReady)
            .fd(self.port)
            .args(format_args!("{capacity} entries, INFINITE"))
    }

    /// The calls of an `add` (no registering one: polling only queues the socket) or a
    /// `modify` (none at all), and what they queued.
    pub fn ctl(&mut self, tr: &mut Tracer, _start: Started, c: &Change, r: &io::Result<()>) {
        let (op, fd) = (c.op.name(), c.fd);
        let mask = afd_mask(c.readable, c.writable, true);
        if let Err(e) = r {
            say(tr, format_args!("{op}({fd}) failed: {e}"));
            return;
        }
        let id = match c.op {
            Op::Add => {
                own(
                    tr,
                    Call::new("WSAIoctl", Stage::Setup)
                        .fd(fd)
                        .args("SIO_BASE_HANDLE"),
                    Ok(0),
                    "the base socket under any layered provider: the one AFD polls",
                );
                let afd = self.afd_handle(tr);
                self.afds[afd] += 1;
                let id = self.next;
                self.next += 1;
                self.sources.insert(
                    id,
                    Source {
                        socket: fd,
                        afd,
                        mask,
                        status: Status::Idle,
                        deleted: false,
                        registered: true,
                        queued: 0,
                        in_flight: false,
                    },
                );
                self.by_socket.insert(fd, id);
                self.push(tr, id);
                id
            }
            Op::Modify => {
                let id = self.by_socket[&fd];
                let src = self.sources.get_mut(&id).expect("registered");
                src.mask = mask;
                // polling queues an update unless the poll in flight already asks for these events.
                if src.status != Status::Polling(mask) {
                    self.push(tr, id);
                }
                id
            }
        };
        let (afd, why) = (self.sources[&id].afd + 1, c.why);
        say(
            tr,
            format_args!(
                "{op}({fd}): {why} — no call yet: polling queues the socket and sends AFD #{afd} its poll request inside the next wait"
            ),
        );
    }

    /// A `delete`: cancels the poll request in flight, if there is one.
    pub fn deleted(&mut self, tr: &mut Tracer, _start: Started, raw: i32, _r: &io::Result<()>) {
        let Some(id) = self.by_socket.remove(&raw) else {
            return;
        };
        let src = self.sources.get_mut(&id).expect("registered");
        src.registered = false;
        src.deleted = true;
        if matches!(src.status, Status::Polling(_)) {
            self.cancel(tr, id, format_args!("delete({raw})"));
        } else {
            say(
                tr,
                format_args!(
                    "delete({raw}): no call — no poll request in flight; its update still queued is dropped later (in the next wait, or with the Poller)"
                ),
            );
        }
        self.release(tr, id);
    }

    /// polling cancels the poll request in flight with `NtCancelIoFileEx` — unless AFD has
    /// completed it already (its status block is no longer `STATUS_PENDING`). Which it was only
    /// polling's memory knows, so the trace says what happens without claiming the call.
    fn cancel(&mut self, tr: &mut Tracer, id: u64, why: impl Display) {
        let src = self.sources.get_mut(&id).expect("a source");
        src.status = Status::Cancelled;
        let (socket, afd) = (src.socket, src.afd + 1);
        say(
            tr,
            format_args!(
                "{why}: polling cancels socket {socket}'s poll request on AFD #{afd} with NtCancelIoFileEx, unless AFD has completed it already (then no call) — which of the two, polling does not say"
            ),
        );
    }

    /// An AFD handle with room (polling's `afd_handle`): the first in its list polling fewer
    /// than 32 sockets, or a new one.
    fn afd_handle(&mut self, tr: &mut Tracer) -> usize {
        let mut i = 0;
        while i < self.reusable.len() {
            match self.afds[self.reusable[i]] {
                0 => {
                    self.reusable.swap_remove(i);
                }
                n if n >= AFD_MAX_SIZE => i += 1,
                _ => return self.reusable[i],
            }
        }
        self.afds.push(0);
        let afd = self.afds.len() - 1;
        let no = afd + 1;
        own(
            tr,
            Call::new("NtCreateFile", Stage::Setup).args(OPEN_AFD),
            Ok(0),
            format_args!(
                "open AFD handle #{no}, the driver under Winsock: it will poll up to {AFD_MAX_SIZE} sockets"
            ),
        );
        own(
            tr,
            Call::new("CreateIoCompletionPort", Stage::Setup)
                .args(format_args!("AFD #{no}, port, CompletionKey=AFD #{no}, 0")),
            Ok(self.port.into()),
            format_args!("AFD #{no}'s poll requests will complete as packets on the port"),
        );
        own(
            tr,
            Call::new("SetFileCompletionNotificationModes", Stage::Setup)
                .args(format_args!("AFD #{no}, FILE_SKIP_SET_EVENT_ON_HANDLE")),
            Ok(1),
            "a completion need not signal the handle too: the port is enough",
        );
        self.reusable.push(afd);
        afd
    }

    /// polling's `update_packet` outside a wait: queue the socket, draining a full queue first.
    fn push(&mut self, tr: &mut Tracer, id: u64) {
        if self.queue.len() == QUEUE_CAPACITY {
            for _ in 0..QUEUE_CAPACITY {
                self.update_next(tr);
            }
        }
        self.queue.push_back(id);
        self.sources.get_mut(&id).expect("a source").queued += 1;
    }

    /// One queued update (polling's `update`): a deleted socket is dropped, an idle one gets a
    /// poll request, one polling for other events is cancelled.
    fn update_next(&mut self, tr: &mut Tracer) {
        let Some(id) = self.queue.pop_front() else {
            return;
        };
        let src = self.sources.get_mut(&id).expect("a queued source");
        src.queued -= 1;
        if src.deleted {
            self.release(tr, id);
            return;
        }
        match src.status {
            Status::Idle => {
                let (socket, afd, mask) = (src.socket, src.afd + 1, src.mask);
                src.status = Status::Polling(mask);
                src.in_flight = true;
                let call = Call::new("NtDeviceIoControlFile", Stage::DataReady)
                    .fd(socket)
                    .args(format_args!(
                        "AFD #{afd}, IOCTL_AFD_POLL, {}",
                        MaskNames(mask)
                    ));
                // Its status (STATUS_PENDING, or STATUS_SUCCESS when the socket is ready
                // already) is not something polling tells: the event's `ret` stays empty.
                own_with(
                    tr,
                    call,
                    Ok(0),
                    |ev| ev.ret = None,
                    "AFD will queue a packet on the port once this socket is ready (STATUS_PENDING; STATUS_SUCCESS if it is ready already — polling does not say which) — one packet per request, so polling re-submits after each",
                );
            }
            Status::Polling(flags) if flags != src.mask => {
                self.cancel(tr, id, "its poll request asks for other events");
            }
            Status::Polling(_) | Status::Cancelled => {}
        }
    }

    /// A source nothing holds any more is freed; its AFD handle is closed with its last socket.
    fn release(&mut self, tr: &mut Tracer, id: u64) {
        let src = &self.sources[&id];
        if src.registered || src.queued > 0 || src.in_flight {
            return;
        }
        let afd = src.afd;
        self.sources.remove(&id);
        self.afds[afd] -= 1;
        if self.afds[afd] == 0 {
            let no = afd + 1;
            own(
                tr,
                Call::new("CloseHandle", Stage::Teardown).args(format_args!("AFD #{no}")),
                Ok(1),
                format_args!("AFD #{no} polls no socket any more: close it"),
            );
        }
    }

    /// Before `GetQueuedCompletionStatusEx`: polling drains its update queue.
    pub fn before_wait(&mut self, tr: &mut Tracer) {
        while !self.queue.is_empty() {
            self.update_next(tr);
        }
    }

    /// After it: each packet (here, each event: the keys are the sockets) leaves Windows, makes
    /// its socket idle with no interest (oneshot) and queues it for the next wait.
    pub fn after_wait(&mut self, tr: &mut Tracer, got: &[polling::Event]) {
        for ev in got {
            let Some(&id) = self.by_socket.get(&(ev.key as i32)) else {
                continue;
            };
            let src = self.sources.get_mut(&id).expect("registered");
            src.in_flight = false;
            src.status = Status::Idle;
            src.mask = afd_mask(false, false, false);
            self.push(tr, id);
        }
    }

    /// The Poller was dropped: its port is closed, then its queue, with the AFD handles whose
    /// last sockets were in it.
    pub fn dropped(&mut self, tr: &mut Tracer) {
        own(
            tr,
            Call::new("CloseHandle", Stage::Teardown).fd(self.port),
            Ok(1),
            "dropping the Poller: close the completion port",
        );
        while let Some(id) = self.queue.pop_front() {
            self.sources.get_mut(&id).expect("a queued source").queued -= 1;
            self.release(tr, id);
        }
        if self.afds.iter().any(|&n| n > 0) && tr.enabled() {
            let leaked: Vec<String> = (0..self.afds.len())
                .filter(|&afd| self.afds[afd] > 0)
                .map(|afd| format!("#{}", afd + 1))
                .collect();
            tr.info(|| format!(
                "AFD {} stays open: a cancelled poll request whose packet was never dequeued still holds it, and polling does not free it when the Poller is dropped",
                leaked.join(", ")
            ));
        }
    }
}

/// `NtCreateFile`'s arguments as polling opens the AFD driver.
const OPEN_AFD: &str =
    r"\Device\Afd\Smol, SYNCHRONIZE, FILE_SHARE_READ|FILE_SHARE_WRITE, FILE_OPEN";

/// A remark that is no call (what polling does without one), formatted only when the trace
/// records.
fn say(tr: &mut Tracer, note: impl Display) {
    tr.info(|| note.to_string());
}
