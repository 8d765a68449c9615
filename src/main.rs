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
            "error: `bench` needs Linux: its load generator drives its connections with epoll; this is {}",
            std::env::consts::OS
        );
        Ok(2)
    }

    /// How the results are written.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
    pub enum Format {
        /// A table for people (and, with `--scaling`, a text chart).
        Table,
        /// One JSON document with the raw numbers.
        Json,
        /// A header line and one line per row.
        Csv,
    }
}
mod chat;
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

const EXAMPLES: &str = "\
Examples:
  iomodels blocking                      the classroom scenario under blocking I/O
  iomodels nonblocking --format json     the same, one JSON object per event
  iomodels epoll --html epoll.html       also a page: the run as a zoomable timeline
  iomodels epoll --format perfetto > e.json   open e.json in ui.perfetto.dev
  iomodels threads --scenario demos/crowd.scenario
  iomodels blocking --serve --port 7000  serve real clients: nc 127.0.0.1 7000
  iomodels list                          every model, its UNP figure, and whether this OS has it";

/// The options every model takes.
#[derive(Args, Debug)]
struct RunArgs {
    /// Script the clients with this scenario file (default: the built-in classroom scenario;
    /// with --app chat, demos/chat.scenario)
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// What the server does with what it reads: echo it back, or chat (each line goes to every
    /// other client: the exercise the seed's multiplexing lesson ends with)
    #[arg(long, value_enum, default_value_t = chat::App::Echo)]
    app: chat::App,
    /// Keep serving real clients (e.g. `nc 127.0.0.1 PORT`) and trace them live until Ctrl-C
    #[arg(long, conflicts_with_all = ["scenario", "idle"])]
    serve: bool,
    /// Port to listen on (0: a free one)
    #[arg(long, default_value_t = 0, hide_default_value = true, allow_negative_numbers = true, value_parser = port_arg)]
    port: u16,
    /// Address to listen on; anything but loopback exposes the server to the network
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    bind: IpAddr,
    /// text for people, json for programs (one object per line), perfetto for ui.perfetto.dev
    #[arg(long, value_enum, default_value_t = run::Format::Text)]
    format: run::Format,
    /// Also write the run as one self-contained HTML page: a timeline with a lane per thread
    /// and client (the trace still prints; add `>/dev/null` for the page alone)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["serve", "no_trace"])]
    html: Option<PathBuf>,
    #[command(flatten)]
    look: Look,
    /// Record nothing: serve at full speed (for external load generators)
    #[arg(long)]
    no_trace: bool,
    /// Bytes each recv asks for; small values show partial reads
    #[arg(long, default_value_t = 4096, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    read_size: u32,
    /// epoll: edge-triggered readiness (EPOLLET); the server drains each ready socket to EAGAIN
    #[arg(long)]
    edge: bool,
    /// aio: IOCB_CMD_POLL readiness through AIO, then the server's own recvfrom (figure 6.3)
    #[arg(long)]
    poll: bool,
    /// uring: one multishot accept, and one multishot recv per connection into a ring of
    /// provided buffers (one SQE, many CQEs; Linux 6.0)
    #[arg(long)]
    multishot: bool,
    /// uring: a kernel thread polls the submission ring (IORING_SETUP_SQPOLL), so submitting
    /// needs no system call
    #[arg(long)]
    sqpoll: bool,
    /// reactors: one listener in every thread's epoll, registered plainly: a connection wakes
    /// every waiting thread (the thundering herd; the default)
    #[arg(long, conflicts_with_all = ["exclusive", "reuseport"])]
    share: bool,
    /// reactors: the shared listener registered with EPOLLEXCLUSIVE (Linux 4.5): one or more
    /// waiting threads are woken, not all
    #[arg(long, conflicts_with = "reuseport")]
    exclusive: bool,
    /// reactors: a listener per thread, all bound to the port with SO_REUSEPORT: the kernel picks
    /// one by a hash of the connection's addresses
    #[arg(long)]
    reuseport: bool,
    /// reactors: event-loop threads, each with its own epoll and connections [default: one per CPU]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    threads: Option<u32>,
    /// threads: a prethreaded server (UNP ch. 30): N threads blocked in accept on the one
    /// listener, made before any client comes; client N+1 waits for a free thread [N: 4]
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "4", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pool: Option<u32>,
    /// iocp: N worker threads (4 when N is left out) wait on one completion port made with
    /// NumberOfConcurrentThreads = N; each packet goes to whichever worker waits
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "4", value_parser = clap::value_parser!(u32).range(1..=64))]
    workers: Option<u32>,
    /// Before the scenario, open N idle client connections that never send (a crowd to watch)
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    idle: u32,
    /// Most connections served at once; the next are told why and closed
    #[arg(long, default_value_t = limits::MAX_CONNS as u32, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_conns: u32,
    /// Most bytes one connection may have waiting to be echoed before the server stops reading it
    /// (K, M suffixes)
    #[arg(long, default_value = "256K", value_name = "BYTES", value_parser = bytes_arg)]
    max_pending: usize,
    /// Most bytes all connections together may have waiting to be echoed, beyond one read each
    #[arg(long, default_value = "64M", value_name = "BYTES", value_parser = bytes_arg)]
    max_buffer_total: usize,
    /// Lower this process's descriptor limit (RLIMIT_NOFILE) to N, to watch the server run out
    /// (EMFILE) and survive; the scenario's clients keep their sockets above N (try it with
    /// demos/emfile.scenario)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(8..=1_048_576))]
    max_fds: Option<u64>,
    /// Linux, as root: also show the kernel's own tracepoints for the run's threads (data
    /// arriving, the copy, wake-ups, io_uring's requests) in a lane of their own; the
    /// scheduler's events of the clients' and the harness's threads only with `--kernel=all`
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "server", value_name = "THREADS", conflicts_with = "no_trace")]
    kernel: Option<kernel::Scope>,
}

/// A port, with its range in the message: clap's own says only "not in 0..=65535", and
/// `-1` would otherwise read as an unknown flag.
fn port_arg(text: &str) -> Result<u16, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a port: it must be 0-65535 (0: a free one)"))
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
            return Err(format!(
                "`{text}` is not a byte count (e.g. 65536, 64K, 1M)"
            ));
        }
    };
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{text}` is not a byte count (e.g. 65536, 64K, 1M)"))?;
    match n.checked_mul(scale) {
        Some(b) if (1..=1 << 30).contains(&b) => Ok(b),
        _ => Err(format!("`{text}` must be between 1 byte and 1G")),
    }
}

/// The options of `iomodels compare`.
#[derive(Args, Debug)]
struct CompareArgs {
    /// Models to compare (default: every model this OS has)
    #[arg(value_name = "MODEL")]
    models: Vec<String>,
    /// Script the clients with this scenario file (default: the built-in classroom scenario;
    /// with --app chat, demos/chat.scenario)
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// The app every model serves: echo, or chat (each line to every other client), which
    /// leaves out the models that serve one client at a time and counts the room's deliveries
    #[arg(long, value_enum, default_value_t = chat::App::Echo)]
    app: chat::App,
    /// text for people, json for programs, markdown for slides and the book, perfetto for
    /// ui.perfetto.dev
    #[arg(long, value_enum, default_value_t = compare::Format::Text)]
    format: compare::Format,
    /// Also write every model's run as one self-contained HTML page: their timelines on one
    /// time axis, figure 6.6 and the table (the comparison still prints)
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Follow this client's first message in the figure (default: the first client that sends)
    #[arg(long, value_name = "CLIENT")]
    read: Option<String>,
    #[command(flatten)]
    look: Look,
    /// Bytes each recv asks for; small values show partial reads
    #[arg(long, default_value_t = 4096, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    read_size: u32,
    /// Linux, as root: record each model's run with the kernel lane (see `iomodels MODEL --help`)
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "server", value_name = "THREADS")]
    kernel: Option<kernel::Scope>,
}

/// The options of `iomodels async`.
#[derive(Args, Debug)]
pub struct AsyncArgs {
    /// Script the clients with this scenario file (default: the built-in classroom scenario)
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// text for people, json for programs, markdown for slides and the book
    #[arg(long, value_enum, default_value_t = compare::asynchrony::Format::Text)]
    format: compare::asynchrony::Format,
    #[command(flatten)]
    look: Look,
    /// Linux, as root: record each run with the kernel lane, which observes who waited and who
    /// copied (see `iomodels MODEL --help`)
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "server", value_name = "THREADS")]
    kernel: Option<kernel::Scope>,
}

/// The options of `iomodels bench`.
#[derive(Args, Debug)]
struct BenchArgs {
    /// Models to benchmark (default: every model this OS has but blocking, which serves one
    /// connection at a time; name it to measure it with one connection), each with its mode's
    /// flags if any, quoted as one argument ('reactors --reuseport --threads 2'). With
    /// --scaling: the models to sweep (default: the readiness and completion models here)
    #[arg(value_name = "MODEL")]
    models: Vec<String>,
    /// The app the servers run: echo, or chat (one room; deliveries per second with
    /// --senders and --receivers; the models that serve one client at a time are left out)
    #[arg(long, value_enum, default_value_t = chat::App::Echo)]
    app: chat::App,
    /// --app chat: members that send lines as fast as the room carries them [default: 4]
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=64))]
    senders: Option<u32>,
    /// --app chat: members that only read [default: 16]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    receivers: Option<u32>,
    /// Connections in the closed loop, each sending a message and waiting for its echo
    #[arg(short = 'c', long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    connections: u32,
    /// Bytes per message (--app chat: per line, its newline included, at most 256)
    #[arg(short = 's', long, default_value_t = 64, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    size: u32,
    /// Seconds of load per model (per step with --scaling) [default: 3, or 1 with --scaling]
    #[arg(short = 'd', long, value_name = "SECONDS", conflicts_with = "messages")]
    duration: Option<f64>,
    /// Instead of a duration: messages each connection sends
    #[arg(long, value_name = "N")]
    messages: Option<u64>,
    /// Run every model this many times, alternating (A B A B …), and report medians
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// table for people, json or csv for the raw numbers
    #[arg(long, value_enum, default_value_t = bench::Format::Table)]
    format: bench::Format,
    #[command(flatten)]
    look: Look,
    /// Also benchmark another echo server: NAME=PROGRAM, started as `PROGRAM --port 0`, which
    /// prints `serving on IP:PORT` first on stderr (see examples/peers/)
    #[arg(long, value_name = "NAME=PROGRAM")]
    peer: Vec<String>,
    /// The idle-connection sweep: CPU per echo and latency with 0 … 10,000 idle connections
    #[arg(long)]
    scaling: bool,
    /// With --scaling: active connections beside the idle ones
    #[arg(long, default_value_t = 10, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    active: u32,
    /// With --scaling: the numbers of idle connections to step through
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,100,1000,10000",
        hide = true
    )]
    idle_steps: Vec<usize>,
    /// With --scaling: also draw the sweep as an SVG file
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
}

/// `--color`, meaning the same in every command.
#[derive(Args, Debug)]
struct ColorArg {
    /// auto: colour when stdout is a terminal and NO_COLOR is unset or empty (`never` also
    /// draws compare's figure in ASCII)
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

/// The options of every command that lays out text for people: `--color` and `--width`.
#[derive(Args, Debug)]
struct Look {
    #[command(flatten)]
    color: ColorArg,
    /// Columns to fit the text to: narrower than a whole trace line, each call's gloss goes
    /// under it and long calls and glosses wrap (default: $COLUMNS, else the terminal's; piped,
    /// a trace's lines stay whole and compare lays out for 100)
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
    /// text for people, json for programs (one object per model and line)
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

fn cli() -> Command {
    let models = models::MODELS.iter().map(|m| {
        // `about` after `augment_args`: the derive would otherwise set RunArgs' own doc line.
        let cmd = RunArgs::augment_args(Command::new(m.name))
            .about(format!("{} (UNP fig. {})", m.summary, m.figure))
            .after_help(format!("Examples:\n  {}", m.examples.join("\n  ")));
        // A mode is its model's alone: elsewhere it is refused (see `dispatch`), and not offered.
        models::MODES
            .iter()
            .filter(|mode| mode.model != m.name)
            .fold(cmd, |cmd, mode| cmd.mut_arg(mode.flag, |a| a.hide(true)))
    });
    Command::new("iomodels")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .about("The I/O models of network servers, shown one system call at a time")
        .long_about(
            "Runs the same TCP echo server under one I/O model, drives it with scripted clients, \
             and prints every system call the server makes, tagged with the stage of I/O it \
             belongs to: ① waiting for data (data-ready), ② copying it to the process (copy-to-user).",
        )
        .after_help(EXAMPLES)
        .arg(
            clap::Arg::new("lang")
                .long("lang")
                .global(true)
                .value_name("LANG")
                .value_parser(clap::builder::EnumValueParser::<lang::Lang>::new())
                .help("The language of what is printed for people: en or zh-CN (default: from LC_ALL, LC_MESSAGES or LANG; else English). JSON keys, call, flag and errno names never change"),
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommands(models)
        .subcommand(
            CompareArgs::augment_args(Command::new("compare"))
                .about("Run the same scenario under several models: side by side, a table, and UNP figure 6.6")
                .after_help("Examples:\n  iomodels compare\n  iomodels compare blocking nonblocking --width 120\n  iomodels compare --format markdown\n  iomodels compare --html compare.html"),
        )
        .subcommand(
            AsyncArgs::augment_args(Command::new("async"))
                .about("Is it really asynchronous? Every model of UNP figures 6.4 and 6.5, in each of its modes: who waited, who copied, calls per echo")
                .after_help("Examples:\n  iomodels async\n  sudo iomodels async --kernel\n  iomodels async --format markdown"),
        )
        .subcommand(
            BenchArgs::augment_args(Command::new("bench"))
                .about("Measure each model: requests/s, latency, server CPU per request; --scaling: the cost of idle connections")
                .after_help("Examples:\n  iomodels bench\n  iomodels bench threads nonblocking -c 100 -d 5 --format csv\n  iomodels bench --scaling --plot scaling.svg"),
        )
        .subcommand(ListArgs::augment_args(Command::new("list")).about("List the models, their UNP figures, and which this OS has"))
        .subcommand(
            Command::new("completions")
                .about("Print the shell completion script")
                .arg(
                    clap::Arg::new("shell")
                        .value_name("SHELL")
                        .required(true)
                        .value_parser(clap::value_parser!(clap_complete::Shell)),
                )
                .after_help("Examples:\n  iomodels completions bash > ~/.local/share/bash-completion/completions/iomodels\n  iomodels completions zsh > ~/.zfunc/_iomodels\n  iomodels completions fish > ~/.config/fish/completions/iomodels.fish"),
        )
        .subcommand(
            Command::new("man")
                .about("Print the man page (roff)")
                .after_help("Examples:\n  iomodels man | man -l -\n  iomodels man > ~/.local/share/man/man1/iomodels.1"),
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
    let matches = match cli().subcommand(crowd_command()).try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::from(
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        2
                    } else {
                        0
                    },
                );
            }
            // One line, not clap's page of usage: the first line of its message, and a hint.
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("error: invalid arguments");
            let hint = if e.kind() == ErrorKind::InvalidSubcommand {
                " (run `iomodels list` for the models)"
            } else {
                " (see `iomodels --help`)"
            };
            crate::say!("{first}{hint}");
            return ExitCode::from(2);
        }
    };
    match dispatch(&matches) {
        Ok(code) => ExitCode::from(code as u8),
        // Stdout's reader is gone (`iomodels list | head -1`): end quietly, as a model run does.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            crate::say!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(2)
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
            anyhow::bail!(
                "--{} is {}'s {}; `{}` has no such mode",
                mode.flag,
                mode.model,
                mode.what,
                model.name
            );
        }
    }
    if args.threads.is_some() && model.name != "reactors" {
        anyhow::bail!(
            "--threads is the number of reactors' event loops; `{}` has no such option",
            model.name
        );
    }
    colored::control::set_override(use_color(args.look.color.color));
    if !args.bind.is_loopback() {
        crate::say!(
            "warning: binding {} exposes this teaching server to the network; use 127.0.0.1 unless you mean it",
            args.bind
        );
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

/// The models as a table: header and availability coloured, each summary cut to `width`.
fn list(width: Option<usize>) -> std::io::Result<()> {
    use colored::Colorize;
    let out = &mut std::io::stdout().lock();
    let head = format!(
        "{:<12} {:<8} {:<10} what it shows",
        "model", "UNP fig.", "here?"
    );
    writeln!(out, "{}", head.bold())?;
    for m in models::MODELS {
        let here = if m.available() {
            format!("{:<10}", "yes").green()
        } else {
            format!("{:<10}", format!("no: {}", m.platforms)).dimmed()
        };
        // After the name, figure and availability columns; with a width, the summary wraps
        // in its own column (under it, when "no: …" is wider than the column).
        const COLUMN: usize = 12 + 1 + 8 + 1 + 10 + 1;
        let summary = match width {
            Some(w) => {
                let wrapped = trace::text::wrap(m.summary, w.max(COLUMN + 20), COLUMN);
                if here.chars().count() > 10 {
                    format!("\n{:COLUMN$}{wrapped}", "")
                } else {
                    wrapped
                }
            }
            None => m.summary.to_string(),
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
