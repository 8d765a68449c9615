//! The command line's texts for people in this run's language: the help of every argument and
//! of its values, clap's own words around them, and the parse's errors.
//!
//! An argument's help is the message `help-SCOPE-ARG`, else `help-ARG` (the text the commands
//! share: `--color`, `--width`, …); a value's is `value-SCOPE-ARG-VALUE`, else `value-ARG-VALUE`.
//! SCOPE is the subcommand (`run` for every model: they take the same arguments); the top
//! command's own arguments have only the shared form. An argument no message names has no help.

use crate::lang::{self, Lang};
use crate::t;
use clap::builder::{EnumValueParser, PossibleValue, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, Command, ValueEnum};

/// `cmd`, the whole tree of commands, with the help of this run's language (see the module's
/// doc); in a language other than English also clap's own words: headings, the usage's title, the
/// help and version flags, and the defaults and possible values, which clap would print in
/// English.
pub fn localize(cmd: Command) -> Command {
    let zh = lang::current() != Lang::En;
    let cmd = explain_all(cmd, "", zh);
    if zh { clap_words(cmd) } else { cmd }
}

/// `cmd` (made by [`localize`]) to print its help on the terminal: in a language other than
/// English, laid out by display width (see [`lay_out`]). Not for the man page or the completion
/// scripts, whose readers break their lines themselves.
pub fn on_terminal(cmd: Command) -> Command {
    if lang::current() == Lang::En {
        cmd
    } else {
        lay_out(cmd, help_width())
    }
}

/// `cmd` and its subcommands (in place: clap's `mut_subcommand` would reorder them, and the
/// completion scripts with them) with their arguments explained; `scope` names `cmd`'s messages.
fn explain_all(cmd: Command, scope: &str, zh: bool) -> Command {
    let mut cmd = cmd.mut_args(|a| {
        let a = explain(a, scope);
        if zh { spell_out(a) } else { a }
    });
    for sub in cmd.get_subcommands_mut() {
        let scope = scope_of(sub);
        *sub = explain_all(std::mem::take(sub), &scope, zh);
    }
    cmd
}

/// The scope of a subcommand's messages: `run` for a model (they all take the same
/// arguments), else its name.
fn scope_of(sub: &Command) -> String {
    match crate::models::find(sub.get_name()) {
        Some(_) => "run".to_string(),
        None => sub.get_name().to_string(),
    }
}

/// Every message id [`localize`] names for the arguments of `cmd` (with its messages' `scope`)
/// and its subcommands, and for their values.
#[cfg(test)]
pub fn ids(cmd: &Command, scope: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for a in cmd.get_arguments() {
        ids.extend(help_id(scope, a));
        ids.extend(values(a).iter().filter_map(|v| value_id(scope, a, v)));
    }
    for sub in cmd.get_subcommands() {
        ids.extend(self::ids(sub, &scope_of(sub)));
    }
    ids
}

/// The first of `PREFIX-SCOPE-REST` and `PREFIX-REST` the message files have.
fn message_id(prefix: &str, scope: &str, rest: &str) -> Option<String> {
    let own = (!scope.is_empty()).then(|| format!("{prefix}-{scope}-{rest}"));
    own.into_iter()
        .chain([format!("{prefix}-{rest}")])
        .find(|id| lang::has(id))
}

/// The values an argument names in its help (a flag's `true` and `false` it does not).
fn values(arg: &Arg) -> Vec<PossibleValue> {
    if arg.get_action().takes_values() {
        arg.get_possible_values()
    } else {
        Vec::new()
    }
}

fn help_id(scope: &str, arg: &Arg) -> Option<String> {
    message_id("help", scope, &arg.get_id().as_str().replace('_', "-"))
}

fn value_id(scope: &str, arg: &Arg, value: &PossibleValue) -> Option<String> {
    let rest = format!(
        "{}-{}",
        arg.get_id().as_str().replace('_', "-"),
        value.get_name()
    );
    message_id("value", scope, &rest.to_lowercase())
}

/// `arg` with its help, and its values' help, from the message files.
fn explain(arg: Arg, scope: &str) -> Arg {
    let arg = match help_id(scope, &arg) {
        Some(id) => {
            let help = lang::text(&id, &[]);
            arg.help(help)
        }
        None => arg,
    };
    let values: Vec<PossibleValue> = values(&arg)
        .into_iter()
        .map(|v| match value_id(scope, &arg, &v) {
            Some(id) => v.help(lang::text(&id, &[])),
            None => v,
        })
        .collect();
    if values.iter().all(|v| v.get_help().is_none()) {
        return arg;
    }
    // The values are the value enum's; only its parser knows the type they parse to.
    macro_rules! relabel {
        ($($t:ty),*) => {
            $(
                if arg.get_value_parser().type_id() == std::any::TypeId::of::<$t>() {
                    return arg.value_parser(Relabeled::<$t>(EnumValueParser::new(), values));
                }
            )*
        };
    }
    relabel!(
        lang::Lang,
        crate::chat::App,
        crate::run::Format,
        crate::compare::Format,
        crate::bench::Format,
        crate::kernel::Scope
    );
    panic!("--{}: add its value enum to `explain`", arg.get_id())
}

/// A value enum's parser whose values carry the help of the message files.
#[derive(Clone)]
struct Relabeled<E: ValueEnum + Clone + Send + Sync + 'static>(
    EnumValueParser<E>,
    Vec<PossibleValue>,
);

impl<E: ValueEnum + Clone + Send + Sync + 'static> TypedValueParser for Relabeled<E> {
    type Value = E;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<E, clap::Error> {
        self.0.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.1.iter().cloned()))
    }
}

/// `arg` with the default and the possible values clap would print in English (`[default: …]`,
/// `Possible values:`) in its help instead, in this run's language.
fn spell_out(arg: Arg) -> Arg {
    if !arg.get_action().takes_values() {
        return arg.help_heading(t!("help-heading-options"));
    }
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    let (mut short, mut long) = (help.clone(), help);
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && !arg.is_hide_default_value_set() {
        short += &t!("help-default", value = defaults.join(","));
        long += &t!("help-default-long", value = defaults.join(","));
    }
    let values: Vec<PossibleValue> = arg
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .collect();
    if !values.is_empty() && !arg.is_hide_possible_values_set() {
        let names: Vec<&str> = values.iter().map(PossibleValue::get_name).collect();
        let listed = t!(
            "help-values",
            values = names.join(t!("help-list-separator").as_str())
        );
        short += &listed;
        if values.iter().any(|v| v.get_help().is_some()) {
            long += &t!("help-values-heading");
            for v in &values {
                long += &match v.get_help() {
                    Some(h) => t!(
                        "help-value-explained",
                        value = v.get_name(),
                        help = h.to_string()
                    ),
                    None => t!("help-value", value = v.get_name()),
                };
            }
        } else {
            long += &listed;
        }
    }
    let heading = if arg.is_positional() {
        t!("help-heading-arguments")
    } else {
        t!("help-heading-options")
    };
    arg.help(short)
        .long_help(long)
        .hide_possible_values(true)
        .hide_default_value(true)
        .help_heading(heading)
}

/// `cmd` and its subcommands with clap's own words in this run's language: the usage's title,
/// the headings, the help and version flags and the `help` command (clap's own can only speak
/// English).
fn clap_words(cmd: Command) -> Command {
    let top = cmd.get_version().is_some();
    let heading = t!("help-heading-options");
    let mut cmd = cmd
        .help_template(format!(
            "{{before-help}}{{about-with-newline}}\n{}{{usage}}\n\n{{all-args}}{{after-help}}",
            t!("help-usage")
        ))
        .subcommand_help_heading(t!("help-heading-commands"))
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help(t!("help-flag-help"))
                .long_help(t!("help-flag-help-long"))
                .help_heading(&heading),
        )
        // Every command has one: the version propagates to the subcommands.
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help(t!("help-flag-version"))
                .help_heading(&heading),
        );
    for sub in cmd.get_subcommands_mut() {
        *sub = clap_words(std::mem::take(sub));
    }
    if !top {
        return cmd;
    }
    // The `help` command: main.rs runs it as `COMMAND… --help`.
    cmd.disable_help_subcommand(true).subcommand(clap_words(
        Command::new("help").about(t!("help-help-about")).arg(
            Arg::new("command")
                .value_name("COMMAND")
                .num_args(0..)
                .help(t!("help-help-command"))
                .help_heading(t!("help-heading-arguments")),
        ),
    ))
}

/// The width clap lays the help out in: the terminal's, else `COLUMNS`, else 100.
fn help_width() -> usize {
    crate::sys::term_width()
        .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
        .filter(|&w| w > 0)
        .unwrap_or(100)
}

/// `cmd` and its subcommands laid out for `width` columns with their texts broken into lines
/// already: clap breaks a line only at a space, and Chinese puts none between words. Each
/// argument's and subcommand's text goes under its name, 10 columns in.
fn lay_out(cmd: Command, width: usize) -> Command {
    let inner = width.saturating_sub(10);
    let mut cmd = cmd.term_width(width).next_line_help(true).mut_args(|a| {
        let help = a.get_help().map(|h| broken(&h.to_string(), inner));
        let long = a.get_long_help().map(|h| broken(&h.to_string(), inner));
        let a = match help {
            Some(h) => a.help(h),
            None => a,
        };
        match long {
            Some(h) => a.long_help(h),
            None => a,
        }
    });
    if let Some(about) = cmd.get_about().map(|a| broken(&a.to_string(), inner)) {
        cmd = cmd.about(about);
    }
    if let Some(about) = cmd.get_long_about().map(|a| broken(&a.to_string(), width)) {
        cmd = cmd.long_about(about);
    }
    for sub in cmd.get_subcommands_mut() {
        *sub = lay_out(std::mem::take(sub), width);
    }
    cmd
}

/// `text`'s lines, each broken into lines of at most `width` columns (display width): at a
/// space, or between the parts of Chinese text (`text::cjk_parts`). Unlike the trace's
/// `text::wrap`, a run of narrow characters longer than a line is kept whole, not cut: help loses
/// no word.
fn broken(text: &str, width: usize) -> String {
    use crate::trace::text::{cjk_parts, cols};
    let mut out = String::new();
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let mut col = 0;
        for (i, word) in line.split(' ').enumerate() {
            let parts = cjk_parts(word).into_iter().filter(|p| !p.is_empty());
            for (j, part) in parts.enumerate() {
                let gap = usize::from(i > 0 && j == 0);
                if col > 0 && col + gap + cols(part) > width {
                    out.push('\n');
                    col = 0;
                } else if gap == 1 {
                    out.push(' ');
                    col += 1;
                }
                out.push_str(part);
                col += cols(part);
            }
        }
    }
    out
}

/// The parse's error `e` as one line for people, in this run's language, without the `error:`
/// prefix.
pub fn usage_error(e: &clap::Error) -> String {
    let hint = if e.kind() == ErrorKind::InvalidSubcommand {
        t!("usage-hint-list")
    } else {
        t!("usage-hint-help")
    };
    if lang::current() == Lang::En {
        // clap's own first line, and a hint: not its page of usage.
        let rendered = e.render().to_string();
        let first = rendered
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("error: "))
            .unwrap_or("invalid arguments")
            .to_string();
        return format!("{first}{hint}");
    }
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(s)) => s.join(&t!("help-list-separator")),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let (arg, value) = (
        context(ContextKind::InvalidArg),
        context(ContextKind::InvalidValue),
    );
    let line = match e.kind() {
        ErrorKind::UnknownArgument => t!("usage-unknown-argument", arg = arg),
        ErrorKind::InvalidSubcommand => {
            t!(
                "usage-unknown-command",
                command = context(ContextKind::InvalidSubcommand)
            )
        }
        ErrorKind::InvalidValue if value.is_empty() => t!("usage-missing-value", arg = arg),
        ErrorKind::InvalidValue => t!(
            "usage-invalid-value",
            value = value,
            arg = arg,
            values = context(ContextKind::ValidValue)
        ),
        ErrorKind::ValueValidation => {
            let why = std::error::Error::source(e)
                .map(|s| match s.downcast_ref::<std::num::ParseIntError>() {
                    Some(p) => not_a_number(p),
                    None => why(&s.to_string()),
                })
                .unwrap_or_default();
            t!("usage-bad-value", value = value, arg = arg, why = why)
        }
        ErrorKind::MissingRequiredArgument => t!("usage-missing-argument", arg = arg),
        ErrorKind::MissingSubcommand => t!(
            "usage-missing-command",
            command = context(ContextKind::InvalidSubcommand)
        ),
        ErrorKind::ArgumentConflict => {
            let other = context(ContextKind::PriorArg);
            // An argument given twice conflicts with itself.
            if other.is_empty() || other == arg {
                t!("usage-repeated", arg = arg)
            } else {
                t!("usage-conflict", arg = arg, other = other)
            }
        }
        ErrorKind::NoEquals => t!("usage-no-equals", arg = arg),
        ErrorKind::TooManyValues => t!("usage-too-many", value = value, arg = arg),
        ErrorKind::InvalidUtf8 => t!("usage-utf8"),
        _ => t!("usage-other"),
    };
    format!("{line}{hint}")
}

/// Why a number did not parse, in the run's language (std says it in English).
fn not_a_number(e: &std::num::ParseIntError) -> String {
    use std::num::IntErrorKind;
    match e.kind() {
        IntErrorKind::Empty => t!("usage-number-empty"),
        IntErrorKind::InvalidDigit => t!("usage-number-digit"),
        IntErrorKind::PosOverflow => t!("usage-number-large"),
        IntErrorKind::NegOverflow => t!("usage-number-small"),
        _ => e.to_string(),
    }
}

/// Why a value was refused: our own parsers' reasons are already in this run's language; a
/// range's (`70000 is not in 1..=1048576`) is clap's English, and said again.
fn why(reason: &str) -> String {
    match reason.split_once(" is not in ") {
        Some((value, range)) => t!("usage-out-of-range", value = value, range = range),
        None => reason.to_string(),
    }
}
