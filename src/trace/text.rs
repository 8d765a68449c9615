//! The coloured, aligned text trace a student reads in the terminal.

use super::summary::{Peers, Summary};
use super::{Event, Kind, Stage};
use colored::{ColoredString, Colorize};
use std::io::Write;
use std::time::{Duration, Instant};

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
pub fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::DataReady => "① data-ready",
        Stage::CopyToUser => "② copy-to-user",
        Stage::DataReadyCopy => "①+② ready+copy",
        Stage::CopyToKernel => "echo out",
        Stage::Completion => "✓ completion",
        other => other.name(),
    }
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

pub struct TextRenderer<W: Write> {
    out: W,
    peers: Peers,
    /// "… blocks" lines held back until we know the call really blocked.
    held: Vec<(Event, Instant)>,
    /// "… blocks" lines already shown, whose calls have not returned yet: (tid, call, fd).
    shown: Vec<(i64, &'static str, Option<i64>)>,
}

impl<W: Write> TextRenderer<W> {
    pub fn new(out: W) -> TextRenderer<W> {
        TextRenderer {
            out,
            peers: Peers::default(),
            held: Vec::new(),
            shown: Vec::new(),
        }
    }

    /// The title line and the column headings.
    pub fn header(&mut self, title: &str) {
        let out = &mut self.out;
        let _ = writeln!(out, "{}", title.bold());
        let _ = writeln!(
            out,
            "{}",
            format!(
                "{:>9}  {:<10} {:>7}  {:<38} {:<20} {:>9}  {:<16} {}",
                "time ms", "who", "tid", "call", "result", "took", "stage", "what it means"
            )
            .dimmed()
        );
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
        if ev.closes()
            && let Some(fd) = ev.fd
        {
            self.peers.closed(fd);
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

    fn fd_label(&self, fd: i64) -> String {
        match self.peers.client(fd) {
            Some(c) => format!("{fd}={c}"),
            None => fd.to_string(),
        }
    }

    fn line(&mut self, ev: &Event, after_block: bool) {
        let at = if after_block {
            ev.t_us + ev.dur_us
        } else {
            ev.t_us
        };
        let time = format!("{:>9.3}", at as f64 / 1e3);
        let tid = if ev.tid != 0 {
            ev.tid.to_string()
        } else {
            String::new()
        };
        let stage = format!("{:<16}", stage_label(ev.stage));
        let line = match ev.kind {
            Kind::Client => format!(
                "{}  {:<10} {:>7}  {:<38} {:<20} {:>9}  {} {}",
                time.dimmed(),
                ev.actor.bright_green(),
                tid.dimmed(),
                format!("▸ {}", ev.call).bright_green(),
                "",
                "",
                stage_color(ev.stage, &stage),
                ev.note
            ),
            Kind::Info if ev.stage != Stage::Work => format!(
                "{}  {:<10} {:>7}  {}",
                time.dimmed(),
                ev.actor.dimmed(),
                tid.dimmed(),
                format!("· {}", ev.note).dimmed()
            ),
            _ => {
                let mut args = Vec::new();
                if let Some(fd) = ev.fd {
                    args.push(self.fd_label(fd));
                }
                if !ev.args.is_empty() {
                    args.push(ev.args.clone());
                }
                let call = if ev.kind == Kind::Info {
                    ev.call.to_string()
                } else if ev.kind == Kind::Op {
                    format!("⟨{}⟩ {}", ev.call, args.join(", "))
                } else {
                    format!("{}({})", ev.call, args.join(", "))
                };
                let mut result = match (ev.kind, ev.ret, ev.errno) {
                    (Kind::Wait, _, _) => "… blocks".to_string(),
                    (Kind::Info, _, _) => String::new(),
                    (_, Some(r), _) => match ev.port.and(self.peers.client(r)) {
                        Some(c) => format!("= {r} ({c})"),
                        None => format!("= {r}"),
                    },
                    // A CQE's result is the negated errno itself, not -1 with errno set.
                    (Kind::Op, None, Some(e)) => format!("= -{e}"),
                    (_, None, Some(e)) => format!("= -1 {e}"),
                    // An SQE has no result yet: it waits in the submission ring.
                    (Kind::Op, None, None) => "queued".to_string(),
                    // A call whose result the program cannot see (a library's, made for us).
                    (_, None, None) => "= ?".to_string(),
                };
                if ev.count > 1 {
                    result = format!("{result} ×{}", thousands(ev.count));
                }
                let dur = match ev.kind {
                    Kind::Wait => String::new(),
                    _ if after_block => format!("slept {}", took(ev.dur_us)),
                    _ => took(ev.dur_us),
                };
                let mut note = ev.note.clone();
                if let Some(span) = ev.span_us {
                    note = format!("{note} (over {})", ms(span));
                }
                let styled_call = if ev.kind == Kind::Wait || after_block {
                    call.bold()
                } else {
                    call.normal()
                };
                format!(
                    "{}  {:<10} {:>7}  {:<38} {:<20} {:>9}  {} {}",
                    time.dimmed(),
                    ev.actor,
                    tid.dimmed(),
                    styled_call,
                    result,
                    dur.dimmed(),
                    stage_color(ev.stage, &stage),
                    note
                )
            }
        };
        let _ = writeln!(self.out, "{}", line.trim_end());
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
        let o = &mut self.out;
        let _ = writeln!(o);
        let _ = writeln!(o, "{}", format!("── summary: {title} ──").bold());
        let mut calls: Vec<_> = s.calls.iter().collect();
        calls.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let by_name: Vec<String> = calls
            .iter()
            .map(|(n, c)| format!("{n} {}", thousands(**c)))
            .collect();
        let row = |o: &mut W, k: &str, v: String| {
            let _ = writeln!(o, "  {:<18} {v}", k.dimmed());
        };
        row(
            o,
            "system calls",
            format!("{}  ({})", thousands(s.syscalls), by_name.join(", ")),
        );
        if s.ops > 0 {
            row(
                o,
                "kernel operations",
                format!("{} (submitted and completed for us)", thousands(s.ops)),
            );
        }
        row(o, "EAGAIN answers", thousands(s.eagain));
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
                    stage_color(*st, stage_label(*st)),
                    ms(s.stage(*st))
                )
            })
            .collect();
        row(o, "time in calls", parts.join(" · "));
        row(
            o,
            "bytes",
            format!(
                "{} copied in by our recv calls, {} by the kernel for us, {} sent back",
                s.bytes_in, s.bytes_in_by_kernel, s.bytes_out
            ),
        );
        row(
            o,
            "server CPU",
            format!(
                "{} user+sys in a {} run ({})",
                ms(s.cpu_us),
                ms(s.run_us),
                crate::sys::CPU_CALL
            ),
        );
        if s.wakeups > 0 {
            row(
                o,
                "readiness waits",
                format!(
                    "{} wakeups; {:.1} descriptors looked through per wakeup to find {:.1} ready",
                    thousands(s.wakeups),
                    s.watched as f64 / s.wakeups as f64,
                    s.ready as f64 / s.wakeups as f64
                ),
            );
        }
        if s.refused > 0 {
            row(
                o,
                "refused",
                format!("{} connections accepted and closed at once", s.refused),
            );
        }
        if !s.library_calls.is_empty() {
            let lib: Vec<String> = s
                .library_calls
                .iter()
                .map(|(n, c)| format!("{n} {}", thousands(*c)))
                .collect();
            row(
                o,
                "library's own calls",
                format!(
                    "{} ({})",
                    thousands(s.library_calls.values().sum()),
                    lib.join(", ")
                ),
            );
        }
        row(
            o,
            "other work",
            format!("{} units done while waiting", thousands(s.work)),
        );
        let checked = if serve {
            "echoes are not checked in --serve (the clients are not ours)".to_string()
        } else {
            format!(
                "{} echoes ({} bytes) checked byte for byte{}",
                s.echoes_ok,
                s.echo_bytes,
                if s.failures == 0 {
                    " ✓".to_string()
                } else {
                    format!(", {} FAILED", s.failures)
                }
            )
        };
        row(
            o,
            "clients",
            format!(
                "{} served by {} server thread(s), at most {} at once; {checked}",
                s.accepted, s.threads, s.max_open
            ),
        );
        row(o, "state lives in", state.to_string());
        if !notice.is_empty() {
            let _ = writeln!(o, "{}", "what to notice".bold());
            for n in notice {
                let _ = writeln!(o, "  • {n}");
            }
        }
        let _ = o.flush();
    }
}
