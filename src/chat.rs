//! The second app every concurrent model serves (`--app chat`): a group chat, the exercise the
//! seed's multiplexing lesson ends with. Every line one member sends goes to every other member.
//!
//! The protocol, line by line (a line ends in `\n`; a `\r` before it is dropped):
//! - the first line a client sends is its name (1 to 16 letters, digits, `-`, `_` or `.`, not
//!   taken); until then it is not in the room. The others are told `* NAME joined`;
//! - every later line goes to every other member as `NAME: line`; an empty line goes nowhere;
//! - `quit`, or the client shutting down its side, and it leaves: the others are told
//!   `* NAME left`, and the server closes the connection once the lines queued for it are sent;
//! - a line longer than [`MAX_LINE`] bytes is refused: the sender is told `! …` and the server
//!   skips to the next newline.
//!
//! What makes a chat harder than an echo is that one readable socket now means N writes, to
//! sockets that may not be writable. Each member has a [`Mailbox`]: the bytes queued for it,
//! bounded by `--max-pending`. A member whose queue would pass that (it stopped reading, so its
//! socket buffers are full) is dropped: its queue is thrown away, the others are told
//! `* NAME dropped (too slow)`, and its connection is closed. The room goes on, and the server's
//! memory stays bounded. (The other choice, to stop reading the sender, would let one slow
//! reader silence everyone.)
//!
//! The room knows nothing of how a model waits. When it queues bytes for a member, it marks that
//! member *touched* for the thread that owns its connection ([`Room::touched`]), wakes that
//! thread if it is another one ([`Room::on_touch`]), and signals the mailbox (a thread per
//! connection waits on it). Each model then does what its way of waiting needs: a readiness
//! server asks to be told when the socket is writable, a completion server posts a send.

use crate::trace::{Tracer, escape};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The longest line a member may send, its newline included.
pub const MAX_LINE: usize = 256;
/// The send buffer of a member's socket (`SO_SNDBUF`): see `sys::cap_send_buffer`.
pub const SEND_BUFFER: usize = 64 << 10;
/// The longest name.
const MAX_NAME: usize = 16;

/// Which app the server runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum App {
    #[default]
    Echo,
    Chat,
}

impl App {
    pub fn name(self) -> &'static str {
        match self {
            App::Echo => "echo",
            App::Chat => "chat",
        }
    }
}

/// What the room did, on its trace lines (`room` in the JSON): the summary counts these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoomNote {
    /// `join`, `line`, `leave`, `drop` or `refuse`.
    pub what: &'static str,
    /// The member it is about.
    pub who: String,
    /// Lines said (`line`: all those one read brought, queued together).
    pub lines: u64,
    /// Members the lines (or an announcement) were queued for.
    pub to: u64,
    /// Bytes queued, over all of them.
    pub bytes: u64,
    /// The longest queue of a member after this, in bytes (what is waiting in our memory for
    /// the slowest reader).
    pub queue: u64,
}

/// The bytes queued for one member, shared between the threads that queue them and the one
/// that sends them.
#[derive(Debug)]
pub struct Mailbox {
    mail: Mutex<Mail>,
    changed: Condvar,
    /// Bytes queued for all members of the room together (the room's, shared).
    total: Arc<AtomicUsize>,
}

#[derive(Debug, Default)]
struct Mail {
    bytes: Vec<u8>,
    /// Bytes the owner took out and has not sent yet: they count against the bound too.
    taken: usize,
    /// The room dropped this member: nothing more is queued, and its connection is to close.
    dropped: bool,
    /// The connection is closing: a thread waiting on the mailbox ends.
    closed: bool,
    /// The member left: a thread waiting on the mailbox sends what is queued, then ends.
    leaving: bool,
}

/// What a thread waiting on a mailbox found.
pub enum Waited {
    /// Bytes to send: they are now the caller's.
    Bytes(Vec<u8>),
    /// The member was dropped, or its connection is closing, or it left and everything
    /// queued for it was taken.
    Over,
}

impl Mailbox {
    fn new(total: Arc<AtomicUsize>) -> Mailbox {
        Mailbox {
            mail: Mutex::default(),
            changed: Condvar::new(),
            total,
        }
    }

    /// Queues `bytes`, counted in the room's total.
    fn put(&self, mail: &mut Mail, bytes: &[u8]) {
        mail.bytes.extend_from_slice(bytes);
        self.total.fetch_add(bytes.len(), Ordering::Relaxed);
    }

    /// Forgets everything queued or taken (the member is dropped, or its connection closes).
    fn forget(&self, mail: &mut Mail) {
        let held = mail.bytes.len() + mail.taken;
        self.total.fetch_sub(held, Ordering::Relaxed);
        mail.bytes = Vec::new();
        mail.taken = 0;
    }

    fn lock(&self) -> MutexGuard<'_, Mail> {
        self.mail.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes queued or taken and not yet sent.
    fn held(&self) -> usize {
        let m = self.lock();
        m.bytes.len() + m.taken
    }

    pub fn has_bytes(&self) -> bool {
        !self.lock().bytes.is_empty()
    }

    pub fn dropped(&self) -> bool {
        self.lock().dropped
    }

    /// Moves what is queued into `out` (empty), counting it as taken until [`Mailbox::sent`].
    pub fn take(&self, out: &mut Vec<u8>) {
        let mut m = self.lock();
        std::mem::swap(out, &mut m.bytes);
        m.taken += out.len();
    }

    /// `n` taken bytes went out.
    pub fn sent(&self, n: usize) {
        let mut m = self.lock();
        let n = n.min(m.taken);
        m.taken -= n;
        self.total.fetch_sub(n, Ordering::Relaxed);
    }

    /// Waits (a thread per connection's writer) until there are bytes to send, or the member is
    /// gone; wakes every `tick` to let the caller look at the run's stop flag.
    pub fn wait(&self, tick: Duration) -> Option<Waited> {
        let mut m = self.lock();
        if m.bytes.is_empty() && !m.dropped && !m.closed && !m.leaving {
            m = self
                .changed
                .wait_timeout(m, tick)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if m.dropped || m.closed {
            Some(Waited::Over)
        } else if m.bytes.is_empty() {
            m.leaving.then_some(Waited::Over)
        } else {
            let bytes = std::mem::take(&mut m.bytes);
            m.taken += bytes.len();
            Some(Waited::Bytes(bytes))
        }
    }

    /// The member left (its reader is done): a thread waiting on the mailbox sends what is
    /// queued, then ends (`threads`: the reader then closes the connection).
    pub fn finish(&self) {
        self.lock().leaving = true;
        self.changed.notify_all();
    }

    /// The connection is closing: a thread waiting on the mailbox ends.
    pub fn close(&self) {
        let mut m = self.lock();
        m.closed = true;
        self.forget(&mut m);
        drop(m);
        self.changed.notify_all();
    }
}

/// How to wake a thread: called on the thread that queued the lines, with that thread's
/// tracer, so that the call it makes (`reactors`: a `write` to the eventfd of the thread to
/// wake) is in that thread's trace, where strace sees it.
type Waker = Arc<dyn Fn(&mut Tracer) + Send + Sync>;

/// The members of one server's chat, shared by all its threads.
#[derive(Debug)]
pub struct Room {
    state: Mutex<State>,
    /// The most bytes a member may have queued (`--max-pending`).
    max_queue: usize,
    /// Bytes queued for all members together, and the most there may be
    /// (`--max-buffer-total`).
    total: Arc<AtomicUsize>,
    max_total: usize,
}

#[derive(Default)]
struct State {
    /// By descriptor: every open connection, named or not.
    members: BTreeMap<i32, Member>,
    /// By owning thread: the connections whose mailbox changed since it last looked.
    touched: BTreeMap<i64, BTreeSet<i32>>,
    /// By owning thread: how to wake it when another thread touches one of its connections.
    wakers: BTreeMap<i64, Waker>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("members", &self.members.len())
            .finish_non_exhaustive()
    }
}

struct Member {
    name: Option<String>,
    mail: Arc<Mailbox>,
    owner: i64,
}

impl Room {
    pub fn new(max_queue: usize, max_total: usize) -> Room {
        Room {
            state: Mutex::new(State::default()),
            max_queue: max_queue.max(MAX_LINE),
            total: Arc::new(AtomicUsize::new(0)),
            max_total: max_total.max(MAX_LINE),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection on descriptor `fd`, served by thread `owner`: in the room once it
    /// has sent its name.
    pub fn seat(self: &Arc<Room>, fd: i32, owner: i64) -> Seat {
        let mail = Arc::new(Mailbox::new(self.total.clone()));
        self.lock().members.insert(
            fd,
            Member {
                name: None,
                mail: mail.clone(),
                owner,
            },
        );
        Seat {
            room: self.clone(),
            fd,
            owner,
            mail,
            line: Vec::new(),
            skipping: false,
            name: None,
            left: false,
        }
    }

    /// How to wake thread `owner` when another thread queues bytes for one of its connections
    /// (`reactors`: a write to its eventfd, which its `epoll_wait` watches). `wake` runs on the
    /// thread that queued them, given its tracer, once the room is unlocked. (Only
    /// `reactors`, Linux's, has more than one thread that waits in a call the room cannot
    /// interrupt.)
    #[cfg(target_os = "linux")]
    pub fn on_touch(&self, owner: i64, wake: impl Fn(&mut Tracer) + Send + Sync + 'static) {
        self.lock().wakers.insert(owner, Arc::new(wake));
    }

    /// The descriptors of thread `owner`'s connections whose mailbox changed (bytes queued, or
    /// the member dropped) since it last asked.
    pub fn touched(&self, owner: i64) -> Vec<i32> {
        self.lock()
            .touched
            .remove(&owner)
            .map_or_else(Vec::new, |s| s.into_iter().collect())
    }

    /// Queues `bytes` for every named member but `except`; drops a member whose queue would
    /// pass the bound (and tells the others). Returns how many members got it, the bytes
    /// queued, the longest queue after, and the names dropped; the wakers to call once the
    /// room is unlocked are added to `wake`.
    fn deliver(
        &self,
        st: &mut State,
        except: i32,
        bytes: &[u8],
        me: i64,
        wake: &mut Vec<Waker>,
    ) -> (u64, u64, u64, Vec<String>) {
        let (mut to, mut queued, mut longest) = (0, 0, 0);
        let mut dropped = Vec::new();
        // What is still to queue, and for whom not: the news of a member dropped goes to
        // everyone left, the sender too.
        let mut pending: Vec<(Vec<u8>, i32)> = vec![(bytes.to_vec(), except)];
        while let Some((bytes, except)) = pending.pop() {
            for (&fd, m) in &st.members {
                let Some(name) = &m.name else { continue };
                if fd == except || dropped.contains(name) {
                    continue;
                }
                let mut mail = m.mail.lock();
                let held = mail.bytes.len() + mail.taken;
                let total = self.total.load(Ordering::Relaxed);
                if held + bytes.len() > self.max_queue || total + bytes.len() > self.max_total {
                    mail.dropped = true;
                    m.mail.forget(&mut mail);
                    dropped.push(name.clone());
                    pending.push((format!("* {name} dropped (too slow)\n").into_bytes(), fd));
                } else {
                    m.mail.put(&mut mail, &bytes);
                    to += 1;
                    queued += bytes.len() as u64;
                    longest = longest.max((held + bytes.len()) as u64);
                }
                drop(mail);
                m.mail.changed.notify_all();
                st.touched.entry(m.owner).or_default().insert(fd);
                if m.owner != me
                    && let Some(w) = st.wakers.get(&m.owner)
                    && !wake.iter().any(|x| Arc::ptr_eq(x, w))
                {
                    wake.push(w.clone());
                }
            }
            // A dropped member hears nothing more: out of the room.
            st.members.retain(|_, m| !m.mail.dropped());
        }
        (to, queued, longest, dropped)
    }

    /// Delivers `bytes` (`lines` lines, or an announcement) from `from` and records what
    /// happened on `tr`.
    fn say(
        &self,
        tr: &mut Tracer,
        from: i32,
        (what, lines): (&'static str, u64),
        who: &str,
        bytes: &[u8],
    ) {
        // The room's line is stamped when it queued, before any member's thread is woken.
        let at = std::time::Instant::now();
        let mut wake = Vec::new();
        let (to, queued, longest, dropped) = {
            let mut st = self.lock();
            self.deliver(&mut st, from, bytes, tr.tid(), &mut wake)
        };
        for w in wake {
            w(tr);
        }
        if !tr.enabled() {
            return;
        }
        let members = crate::t!("room-members", count = to, shown = escape(bytes, 32));
        let note = match what {
            "join" => crate::t!("room-joined", who = who, members = members),
            "leave" => crate::t!("room-left", who = who, members = members),
            _ => crate::t!(
                "room-said",
                who = who,
                lines = lines,
                members = members,
                bytes = queued.to_string(),
                longest = longest.to_string()
            ),
        };
        let at = Some(at);
        room_line(tr, at, from, note, (what, lines), who, to, queued, longest);
        for name in dropped {
            let note = crate::t!(
                "room-dropped",
                who = &name,
                max = self.max_queue.to_string()
            );
            room_line(tr, at, from, note, ("drop", 0), &name, 0, 0, longest);
        }
    }
}

/// One trace line of the room's, with its note for the summary.
#[allow(clippy::too_many_arguments)]
fn room_line(
    tr: &mut Tracer,
    at: Option<std::time::Instant>,
    fd: i32,
    note: String,
    (what, lines): (&'static str, u64),
    who: &str,
    to: u64,
    bytes: u64,
    queue: u64,
) {
    let t_us = at.map(|at| tr.recorder().micros(at));
    tr.info_with(note.as_str(), |ev| {
        ev.t_us = t_us.unwrap_or(ev.t_us);
        ev.fd = Some(fd.into());
        ev.room = Some(RoomNote {
            what,
            who: who.to_string(),
            lines,
            to,
            bytes,
            queue,
        });
    });
}

/// One connection's place in the room: its name, the line it is in the middle of, and its
/// mailbox.
pub struct Seat {
    room: Arc<Room>,
    fd: i32,
    /// The thread that owns the connection, told when the room queues for it.
    owner: i64,
    pub mail: Arc<Mailbox>,
    /// The start of a line whose newline has not come yet.
    line: Vec<u8>,
    /// Skipping the rest of a line that was too long.
    skipping: bool,
    name: Option<String>,
    left: bool,
}

/// Lines a read brought for the room, not queued yet.
#[derive(Default)]
struct Said {
    bytes: Vec<u8>,
    lines: u64,
}

/// What a member's bytes asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    /// Carry on reading.
    More,
    /// The member said `quit`: read no more.
    Quit,
}

impl Seat {
    /// Bytes a `recv` copied from this member: each whole line is a name, a line for the
    /// room, `quit`, or refused. Replies to the member itself are queued in its own mailbox.
    pub fn heard(&mut self, tr: &mut Tracer, data: &[u8]) -> Heard {
        // The lines for the room, queued together: one trace line for all a read brought.
        let mut said = Said::default();
        let heard = self.lines(tr, data, &mut said);
        self.flush(tr, &mut said);
        heard
    }

    /// [`Seat::heard`]'s work: each line is acted on, or added to `said`.
    fn lines(&mut self, tr: &mut Tracer, data: &[u8], said: &mut Said) -> Heard {
        let mut rest = data;
        while !rest.is_empty() {
            let (part, ended) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            rest = &rest[(part.len() + usize::from(ended)).min(rest.len())..];
            if !self.skipping && self.line.len() + part.len() < MAX_LINE {
                self.line.extend_from_slice(part);
            } else if !self.skipping {
                self.skipping = true;
                self.line.clear();
                self.flush(tr, said);
                self.reply(
                    tr,
                    format!(
                        "! line too long: at most {MAX_LINE} bytes with its newline; skipped\n"
                    ),
                    crate::t!("room-too-long", max = MAX_LINE.to_string()),
                );
            }
            if !ended {
                break;
            }
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if self.line_done(tr, &line, said) == Heard::Quit {
                return Heard::Quit;
            }
        }
        Heard::More
    }

    /// One whole line, without its newline.
    fn line_done(&mut self, tr: &mut Tracer, line: &[u8], said: &mut Said) -> Heard {
        let Some(name) = &self.name else {
            self.name_given(tr, line);
            return Heard::More;
        };
        if line == b"quit" {
            self.flush(tr, said);
            self.leave(tr);
            return Heard::Quit;
        }
        if !line.is_empty() {
            said.bytes.extend_from_slice(name.as_bytes());
            said.bytes.extend_from_slice(b": ");
            said.bytes.extend_from_slice(line);
            said.bytes.push(b'\n');
            said.lines += 1;
        }
        Heard::More
    }

    /// Queues the lines said so far for the others.
    fn flush(&mut self, tr: &mut Tracer, said: &mut Said) {
        if let Some(name) = &self.name
            && said.lines > 0
        {
            let said = std::mem::take(said);
            self.room
                .say(tr, self.fd, ("line", said.lines), name, &said.bytes);
        }
    }

    /// The first line: the member's name, if it is a good one and free.
    fn name_given(&mut self, tr: &mut Tracer, line: &[u8]) {
        let good = (1..=MAX_NAME).contains(&line.len())
            && line
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !good {
            let why = format!("! pick a name: 1 to {MAX_NAME} letters, digits, - _ or .\n");
            let note = crate::t!("room-bad-name");
            return self.reply(tr, why, note);
        }
        let name = String::from_utf8_lossy(line).into_owned();
        {
            let mut st = self.room.lock();
            if st.members.values().any(|m| m.name.as_ref() == Some(&name)) {
                drop(st);
                return self.reply(
                    tr,
                    format!("! the name {name} is taken\n"),
                    crate::t!("room-name-taken", name = &name),
                );
            }
            if let Some(m) = st.members.get_mut(&self.fd) {
                m.name = Some(name.clone());
            }
        }
        self.name = Some(name.clone());
        let joined = format!("* {name} joined\n");
        self.room
            .say(tr, self.fd, ("join", 0), &name, joined.as_bytes());
    }

    /// Queues `text` for this member alone, and says why on `tr`.
    fn reply(&mut self, tr: &mut Tracer, text: String, note: String) {
        let mut mail = self.mail.lock();
        let held = mail.bytes.len() + mail.taken;
        // A member that does not read its own refusals is not kept waiting for: they are
        // bounded like everything else queued for it.
        if held + text.len() <= self.room.max_queue {
            self.mail.put(&mut mail, text.as_bytes());
        }
        drop(mail);
        // A thread waiting on the mailbox (`threads`' writer) sends it.
        self.mail.changed.notify_all();
        let who = self.name.clone().unwrap_or_default();
        room_line(
            tr,
            None,
            self.fd,
            note,
            ("refuse", 0),
            &who,
            1,
            text.len() as u64,
            self.mail.held() as u64,
        );
        // Told like any queuing for this member: the thread that owns the connection may not
        // be the one that read its line (posix-aio's reads complete on another thread).
        self.room
            .lock()
            .touched
            .entry(self.owner)
            .or_default()
            .insert(self.fd);
    }

    /// The member is leaving (`quit`, or its side shut down): the others are told.
    pub fn leave(&mut self, tr: &mut Tracer) {
        if let Some((name, news)) = self.go() {
            self.room.say(tr, self.fd, ("leave", 0), &name, &news);
        }
    }

    /// Takes the member out of the room, once: its name and the news for the others
    /// (`* NAME left`), unless it had no name yet or the room dropped it (then the room has
    /// told them already).
    fn go(&mut self) -> Option<(String, Vec<u8>)> {
        if std::mem::replace(&mut self.left, true) {
            return None;
        }
        let name = self.room.lock().members.remove(&self.fd)?.name?;
        (!self.mail.dropped()).then(|| {
            let news = format!("* {name} left\n").into_bytes();
            (name, news)
        })
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.mail.close();
        // Closed without a tracer at hand (a failed connection's teardown): leave quietly but
        // still tell the others. No thread is woken: its call would be missing from the trace.
        // A thread finds the news the next time it looks at `touched`.
        if let Some((_, news)) = self.go() {
            let mut st = self.room.lock();
            self.room
                .deliver(&mut st, self.fd, &news, 0, &mut Vec::new());
        }
    }
}

/// "What to notice" in a chat run: what the fan-out cost, and what the room decided about
/// slow readers (`max_queue`: `--max-pending`).
pub fn notice(s: &crate::trace::summary::Summary, max_queue: usize) -> Vec<String> {
    let Some(r) = &s.room else {
        return Vec::new();
    };
    let read = s.bytes_in + s.bytes_in_by_kernel + s.bytes_in_by_library;
    let (max, peak) = (max_queue.to_string(), r.peak_queue.to_string());
    vec![
        crate::t!(
            "room-notice-fanout",
            lines = r.lines.to_string(),
            deliveries = r.deliveries.to_string(),
            ratio = format!("{:.1}", s.bytes_out as f64 / read.max(1) as f64)
        ),
        match r.dropped {
            0 => crate::t!("room-notice-kept", peak = peak, max = max),
            n => crate::t!(
                "room-notice-dropped",
                n = n.to_string(),
                max = max,
                peak = peak
            ),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Recorder;

    fn tracer() -> Tracer {
        Recorder::disabled().thread("server", crate::sys::thread_id)
    }

    /// Everything queued for a member so far, as text (taken out of its mailbox and sent).
    fn drain(seat: &Seat) -> String {
        let mut out = Vec::new();
        seat.mail.take(&mut out);
        seat.mail.sent(out.len());
        String::from_utf8(out).unwrap()
    }

    fn room(max_queue: usize) -> Arc<Room> {
        Arc::new(Room::new(max_queue, 1 << 20))
    }

    #[test]
    fn lines_reach_every_other_member_whole_and_in_order() {
        let mut tr = tracer();
        let room = room(1 << 16);
        let (mut a, mut b, mut c) = (room.seat(1, 0), room.seat(2, 0), room.seat(3, 0));
        a.heard(&mut tr, b"alice\n");
        b.heard(&mut tr, b"bob\r\n");
        c.heard(&mut tr, b"carol\n");
        assert_eq!(drain(&a), "* bob joined\n* carol joined\n");
        assert_eq!(drain(&b), "* carol joined\n");
        assert_eq!(drain(&c), "", "a member is not told of its own joining");
        // A line split across reads goes out once it is whole; an empty line goes nowhere.
        b.heard(&mut tr, b"hel");
        assert_eq!(drain(&a), "");
        b.heard(&mut tr, b"lo\n\nand bye\n");
        assert_eq!(drain(&a), "bob: hello\nbob: and bye\n");
        assert_eq!(drain(&c), "bob: hello\nbob: and bye\n");
        assert_eq!(drain(&b), "", "the sender does not hear itself");
    }

    #[test]
    fn quit_leaves_and_tells_the_others_and_the_rest_is_not_read() {
        let mut tr = tracer();
        let room = room(1 << 16);
        let (mut a, mut b) = (room.seat(1, 0), room.seat(2, 0));
        a.heard(&mut tr, b"alice\n");
        b.heard(&mut tr, b"bob\n");
        drain(&a);
        assert_eq!(b.heard(&mut tr, b"quit\nnot said\n"), Heard::Quit);
        assert_eq!(drain(&a), "* bob left\n");
        b.leave(&mut tr);
        assert_eq!(drain(&a), "", "leaving twice says nothing more");
    }

    #[test]
    fn bad_and_taken_names_and_long_lines_are_refused_to_the_sender_alone() {
        let mut tr = tracer();
        let room = room(1 << 16);
        let (mut a, mut b) = (room.seat(1, 0), room.seat(2, 0));
        a.heard(&mut tr, b"alice\n");
        b.heard(&mut tr, b"no spaces\n");
        assert!(drain(&b).starts_with("! pick a name"));
        b.heard(&mut tr, b"alice\n");
        assert_eq!(drain(&b), "! the name alice is taken\n");
        assert_eq!(drain(&a), "", "nobody joined yet");
        b.heard(&mut tr, b"bob\n");
        assert_eq!(drain(&a), "* bob joined\n");
        let long = vec![b'x'; MAX_LINE + 10];
        b.heard(&mut tr, &long);
        b.heard(&mut tr, b"xxx\nshort\n");
        assert!(drain(&b).starts_with("! line too long"));
        assert_eq!(
            drain(&a),
            "bob: short\n",
            "the long line is skipped to its end"
        );
    }

    #[test]
    fn a_member_whose_queue_would_pass_the_bound_is_dropped_and_the_room_goes_on() {
        let mut tr = tracer();
        let room = room(MAX_LINE);
        let (mut a, mut b, mut c) = (room.seat(1, 7), room.seat(2, 8), room.seat(3, 9));
        a.heard(&mut tr, b"a\n");
        b.heard(&mut tr, b"b\n");
        c.heard(&mut tr, b"c\n");
        drain(&a);
        drain(&b);
        // b reads; c never does.
        let line = [vec![b'y'; 99], b"\n".to_vec()].concat();
        a.heard(&mut tr, &line);
        drain(&b);
        a.heard(&mut tr, &line);
        drain(&b);
        assert!(!c.mail.dropped(), "two lines fit in c's queue");
        a.heard(&mut tr, &line);
        assert!(c.mail.dropped(), "the third would pass the bound");
        assert_eq!(drain(&c), "", "a dropped member's queue is thrown away");
        let heard_by_b = drain(&b);
        assert!(
            heard_by_b.ends_with("* c dropped (too slow)\n"),
            "{heard_by_b}"
        );
        assert_eq!(
            drain(&a),
            "* c dropped (too slow)\n",
            "the sender hears it too"
        );
        // Dropped members are out: the next line reaches b alone.
        a.heard(&mut tr, b"still here\n");
        assert_eq!(drain(&b), "a: still here\n");
        assert_eq!(drain(&c), "");
        // Each owner is told which of its connections changed.
        assert_eq!(room.touched(9), vec![3]);
        assert_eq!(room.touched(8), vec![2]);
        assert!(room.touched(9).is_empty(), "asked once, told once");
    }

    #[test]
    fn the_room_total_counts_what_is_queued_until_it_is_sent_or_forgotten() {
        let mut tr = tracer();
        let room = room(1 << 16);
        let (mut a, mut b) = (room.seat(1, 0), room.seat(2, 0));
        a.heard(&mut tr, b"a\n");
        b.heard(&mut tr, b"b\n");
        drain(&a);
        a.heard(&mut tr, b"hello\n");
        assert_eq!(room.total.load(Ordering::Relaxed), "a: hello\n".len());
        let mut out = Vec::new();
        b.mail.take(&mut out);
        assert_eq!(
            room.total.load(Ordering::Relaxed),
            out.len(),
            "taken but not sent"
        );
        b.mail.sent(3);
        assert_eq!(room.total.load(Ordering::Relaxed), out.len() - 3);
        drop(b);
        assert_eq!(drain(&a), "* b left\n");
        assert_eq!(
            room.total.load(Ordering::Relaxed),
            0,
            "a closed connection's bytes are forgotten"
        );
    }
}
