//! The scenario: a small text file that scripts the clients, one timed action per line.
//!
//! ```text
//! # time   client  action
//! 0ms      A       connect
//! 100ms    B       send "world\n"
//! 300ms    A       close
//! ```
//! Times are `ms` or `s` from the start of the run (decimal digits, e.g. `250ms`, `1.5s`).
//! Actions: `connect` (or `connect rcvbuf 4KiB`: a small receive buffer, set before connecting),
//! `send "text"` (escapes
//! `\n \r \t \0 \\ \" \xNN`), `send 64KiB` (a generated payload of that size), `close` (shut
//! down writing, wait for the last echo and the server's end, then close), `reset` (close with
//! SO_LINGER 0, so the server sees a reset), `stop-reading` and `resume-reading` (the client
//! stops or resumes reading its echo, to make the server's send buffer fill up).
//!
//! For `--app chat` (see `crate::chat`), a client says what it must receive, in order:
//! `expect "B: hello\n"` (these bytes), `expect from S 64KiB` (the room relaying the whole lines
//! of S's generated payload of that size: each `S: ` and the line), `expect-anytime "line\n"`
//! (one line that arrives at some point among the others, wherever it falls), or `expect-drop`
//! (the server is to drop this client for reading too slowly: what reaches it is not checked,
//! and its connection being reset is what it expects). The time of an `expect` only places it in the story: the
//! client checks what arrives against its expectations in file order, whenever it arrives.

pub mod clients;

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// The classroom scenario, also shipped as `demos/classroom.scenario`.
pub const CLASSROOM: &str = include_str!("../../demos/classroom.scenario");
/// The chat's scenario (`--app chat`), also shipped as `demos/chat.scenario`.
pub const CHAT: &str = include_str!("../../demos/chat.scenario");

/// Limits that keep every run finite and its memory small.
const MAX_TIME: Duration = Duration::from_secs(120);
const MAX_SEND: usize = 64 << 20;
/// What one client, and the whole scenario, may send in all (each byte also comes back).
const MAX_CLIENT_SEND: usize = 128 << 20;
const MAX_TOTAL_SEND: usize = 256 << 20;
const MAX_CLIENTS: usize = 64;

/// What a `send` sends: the bytes written in the file, or a generated payload of a size, made
/// only as it is sent and checked (so a scenario's memory does not grow with what it sends).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Bytes(Vec<u8>),
    Generated(usize),
    /// A chat room relaying the first `lines` whole lines of a generated payload sent by
    /// `from`, each as `FROM: line` (only expected, never sent).
    Relayed {
        from: String,
        lines: usize,
    },
}

/// The generated payload repeats this line: readable text, so the trace stays legible (and
/// in a chat, each is a line the room relays).
const LINE: &[u8] = b"the quick brown fox jumps over the lazy dog 0123456789\n";

/// The length of one generated line as a chat room relays it from `from`: `FROM: line`.
fn relayed_line(from: &str) -> usize {
    from.len() + 2 + LINE.len()
}

impl Payload {
    pub fn len(&self) -> usize {
        match self {
            Payload::Bytes(b) => b.len(),
            Payload::Generated(n) => *n,
            Payload::Relayed { from, lines } => lines * relayed_line(from),
        }
    }

    /// Bytes `at..at + n` (fewer at the end).
    pub fn slice(&self, at: usize, n: usize) -> Cow<'_, [u8]> {
        let end = self.len().min(at.saturating_add(n));
        let at = at.min(end);
        match self {
            Payload::Bytes(b) => Cow::Borrowed(&b[at..end]),
            Payload::Generated(_) => (at..end).map(|i| LINE[i % LINE.len()]).collect(),
            Payload::Relayed { from, .. } => {
                let (name, each) = (from.as_bytes(), relayed_line(from));
                let byte = |i: usize| match i % each {
                    k if k < name.len() => name[k],
                    k if k < name.len() + 2 => b": "[k - name.len()],
                    k => LINE[k - name.len() - 2],
                };
                (at..end).map(byte).collect()
            }
        }
    }

    /// The payload's start, escaped, for trace lines (`…` when it is longer than `max`).
    pub fn shown(&self, max: usize) -> String {
        crate::trace::escape(&self.slice(0, max + 1), max)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Connect; with a size (`connect rcvbuf 4KiB`), the client's receive buffer is set that
    /// small first (`SO_RCVBUF`): a client on a slow link, whose window stays small.
    Connect(Option<usize>),
    Send(Payload),
    Close,
    Reset,
    StopReading,
    ResumeReading,
    /// `--app chat`: bytes this client must receive next.
    Expect(Payload),
    /// `--app chat`: a line this client must receive at some point, wherever it falls among
    /// the others (the room's news of a member dropped mid-stream).
    ExpectAnytime(Vec<u8>),
    /// `--app chat`: the server is to drop this client for reading too slowly.
    ExpectDrop,
}

impl Action {
    /// The action's word in the scenario file.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Connect(_) => "connect",
            Action::Send(_) => "send",
            Action::Close => "close",
            Action::Reset => "reset",
            Action::StopReading => "stop-reading",
            Action::ResumeReading => "resume-reading",
            Action::Expect(_) => "expect",
            Action::ExpectAnytime(_) => "expect-anytime",
            Action::ExpectDrop => "expect-drop",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub at: Duration,
    pub client: String,
    pub action: Action,
    /// The line of the file this step came from, for error messages.
    pub line: usize,
    /// Its place in the time-sorted script: client events carry it, so runs line up by step.
    pub index: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// All steps, sorted by time (ties keep file order).
    pub steps: Vec<Step>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

impl std::error::Error for ParseError {}

impl Scenario {
    pub fn parse(text: &str) -> Result<Scenario, ParseError> {
        let mut steps = Vec::new();
        // A byte-order mark (some editors write one) is not part of the first time.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |msg: String| ParseError { line, msg };
            let body = strip_comment(raw).trim();
            if body.is_empty() {
                continue;
            }
            let (time, rest) = split_word(body);
            let (client, rest) = split_word(rest);
            let (verb, arg) = split_word(rest);
            if client.is_empty() || verb.is_empty() {
                return Err(err(crate::t!("err-scenario-line", got = shown(body))));
            }
            let at = parse_time(time).map_err(err)?;
            if !client
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                || client.len() > 12
            {
                return Err(err(crate::t!(
                    "err-scenario-client-name",
                    name = shown(client)
                )));
            }
            let action = parse_action(verb, arg.trim()).map_err(err)?;
            steps.push(Step {
                at,
                client: client.to_string(),
                action,
                line,
                index: 0,
            });
        }
        steps.sort_by_key(|s| s.at);
        for (i, s) in steps.iter_mut().enumerate() {
            s.index = i;
        }
        let scenario = Scenario { steps };
        scenario.check()?;
        Ok(scenario)
    }

    /// Client names in order of first appearance.
    pub fn clients(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for s in &self.steps {
            if !names.contains(&s.client.as_str()) {
                names.push(&s.client);
            }
        }
        names
    }

    /// Whether a chat room is what it expects (an `expect` step): such a scenario is for
    /// `--app chat`, and any other for the echo.
    pub fn chat(&self) -> bool {
        self.steps.iter().any(|s| {
            matches!(
                s.action,
                Action::Expect(_) | Action::ExpectAnytime(_) | Action::ExpectDrop
            )
        })
    }

    /// The time of the last step: how long the script runs.
    pub fn length(&self) -> Duration {
        self.steps.last().map_or(Duration::ZERO, |s| s.at)
    }

    /// Each client must connect first, once, and do nothing after it closes or resets; what
    /// the clients send stays within the caps.
    fn check(&self) -> Result<(), ParseError> {
        if self.steps.is_empty() {
            return Err(ParseError {
                line: 0,
                msg: crate::t!("err-scenario-empty"),
            });
        }
        let names = self.clients();
        if names.len() > MAX_CLIENTS {
            return Err(ParseError {
                line: 0,
                msg: crate::t!(
                    "err-scenario-clients",
                    count = names.len().to_string(),
                    most = MAX_CLIENTS.to_string()
                ),
            });
        }
        for name in names {
            let mut connected = false;
            let mut sent = 0usize;
            let mut closed = false;
            for s in self.steps.iter().filter(|s| s.client == name) {
                let bad = |msg: String| {
                    Err(ParseError {
                        line: s.line,
                        msg: crate::t!("err-scenario-client", name = name, msg = msg),
                    })
                };
                if closed {
                    return bad(crate::t!("err-scenario-after-close"));
                }
                match s.action {
                    Action::Connect(_) if connected => {
                        return bad(crate::t!("err-scenario-connects-twice"));
                    }
                    Action::Connect(_) => connected = true,
                    _ if !connected => return bad(crate::t!("err-scenario-connect-first")),
                    Action::Close | Action::Reset => closed = true,
                    Action::Send(ref p) => {
                        sent += p.len();
                        if sent > MAX_CLIENT_SEND {
                            return bad(crate::t!(
                                "err-scenario-client-sends",
                                mib = (MAX_CLIENT_SEND >> 20).to_string()
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut total = 0usize;
        for s in &self.steps {
            if let Action::Send(p) = &s.action {
                total += p.len();
                if total > MAX_TOTAL_SEND {
                    return Err(ParseError {
                        line: s.line,
                        msg: crate::t!(
                            "err-scenario-total-sends",
                            mib = (MAX_TOTAL_SEND >> 20).to_string()
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

fn strip_comment(line: &str) -> &str {
    // A `#` inside a quoted payload is data, not a comment.
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

fn parse_time(word: &str) -> Result<Duration, String> {
    let word_shown = shown(word);
    let (num, ms) = if let Some(n) = word.strip_suffix("ms") {
        (n, true)
    } else if let Some(n) = word.strip_suffix('s') {
        (n, false)
    } else {
        return Err(crate::t!("err-scenario-time-unit", time = &word_shown));
    };
    // Decimal digits only: no sign, exponent, `inf` or `NaN`, whose conversion could overflow.
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || (num.contains('.') && frac.is_empty())
    {
        return Err(crate::t!("err-scenario-time-number", time = &word_shown));
    }
    let past = || {
        crate::t!(
            "err-scenario-time-past",
            time = &word_shown,
            limit = MAX_TIME.as_secs().to_string()
        )
    };
    // A whole part of ten or more digits is past any limit: no conversion can overflow.
    let whole = whole.trim_start_matches('0');
    if whole.len() > 9 {
        return Err(past());
    }
    let whole: f64 = if whole.is_empty() {
        0.0
    } else {
        whole.parse().map_err(|_| past())?
    };
    let frac: f64 = format!("0.{frac}").parse().map_err(|_| past())?;
    let secs = (whole + frac) * if ms { 1e-3 } else { 1.0 };
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|at| *at <= MAX_TIME)
        .ok_or_else(past)
}

/// User text inside a message: control characters, NULs and invisible marks made visible.
fn shown(text: &str) -> String {
    text.escape_debug().collect()
}

fn parse_action(verb: &str, arg: &str) -> Result<Action, String> {
    let no_arg = |a: Action| {
        if arg.is_empty() {
            Ok(a)
        } else {
            Err(crate::t!(
                "err-scenario-no-argument",
                verb = shown(verb),
                got = shown(arg)
            ))
        }
    };
    match verb {
        "connect" => match split_word(arg) {
            ("", _) => Ok(Action::Connect(None)),
            ("rcvbuf", size) => parse_size(size.trim()).map(|n| Action::Connect(Some(n))),
            _ => Err(crate::t!("err-scenario-connect", got = shown(arg))),
        },
        "close" => no_arg(Action::Close),
        "reset" => no_arg(Action::Reset),
        "stop-reading" => no_arg(Action::StopReading),
        "resume-reading" => no_arg(Action::ResumeReading),
        "send" if arg.starts_with('"') => {
            parse_string(arg).map(|b| Action::Send(Payload::Bytes(b)))
        }
        "send" => parse_size(arg).map(|n| Action::Send(Payload::Generated(n))),
        "expect" if arg.starts_with('"') => {
            parse_string(arg).map(|b| Action::Expect(Payload::Bytes(b)))
        }
        "expect" => parse_relayed(arg),
        "expect-anytime" => match parse_string(arg) {
            Ok(b) if b.ends_with(b"\n") && b.iter().filter(|&&c| c == b'\n').count() == 1 => {
                Ok(Action::ExpectAnytime(b))
            }
            Ok(_) => Err(crate::t!("err-scenario-expect-anytime")),
            Err(e) => Err(e),
        },
        "expect-drop" => no_arg(Action::ExpectDrop),
        _ => Err(crate::t!("err-scenario-action", verb = shown(verb))),
    }
}

/// `expect from S 64KiB`: the whole lines of S's generated payload of that size, relayed.
fn parse_relayed(arg: &str) -> Result<Action, String> {
    let usage = || crate::t!("err-scenario-expect", got = shown(arg));
    let (word, rest) = split_word(arg);
    let (from, size) = split_word(rest);
    if word != "from" || from.is_empty() || size.trim().is_empty() {
        return Err(usage());
    }
    let lines = parse_size(size.trim())? / LINE.len();
    if lines == 0 {
        return Err(crate::t!(
            "err-scenario-no-line",
            size = shown(size.trim()),
            from = from,
            line = LINE.len().to_string()
        ));
    }
    Ok(Action::Expect(Payload::Relayed {
        from: from.to_string(),
        lines,
    }))
}

fn parse_string(arg: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut chars = arg[1..].chars();
    loop {
        match chars.next() {
            None => return Err(crate::t!("err-scenario-unterminated")),
            Some('"') => break,
            Some('\\') => match chars.next() {
                Some('n') => out.push(b'\n'),
                Some('r') => out.push(b'\r'),
                Some('t') => out.push(b'\t'),
                Some('0') => out.push(0),
                Some('\\') => out.push(b'\\'),
                Some('"') => out.push(b'"'),
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    let b = u8::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| hex.len() == 2)
                        .ok_or_else(|| crate::t!("err-scenario-hex", hex = shown(&hex)))?;
                    out.push(b);
                }
                Some(c) => {
                    let escape = c.escape_debug().to_string();
                    return Err(crate::t!("err-scenario-escape", escape = escape));
                }
                None => return Err(crate::t!("err-scenario-unterminated")),
            },
            Some(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    let rest = chars.as_str().trim();
    if !rest.is_empty() {
        return Err(crate::t!("err-scenario-after-string", rest = shown(rest)));
    }
    if out.is_empty() {
        return Err(crate::t!("err-scenario-empty-send"));
    }
    Ok(out)
}

fn parse_size(arg: &str) -> Result<usize, String> {
    let (num, unit) = match arg.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => arg.split_at(i),
        None => (arg, ""),
    };
    let scale = match unit {
        "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        _ => {
            return Err(crate::t!("err-scenario-send", got = shown(arg)));
        }
    };
    let n = num
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| (1..=MAX_SEND).contains(n))
        .ok_or_else(|| {
            crate::t!(
                "err-scenario-size",
                size = shown(arg),
                mib = (MAX_SEND >> 20).to_string()
            )
        })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classroom_parses_in_time_order() {
        let s = Scenario::parse(CLASSROOM).unwrap();
        assert_eq!(s.clients(), vec!["A", "B"]);
        assert!(s.steps.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(
            s.steps
                .iter()
                .any(|st| st.action == Action::Send(Payload::Bytes(b"hello\n".to_vec())))
        );
    }

    #[test]
    fn strings_sizes_and_comments() {
        let s = Scenario::parse(
            "0ms A connect # hi\n1.5s A send \"a#b\\x00\\\"\"\n2s A send 2KiB\n3s A close\n",
        )
        .unwrap();
        assert_eq!(
            s.steps[1].action,
            Action::Send(Payload::Bytes(b"a#b\0\"".to_vec()))
        );
        assert_eq!(s.steps[1].at, Duration::from_millis(1500));
        assert_eq!(s.steps[2].action, Action::Send(Payload::Generated(2048)));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("0ms A connect\n10 A close\n", 2, "needs a unit"),
            ("0ms A connect\n1ms A jump\n", 2, "unknown action"),
            ("\n\n5ms A send \"x\"\n", 3, "must connect first"),
            (
                "0ms A connect\n1ms A close\n2ms A send \"x\"\n",
                3,
                "after close",
            ),
            ("0ms A connect\n1ms A send \"x\n", 2, "unterminated"),
            ("0ms A connect\n1ms A send 0B\n", 2, "from 1B"),
            // Numbers a float parser takes, and huge ones: refused, never converted.
            ("0ms A connect\n1e20s A close\n", 2, "decimal number"),
            ("0ms A connect\n1e2ms A close\n", 2, "decimal number"),
            ("0ms A connect\nNaNs A close\n", 2, "decimal number"),
            ("0ms A connect\ninfs A close\n", 2, "decimal number"),
            ("0ms A connect\n-1ms A close\n", 2, "decimal number"),
            ("0ms A connect\n+1ms A close\n", 2, "decimal number"),
            ("0ms A connect\n1.ms A close\n", 2, "decimal number"),
            ("0ms A connect\n.5s A close\n", 2, "decimal number"),
            (
                "0ms A connect\n99999999999999999999999ms A close\n",
                2,
                "past the 120s",
            ),
            (
                "0ms A connect\n18446744073709551616s A close\n",
                2,
                "past the 120s",
            ),
            (
                "0ms A connect\n120.000000001s A close\n",
                2,
                "past the 120s",
            ),
            ("0ms A connect\n120001ms A close\n", 2, "past the 120s"),
            (
                "0ms A connect\n1ms A expect to S 1KiB\n",
                2,
                "from CLIENT SIZE",
            ),
            (
                "0ms A connect\n1ms A expect from S 10B\n",
                2,
                "no whole line",
            ),
            (
                "0ms A connect\n1ms A expect-anytime \"a\"\n",
                2,
                "one whole line",
            ),
            (
                "0ms A connect\n1ms A expect-anytime \"a\\nb\\n\"\n",
                2,
                "one whole line",
            ),
            (
                "0ms A connect\n1ms A expect-drop now\n",
                2,
                "takes no argument",
            ),
            ("0ms A connect big\n", 1, "rcvbuf SIZE"),
            ("1ms A expect \"x\"\n", 1, "must connect first"),
        ];
        for (text, line, needle) in cases {
            let e = Scenario::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.msg.contains(needle), "{text:?}: {e}");
        }
    }
}

#[cfg(test)]
mod chat {
    use super::*;

    #[test]
    fn the_chat_demos_parse_and_say_they_are_for_a_chat() {
        assert!(Scenario::parse(CHAT).unwrap().chat());
        let slow = include_str!("../../demos/chat-slow-reader.scenario");
        let s = Scenario::parse(slow).unwrap();
        assert!(s.chat());
        assert!(s.steps.iter().any(|st| st.action == Action::ExpectDrop));
        assert!(!Scenario::parse(CLASSROOM).unwrap().chat());
    }

    #[test]
    fn expect_steps_and_a_small_window() {
        let s = Scenario::parse(
            "0ms A connect rcvbuf 4KiB\n1ms A expect \"* B joined\\n\"\n\
             2ms A expect from bob 110B\n3ms A expect-anytime \"* C left\\n\"\n\
             4ms A expect-drop\n",
        )
        .unwrap();
        let actions: Vec<&Action> = s.steps.iter().map(|st| &st.action).collect();
        assert_eq!(
            actions,
            [
                &Action::Connect(Some(4096)),
                &Action::Expect(Payload::Bytes(b"* B joined\n".to_vec())),
                &Action::Expect(Payload::Relayed {
                    from: "bob".into(),
                    lines: 2
                }),
                &Action::ExpectAnytime(b"* C left\n".to_vec()),
                &Action::ExpectDrop,
            ]
        );
    }

    #[test]
    fn a_relayed_payload_is_each_whole_generated_line_after_its_sender() {
        let p = Payload::Relayed {
            from: "sam".into(),
            lines: 3,
        };
        let whole = p.slice(0, p.len()).into_owned();
        let line = [b"sam: ".as_slice(), LINE].concat();
        assert_eq!(whole, line.repeat(3));
        assert_eq!(*p.slice(70, 10), whole[70..80]);
        // What the room relays of a generated send: its whole lines, nothing of the last part.
        let sent = Payload::Generated(3 * LINE.len() + 7)
            .slice(0, usize::MAX)
            .into_owned();
        let relayed: Vec<u8> = sent
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| l.ends_with(b"\n"))
            .flat_map(|l| [b"sam: ".as_slice(), l].concat())
            .collect();
        assert_eq!(relayed, whole);
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    #[test]
    fn times_at_the_edges() {
        let at = |t: &str| {
            Scenario::parse(&format!("0ms A connect\n{t} A close\n")).map(|s| s.steps[1].at)
        };
        assert_eq!(at("120s"), Ok(MAX_TIME));
        assert_eq!(at("120000ms"), Ok(MAX_TIME));
        assert_eq!(
            at("000000000000000000000001ms"),
            Ok(Duration::from_millis(1))
        );
        assert_eq!(at("0.25s"), Ok(Duration::from_millis(250)));
        assert_eq!(at("1.5ms"), Ok(Duration::from_micros(1500)));
    }

    #[test]
    fn a_byte_order_mark_and_crlf_are_not_part_of_the_script() {
        let s = Scenario::parse("\u{feff}0ms A connect\r\n1ms A close\r\n").unwrap();
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.steps[1].action, Action::Close);
    }

    #[test]
    fn messages_show_invisible_characters() {
        let e = Scenario::parse("0ms A\0B connect\n").unwrap_err();
        assert!(e.msg.contains("`A\\0B`"), "{e}");
        assert!(!e.msg.contains('\0'), "{e}");
        let e = Scenario::parse("0ms A connect\n\u{feff}1ms A close\n").unwrap_err();
        assert!(e.msg.contains("\\u{feff}"), "{e}");
        let e = Scenario::parse("0ms A connect\n1ms A ju\x1bmp\n").unwrap_err();
        assert!(!e.msg.contains('\x1b'), "{e}");
    }

    /// 30 sends of 64 MiB in a 600-byte file: refused at the line that crosses the cap, and
    /// nothing is generated while parsing (a payload of a size is made only as it is sent).
    #[test]
    fn what_a_scenario_sends_is_capped_and_made_lazily() {
        let mut text = String::from("0ms A connect\n1ms A stop-reading\n");
        text += &"1ms A send 64MiB\n".repeat(30);
        let e = Scenario::parse(&text).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.msg.contains("more than 128MiB"), "{e}");
        let mut text = String::new();
        for c in ["A", "B", "C"] {
            text += &format!("0ms {c} connect\n1ms {c} send 64MiB\n1ms {c} send 64MiB\n");
        }
        let e = Scenario::parse(&text).unwrap_err();
        assert_eq!(e.line, 8, "{e}");
        assert!(e.msg.contains("more than 256MiB in all"), "{e}");
        let s = Scenario::parse("0ms A connect\n1ms A send 64MiB\n").unwrap();
        assert_eq!(
            s.steps[1].action,
            Action::Send(Payload::Generated(64 << 20))
        );
    }

    #[test]
    fn generated_payloads_slice_like_the_whole() {
        let p = Payload::Generated(200);
        let whole = p.slice(0, 200).into_owned();
        assert_eq!(whole.len(), 200);
        assert_eq!(&whole[..LINE.len()], LINE);
        assert_eq!(*p.slice(150, 100), whole[150..]);
        assert_eq!(*p.slice(57, 3), whole[57..60]);
        assert!(p.slice(300, 5).is_empty());
        assert_eq!(p.shown(3), "\"the\"…");
        assert_eq!(Payload::Bytes(b"hi".to_vec()).shown(24), "\"hi\"");
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A line built from the scenario's own vocabulary, mangled now and then.
    fn line() -> impl Strategy<Value = String> {
        let time = prop_oneof![
            (0u32..500).prop_map(|t| format!("{t}ms")),
            (0u32..3).prop_map(|t| format!("{t}.5s")),
            "[0-9a-z.-]{0,6}",
            // Numeric edge cases: exponents, signs, NaN and inf, huge integers, long fractions.
            "[+-]?[0-9]{0,25}(\\.[0-9]{0,12})?([eE][+-]?[0-9]{1,3})?(ms|s)",
            "(NaN|nan|inf|-inf|infinity)(ms|s)",
            any::<u64>().prop_map(|t| format!("{t}ms")),
            any::<f64>().prop_map(|t| format!("{t}s")),
        ];
        let client = prop_oneof![
            "[A-C]",
            "[a-zA-Z0-9_#]{0,14}",
            "[A-C\\x00\\u{feff}\\r]{1,3}"
        ];
        let action = prop_oneof![
            Just("connect".to_string()),
            Just("close".to_string()),
            Just("reset".to_string()),
            Just("stop-reading".to_string()),
            Just("resume-reading".to_string()),
            "send \"[a-z\\\\x0-9\"#]{0,12}\"?",
            // Sizes stay small: building big payloads would only slow the test down.
            "send [0-9]{1,4}(B|kb|MiB)?",
            "send [0-9]{1,2}KiB",
            "[ -~]{0,20}",
        ];
        let bom = prop_oneof![Just(""), Just("\u{feff}")];
        let end = prop_oneof![Just(""), Just("\r")];
        (bom, time, client, action, end).prop_map(|(b, t, c, a, e)| format!("{b}{t} {c} {a}{e}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        /// Never a panic; an error always names a line of the file (or 0 for the whole file).
        #[test]
        fn any_text_parses_or_names_its_line(lines in prop::collection::vec(line(), 0..12)) {
            let text = lines.join("\n");
            match Scenario::parse(&text) {
                Ok(s) => {
                    prop_assert!(!s.steps.is_empty());
                    prop_assert!(s.steps.windows(2).all(|w| w[0].at <= w[1].at));
                }
                Err(e) => {
                    prop_assert!(e.line <= lines.len(), "{e} for {text:?}");
                    prop_assert!(!e.msg.is_empty());
                }
            }
        }

        /// Arbitrary bytes (as lossy text) never make the parser panic either.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = Scenario::parse(&String::from_utf8_lossy(&bytes));
        }

        /// A quoted payload with escapes comes back as exactly those bytes.
        #[test]
        fn escaped_payloads_round_trip(payload in prop::collection::vec(any::<u8>(), 1..64)) {
            let quoted: String = payload.iter().map(|b| format!("\\x{b:02x}")).collect();
            let s = Scenario::parse(&format!("0ms A connect\n1ms A send \"{quoted}\"\n")).unwrap();
            prop_assert_eq!(&s.steps[1].action, &Action::Send(Payload::Bytes(payload)));
        }
    }
}
