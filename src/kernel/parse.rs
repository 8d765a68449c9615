//! One line of an ftrace instance's `trace_pipe` (with `options/fields` on) read back as a
//! [`Raw`] event: the thread it ran on, its CPU and time, the tracepoint, and every field.
//!
//! A line reads `COMM-TID [CPU] FLAGS SECS.USECS: NAME: f1=v1 f2=v2 …`. A field's value is
//! printed as `0xHEX (DEC)`, `(DEC)`, `SYMBOL+0xOFF/0xLEN (DEC)` or plain text (a command name
//! may hold spaces), so values are cut at the next field's name, in the order the tracepoint's
//! `format` file lists them.

use super::tracepoints::Tracepoint;
use serde_json::Value;

/// A tracepoint's own fields (without the `common_` ones), in the order ftrace prints them.
#[derive(Clone, Debug, Default)]
pub struct Format {
    /// Each field's name and whether it is signed.
    pub fields: Vec<(String, bool)>,
}

impl Format {
    /// Reads a tracepoint's `format` file: lines like
    /// `field:const void * skaddr;` `offset:8;` `size:8;` `signed:0;` (tab-separated).
    pub fn parse(text: &str) -> Format {
        let fields = text
            .lines()
            .filter_map(|l| {
                let decl = l.trim().strip_prefix("field:")?.split(';').next()?;
                let name = decl.split_whitespace().last()?;
                // `__u8 saddr[4]`: the name without its array size.
                let name = name.split('[').next()?.to_string();
                let signed = l.contains("signed:1");
                (!name.starts_with("common_")).then_some((name, signed))
            })
            .collect();
        Format { fields }
    }
}

/// One tracepoint hit, as ftrace printed it.
#[derive(Clone, Debug)]
pub struct Raw {
    /// The thread it ran on (`common_pid`).
    pub tid: i64,
    /// That thread's command name, as ftrace printed it (`<...>` when it did not know it).
    pub comm: String,
    pub cpu: u32,
    /// Whether it ran in an interrupt (`hardirq`) or a softirq (`softirq`), from the flags
    /// ftrace prints; `None` in the thread's own (process) context.
    pub irq: Option<&'static str>,
    /// CLOCK_MONOTONIC, in microseconds, as ftrace prints it (rounded to the nearest).
    pub mono_us: u64,
    pub tp: &'static Tracepoint,
    /// Every field, in the tracepoint's order: numbers as numbers, the rest as text.
    pub fields: Vec<(String, Value)>,
}

impl Raw {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A numeric field as a signed number (pointers and other unsigned 64-bit values wrap).
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_u64().map(|u| u as i64)),
            _ => None,
        }
    }

    /// A numeric field as an unsigned number (a pointer, a `user_data`).
    pub fn uint(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            Value::Number(n) => n.as_u64().or_else(|| n.as_i64().map(|i| i as u64)),
            Value::String(s) => u64::from_str_radix(s.strip_prefix("0x")?, 16).ok(),
            _ => None,
        }
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_str()
    }
}

/// Parses one line of `trace_pipe`, given the tracepoints this instance enabled and their
/// formats. `None` for a line that is no event of theirs (ftrace's own `CPU:N [LOST N EVENTS]`).
pub fn line(line: &str, known: &'static [Tracepoint], formats: &[Format]) -> Option<Raw> {
    let head = header(line)?;
    let i = known.iter().position(|t| t.name == head.name)?;
    let fields = fields(head.rest, &formats[i]);
    Some(Raw {
        tid: head.tid,
        comm: head.comm.to_string(),
        cpu: head.cpu,
        irq: head.irq,
        mono_us: head.mono_us,
        tp: &known[i],
        fields,
    })
}

/// The parts of a line before its fields.
struct Header<'a> {
    comm: &'a str,
    tid: i64,
    cpu: u32,
    irq: Option<&'static str>,
    mono_us: u64,
    name: &'a str,
    rest: &'a str,
}

/// Finds ` [CPU] FLAGS SECS.USECS: NAME: ` after `COMM-TID`. A command name may hold anything
/// (`client A reader`, `opt cgu.06`), so every ` [` is tried until the rest fits.
fn header(line: &str) -> Option<Header<'_>> {
    for (at, _) in line.match_indices(" [") {
        let Some(h) = header_at(line, at) else {
            continue;
        };
        return Some(h);
    }
    None
}

fn header_at(line: &str, at: usize) -> Option<Header<'_>> {
    let (task, after) = (line[..at].trim_end(), &line[at + 2..]);
    let (cpu, after) = after.split_once("] ")?;
    let cpu: u32 = cpu.parse().ok()?;
    let (dash, tid) = task.rsplit_once('-')?;
    let tid: i64 = tid.parse().ok()?;
    let mut parts = after.trim_start().splitn(2, ' ');
    // `d.s3.`: irqs-off, need-resched, then `h`/`s`/`H` for hardirq, softirq, both.
    let irq = match parts.next()?.chars().nth(2) {
        Some('h' | 'H') => Some("hardirq"),
        Some('s') => Some("softirq"),
        _ => None,
    };
    let after = parts.next()?.trim_start();
    let (ts, after) = after.split_once(": ")?;
    let (secs, usecs) = ts.split_once('.')?;
    if usecs.len() != 6 {
        return None;
    }
    let mono_us = secs.parse::<u64>().ok()? * 1_000_000 + usecs.parse::<u64>().ok()?;
    let (name, rest) = match after.split_once(": ") {
        Some((name, rest)) => (name, rest),
        None => (after.strip_suffix(':')?, ""),
    };
    Some(Header {
        comm: dash.trim_start(),
        tid,
        cpu,
        irq,
        mono_us,
        name,
        rest,
    })
}

/// Cuts `f1=v1 f2=v2 …` at each next field's name, in the format's order.
fn fields(rest: &str, format: &Format) -> Vec<(String, Value)> {
    let mut out = Vec::with_capacity(format.fields.len());
    let mut text = rest;
    for (i, (name, signed)) in format.fields.iter().enumerate() {
        let Some(v) = text
            .strip_prefix(name.as_str())
            .and_then(|t| t.strip_prefix('='))
        else {
            break;
        };
        let end = format.fields[i + 1..]
            .first()
            .and_then(|(next, _)| v.find(&format!(" {next}=")))
            .unwrap_or(v.len());
        out.push((name.clone(), value(v[..end].trim_end(), *signed)));
        text = v[end..].trim_start();
    }
    out
}

/// `0x6 (6)` → 6; `(13)` → 13; `sock_def_readable+0x7f/0xb0 (-2115…)` → the symbol; the rest
/// as text. A signed field takes the decimal (ftrace's own reading); an unsigned one the hex,
/// and one too big for a double's 53 bits (a kernel address) stays the hex text, so that any
/// JSON reader keeps it whole.
fn value(v: &str, signed: bool) -> Value {
    let (head, dec) = match v.strip_suffix(')').and_then(|s| s.rsplit_once('(')) {
        Some((head, dec)) => (head.trim_end(), dec.parse::<i64>().ok()),
        None => (v, None),
    };
    match (head, dec) {
        ("", Some(d)) => Value::from(d),
        (h, Some(d)) if h.starts_with("0x") => match u64::from_str_radix(&h[2..], 16) {
            Ok(u) if !signed && u >= 1 << 53 => Value::from(h),
            Ok(u) if !signed => Value::from(u),
            _ => Value::from(d),
        },
        (h, Some(_)) => Value::from(h),
        _ => Value::from(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tracepoints::TRACEPOINTS;

    fn formats() -> Vec<Format> {
        TRACEPOINTS
            .iter()
            .map(|t| match t.name {
                "sched_switch" => Format::parse(
                    "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\
                     \tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\
                     \tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n\
                     \tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n\
                     \tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n\
                     \tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n\
                     \tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n",
                ),
                "sk_data_ready" => Format::parse(
                    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
                     \tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;\n\
                     \tfield:__u16 family;\toffset:16;\tsize:2;\tsigned:0;\n\
                     \tfield:__u16 protocol;\toffset:18;\tsize:2;\tsigned:0;\n\
                     \tfield:unsigned long ip;\toffset:24;\tsize:8;\tsigned:0;\n",
                ),
                _ => Format::default(),
            })
            .collect()
    }

    #[test]
    fn a_line_with_spaces_in_command_names_parses_field_by_field() {
        let l = " client A reader-17464   [001] d..2. 11373.173734: sched_switch: prev_comm=client A reader prev_pid=0x4438 (17464) prev_prio=0x78 (120) prev_state=0x10 (16) next_comm=client B reader next_pid=0x443b (17467) next_prio=0x78 (120)";
        let r = line(l, TRACEPOINTS, &formats()).expect("parses");
        assert_eq!((r.tid, r.cpu, r.mono_us), (17464, 1, 11_373_173_734));
        assert_eq!(r.comm, "client A reader");
        assert_eq!(r.tp.name, "sched_switch");
        assert_eq!(r.text("prev_comm"), Some("client A reader"));
        assert_eq!(r.text("next_comm"), Some("client B reader"));
        assert_eq!(r.int("next_pid"), Some(17467));
        assert_eq!(r.int("prev_state"), Some(16));
    }

    #[test]
    fn addresses_stay_whole_and_symbols_stay_text() {
        let l = "        client B-17463   [000] ..s2. 11372.923014: sk_data_ready: skaddr=0xffff888107beb780 (-131387214612608) family=0x2 (2) protocol=0x6 (6) ip=sock_def_readable+0x7f/0xb0 (-2115489857)";
        let r = line(l, TRACEPOINTS, &formats()).expect("parses");
        assert_eq!(r.uint("skaddr"), Some(0xffff_8881_07be_b780));
        assert_eq!(r.text("skaddr"), Some("0xffff888107beb780"));
        assert_eq!(r.int("family"), Some(2));
        assert_eq!(r.text("ip"), Some("sock_def_readable+0x7f/0xb0"));
        assert_eq!(r.irq, Some("softirq"));
    }

    #[test]
    fn lines_that_are_no_event_are_skipped() {
        assert!(line("CPU:1 [LOST 12 EVENTS]", TRACEPOINTS, &formats()).is_none());
        assert!(line("", TRACEPOINTS, &formats()).is_none());
    }
}
