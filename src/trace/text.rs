//! The coloured, aligned text trace a student reads in the terminal.

use super::summary::{Peers, Summary};
use super::{Event, Kind, Stage};
use colored::{ColoredString, Colorize};
use std::io::Write;
use std::time::{Duration, Instant};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// A call shorter than this is shown as one line, without its "… blocks" line.
const BLOCKED_AFTER_US: u64 = 1_000;

pub fn stage_color(stage: Stage, s: &str) -> ColoredString {
    match stage {
        Stage::Setup => s.white(),
        Stage::DataReady => s.yellow(),
        Stage::CopyToUser => s.cyan(),
        Stage::DataReadyCopy => s.magenta(),
        Stage::CopyToKernel => s.blue(),
        Stage::Completion => s.green(),
        Stage::Teardown => s.white().dimmed(),
        Stage::Client => s.bright_green(),
        Stage::Work => s.bright_black(),
    }
}

/// The stage as a student reads it: circled numbers for the two stages of input.
pub fn stage_label(stage: Stage) -> String {
    match stage {
        Stage::Setup => crate::t!("stage-setup"),
        Stage::DataReady => crate::t!("stage-data-ready"),
        Stage::CopyToUser => crate::t!("stage-copy-to-user"),
        Stage::DataReadyCopy => crate::t!("stage-data-ready-copy"),
        Stage::CopyToKernel => crate::t!("stage-send-out"),
        Stage::Completion => crate::t!("stage-completion"),
        Stage::Teardown => crate::t!("stage-teardown"),
        Stage::Client => crate::t!("stage-client"),
        Stage::Work => crate::t!("stage-work"),
    }
}

/// How many terminal columns `s` takes: a CJK character takes two (its display width).
pub fn cols(s: &str) -> usize {
    s.width()
}

/// `s` padded with spaces to `n` columns (display width, so that CJK text stays aligned).
pub fn pad(s: &str, n: usize) -> String {
    format!("{s}{}", " ".repeat(n.saturating_sub(cols(s))))
}

/// `s` right-aligned in `n` columns (display width).
pub fn pad_left(s: &str, n: usize) -> String {
    format!("{}{s}", " ".repeat(n.saturating_sub(cols(s))))
}

/// 41233 → "41,233".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1e3)
}

/// A duration for people: µs below a millisecond, ms above.
pub fn took(us: u64) -> String {
    if us >= 1_000 {
        ms(us)
    } else {
        format!("{us} µs")
    }
}

/// `s` in at most `n` columns: cut, with `…` where it was cut.
pub fn fit(s: &str, n: usize) -> String {
    if cols(s) <= n {
        return s.to_string();
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > n.saturating_sub(1) {
            break;
        }
        used += w;
        cut.push(c);
    }
    if n > 0 {
        cut.push('…');
    }
    cut
}

/// `s` word-wrapped to end by column `width`, for a text that starts at column `indent` (after
/// a prefix its caller prints); the lines after the first are indented to it. A word longer than
/// a line breaks after a `|` (a call's flags), or else is cut with `…`.
pub fn wrap(s: &str, width: usize, indent: usize) -> String {
    let room = width.saturating_sub(indent).max(1);
    let mut out = String::new();
    let mut len = indent;
    for (word, spaced) in s.split(' ').flat_map(|w| pieces(w, room)) {
        let wlen = cols(word);
        // A double space where the line breaks would start the next line with a space.
        if word.is_empty() && len + 1 > width {
            continue;
        }
        let gap = usize::from(spaced);
        if len > indent && len + gap + wlen > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            len = indent;
        } else if spaced && !out.is_empty() {
            out.push(' ');
            len += 1;
        }
        let word = fit(word, width.saturating_sub(len));
        len += cols(&word);
        out.push_str(&word);
    }
    out
}

/// A word as the pieces a line may break between, each with whether a space goes before it: the
/// word itself when it fits in `room`, else its parts after each `|`, packed up to `room`. Text
/// with wide characters comes as all its parts (Chinese puts no spaces between words, and breaks
/// between any two characters), so that a line fills up before it breaks.
fn pieces(word: &str, room: usize) -> Vec<(&str, bool)> {
    if cols(word) > word.chars().count() {
        return cjk_parts(word)
            .into_iter()
            .enumerate()
            .map(|(i, part)| (part, i == 0))
            .collect();
    }
    if cols(word) <= room {
        return vec![(word, true)];
    }
    let mut out: Vec<(&str, bool)> = Vec::new();
    // The piece being packed is `word[from..to]`; each part ends with its `|`.
    let (mut from, mut to) = (0, 0);
    for part in word.split_inclusive('|') {
        let end = to + part.len();
        if to > from && cols(&word[from..end]) > room {
            out.push((&word[from..to], out.is_empty()));
            from = to;
        }
        to = end;
    }
    out.push((&word[from..], out.is_empty()));
    out
}

/// A word with wide characters as the parts a line may break between: each wide character
/// alone, and each run of narrow ones (`--max-pending`, `40 ms`) whole. Punctuation that closes
/// (`，。）`) stays with what it follows, and an opening bracket with what follows it: a line
/// never starts with the one, nor ends with the other.
pub fn cjk_parts(word: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut from = 0;
    let mut last_wide = None;
    for (i, c) in word.char_indices() {
        let wide = c.width().unwrap_or(0) > 1;
        let closes = "，。、：；！？）」』”’》".contains(c);
        let opened = word[..i].ends_with(['[', '(', '（', '「', '《', '“', '‘']);
        if i > from && (wide || last_wide == Some(true)) && !closes && !opened {
            parts.push(&word[from..i]);
            from = i;
        }
        last_wide = Some(wide);
    }
    parts.push(&word[from..]);
    parts
}

/// The trace's columns for a width. Narrower than the full line, the tid column goes first;
/// narrower still (the lesson view: the book's pages, a narrow terminal), each gloss moves under
/// its call and wraps there, and a long call wraps between its arguments: nothing is cut.
#[derive(Clone, Copy)]
struct Layout {
    /// The width to fit; `None`: whole lines (stdout is no terminal and no width was asked).
    width: Option<usize>,
    tid: bool,
    call: usize,
    gloss_below: bool,
}

/// time, who, tid, call, result, took, stage, and the spaces between: the gloss's column.
const FULL: usize = 9 + 2 + 10 + 1 + 7 + 2 + 38 + 1 + 20 + 1 + 9 + 2 + 16 + 1;
/// The tid column and its spaces.
const TID: usize = 9;
/// The least room a gloss keeps on its call's line before it moves below.
const GLOSS: usize = 24;
/// A gloss below its call is indented past the time column.
const BELOW: usize = 11;
/// The result column's width in the lesson view (`= 6`, `= -1 EAGAIN ×3,342`), where the call
/// needs the room more.
const RESULT_BELOW: usize = 14;

impl Layout {
    fn new(width: Option<usize>) -> Layout {
        let w = width.unwrap_or(usize::MAX);
        let tid = w >= FULL + GLOSS;
        let gloss_below = w < FULL - TID + GLOSS;
        // Below: time, who, call, result and took share the line (47 columns besides the call).
        let call = if gloss_below {
            w.saturating_sub(9 + 2 + 10 + 1 + RESULT_BELOW + 1 + 9 + 1)
                .clamp(16, 38)
        } else {
            38
        };
        Layout {
            width,
            tid,
            call,
            gloss_below,
        }
    }

    /// The gloss in the room it has: cut after `used` columns, or wrapped on lines of its own.
    fn gloss(&self, note: &str, used: usize) -> String {
        match self.width {
            None => note.to_string(),
            Some(w) if self.gloss_below => wrap(note, w, BELOW + 17),
            Some(w) => fit(note, w.saturating_sub(used)),
        }
    }
}

pub struct TextRenderer<W: Write> {
    out: W,
    layout: Layout,
    peers: Peers,
    /// "… blocks" lines held back until we know the call really blocked.
    held: Vec<(Event, Instant)>,
    /// "… blocks" lines already shown, whose calls have not returned yet: (tid, call, fd).
    shown: Vec<(i64, &'static str, Option<i64>)>,
}

impl<W: Write> TextRenderer<W> {
    /// A renderer fitting its lines to `width` columns (`None`: whole lines).
    pub fn new(out: W, width: Option<usize>) -> TextRenderer<W> {
        TextRenderer {
            out,
            layout: Layout::new(width),
            peers: Peers::default(),
            held: Vec::new(),
            shown: Vec::new(),
        }
    }

    /// The title line and the column headings.
    pub fn header(&mut self, title: &str) {
        let l = self.layout;
        let title = match l.width {
            Some(w) => wrap(title, w, 0),
            None => title.to_string(),
        };
        let _ = writeln!(self.out, "{}", title.bold());
        let tid = if l.tid {
            format!("{:>7}  ", "tid")
        } else {
            String::new()
        };
        let call = l.call;
        let (time, who, call_h, result, took, stage, means) = (
            crate::t!("head-time"),
            crate::t!("head-who"),
            crate::t!("head-call"),
            crate::t!("head-result"),
            crate::t!("head-took"),
            crate::t!("head-stage"),
            crate::t!("head-means"),
        );
        let head = if l.gloss_below {
            format!(
                "{}  {} {} {} {}\n{:BELOW$}{} {means}",
                pad_left(&time, 9),
                pad(&who, 10),
                pad(&call_h, call),
                pad(&result, RESULT_BELOW),
                pad_left(&took, 9),
                "",
                pad(&stage, 16),
            )
        } else {
            format!(
                "{}  {} {tid}{} {} {}  {} {means}",
                pad_left(&time, 9),
                pad(&who, 10),
                pad(&call_h, call),
                pad(&result, 20),
                pad_left(&took, 9),
                pad(&stage, 16),
            )
        };
        let _ = writeln!(self.out, "{}", head.dimmed());
    }

    pub fn event(&mut self, ev: &Event) {
        self.peers.observe(ev);
        if ev.kind == Kind::Wait {
            self.held.push((ev.clone(), Instant::now()));
            return;
        }
        // The call a held "… blocks" line announced: drop the announcement if it was quick.
        let key = (ev.tid, ev.call, ev.fd);
        let mut blocked = match self.shown.iter().position(|k| *k == key) {
            Some(i) => {
                self.shown.remove(i);
                true
            }
            None => false,
        };
        if let Some(i) = self
            .held
            .iter()
            .position(|(w, _)| w.tid == ev.tid && w.call == ev.call && w.fd == ev.fd)
        {
            let (wait, _) = self.held.remove(i);
            if ev.dur_us >= BLOCKED_AFTER_US {
                self.flush_held_before(wait.t_us);
                self.line(&wait, false);
                blocked = true;
            }
        }
        // Calls still blocked when this event happened have been blocked long enough to show.
        self.flush_held_before(ev.t_us.saturating_sub(BLOCKED_AFTER_US));
        self.line(ev, blocked);
        if ev.closes() {
            self.peers.closed(ev);
        }
    }

    /// Called now and then while events are scarce: shows calls that are still blocked.
    pub fn tick(&mut self) {
        let due = Duration::from_micros(BLOCKED_AFTER_US);
        if self.held.iter().any(|(_, at)| at.elapsed() >= due) {
            self.flush_held();
            let _ = self.out.flush();
        }
    }

    fn flush_held(&mut self) {
        self.flush_held_before(u64::MAX);
    }

    /// Shows the held "… blocks" lines of calls that started at or before `t_us`.
    fn flush_held_before(&mut self, t_us: u64) {
        let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(w, _)| w.t_us <= t_us);
        self.held = keep;
        for (w, _) in due {
            self.line(&w, false);
            self.shown.push((w.tid, w.call, w.fd));
        }
    }

    fn line(&mut self, ev: &Event, after_block: bool) {
        let l = self.layout;
        let at = if after_block {
            ev.t_us + ev.dur_us
        } else {
            ev.t_us
        };
        let time = format!("{:>9.3}", at as f64 / 1e3);
        let tid = match (l.tid, ev.tid) {
            (false, _) => String::new(),
            (true, 0) => format!("{:>7}  ", ""),
            (true, t) => format!("{t:>7}  "),
        };
        let who = format!("{:<10}", ev.actor);
        // time, who and tid: the columns every line starts with.
        let lead = 9 + 2 + cols(&who) + 1 + cols(&tid);
        if ev.kind == Kind::Info && ev.stage != Stage::Work {
            let note = format!("· {}", ev.note);
            let note = match l.width {
                Some(w) if l.gloss_below => wrap(&note, w, lead + 2),
                Some(w) => fit(&note, w.saturating_sub(lead)),
                None => note,
            };
            let line = format!(
                "{}  {} {}{}",
                time.dimmed(),
                who.dimmed(),
                tid.dimmed(),
                note.dimmed()
            );
            let _ = writeln!(self.out, "{}", line.trim_end());
            return;
        }
        let (call, result, dur, note) = if ev.kind == Kind::Client {
            (
                format!("▸ {}", ev.call),
                String::new(),
                String::new(),
                ev.note.clone(),
            )
        } else {
            self.call_columns(ev, after_block)
        };
        let mut took_w = cols(&dur).max(9);
        // A call too long for its column, in the lesson view: the lines it continues on.
        let mut more = Vec::new();
        let (call, result) = match l.width {
            Some(w) if l.gloss_below => {
                // A long result takes what "took" leaves unused of its column first, so that
                // "took" still ends where the others do; past that, and for a long "slept …",
                // the call gives up room, and wraps between its arguments.
                let result_len = cols(&result);
                let spill = result_len.saturating_sub(RESULT_BELOW);
                took_w = took_w.saturating_sub(spill).max(cols(&dur));
                let result_w = result_len.max(RESULT_BELOW);
                let call_w = l
                    .call
                    .min(w.saturating_sub(lead + result_w + 2 + took_w))
                    .max(12);
                // What fits beside the result goes there; the rest wraps on lines as wide as
                // the page allows (all of it, when not even the call's name fits).
                let wrapped = wrap(&call, call_w, 0);
                let head = wrapped.lines().next().unwrap_or_default();
                let (first, rest) = match call.strip_prefix(head) {
                    Some(rest) if !head.is_empty() => (head.to_string(), rest.trim_start()),
                    _ => (String::new(), call.as_str()),
                };
                let rest = wrap(rest, w.saturating_sub(lead).max(16), 0);
                more.extend(
                    rest.lines()
                        .filter(|c| !c.is_empty())
                        .map(|c| format!("{:lead$}{c}", "")),
                );
                (pad(&first, call_w), pad(&result, result_w))
            }
            Some(_) => (pad(&fit(&call, l.call), l.call), pad(&fit(&result, 20), 20)),
            None => (pad(&call, 38), pad(&result, 20)),
        };
        let stage = pad(&stage_label(ev.stage), 16);
        let used = lead + cols(&call) + cols(&result) + took_w + 2 + 2 + 16 + 1;
        let note = l.gloss(&note, used);
        let (who, call) = if ev.kind == Kind::Client {
            (who.bright_green(), call.bright_green())
        } else if ev.kind == Kind::Kernel {
            (who.bright_magenta(), call.italic())
        } else if ev.kind == Kind::Wait || after_block {
            (who.normal(), call.bold())
        } else {
            (who.normal(), call.normal())
        };
        let gap = if l.gloss_below {
            let more: String = more.iter().map(|m| format!("\n{}", m.trim_end())).collect();
            format!("{more}\n{:BELOW$}", "")
        } else {
            "  ".to_string()
        };
        let line = format!(
            "{}  {who} {}{call} {result} {}{gap}{} {note}",
            time.dimmed(),
            tid.dimmed(),
            pad_left(&dur, took_w).dimmed(),
            stage_color(ev.stage, &stage),
        );
        for part in line.lines() {
            let _ = writeln!(self.out, "{}", part.trim_end());
        }
    }

    /// A call's columns: the call with its arguments, its result, how long it took, its gloss.
    fn call_columns(&self, ev: &Event, after_block: bool) -> (String, String, String, String) {
        let mut args = Vec::new();
        if let Some(fd) = self.peers.fd_label(ev) {
            args.push(fd);
        }
        if !ev.args.is_empty() {
            args.push(ev.args.clone());
        }
        let call = if ev.kind == Kind::Info {
            ev.call.to_string()
        } else if ev.kind == Kind::Kernel {
            // The lane names its connection itself (it knows which end of it the socket is).
            match ev.args.as_str() {
                "" => ev.call.to_string(),
                what => format!("{}: {what}", ev.call),
            }
        } else if ev.kind == Kind::Op {
            format!("{} {}", ev.named(), args.join(", "))
        } else {
            // A library function is named with its library: no one reads it as a system call.
            format!("{}({})", ev.named(), args.join(", "))
        };
        let mut result = match (ev.kind, ev.ret, ev.errno) {
            (Kind::Wait, _, _) => crate::t!("trace-blocks"),
            (Kind::Info, _, _) => String::new(),
            (Kind::Kernel, Some(r), _) => format!("= {r}"),
            (Kind::Kernel, None, Some(e)) => format!("= -{e}"),
            (Kind::Kernel, None, None) => String::new(),
            (_, Some(r), _) => match ev.port.and_then(|p| self.peers.client_at(p)) {
                Some(c) => format!("= {r} ({c})"),
                None => format!("= {r}"),
            },
            // A library function's error by name: aio_error returns it, aio_read sets errno.
            (Kind::Library, None, Some(e)) => format!("= {e}"),
            // A CQE's result is the negated errno itself, not -1 with errno set.
            (Kind::Op, None, Some(e)) => format!("= -{e}"),
            (_, None, Some(e)) => format!("= -1 {e}"),
            // An SQE has no result yet: it waits in the submission ring.
            (Kind::Op, None, None) => crate::t!("trace-queued"),
            // A call whose result the program cannot see (a library's, made for us).
            (_, None, None) => "= ?".to_string(),
        };
        if ev.count > 1 {
            result = format!("{result} ×{}", thousands(ev.count));
        }
        let dur = match ev.kind {
            Kind::Wait | Kind::Kernel => String::new(),
            _ if after_block => crate::t!("trace-slept", took = took(ev.dur_us)),
            _ => took(ev.dur_us),
        };
        let mut note = ev.note.clone();
        if let Some(span) = ev.span_us {
            note = crate::t!("trace-over", note = note, span = ms(span));
        }
        (call, result, dur, note)
    }

    /// The summary. `serve`: the clients were real ones (`--serve`), whose echoes nobody checks.
    pub fn finish(
        &mut self,
        title: &str,
        s: &Summary,
        state: &str,
        notice: &[String],
        serve: bool,
    ) {
        self.flush_held();
        let width = self.layout.width;
        let fitted = |text: String, indent: usize| match width {
            Some(w) => wrap(&text, w, indent),
            None => text,
        };
        let o = &mut self.out;
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{}",
            fitted(crate::t!("summary-title", model = title), 0).bold()
        );
        let mut calls: Vec<_> = s.calls.iter().collect();
        calls.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let by_name: Vec<String> = calls
            .iter()
            .map(|(n, c)| format!("{n} {}", thousands(**c)))
            .collect();
        let row = |o: &mut W, k: &str, v: String| {
            let w = cols(k).max(18);
            let _ = writeln!(o, "  {} {}", pad(k, w).dimmed(), fitted(v, w + 3));
        };
        row(
            o,
            &crate::t!("summary-syscalls"),
            format!("{}  ({})", thousands(s.syscalls), by_name.join(", ")),
        );
        if s.ops > 0 {
            row(
                o,
                &crate::t!("summary-kernel-ops"),
                crate::t!("summary-kernel-ops-value", n = thousands(s.ops)),
            );
        }
        row(o, &crate::t!("summary-eagain"), thousands(s.eagain));
        let stages = [
            Stage::DataReady,
            Stage::CopyToUser,
            Stage::DataReadyCopy,
            Stage::CopyToKernel,
            Stage::Completion,
        ];
        let parts: Vec<String> = stages
            .iter()
            .filter(|st| s.stage(**st) > 0)
            .map(|st| {
                format!(
                    "{} {}",
                    stage_color(*st, &stage_label(*st)),
                    ms(s.stage(*st))
                )
            })
            .collect();
        row(o, &crate::t!("summary-time"), parts.join(" · "));
        // An echo sends back what it read; a chat sends it on to the other members.
        let app = if s.chat() { "chat" } else { "echo" };
        let (bytes_in, bytes_out) = (s.bytes_in.to_string(), s.bytes_out.to_string());
        row(
            o,
            &crate::t!("summary-bytes"),
            match s.bytes_in_by_library {
                0 => crate::t!(
                    "summary-bytes-value",
                    got = bytes_in,
                    kernel = s.bytes_in_by_kernel.to_string(),
                    out = bytes_out,
                    app = app
                ),
                n => crate::t!(
                    "summary-bytes-library-value",
                    got = bytes_in,
                    library = n.to_string(),
                    out = bytes_out,
                    app = app
                ),
            },
        );
        let (cpu, run) = (ms(s.cpu_us), ms(s.run_us));
        row(
            o,
            &crate::t!("summary-cpu"),
            match s.cpu_call {
                "" => crate::t!("summary-cpu-value", cpu = cpu, run = run),
                call => crate::t!("summary-cpu-call-value", cpu = cpu, run = run, call = call),
            },
        );
        if s.wakeups > 0 {
            row(
                o,
                &crate::t!("summary-readiness"),
                crate::t!(
                    "summary-readiness-value",
                    wakeups = thousands(s.wakeups),
                    watched = format!("{:.1}", s.watched as f64 / s.wakeups as f64),
                    ready = format!("{:.1}", s.ready as f64 / s.wakeups as f64)
                ),
            );
        }
        if s.refused > 0 {
            let n = s.refused.to_string();
            row(
                o,
                &crate::t!("summary-refused"),
                match s.clients_refused {
                    0 => crate::t!("summary-refused-value", n = n),
                    c => crate::t!(
                        "summary-refused-clients-value",
                        n = n,
                        clients = c.to_string()
                    ),
                },
            );
        }
        if !s.kernel.is_empty() || s.kernel_lost > 0 {
            let mut by: Vec<_> = s.kernel.iter().collect();
            by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let names: Vec<String> = by
                .iter()
                .map(|(n, c)| format!("{n} {}", thousands(**c)))
                .collect();
            let lost = match s.kernel_lost {
                0 => String::new(),
                n => crate::t!("summary-kernel-lost", n = thousands(n)),
            };
            row(
                o,
                &crate::t!("summary-kernel-events"),
                format!(
                    "{}  ({}){lost}",
                    thousands(s.kernel.values().sum()),
                    names.join(", ")
                ),
            );
        }
        if !s.library.is_empty() {
            let calls = counted(&s.library);
            row(
                o,
                &crate::t!("summary-library"),
                crate::t!("summary-library-value", calls = calls),
            );
        }
        if !s.library_calls.is_empty() {
            row(
                o,
                &crate::t!("summary-library-own"),
                counted(&s.library_calls),
            );
        }
        row(
            o,
            &crate::t!("summary-work"),
            crate::t!("summary-work-value", n = thousands(s.work)),
        );
        if let Some(r) = &s.room {
            row(
                o,
                &crate::t!("summary-room"),
                crate::t!(
                    "summary-room-value",
                    joined = r.joined.to_string(),
                    lines = thousands(r.lines),
                    deliveries = thousands(r.deliveries),
                    bytes = thousands(r.delivered_bytes),
                    dropped = r.dropped.to_string(),
                    refused = r.refused.to_string(),
                    peak = thousands(r.peak_queue)
                ),
            );
        }
        let checked = if serve {
            crate::t!("summary-not-checked", app = app)
        } else {
            crate::t!(
                "summary-checked",
                n = s.echoes_ok.to_string(),
                app = app,
                bytes = s.echo_bytes.to_string(),
                failed = s.failures
            )
        };
        row(
            o,
            &crate::t!("summary-clients"),
            crate::t!(
                "summary-clients-value",
                accepted = s.accepted.to_string(),
                threads = s.threads.to_string(),
                open = s.max_open.to_string(),
                checked = checked
            ),
        );
        row(o, &crate::t!("summary-state"), state.to_string());
        if !notice.is_empty() {
            let _ = writeln!(o, "{}", crate::t!("notice-heading").bold());
            for n in notice {
                let _ = writeln!(o, "  • {}", fitted(n.clone(), 4));
            }
        }
        let _ = o.flush();
    }
}

/// Counts by name as the summary prints them: `9 (a 2, b 7)`.
fn counted(counts: &std::collections::BTreeMap<&'static str, u64>) -> String {
    let each: Vec<String> = counts
        .iter()
        .map(|(n, c)| format!("{n} {}", thousands(*c)))
        .collect();
    format!("{} ({})", thousands(counts.values().sum()), each.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_wraps_between_characters_and_keeps_latin_words_whole() {
        let s = "聊天室：读得慢的成员剩下的部分在我们的队列里排队（--max-pending）";
        let w = wrap(s, 30, 0);
        assert!(w.lines().all(|l| cols(l) <= 30), "{w}");
        assert!(w.contains("--max-pending"), "{w}");
        assert_eq!(w.replace('\n', ""), s);
        assert_eq!(pad("阶段", 6), "阶段  ");
        assert_eq!(fit("复制到用户空间", 7), "复制到…");
    }

    #[test]
    fn wrap_breaks_long_flags_after_a_bar() {
        let s = "io_uring_setup(256, IORING_SETUP_COOP_TASKRUN|IORING_SETUP_SINGLE_ISSUER|IORING_SETUP_DEFER_TASKRUN)";
        let w = wrap(s, 30, 0);
        assert!(w.lines().all(|l| l.chars().count() <= 30), "{w}");
        assert!(!w.contains('…'), "nothing cut: {w}");
        assert_eq!(w.replace('\n', "").replace("256,", "256, "), s);
    }

    /// The lesson view keeps every character of a call and its gloss within the width.
    #[test]
    fn the_lesson_view_wraps_and_cuts_nothing() {
        let mut ev = Event::new(Kind::Syscall, "epoll_ctl", Stage::Setup);
        ev.actor = std::sync::Arc::from("server");
        (ev.fd, ev.ret, ev.dur_us) = (Some(5), Some(0), 3);
        ev.args = "EPOLL_CTL_ADD, 3, EPOLLIN|EPOLLRDHUP|EPOLLET|EPOLLEXCLUSIVE".into();
        ev.note = "tell us when a client is waiting to be accepted, but wake only one or more of the threads waiting on it".into();
        let mut out = Vec::new();
        TextRenderer::new(&mut out, Some(64)).event(&ev);
        let out = String::from_utf8(out).unwrap();
        assert!(out.lines().all(|l| l.chars().count() <= 64), "{out}");
        assert!(!out.contains('…'), "{out}");
        let joined = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(joined.contains("EPOLLIN|EPOLLRDHUP|"), "{joined}");
        assert!(joined.contains("the threads waiting on it"), "{joined}");
    }
}
