//! `iomodels bench --app chat`: one room, K senders and N receivers, driven by ONE thread with
//! `epoll` (as the echo's load, [`super::load`]); deliveries per second.
//!
//! Every member joins (its name first), and the load starts once every `* NAME joined` has
//! arrived. Each sender then sends lines of `--size` bytes as fast as the room carries them,
//! but never more than a window of lines ahead of the slowest member that has yet to receive
//! them: the server drops a member whose queue passes `--max-pending` (256 KiB), and a load
//! that outran its slowest reader would measure drops, not deliveries. The window keeps every
//! queue under [`QUEUE_BUDGET`].
//!
//! A delivery is one relayed line (`sI: …`) received by one member, checked: its sender, its
//! length, and that it is that sender's next line, byte for byte. The room sends each line to
//! every member but its sender, so senders receive the other senders' lines too: K × (N+K−1)
//! deliveries per round of lines, all counted, all work the server did.

use super::child::{self, Server, Target};
use super::load::Until;
use super::{Format, fit, fitted, median, of_rounds, progress_bar};
use crate::chat::{App, MAX_LINE};
use crate::t;
use anyhow::{Context, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::ProgressBar;
use rustix::buffer::spare_capacity;
use rustix::event::epoll;
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags};
use serde::Serialize;
use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Most bytes one member may have queued by the windows of all senders together: a quarter
/// of the server's 256 KiB `--max-pending`, so that a member behind by a window is never
/// dropped.
const QUEUE_BUDGET: usize = 64 << 10;
/// The most lines a sender has in flight, however small they are.
const MAX_WINDOW: usize = 64;
/// With no delivery for this long, the server is stuck.
const STUCK: Duration = Duration::from_secs(10);

/// The room's shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub senders: usize,
    pub receivers: usize,
    /// Bytes of each line a sender sends, its newline included.
    pub size: usize,
}

impl Shape {
    /// Checks the sizes the chat allows.
    pub fn new(senders: usize, receivers: usize, size: usize) -> Result<Shape> {
        if size > MAX_LINE {
            bail!(t!(
                "bench-err-chat-size-max",
                size = size.to_string(),
                most = MAX_LINE.to_string()
            ));
        }
        if size < 2 {
            bail!(t!("bench-err-chat-size-min", size = size.to_string()));
        }
        Ok(Shape {
            senders,
            receivers,
            size,
        })
    }

    fn members(&self) -> usize {
        self.senders + self.receivers
    }

    fn name(&self, m: usize) -> String {
        match m.checked_sub(self.senders) {
            None => format!("s{}", m + 1),
            Some(r) => format!("r{}", r + 1),
        }
    }

    /// A line as the room relays it to the others: `sI: ` and the line.
    fn relayed(&self, sender: usize) -> usize {
        self.name(sender).len() + 2 + self.size
    }

    /// Lines a sender may have in flight: the senders' windows together fill at most
    /// [`QUEUE_BUDGET`] of any member's queue.
    pub fn window(&self) -> usize {
        (QUEUE_BUDGET / (self.senders * self.relayed(self.senders - 1))).clamp(1, MAX_WINDOW)
    }

    /// Deliveries of one line from every sender: each goes to every member but its sender.
    pub fn per_round(&self) -> usize {
        self.senders * (self.members() - 1)
    }
}

/// What one load run measured.
pub struct Outcome {
    /// Relayed lines received and checked, over all members.
    pub deliveries: u64,
    /// Their bytes, as received (`sI: ` and the line).
    pub bytes: u64,
    /// Members the room dropped for reading too slowly (their names).
    pub dropped: BTreeSet<String>,
    /// What went wrong, if anything (a wrong line, a connection lost but not dropped): in
    /// English whatever the language, as they are values of the JSON's rows too.
    pub errors: Vec<String>,
    /// From the first line sent to the end of the load.
    pub elapsed: Duration,
    /// The server's CPU over the load (the joins not counted).
    pub cpu: Duration,
}

/// One member's connection.
struct Member {
    fd: OwnedFd,
    /// Bytes of a line not yet ended.
    partial: Vec<u8>,
    /// Lines received from each sender.
    got: Vec<u64>,
    alive: bool,
    /// Bytes to send (its name, then a sender's lines), and how many of them went.
    out: Vec<u8>,
    out_at: usize,
    wants_out: bool,
    /// A sender's lines sent (queued in `out`).
    sent: u64,
}

/// Where the load is.
#[derive(PartialEq)]
enum Phase {
    /// Waiting for every `* NAME joined`.
    Joining,
    Loading,
}

/// The bytes of line `seq` of sender `s` (its newline not included): letters from a place of
/// the alphabet that differs by sender and turn, so a line out of turn is caught.
fn text<'a>(alphabet: &'a [u8], shape: &Shape, s: usize, seq: u64) -> &'a [u8] {
    let at = ((s as u64 * 7 + seq * 13) % 26) as usize;
    &alphabet[at..at + shape.size - 1]
}

/// Makes a member of each of `streams` (the senders first), waits until all have joined, then
/// drives the senders until `until`. `cpu` reads the server's CPU time, once the room is full
/// and at the end.
pub fn drive(
    streams: Vec<TcpStream>,
    shape: Shape,
    until: Until,
    progress: Option<&ProgressBar>,
    cpu: impl Fn() -> Result<Duration>,
) -> Result<Outcome> {
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    let mut members = Vec::with_capacity(streams.len());
    for (m, s) in streams.into_iter().enumerate() {
        s.set_nonblocking(true)?;
        let fd = OwnedFd::from(s);
        epoll::add(
            &ep,
            &fd,
            epoll::EventData::new_u64(m as u64),
            epoll::EventFlags::IN,
        )?;
        members.push(Member {
            fd,
            partial: Vec::new(),
            got: vec![0; shape.senders],
            alive: true,
            out: format!("{}\n", shape.name(m)).into_bytes(),
            out_at: 0,
            wants_out: false,
            sent: 0,
        });
    }
    let alphabet: Vec<u8> = (0..shape.size + 26)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    let mut o = Outcome {
        deliveries: 0,
        bytes: 0,
        dropped: BTreeSet::new(),
        errors: Vec::new(),
        elapsed: Duration::ZERO,
        cpu: Duration::ZERO,
    };
    let n = members.len();
    // Each pair of members makes one announcement: to whichever of the two joined first.
    let joins_due = (n * (n - 1) / 2) as u64;
    let mut joins = 0u64;
    for (m, c) in members.iter_mut().enumerate() {
        push(&ep, c, m, &mut o.errors);
    }
    let quota = match until {
        Until::Messages(q) => q,
        Until::Time(_) => u64::MAX,
    };
    let window = shape.window() as u64;
    let mut phase = Phase::Joining;
    let (mut begun, mut cpu_before) = (Instant::now(), Duration::ZERO);
    let mut last_news = Instant::now();
    // Connections lost, with why: a drop when the room said so (its news may come after).
    let mut lost: Vec<(String, String)> = Vec::new();
    let mut last_progress = Instant::now();
    let mut events = Vec::with_capacity(256);
    let mut buf = vec![0u8; 64 << 10];
    let tick = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 50_000_000,
    };
    loop {
        let now = Instant::now();
        if phase == Phase::Loading {
            if let Until::Time(d) = until
                && now >= begun + d
            {
                o.elapsed = now.duration_since(begun);
                break;
            }
            if done(&members, &shape, quota) {
                o.elapsed = begun.elapsed();
                break;
            }
            if let Some(pb) = progress
                && now.duration_since(last_progress) > Duration::from_millis(100)
            {
                pb.set_position(match until {
                    Until::Time(_) => now.duration_since(begun).as_millis() as u64,
                    Until::Messages(_) => o.deliveries,
                });
                last_progress = now;
            }
        }
        if !o.errors.is_empty() {
            break;
        }
        if now.duration_since(last_news) > STUCK {
            o.errors.push(match phase {
                Phase::Joining => format!(
                    "only {joins} of the {joins_due} `joined` announcements came in 10 s: the room is stuck"
                ),
                Phase::Loading => "no line delivered for 10 s: the server is stuck".into(),
            });
            break;
        }
        if phase == Phase::Joining && joins == joins_due {
            phase = Phase::Loading;
            cpu_before = cpu()?;
            begun = Instant::now();
        }
        if phase == Phase::Loading {
            for s in 0..shape.senders {
                let slowest = (0..n)
                    .filter(|&m| m != s && members[m].alive)
                    .map(|m| members[m].got[s])
                    .min()
                    .unwrap_or(u64::MAX);
                let c = &mut members[s];
                if !c.alive || c.out_at < c.out.len() {
                    continue;
                }
                // As many lines as the window lets this sender have in flight, in one send.
                c.out.clear();
                c.out_at = 0;
                let upto = quota.min(slowest.saturating_add(window));
                while c.sent < upto {
                    c.out.extend_from_slice(text(&alphabet, &shape, s, c.sent));
                    c.out.push(b'\n');
                    c.sent += 1;
                }
                if !c.out.is_empty() {
                    push(&ep, c, s, &mut o.errors);
                }
            }
        }
        events.clear();
        match epoll::wait(&ep, spare_capacity(&mut events), Some(&tick)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => {
                return Err(anyhow::Error::from(e).context(t!("err-failed", call = "epoll_wait")));
            }
        }
        for ev in &events {
            let m = ev.data.u64() as usize;
            let c = &mut members[m];
            if !c.alive {
                continue;
            }
            let flags = ev.flags;
            if flags.contains(epoll::EventFlags::OUT) {
                push(&ep, c, m, &mut o.errors);
            }
            if !flags.intersects(epoll::EventFlags::IN | epoll::EventFlags::ERR) {
                continue;
            }
            let why = match rustix::net::recv(&c.fd, &mut buf, RecvFlags::empty()) {
                Ok((0, _)) => "the server closed the connection".to_string(),
                Ok((got, _)) => {
                    let mut rest = &buf[..got];
                    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
                        c.partial.extend_from_slice(&rest[..end]);
                        rest = &rest[end + 1..];
                        match heard(&c.partial, &mut c.got, m, &shape, &alphabet) {
                            Heard::Line => {
                                o.deliveries += 1;
                                o.bytes += c.partial.len() as u64 + 1;
                                last_news = Instant::now();
                            }
                            Heard::Joined => {
                                joins += 1;
                                last_news = Instant::now();
                            }
                            Heard::Dropped(who) => {
                                o.dropped.insert(who);
                            }
                            Heard::Other => {}
                            Heard::Wrong(why) => o.errors.push(format!("{}: {why}", shape.name(m))),
                        }
                        c.partial.clear();
                    }
                    c.partial.extend_from_slice(rest);
                    continue;
                }
                Err(Errno::AGAIN | Errno::INTR) => continue,
                Err(e) => std::io::Error::from(e).to_string(),
            };
            c.alive = false;
            lost.push((shape.name(m), why));
        }
    }
    if phase == Phase::Loading {
        o.cpu = cpu()?.saturating_sub(cpu_before);
    }
    for (name, why) in lost {
        if !o.dropped.contains(&name) {
            o.errors.push(format!("{name}: {why}"));
        }
    }
    // Dropping the descriptors closes every connection: the members leave.
    drop(members);
    Ok(o)
}

/// Whether every member still in the room has every sender's `quota` lines.
fn done(members: &[Member], shape: &Shape, quota: u64) -> bool {
    quota != u64::MAX
        && members
            .iter()
            .enumerate()
            .filter(|(_, c)| c.alive)
            .all(|(m, c)| (0..shape.senders).all(|s| s == m || c.got[s] >= quota))
}

/// What a line the room sent a member was.
enum Heard {
    /// A sender's next line, as expected.
    Line,
    Joined,
    /// `* NAME dropped (too slow)`.
    Dropped(String),
    /// Other news (`* NAME left`).
    Other,
    Wrong(String),
}

/// Checks a line member `m` received (without its newline).
fn heard(line: &[u8], got: &mut [u64], m: usize, shape: &Shape, alphabet: &[u8]) -> Heard {
    if let Some(news) = line.strip_prefix(b"* ") {
        let news = String::from_utf8_lossy(news);
        return match news.split_once(' ') {
            Some((_, "joined")) => Heard::Joined,
            Some((who, "dropped (too slow)")) => Heard::Dropped(who.to_string()),
            _ => Heard::Other,
        };
    }
    let shown = || crate::trace::escape(line, 40);
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Heard::Wrong(format!("the room sent {}", shown()));
    };
    let sender = std::str::from_utf8(&line[..colon])
        .ok()
        .and_then(|n| n.strip_prefix('s')?.parse::<usize>().ok())
        .and_then(|i| i.checked_sub(1))
        .filter(|&s| s < shape.senders && s != m);
    let Some(s) = sender else {
        return Heard::Wrong(format!("a line from no other sender: {}", shown()));
    };
    let seq = got[s];
    if line.len() + 1 != shape.relayed(s)
        || &line[colon..colon + 2] != b": "
        || &line[colon + 2..] != text(alphabet, shape, s, seq)
    {
        return Heard::Wrong(format!(
            "line {} from {} is not what it sent: {}",
            seq + 1,
            shape.name(s),
            shown()
        ));
    }
    got[s] += 1;
    Heard::Line
}

/// Sends what is left of a member's bytes; a partial send waits for EPOLLOUT.
fn push(ep: &OwnedFd, c: &mut Member, m: usize, errors: &mut Vec<String>) {
    match rustix::net::send(&c.fd, &c.out[c.out_at..], SendFlags::NOSIGNAL) {
        Ok(n) => c.out_at += n,
        Err(Errno::AGAIN | Errno::INTR) => {}
        Err(e) => {
            c.alive = false;
            errors.push(format!("member {}: {}", m + 1, std::io::Error::from(e)));
            return;
        }
    }
    let wants_out = c.out_at < c.out.len();
    if wants_out != c.wants_out {
        let mut flags = epoll::EventFlags::IN;
        if wants_out {
            flags |= epoll::EventFlags::OUT;
        }
        let _ = epoll::modify(ep, c.fd.as_fd(), epoll::EventData::new_u64(m as u64), flags);
        c.wants_out = wants_out;
    }
}

/// What `iomodels bench --app chat` was asked to do.
pub struct ChatOpts {
    /// The models, each with its mode's flags if any.
    pub models: Vec<String>,
    pub shape: Shape,
    pub until: Until,
    pub rounds: usize,
    pub format: Format,
    pub progress: bool,
    pub width: Option<usize>,
}

/// One model's numbers (with several rounds: the median of each rate).
#[derive(Serialize)]
pub struct Row {
    pub model: String,
    /// Deliveries received and checked, all rounds together.
    pub deliveries: u64,
    pub rounds: usize,
    pub seconds: f64,
    pub deliveries_per_s: f64,
    pub bytes_per_s: f64,
    /// The server child's user+system CPU during the load.
    pub server_cpu_ms: f64,
    pub cpu_per_1000_deliveries_us: f64,
    /// Members the room dropped for reading too slowly, over all rounds.
    pub dropped: Vec<String>,
    pub errors: Vec<String>,
}

/// Of `specs`, those that can chat; each left out is told in one line, and why.
pub fn can_chat(specs: Vec<String>) -> Vec<String> {
    specs
        .into_iter()
        .filter(|spec| {
            let mut words = spec.split_whitespace();
            let Some(model) = words.next().and_then(crate::models::find) else {
                return true;
            };
            // The mode's flags choose whether it serves many at once (`aio --poll`).
            let knobs = words
                .filter_map(|w| w.strip_prefix("--"))
                .fold(crate::limits::Knobs::default(), |k, flag| {
                    k.clone().in_mode(flag).unwrap_or(k)
                });
            match model.no_chat(&knobs) {
                None => true,
                Some(why) => {
                    crate::say!("{}", t!("bench-left-out", why = why));
                    false
                }
            }
        })
        .collect()
}

/// Runs the chat benchmark and writes the results. Returns the exit code (1 if a line was
/// wrong, a connection lost, or a member dropped).
pub fn bench(opts: &ChatOpts) -> Result<i32> {
    if opts.models.is_empty() {
        crate::say!("{}", t!("bench-err-no-chat"));
        return Ok(2);
    }
    let shape = opts.shape;
    child::raise_fd_limit(shape.members() as u64 + 64)?;
    // Round after round, every model once per round (A B A B …), as the echo's bench.
    let mut runs: Vec<Vec<Outcome>> = opts.models.iter().map(|_| Vec::new()).collect();
    for round in 0..opts.rounds {
        for (i, model) in opts.models.iter().enumerate() {
            let mut label = model.clone();
            if opts.rounds > 1 {
                label = format!("{label} {}/{}", round + 1, opts.rounds);
            }
            let pb = progress_bar(
                opts.progress,
                &label,
                opts.until,
                shape.per_round(),
                &t!("bench-unit-deliveries"),
            );
            let target = Target::Model(model.clone());
            let mut srv = Server::start_app(&target, App::Chat)?;
            let o = super::load::connect(srv.addr, shape.members())
                .and_then(|streams| drive(streams, shape, opts.until, pb.as_ref(), || srv.cpu()));
            if let Some(pb) = pb {
                pb.finish_and_clear();
            }
            let context = || t!("bench-err-benchmarking-chat", model = model);
            let o = o.with_context(context)?;
            let alive = srv.check();
            srv.stop()?;
            alive.with_context(context)?;
            runs[i].push(o);
        }
    }
    let rows: Vec<Row> = opts
        .models
        .iter()
        .zip(runs)
        .map(|(model, os)| {
            let rate = |o: &Outcome, n: u64| n as f64 / o.elapsed.as_secs_f64().max(1e-9);
            Row {
                model: model.clone(),
                deliveries: os.iter().map(|o| o.deliveries).sum(),
                rounds: os.len(),
                seconds: median(os.iter().map(|o| o.elapsed.as_secs_f64()).collect()),
                deliveries_per_s: median(os.iter().map(|o| rate(o, o.deliveries)).collect()),
                bytes_per_s: median(os.iter().map(|o| rate(o, o.bytes)).collect()),
                server_cpu_ms: median(os.iter().map(|o| o.cpu.as_secs_f64() * 1e3).collect()),
                cpu_per_1000_deliveries_us: median(
                    os.iter()
                        .map(|o| o.cpu.as_secs_f64() * 1e9 / o.deliveries.max(1) as f64)
                        .collect(),
                ),
                dropped: os.iter().flat_map(|o| o.dropped.iter().cloned()).collect(),
                errors: os.iter().flat_map(|o| o.errors.iter().cloned()).collect(),
            }
        })
        .collect();
    write_rows(opts, &rows)?;
    let mut bad = false;
    for r in &rows {
        if !r.dropped.is_empty() {
            let dropped = t!(
                "bench-err-dropped",
                model = &r.model,
                members = r.dropped.join(", ")
            );
            crate::say!("{}", t!("error", message = dropped));
            bad = true;
        }
        for e in &r.errors {
            crate::say!(
                "{}",
                t!(
                    "error",
                    message = t!("bench-err-of", model = &r.model, why = e)
                )
            );
            bad = true;
        }
    }
    Ok(i32::from(bad))
}

fn write_rows(opts: &ChatOpts, rows: &[Row]) -> std::io::Result<()> {
    let out = &mut std::io::stdout().lock();
    let shape = &opts.shape;
    match opts.format {
        Format::Json => {
            let doc = serde_json::json!({
                "kind": "bench",
                "app": App::Chat.name(),
                "senders": shape.senders,
                "receivers": shape.receivers,
                "size": shape.size,
                "window": shape.window(),
                "rounds": opts.rounds,
                "results": rows,
            });
            writeln!(out, "{doc}")?;
        }
        Format::Csv => {
            writeln!(
                out,
                "model,senders,receivers,size,deliveries,rounds,seconds,deliveries_per_s,bytes_per_s,server_cpu_ms,cpu_per_1000_deliveries_us,dropped,errors"
            )?;
            for r in rows {
                writeln!(
                    out,
                    "{},{},{},{},{},{},{:.3},{:.1},{:.1},{:.1},{:.3},{},{}",
                    r.model,
                    shape.senders,
                    shape.receivers,
                    shape.size,
                    r.deliveries,
                    r.rounds,
                    r.seconds,
                    r.deliveries_per_s,
                    r.bytes_per_s,
                    r.server_cpu_ms,
                    r.cpu_per_1000_deliveries_us,
                    r.dropped.len(),
                    r.errors.len()
                )?;
            }
        }
        Format::Table => {
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED).set_header([
                t!("bench-col-model"),
                t!("bench-chat-col-deliveries"),
                t!("bench-chat-col-mb"),
                t!("bench-col-server-cpu"),
                t!("bench-chat-col-cpu"),
                t!("bench-chat-col-dropped"),
                t!("bench-chat-col-checked"),
            ]);
            fit(&mut t, opts.width);
            for r in rows {
                t.add_row([
                    r.model.clone(),
                    format!("{:.0}", r.deliveries_per_s),
                    format!("{:.1}", r.bytes_per_s / 1e6),
                    format!("{:.0}", r.server_cpu_ms),
                    format!("{:.1}", r.cpu_per_1000_deliveries_us),
                    r.dropped.len().to_string(),
                    if r.errors.is_empty() {
                        r.deliveries.to_string()
                    } else {
                        t!(
                            "bench-chat-errors",
                            deliveries = r.deliveries.to_string(),
                            errors = r.errors.len().to_string(),
                        )
                    },
                ]);
            }
            let how = match opts.until {
                Until::Time(d) => t!("bench-per-run", seconds = format!("{:.1}", d.as_secs_f64())),
                Until::Messages(n) => t!("bench-chat-per-sender", n = n.to_string()),
            };
            let title = t!(
                "bench-chat-title",
                senders = shape.senders.to_string(),
                receivers = shape.receivers.to_string(),
                size = shape.size.to_string(),
                window = shape.window().to_string(),
                how = how,
                median = of_rounds(opts.rounds),
            );
            writeln!(out, "{}", fitted(&title, opts.width))?;
            writeln!(out, "{t}")?;
            writeln!(out, "{}", fitted(&legend(shape), opts.width))?;
        }
    }
    out.flush()
}

/// What the table measures, in words.
pub fn legend(shape: &Shape) -> String {
    t!(
        "bench-chat-legend",
        k = shape.senders.to_string(),
        size = shape.size.to_string(),
        w = shape.window().to_string(),
        r = shape.receivers.to_string(),
        k1 = (shape.senders - 1).to_string(),
        per = shape.per_round().to_string(),
        m = shape.members().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_keeps_queues_far_below_max_pending() {
        for (k, size) in [(1, 2), (4, 64), (64, 256)] {
            let shape = Shape::new(k, 16, size).unwrap();
            let queued = shape.window() * k * shape.relayed(k - 1);
            assert!(shape.window() >= 1);
            assert!(
                queued <= QUEUE_BUDGET || shape.window() == 1,
                "{k} senders of {size} B"
            );
        }
        assert!(Shape::new(1, 1, MAX_LINE + 1).is_err());
        assert!(Shape::new(1, 1, 1).is_err());
    }
}
