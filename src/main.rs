//! iomodels: the same echo server under each I/O model, with a trace of every system call.

/// `eprintln!` that cannot panic: a line for the person at the terminal, dropped when stderr is
/// gone (e.g. `iomodels … 2>&1 | head`), where `eprintln!` would panic on the broken pipe.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[cfg(target_os = "linux")]
mod bench;
/// Off Linux, `bench` only parses, and says it needs Linux: its load generator drives its
/// connections with epoll.
#[cfg(not(target_os = "linux"))]
mod bench {
    pub fn cmd(_: crate::BenchArgs) -> anyhow::Result<i32> {
        crate::say!(
            "{}",
            crate::t!("err-bench-linux", os = std::env::consts::OS)
        );
        Ok(2)
    }

    /// How the results are written.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
    pub enum Format {
        Table,
        Json,
        Csv,
    }
}
mod chat;
mod cli;
mod compare;
mod crowd;
mod echo;
mod html;
mod kernel;
mod lang;
mod limits;
mod models;
mod run;
mod scenario;
mod server;
mod sys;
mod trace;

use clap::{ArgMatches, Args, Command, FromArgMatches, ValueEnum};
use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The options every model takes. The help of these options, and of the others below, is in
/// locales/*/cli.ftl, named by command and option (`help-run-scenario`): see cli.rs.
#[derive(Args, Debug)]
struct RunArgs {
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = chat::App::Echo)]
    app: chat::App,
    #[arg(long, conflicts_with_all = ["scenario", "idle"])]
    serve: bool,
    #[arg(long, default_value_t = 0, hide_default_value = true, allow_negative_numbers = true, value_parser = port_arg)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    bind: IpAddr,
    #[arg(long, value_enum, default_value_t = run::Format::Text)]
    format: run::Format,
    #[arg(long, value_name = "FILE", conflicts_with_all = ["serve", "no_trace"])]
    html: Option<PathBuf>,
    #[command(flatten)]
    look: Look,
    #[arg(long)]
    no_trace: bool,
    #[arg(long, default_value_t = 4096, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    read_size: u32,
    #[arg(long)]
    edge: bool,
    #[arg(long)]
    poll: bool,
    #[arg(long)]
    multishot: bool,
    #[arg(long)]
    sqpoll: bool,
    #[arg(long, conflicts_with_all = ["exclusive", "reuseport"])]
    share: bool,
    #[arg(long, conflicts_with = "reuseport")]
    exclusive: bool,
    #[arg(long)]
    reuseport: bool,
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    threads: Option<u32>,
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "4", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pool: Option<u32>,
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "4", value_parser = clap::value_parser!(u32).range(1..=64))]
    workers: Option<u32>,
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    idle: u32,
    #[arg(long, default_value_t = limits::MAX_CONNS as u32, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_conns: u32,
    #[arg(long, default_value = "256K", value_name = "BYTES", value_parser = bytes_arg)]
    max_pending: usize,
    #[arg(long, default_value = "64M", value_name = "BYTES", value_parser = bytes_arg)]
    max_buffer_total: usize,
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(8..=1_048_576))]
    max_fds: Option<u64>,
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "server", value_name = "THREADS", conflicts_with = "no_trace")]
    kernel: Option<kernel::Scope>,
}

/// A port, with its range in the message: clap's own says only "not in 0..=65535", and
/// `-1` would otherwise read as an unknown flag.
fn port_arg(text: &str) -> Result<u16, String> {
    text.parse().map_err(|_| t!("err-port", text = text))
}

/// `65536`, `64K`, `64KiB`, `1M`, `1MiB`: a byte count from 1 byte to 1 GiB.
fn bytes_arg(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: usize = match unit {
        "" | "B" => 1,
        "K" | "k" | "KiB" | "KB" => 1 << 10,
        "M" | "MiB" | "MB" => 1 << 20,
        "G" | "GiB" | "GB" => 1 << 30,
        _ => {
            return Err(t!("err-bytes", text = text));
        }
    };
    let n: usize = num.parse().map_err(|_| t!("err-bytes", text = text))?;
    match n.checked_mul(scale) {
        Some(b) if (1..=1 << 30).contains(&b) => Ok(b),
        _ => Err(t!("err-bytes-range", text = text)),
    }
}

/// The options of `iomodels compare`.
#[derive(Args, Debug)]
struct CompareArgs {
    #[arg(value_name = "MODEL")]
    models: Vec<String>,
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = chat::App::Echo)]
    app: chat::App,
    #[arg(long, value_enum, default_value_t = compare::Format::Text)]
    format: compare::Format,
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    #[arg(long, value_name = "CLIENT")]
    read: Option<String>,
    #[command(flatten)]
    look: Look,
    #[arg(long, default_value_t = 4096, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    read_size: u32,
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "server", value_name = "THREADS")]
    kernel: Option<kernel::Scope>,
}

/// The options of `iomodels async`.
#[derive(Args, Debug)]
pub struct AsyncArgs {
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = compare::asynchrony::Format::Text)]
    format: compare::asynchrony::Format,
    #[command(flatten)]
    look: Look,
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "server", value_name = "THREADS")]
    kernel: Option<kernel::Scope>,
}

/// The options of `iomodels bench`.
#[derive(Args, Debug)]
struct BenchArgs {
    #[arg(value_name = "MODEL")]
    models: Vec<String>,
    #[arg(long, value_enum, default_value_t = chat::App::Echo)]
    app: chat::App,
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=64))]
    senders: Option<u32>,
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    receivers: Option<u32>,
    #[arg(short = 'c', long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    connections: u32,
    #[arg(short = 's', long, default_value_t = 64, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    size: u32,
    #[arg(short = 'd', long, value_name = "SECONDS", conflicts_with = "messages")]
    duration: Option<f64>,
    #[arg(long, value_name = "N")]
    messages: Option<u64>,
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    #[arg(long, value_enum, default_value_t = bench::Format::Table)]
    format: bench::Format,
    #[command(flatten)]
    look: Look,
    #[arg(long, value_name = "NAME=PROGRAM")]
    peer: Vec<String>,
    #[arg(long)]
    scaling: bool,
    #[arg(long, default_value_t = 10, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    active: u32,
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,100,1000,10000",
        hide = true
    )]
    idle_steps: Vec<usize>,
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
}

/// `--color`, meaning the same in every command.
#[derive(Args, Debug)]
struct ColorArg {
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

/// The options of every command that lays out text for people: `--color` and `--width`.
#[derive(Args, Debug)]
struct Look {
    #[command(flatten)]
    color: ColorArg,
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(40..))]
    width: Option<u16>,
}

impl Look {
    /// The width asked for: `--width`, else `COLUMNS`, else the terminal's (at least 40).
    fn width(&self) -> Option<usize> {
        self.width
            .map(usize::from)
            .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
            .or_else(sys::term_width)
            .filter(|&w| w > 0)
            .map(|w| w.max(40))
    }
}

/// The options of `iomodels list`.
#[derive(Args, Debug)]
struct ListArgs {
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
    #[command(flatten)]
    look: Look,
}

/// How `iomodels list` writes the registry (a run's formats include timelines it has not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// The command line, its texts for people in this run's language (see cli.rs).
fn cli() -> Command {
    cli::localize(command())
}

/// The command line as the parse needs it: its commands, arguments and values, and only the
/// texts the derive and the commands' `about` give (see [`cli`] for the help's).
fn command() -> Command {
    let models = models::MODELS.iter().map(|m| {
        // `about` after `augment_args`: the derive would otherwise set RunArgs' own doc line.
        let cmd = RunArgs::augment_args(Command::new(m.name))
            .about(t!(
                "help-model-about",
                summary = lang::registry(m.name, "summary", m.summary),
                figure = m.figure
            ))
            .after_help(t!(
                "help-model-examples",
                examples = lang::registry(m.name, "examples", &m.examples.join("\n"))
                    .replace('\n', "\n  ")
            ));
        // A mode is its model's alone: elsewhere it is refused (see `dispatch`), and not offered.
        models::MODES
            .iter()
            .filter(|mode| mode.model != m.name)
            .fold(cmd, |cmd, mode| cmd.mut_arg(mode.flag, |a| a.hide(true)))
    });
    Command::new("iomodels")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .about(t!("help-about"))
        .long_about(t!("help-long-about"))
        .after_help(t!("help-examples"))
        .arg(
            clap::Arg::new("lang")
                .long("lang")
                .global(true)
                .value_name("LANG")
                .value_parser(clap::builder::EnumValueParser::<lang::Lang>::new()),
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommands(models)
        .subcommand(
            CompareArgs::augment_args(Command::new("compare"))
                .about(t!("help-compare-about"))
                .after_help(t!("help-compare-examples")),
        )
        .subcommand(
            AsyncArgs::augment_args(Command::new("async"))
                .about(t!("help-async-about"))
                .after_help(t!("help-async-examples")),
        )
        .subcommand(
            BenchArgs::augment_args(Command::new("bench"))
                .about(t!("help-bench-about"))
                .after_help(t!("help-bench-examples")),
        )
        .subcommand(ListArgs::augment_args(Command::new("list")).about(t!("help-list-about")))
        .subcommand(
            Command::new("completions")
                .about(t!("help-completions-about"))
                .arg(
                    clap::Arg::new("shell")
                        .value_name("SHELL")
                        .required(true)
                        .value_parser(clap::value_parser!(clap_complete::Shell)),
                )
                .after_help(t!("help-completions-examples")),
        )
        .subcommand(
            Command::new("man")
                .about(t!("help-man-about"))
                .after_help(t!("help-man-examples")),
        )
}

/// The helper process a run with `--idle` starts to hold its crowd (see crowd.rs): parsed like
/// the rest, but no part of the public CLI, so no completion or man page offers it.
fn crowd_command() -> Command {
    Command::new("crowd")
        .hide(true)
        .about("Hold an idle crowd for a run's --idle (started by the run itself)")
        .arg(
            clap::Arg::new("addr")
                .required(true)
                .value_parser(clap::value_parser!(std::net::SocketAddr)),
        )
        .arg(
            clap::Arg::new("count")
                .required(true)
                .value_parser(clap::value_parser!(usize)),
        )
}

fn main() -> ExitCode {
    // The language first, so that everything after it, the parse's own errors included, can
    // speak it (clap checks the value below).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(l) = lang::from_args(&args) {
        lang::set(l);
    }
    // The help's texts are many, and only a request for help or a usage error shows them: the
    // parse that stops (or, outside English, meets our own `help` command) is made again with them.
    let matches = match command()
        .subcommand(crowd_command())
        .try_get_matches_from(&args)
    {
        Ok(m) => m,
        Err(_) => {
            match cli::on_terminal(cli().subcommand(crowd_command())).try_get_matches_from(args) {
                Ok(m) => m,
                Err(e) => return ExitCode::from(refused(&e)),
            }
        }
    };
    match dispatch(&matches) {
        Ok(code) => ExitCode::from(code as u8),
        // Stdout's reader is gone (`iomodels list | head -1`): end quietly, as a model run does.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // anyhow's `{e:#}`, the causes joined in this run's language.
            let causes: Vec<String> = e.chain().map(ToString::to_string).collect();
            let message = causes.join(&t!("error-cause")).replace('\n', " ");
            crate::say!("{}", t!("error", message = message));
            ExitCode::from(2)
        }
    }
}

/// What the parse stopped at: the help or the version it was asked for, or a usage error in one
/// line (not clap's page of usage); the exit code.
fn refused(e: &clap::Error) -> u8 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            2
        }
        _ => {
            crate::say!("{}", t!("error", message = cli::usage_error(e)));
            2
        }
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn dispatch(matches: &ArgMatches) -> anyhow::Result<i32> {
    let (name, sub) = matches.subcommand().expect("a subcommand is required");
    if name == "help" {
        // Only outside English, where clap's own `help` cannot say what it does (see cli.rs):
        // `help COMMAND…` is `COMMAND… --help`.
        let path = sub.get_many::<String>("command").into_iter().flatten();
        let asked = ["iomodels"]
            .into_iter()
            .map(String::from)
            .chain(path.cloned());
        let e = cli::on_terminal(cli())
            .try_get_matches_from(asked.chain(["--help".to_string()]))
            .expect_err("--help ends the parse");
        return Ok(i32::from(refused(&e)));
    }
    if name == "list" {
        let args = ListArgs::from_arg_matches(sub)?;
        colored::control::set_override(use_color(args.look.color.color));
        match args.format {
            ListFormat::Text => list(args.look.width())?,
            ListFormat::Json => list_json()?,
        }
        return Ok(0);
    }
    if name == "completions" {
        let shell = *sub
            .get_one::<clap_complete::Shell>("shell")
            .expect("a required argument");
        // Into a buffer first: clap_complete panics when its writer fails (a closed stdout).
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cli(), "iomodels", &mut script);
        std::io::stdout().write_all(&script)?;
        return Ok(0);
    }
    if name == "crowd" {
        let addr = *sub.get_one("addr").expect("a required argument");
        return crowd::hold(addr, *sub.get_one("count").expect("a required argument"));
    }
    if name == "man" {
        clap_mangen::Man::new(cli()).render(&mut std::io::stdout().lock())?;
        return Ok(0);
    }
    if name == "compare" {
        return compare::cmd(CompareArgs::from_arg_matches(sub)?);
    }
    if name == "async" {
        return compare::asynchrony::cmd(AsyncArgs::from_arg_matches(sub)?);
    }
    if name == "bench" {
        return bench::cmd(BenchArgs::from_arg_matches(sub)?);
    }
    let model = models::find(name).expect("clap only accepts registered models");
    let args = RunArgs::from_arg_matches(sub)?;
    let asked = [
        ("edge", args.edge),
        ("multishot", args.multishot),
        ("sqpoll", args.sqpoll),
        ("poll", args.poll),
        ("share", args.share),
        ("exclusive", args.exclusive),
        ("reuseport", args.reuseport),
        ("pool", args.pool.is_some()),
        ("workers", args.workers.is_some()),
    ];
    for mode in models::MODES {
        if asked.contains(&(mode.flag, true)) && mode.model != model.name {
            anyhow::bail!(t!(
                "err-mode",
                flag = mode.flag,
                owner = mode.model,
                what = mode.what.to_string(),
                model = model.name
            ));
        }
    }
    if args.threads.is_some() && model.name != "reactors" {
        anyhow::bail!(t!("err-threads", model = model.name));
    }
    colored::control::set_override(use_color(args.look.color.color));
    if !args.bind.is_loopback() {
        crate::say!("{}", t!("warning-bind", addr = args.bind.to_string()));
    }
    let opts = run::RunOpts {
        scenario: args.scenario,
        serve: args.serve,
        bind: args.bind,
        port: args.port,
        format: args.format,
        html: args.html,
        no_trace: args.no_trace,
        idle: args.idle as usize,
        max_fds: args.max_fds,
        width: args.look.width(),
        kernel: args.kernel,
        knobs: limits::Knobs {
            read_size: args.read_size as usize,
            edge: args.edge,
            poll: args.poll,
            multishot: args.multishot,
            sqpoll: args.sqpoll,
            threads: args.threads.map_or_else(limits::cpus, |n| n as usize),
            exclusive: args.exclusive,
            reuseport: args.reuseport,
            pool: args.pool.unwrap_or(0) as usize,
            workers: args.workers.unwrap_or(0) as usize,
            max_conns: args.max_conns as usize,
            max_pending: args.max_pending,
            max_buffer_total: args.max_buffer_total,
            app: args.app,
            ..limits::Knobs::default()
        },
    };
    if opts.knobs.app == chat::App::Chat
        && let Some(why) = model.no_chat(&opts.knobs)
    {
        anyhow::bail!("{why}");
    }
    run::run(model, &opts)
}

/// Whether to colour: `auto` means stdout is a terminal and NO_COLOR is unset or empty.
fn use_color(choice: Color) -> bool {
    color_wanted(
        choice,
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// `use_color`'s rule; an empty NO_COLOR counts as unset (https://no-color.org).
fn color_wanted(choice: Color, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// The models as a table: header and availability coloured, each summary cut to `width`. The
/// columns are measured in display width: a CJK character takes two.
fn list(width: Option<usize>) -> std::io::Result<()> {
    use colored::Colorize;
    use trace::text::{cols, pad};
    let out = &mut std::io::stdout().lock();
    let head = format!(
        "{} {} {} {}",
        pad(&t!("list-model"), 12),
        pad(&t!("list-figure"), 8),
        pad(&t!("list-here"), 10),
        t!("list-shows")
    );
    writeln!(out, "{}", head.bold())?;
    for m in models::MODELS {
        let (here, wide) = if m.available() {
            let yes = pad(&t!("list-yes"), 10);
            (yes.green(), cols(&yes) > 10)
        } else {
            let no = pad(&t!("list-no", platforms = m.platforms), 10);
            (no.dimmed(), cols(&no) > 10)
        };
        // After the name, figure and availability columns; with a width, the summary wraps
        // in its own column (under it, when "no: …" is wider than the column).
        const COLUMN: usize = 12 + 1 + 8 + 1 + 10 + 1;
        let summary = lang::registry(m.name, "summary", m.summary);
        let summary = match width {
            Some(w) => {
                let wrapped = trace::text::wrap(&summary, w.max(COLUMN + 20), COLUMN);
                if wide {
                    format!("\n{:COLUMN$}{wrapped}", "")
                } else {
                    wrapped
                }
            }
            None => summary,
        };
        writeln!(out, "{:<12} {:<8} {here} {summary}", m.name, m.figure)?;
    }
    out.flush()
}

/// The registry as data, one object per model and line, for tests and scripts that choose
/// models by what they are (`kind`, `concurrent`) rather than by name.
fn list_json() -> std::io::Result<()> {
    let out = &mut std::io::stdout().lock();
    for m in models::MODELS {
        let line = serde_json::json!({
            "model": m.name,
            "figure": m.figure,
            "here": m.available(),
            "platforms": m.platforms,
            "instead": (!m.available()).then_some(m.instead),
            "kind": m.kind.name(),
            "concurrent": m.concurrent(),
            "summary": m.summary,
            "state": m.state,
            "told": m.told,
            "modes": models::MODES
                .iter()
                .filter(|mode| mode.model == m.name && mode.here)
                .map(|mode| serde_json::json!({
                    "flag": format!("--{}", mode.flag),
                    "concurrent": mode.concurrent,
                }))
                .collect::<Vec<_>>(),
        });
        writeln!(out, "{line}")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_no_color_counts_as_unset() {
        let empty = std::ffi::OsStr::new("");
        let one = std::ffi::OsStr::new("1");
        assert!(color_wanted(Color::Auto, true, None));
        assert!(color_wanted(Color::Auto, true, Some(empty)));
        assert!(!color_wanted(Color::Auto, true, Some(one)));
        assert!(!color_wanted(Color::Auto, false, None));
        assert!(color_wanted(Color::Always, false, Some(one)));
    }
}
