//! The completion models' scaffold: the key → callback table, and the connections whose
//! operations are in flight. `uring` (io_uring) and `iocp` (I/O completion ports) stand on it,
//! and so can any model that hands the kernel whole operations and hears back under a key
//! (Linux AIO's `io_submit`/`io_getevents`, Windows' completion routines).
//!
//! The contract, step by step (the four steps of each model's `//!`):
//! 1. **Make a key and map it to a callback.** The OS decides what a key is (io_uring's
//!    `user_data`, the OVERLAPPED's address); [`Ops::start`] files it with the callback it
//!    stands for, an [`Op`], and with `io`, the OS wrapper's record of the submission: what the
//!    trace says of it, and any memory the kernel writes until it completes (an OVERLAPPED).
//!    A receive or a send carries its connection: while the kernel holds the connection's
//!    buffer, the connection is parked in the table under the key, where no other code can
//!    reach it.
//! 2. **Submit** the operation with that key, through the OS's traced wrapper
//!    (`crate::sys::uring`, `crate::sys::overlapped`). One that fails to start gets no entry:
//!    no completion will come for it.
//! 3. **Wait** for completions through the wrapper, doing other work meanwhile.
//! 4. **Look the key up**: [`Ops::finish`] takes the entry out and hands back its `Op`, with
//!    the connection (now the callback's to hold, as a [`Held`]), and the `io` record; the model
//!    matches the `Op` to its callbacks. A key the table does not hold is the model's to say in
//!    a trace line (nothing here can make one, and nothing here panics).
//!
//! A callback that holds a connection ends by parking it again with its next operation
//! ([`Ops::start`]) or by closing it ([`Ops::close`]). Every operation completes exactly once,
//! even a cancelled one, so a model loops until [`Ops::is_empty`]; when the run is over,
//! [`Ops::stop`] lists what is still in flight for the model to cancel.
//!
//! Each connection keeps one slot for its life (the lowest free one when it was accepted). The
//! slots are what a stopping loop walks: it cancels the accept first, then each connection's
//! operation in slot order.

use crate::echo::Conn;
use crate::trace::Tracer;
use rustix::io::Errno;
use std::collections::BTreeMap;

// ANCHOR: op
/// What a key calls back when its operation completes. A receive and a send carry the
/// connection they act on, so their callbacks cannot be handed none; `A` is whatever the
/// accept's callback needs from its submission (on Windows, the socket `AcceptEx` accepted
/// into; io_uring's accept makes its own descriptor, so nothing there).
pub enum Op<A = ()> {
    Accept(A),
    Recv(Held),
    Send(Held),
    /// A chat's send to the connection in this slot, which stays parked under its receive:
    /// lines for a member go out while its receive waits for what it says next.
    Deliver(usize),
    /// A request to cancel another key, whose operation then reports under its own key. Only
    /// io_uring's cancel is itself an operation that completes (`CancelIoEx` returns at once).
    #[cfg(target_os = "linux")]
    Cancel,
}

/// A connection while its callback holds it, between a completion and its next submission.
pub struct Held {
    /// Its place in [`Ops`]' slots, kept for the connection's life.
    slot: usize,
    pub conn: Conn,
}

// ANCHOR_END: op

impl<A> Op<A> {
    /// What a completed receive left in its connection's buffer (nothing, for the others).
    pub fn received(&self, result: Result<u32, Errno>) -> &[u8] {
        match (self, result) {
            (Op::Recv(held), Ok(n)) => held.conn.last_read(n as usize),
            _ => &[],
        }
    }
}

/// What the room's news asks of a chat member's connection ([`Ops::touched`]).
pub enum Touched<'a, K, T> {
    /// Start a send beside its receive: the connection in this slot.
    Deliver(usize),
    /// Cancel these operations (and their keys): it was dropped from the room.
    Cancel(Vec<(K, &'a T)>),
}

/// What a completed send leads to ([`Ops::after_send`], [`Ops::after_recv`]).
#[cfg(windows)]
pub enum Next {
    Recv(Held),
    Send(Held),
}

/// A connection's slot: who has the connection, and the chat's send beside its receive.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Slot<K> {
    place: Place<K>,
    /// The key of an [`Op::Deliver`] in flight for it.
    deliver: Option<K>,
}

/// Who has a connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place<K> {
    Free,
    /// A callback holds the connection.
    Held,
    /// The connection is parked in the table under this key: the kernel holds its buffer.
    Parked(K),
}

/// The operations in flight, by key, and the connections' slots.
pub struct Ops<K, T, A = ()> {
    /// Step 1's table: key → the callback it stands for, and the OS's record of it.
    table: BTreeMap<K, (Op<A>, T)>,
    /// Connections by slot; a slot is reused once its connection is closed.
    slots: Vec<Slot<K>>,
    /// The run is over: cancel what is in flight and submit nothing new.
    stopping: bool,
}

impl<K: Ord + Copy, T, A> Ops<K, T, A> {
    pub fn new() -> Self {
        Ops {
            // A `BTreeMap`: a `HashMap` would seed its hasher with `getrandom`, one more
            // system call.
            table: BTreeMap::new(),
            slots: Vec::new(),
            stopping: false,
        }
    }

    /// No operation is in flight.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The run is over (see [`Ops::stop`]).
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// A new connection, in the lowest free slot; its callback holds it.
    pub fn open(&mut self, conn: Conn) -> Held {
        let slot = match self.slots.iter().position(|s| s.place == Place::Free) {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    place: Place::Free,
                    deliver: None,
                });
                self.slots.len() - 1
            }
        };
        self.place(slot, Place::Held);
        Held { slot, conn }
    }

    /// Step 1: `key` stands for `op` until its completion. A receive or a send parks its
    /// connection here with it.
    pub fn start(&mut self, key: K, op: Op<A>, io: T) {
        match &op {
            Op::Recv(held) | Op::Send(held) => self.place(held.slot, Place::Parked(key)),
            Op::Deliver(slot) => {
                if let Some(s) = self.slots.get_mut(*slot) {
                    s.deliver = Some(key);
                }
            }
            _ => {}
        }
        self.table.insert(key, (op, io));
    }

    /// Step 4: the operation under `key` has completed. Its entry leaves the table, and the
    /// connection it carries (if any) goes to the callback; `None` for a key not in flight.
    pub fn finish(&mut self, key: K) -> Option<(Op<A>, T)> {
        let (op, io) = self.table.remove(&key)?;
        match &op {
            Op::Recv(held) | Op::Send(held) => self.place(held.slot, Place::Held),
            Op::Deliver(slot) => {
                if let Some(s) = self.slots.get_mut(*slot) {
                    s.deliver = None;
                }
            }
            _ => {}
        }
        Some((op, io))
    }

    /// The slot of the parked connection on descriptor `fd` (a chat member the room touched).
    pub fn slot_of(&self, fd: i32) -> Option<usize> {
        self.slots.iter().position(|s| match s.place {
            Place::Parked(key) => self.conn_under(key).is_some_and(|c| c.raw() == fd),
            _ => false,
        })
    }

    fn conn_under(&self, key: K) -> Option<&Conn> {
        match self.table.get(&key) {
            Some((Op::Recv(held) | Op::Send(held), _)) => Some(&held.conn),
            _ => None,
        }
    }

    /// The connection parked in `slot`, to start an [`Op::Deliver`] from (its receive keeps it),
    /// with the key it is parked under and whether that is a receive.
    pub fn parked(&mut self, slot: usize) -> Option<(&mut Conn, K, bool)> {
        let Place::Parked(key) = self.slots.get(slot)?.place else {
            return None;
        };
        match self.table.get_mut(&key) {
            Some((Op::Recv(held), _)) => Some((&mut held.conn, key, true)),
            Some((Op::Send(held), _)) => Some((&mut held.conn, key, false)),
            _ => None,
        }
    }

    /// The OS's record of the operation under `key`, if it is in flight.
    #[cfg(windows)]
    pub fn io(&self, key: K) -> Option<&T> {
        self.table.get(&key).map(|(_, io)| io)
    }

    /// The key of the [`Op::Deliver`] in flight for `slot`, if one is.
    pub fn delivering(&self, slot: usize) -> Option<K> {
        self.slots.get(slot).and_then(|s| s.deliver)
    }

    /// A connection whose receive is over (EOF, a failure, a cancel) while its
    /// [`Op::Deliver`] is still in flight: it cannot close yet (the kernel reads its bytes), so
    /// it is parked under that send, whose completion hands it back as an [`Op::Send`]. Given
    /// back when no such send is in flight.
    pub fn rest(&mut self, held: Held) -> Option<Held> {
        let Some(key) = self.delivering(held.slot) else {
            return Some(held);
        };
        let Some(entry) = self.table.get_mut(&key) else {
            return Some(held);
        };
        let slot = held.slot;
        entry.0 = Op::Send(held);
        self.slots[slot] = Slot {
            place: Place::Parked(key),
            deliver: None,
        };
        None
    }

    /// Closes a connection whose operation has completed, and frees its slot.
    pub fn close(&mut self, tr: &mut Tracer, held: Held, note: impl crate::trace::Gloss<()>) {
        self.place(held.slot, Place::Free);
        held.conn.close(tr, note);
    }

    /// The run is over: from now on [`Ops::stopping`] says so, and here is every operation
    /// still in flight, to cancel: the accept's first, then the connections' in slot order.
    pub fn stop(&mut self) -> impl Iterator<Item = (K, &T)> {
        self.stopping = true;
        let accepts = self
            .table
            .iter()
            .filter(|(_, (op, _))| matches!(op, Op::Accept(_)))
            .map(|(&key, (_, io))| (key, io));
        let parked = self.slots.iter().flat_map(|s| {
            let parked = match s.place {
                Place::Parked(key) => Some(key),
                _ => None,
            };
            parked
                .into_iter()
                .chain(s.deliver)
                .filter_map(|key| self.table.get(&key).map(|(_, io)| (key, io)))
        });
        accepts.chain(parked)
    }

    /// A receive completed with `res`: its bytes are queued for the echo and the connection
    /// comes back, to send them (a chat: the room queued them for the others, and it comes
    /// back to receive again); or its reading is over — the client's EOF, `quit`, a failure,
    /// `cancelled` (the OS's error for an operation we cancelled), or the run being over — and
    /// it sends what is left for it, or closes (see [`Ops::read_no_more`]).
    #[cfg(windows)]
    pub fn after_recv(
        &mut self,
        tr: &mut Tracer,
        mut held: Held,
        res: Result<u32, Errno>,
        cancelled: Errno,
    ) -> Option<Next> {
        let done = crate::msg!("completion-done");
        match res {
            Ok(n) if n > 0 && !self.stopping => {
                held.conn.received(tr, n as usize);
                if !held.conn.chat() {
                    return Some(Next::Send(held));
                }
                if !held.conn.eof && !held.conn.dropped() {
                    return Some(Next::Recv(held));
                }
                self.read_no_more(tr, held, done)
            }
            Ok(0) => {
                held.conn.hung_up(tr);
                self.read_no_more(tr, held, done)
            }
            Ok(_) => self.read_no_more(tr, held, crate::msg!("models-run-over")),
            Err(e) if e == cancelled => self.read_no_more(tr, held, crate::msg!("models-run-over")),
            Err(_) => self.read_no_more(tr, held, crate::msg!("models-conn-failed")),
        }
    }

    /// A connection whose receive is over: it waits under its chat send still in flight
    /// ([`Ops::rest`]), comes back to send what is left for it, or closes.
    #[cfg(windows)]
    fn read_no_more(
        &mut self,
        tr: &mut Tracer,
        held: Held,
        note: crate::lang::Msg,
    ) -> Option<Next> {
        let held = self.rest(held)?;
        let conn = &held.conn;
        if conn.eof && !conn.dropped() && conn.wants_write() && !self.stopping {
            return Some(Next::Send(held));
        }
        self.close(tr, held, note);
        None
    }

    /// A send completed with `res`: the connection comes back with what to start next (the
    /// next receive once its echo is out, the rest of a short send or a chat's lines queued
    /// since), or it is closed.
    #[cfg(windows)]
    pub fn after_send(
        &mut self,
        tr: &mut Tracer,
        mut held: Held,
        res: Result<u32, Errno>,
        cancelled: Errno,
    ) -> Option<Next> {
        match res {
            Ok(n) => {
                let done = held.conn.mark_sent(n as usize);
                if self.stopping {
                    self.close(tr, held, crate::msg!("models-run-over"));
                } else if held.conn.dropped() {
                    self.close(tr, held, crate::msg!("models-dropped"));
                } else if !done || held.conn.wants_write() {
                    return Some(Next::Send(held));
                } else if held.conn.finished() {
                    self.close(tr, held, crate::msg!("completion-done"));
                } else {
                    return Some(Next::Recv(held));
                }
            }
            Err(e) if e == cancelled => self.close(tr, held, crate::msg!("models-run-over")),
            Err(_) => self.close(tr, held, crate::msg!("models-conn-failed")),
        }
        None
    }

    /// A chat's send beside the receive of the connection in `slot` completed with `res`:
    /// returns whether to start another (the rest, or lines queued since); a failed one has
    /// the receive cancelled through `cancel`, and its completion closes the connection.
    #[cfg(windows)]
    pub fn after_deliver(
        &mut self,
        tr: &mut Tracer,
        slot: usize,
        res: Result<u32, Errno>,
        cancel: impl FnOnce(&mut Tracer, &T),
    ) -> bool {
        let stopping = self.stopping;
        let Some((conn, parked, _)) = self.parked(slot) else {
            return false;
        };
        match res {
            Ok(n) => {
                conn.mark_sent(n as usize);
                !stopping && !conn.dropped() && conn.wants_write()
            }
            Err(_) => {
                if !stopping && let Some((_, io)) = self.table.get(&parked) {
                    cancel(tr, io);
                }
                false
            }
        }
    }

    /// A chat: what the room did to the connection on `fd` since the last look asks of it: a
    /// send beside its receive (its slot), or its operations cancelled (it was dropped; the
    /// last to complete closes it); `None` when its send in flight will see to it.
    pub fn touched(&mut self, fd: i32) -> Option<Touched<'_, K, T>> {
        let slot = self.slot_of(fd)?;
        let deliver = self.delivering(slot);
        let (conn, parked, reading) = self.parked(slot)?;
        let (dropped, wants) = (conn.dropped(), conn.wants_write());
        if dropped {
            let keys = std::iter::once(parked).chain(deliver);
            let ios = keys
                .filter_map(|k| self.table.get(&k).map(|(_, io)| (k, io)))
                .collect();
            Some(Touched::Cancel(ios))
        } else if reading && deliver.is_none() && wants {
            Some(Touched::Deliver(slot))
        } else {
            None
        }
    }

    fn place(&mut self, slot: usize, place: Place<K>) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.place = place;
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::limits::Budget;
    use crate::trace::Recorder;
    fn conn() -> Conn {
        let budget = Budget::new(16, 1 << 20);
        let (conn, peer) = crate::echo::tests::pair(64, 1024, &budget);
        drop(peer);
        conn
    }

    #[test]
    fn a_parked_connection_comes_back_with_its_key_and_keeps_its_slot() {
        let mut ops: Ops<u64, &str> = Ops::new();
        ops.start(1, Op::Accept(()), "accept");
        let a = ops.open(conn());
        let b = ops.open(conn());
        assert_eq!((a.slot, b.slot), (0, 1));
        ops.start(2, Op::Recv(a), "recv A");
        ops.start(3, Op::Send(b), "send B");
        let Some((Op::Recv(a), "recv A")) = ops.finish(2) else {
            panic!("key 2 was A's recv");
        };
        assert_eq!(a.slot, 0);
        assert!(ops.finish(2).is_none(), "a key completes once");
        ops.start(4, Op::Send(a), "send A");
        // The accept first, then the connections by slot, not by key.
        let order: Vec<u64> = ops.stop().map(|(k, _)| k).collect();
        assert_eq!(order, vec![1, 4, 3]);
        assert!(ops.stopping());
    }

    #[test]
    fn a_send_beside_a_receive_keeps_the_connection_until_the_last_completes() {
        let mut ops: Ops<u64, &str> = Ops::new();
        let a = ops.open(conn());
        let fd = a.conn.raw();
        ops.start(1, Op::Recv(a), "recv A");
        let slot = ops.slot_of(fd).expect("parked under its recv");
        assert!(matches!(ops.parked(slot), Some((_, 1, true))));
        ops.start(2, Op::Deliver(slot), "deliver A");
        assert_eq!(ops.delivering(slot), Some(2));
        // Both are in flight when the run ends: both are cancelled.
        let order: Vec<u64> = ops.stop().map(|(k, _)| k).collect();
        assert_eq!(order, vec![1, 2]);
        // The receive completes first: the connection waits under the send.
        let Some((Op::Recv(a), _)) = ops.finish(1) else {
            panic!("key 1 was A's recv");
        };
        assert!(ops.rest(a).is_none(), "parked under the send in flight");
        assert_eq!(ops.slot_of(fd), Some(slot));
        let Some((Op::Send(a), "deliver A")) = ops.finish(2) else {
            panic!("the send hands the connection back");
        };
        assert!(ops.is_empty());
        assert!(
            ops.rest(a).is_some(),
            "nothing in flight: it is the caller's to close"
        );
    }

    #[test]
    fn a_closed_slot_is_the_next_connection_s() {
        let (rec, _rx) = Recorder::new();
        let mut tr = rec.thread("server", crate::sys::thread_id);
        let mut ops: Ops<u64, ()> = Ops::new();
        let a = ops.open(conn());
        let b = ops.open(conn());
        ops.close(&mut tr, a, "done");
        assert_eq!(ops.open(conn()).slot, 0);
        ops.start(7, Op::Recv(b), ());
        assert!(!ops.is_empty());
        assert!(matches!(ops.finish(7), Some((Op::Recv(_), ()))));
        assert!(ops.is_empty());
        assert!(ops.finish(8).is_none(), "an unknown key is no panic");
    }
}
