# The command line's help, its usage errors and the `error:` line, in English (see src/cli.rs
# for how an argument's help is named).

error = error: { $message }
error-cause = :{" "}

## The commands.

help-about = The I/O models of network servers, shown one system call at a time
help-long-about = Runs the same TCP echo server under one I/O model, drives it with scripted clients, and prints every system call the server makes, tagged with the stage of I/O it belongs to: ① waiting for data (data-ready), ② copying it to the process (copy-to-user).
help-examples =
    Examples:
      iomodels blocking                      the classroom scenario under blocking I/O
      iomodels nonblocking --format json     the same, one JSON object per event
      iomodels epoll --html epoll.html       also a page: the run as a zoomable timeline
      iomodels epoll --format perfetto > e.json   open e.json in ui.perfetto.dev
      iomodels threads --scenario demos/crowd.scenario
      iomodels blocking --serve --port 7000  serve real clients: nc 127.0.0.1 7000
      iomodels list                          every model, its UNP figure, and whether this OS has it
help-model-about = { $summary } (UNP fig. { $figure })
help-model-examples =
    Examples:
    {"  "}{ $examples }
help-compare-about = Run the same scenario under several models: side by side, a table, and UNP figure 6.6
help-compare-examples =
    Examples:
      iomodels compare
      iomodels compare blocking nonblocking --width 120
      iomodels compare --format markdown
      iomodels compare --html compare.html
help-async-about = Is it really asynchronous? Every model of UNP figures 6.4 and 6.5, in each of its modes: who waited, who copied, calls per echo
help-async-examples =
    Examples:
      iomodels async
      sudo iomodels async --kernel
      iomodels async --format markdown
help-bench-about = Measure each model: requests/s, latency, server CPU per request; --scaling: the cost of idle connections
help-bench-examples =
    Examples:
      iomodels bench
      iomodels bench threads nonblocking -c 100 -d 5 --format csv
      iomodels bench --scaling --plot scaling.svg
help-list-about = List the models, their UNP figures, and which this OS has
help-completions-about = Print the shell completion script
help-completions-examples =
    Examples:
      iomodels completions bash > ~/.local/share/bash-completion/completions/iomodels
      iomodels completions zsh > ~/.zfunc/_iomodels
      iomodels completions fish > ~/.config/fish/completions/iomodels.fish
help-man-about = Print the man page (roff)
help-man-examples =
    Examples:
      iomodels man | man -l -
      iomodels man > ~/.local/share/man/man1/iomodels.1

## The arguments every command that has them shares.

help-lang = The language of what is printed for people: en or zh-CN (default: from LC_ALL, LC_MESSAGES or LANG; else English). JSON keys, call, flag and errno names never change
value-lang-en = English
value-lang-zh-cn = Simplified Chinese
help-scenario = Script the clients with this scenario file (default: the built-in classroom scenario; with --app chat, demos/chat.scenario)
value-app-echo = Each client's bytes come back to it
value-app-chat = Each client's lines go to every other client
help-color = auto: colour when stdout is a terminal and NO_COLOR is unset or empty (`never` also draws compare's figure in ASCII)
help-width = Columns to fit the text to: narrower than a whole trace line, each call's gloss goes under it and long calls and glosses wrap (default: $COLUMNS, else the terminal's; piped, a trace's lines stay whole and compare lays out for 100)
help-read-size = Bytes each recv asks for; small values show partial reads
value-kernel-server = The server's threads: the lesson is when the server sleeps and wakes
value-kernel-all = Every thread of the run: the clients', the harness's

## A model's run (`iomodels MODEL`).

help-run-app = What the server does with what it reads: echo it back, or chat (each line goes to every other client: the exercise the seed's multiplexing lesson ends with)
help-run-serve = Keep serving real clients (e.g. `nc 127.0.0.1 PORT`) and trace them live until Ctrl-C
help-run-port = Port to listen on (0: a free one)
help-run-bind = Address to listen on; anything but loopback exposes the server to the network
help-run-format = text for people, json for programs (one object per line), perfetto for ui.perfetto.dev
value-run-format-perfetto = Chrome's Trace Event JSON, for ui.perfetto.dev and chrome://tracing (written at the end)
help-run-html = Also write the run as one self-contained HTML page: a timeline with a lane per thread and client (the trace still prints; add `>/dev/null` for the page alone)
help-run-no-trace = Record nothing: serve at full speed (for external load generators)
help-run-edge = epoll: edge-triggered readiness (EPOLLET); the server drains each ready socket to EAGAIN
help-run-poll = aio: IOCB_CMD_POLL readiness through AIO, then the server's own recvfrom (figure 6.3)
help-run-multishot = uring: one multishot accept, and one multishot recv per connection into a ring of provided buffers (one SQE, many CQEs; Linux 6.0)
help-run-sqpoll = uring: a kernel thread polls the submission ring (IORING_SETUP_SQPOLL), so submitting needs no system call
help-run-share = reactors: one listener in every thread's epoll, registered plainly: a connection wakes every waiting thread (the thundering herd; the default)
help-run-exclusive = reactors: the shared listener registered with EPOLLEXCLUSIVE (Linux 4.5): one or more waiting threads are woken, not all
help-run-reuseport = reactors: a listener per thread, all bound to the port with SO_REUSEPORT: the kernel picks one by a hash of the connection's addresses
help-run-threads = reactors: event-loop threads, each with its own epoll and connections [default: one per CPU]
help-run-pool = threads: a prethreaded server (UNP ch. 30): N threads blocked in accept on the one listener, made before any client comes; client N+1 waits for a free thread [N: 4]
help-run-workers = iocp: N worker threads (4 when N is left out) wait on one completion port made with NumberOfConcurrentThreads = N; each packet goes to whichever worker waits
help-run-idle = Before the scenario, open N idle client connections that never send (a crowd to watch)
help-run-max-conns = Most connections served at once; the next are told why and closed
help-run-max-pending = Most bytes one connection may have waiting to be echoed before the server stops reading it (K, M suffixes)
help-run-max-buffer-total = Most bytes all connections together may have waiting to be echoed, beyond one read each
help-run-max-fds = Lower this process's descriptor limit (RLIMIT_NOFILE) to N, to watch the server run out (EMFILE) and survive; the scenario's clients keep their sockets above N (try it with demos/emfile.scenario)
help-run-kernel = Linux, as root: also show the kernel's own tracepoints for the run's threads (data arriving, the copy, wake-ups, io_uring's requests) in a lane of their own; the scheduler's events of the clients' and the harness's threads only with `--kernel=all`

## compare

help-compare-models = Models to compare (default: every model this OS has)
help-compare-app = The app every model serves: echo, or chat (each line to every other client), which leaves out the models that serve one client at a time and counts the room's deliveries
help-compare-format = text for people, json for programs, markdown for slides and the book, perfetto for ui.perfetto.dev
value-compare-format-perfetto = Chrome's Trace Event JSON (ui.perfetto.dev): a process per model
help-compare-html = Also write every model's run as one self-contained HTML page: their timelines on one time axis, figure 6.6 and the table (the comparison still prints)
help-compare-read = Follow this client's first message in the figure (default: the first client that sends)
help-compare-kernel = Linux, as root: record each model's run with the kernel lane (see `iomodels MODEL --help`)

## async

help-async-scenario = Script the clients with this scenario file (default: the built-in classroom scenario)
help-async-format = text for people, json for programs, markdown for slides and the book
help-async-kernel = Linux, as root: record each run with the kernel lane, which observes who waited and who copied (see `iomodels MODEL --help`)

## bench

help-bench-models = Models to benchmark (default: every model this OS has but blocking, which serves one connection at a time; name it to measure it with one connection), each with its mode's flags if any, quoted as one argument ('reactors --reuseport --threads 2'). With --scaling: the models to sweep (default: the readiness and completion models here)
help-bench-app = The app the servers run: echo, or chat (one room; deliveries per second with --senders and --receivers; the models that serve one client at a time are left out)
help-bench-senders = --app chat: members that send lines as fast as the room carries them [default: 4]
help-bench-receivers = --app chat: members that only read [default: 16]
help-bench-connections = Connections in the closed loop, each sending a message and waiting for its echo
help-bench-size = Bytes per message (--app chat: per line, its newline included, at most 256)
help-bench-duration = Seconds of load per model (per step with --scaling) [default: 3, or 1 with --scaling]
help-bench-messages = Instead of a duration: messages each connection sends
help-bench-rounds = Run every model this many times, alternating (A B A B …), and report medians
help-bench-format = table for people, json or csv for the raw numbers
value-bench-format-table = A table for people (and, with `--scaling`, a text chart)
value-bench-format-json = One JSON document with the raw numbers
value-bench-format-csv = A header line and one line per row
help-bench-peer = Also benchmark another echo server: NAME=PROGRAM, started as `PROGRAM --port 0`, which prints `serving on IP:PORT` first on stderr (see examples/peers/)
help-bench-scaling = The idle-connection sweep: CPU per echo and latency with 0 … 10,000 idle connections
help-bench-active = With --scaling: active connections beside the idle ones
help-bench-idle-steps = With --scaling: the numbers of idle connections to step through
help-bench-plot = With --scaling: also draw the sweep as an SVG file

## list

help-list-format = text for people, json for programs (one object per model and line)

## clap's own words, which English leaves to clap: only the other languages use these.

help-usage = Usage:{" "}
help-heading-commands = Commands
help-heading-options = Options
help-heading-arguments = Arguments
help-flag-help = Print help (see more with '--help')
help-flag-help-long = Print help (see a summary with '-h')
help-flag-version = Print version
help-help-about = Print this message or the help of the given subcommand(s)
help-help-command = Print help for the subcommand(s)
help-values = {" "}[possible values: { $values }]
help-values-heading = {"\u000A\u000A"}Possible values:
help-value = {"\u000A"}- { $value }
help-value-explained = {"\u000A"}- { $value }: { $help }
help-default = {" "}[default: { $value }]
help-default-long = {"\u000A"}[default: { $value }]
help-list-separator = ,{" "}

## Usage errors: what clap says in English, said in the other languages from its error's kind.

usage-hint-help = {" "}(see `iomodels --help`)
usage-hint-list = {" "}(run `iomodels list` for the models)
usage-unknown-argument = unexpected argument '{ $arg }' found
usage-unknown-command = unrecognized subcommand '{ $command }'
usage-missing-value = a value is required for '{ $arg }' but none was supplied
usage-invalid-value = invalid value '{ $value }' for '{ $arg }' [possible values: { $values }]
usage-bad-value = invalid value '{ $value }' for '{ $arg }': { $why }
usage-out-of-range = { $value } is not in { $range }
# Why a number did not parse (the English is std's own ParseIntError text).
usage-number-empty = cannot parse integer from empty string
usage-number-digit = invalid digit found in string
usage-number-large = number too large to fit in target type
usage-number-small = number too small to fit in target type
usage-missing-argument = the following required arguments were not provided: { $arg }
usage-missing-command = '{ $command }' requires a subcommand but one was not provided
usage-conflict = the argument '{ $arg }' cannot be used with '{ $other }'
usage-repeated = the argument '{ $arg }' cannot be used multiple times
usage-no-equals = equal sign is needed when assigning values to '{ $arg }'
usage-too-many = unexpected value '{ $value }' for '{ $arg }' found; no more were expected
usage-utf8 = invalid UTF-8 was detected in one or more arguments
usage-other = invalid arguments

## `iomodels list`: its headings (the columns are 12, 8 and 10 wide) and availability.

list-model = model
list-figure = UNP fig.
list-here = here?
list-shows = what it shows
list-yes = yes
list-no = no: { $platforms }

## Each model's `--help` examples (the registry's, as its summaries are).

aio-examples =
    iomodels aio                           io_submit of a read sleeps until the client sends
    iomodels aio --poll                    IOCB_CMD_POLL: readiness through AIO, then recvfrom
    iomodels aio --format json             each event with the key tying it to its iocb
apc-examples =
    iomodels apc                           each routine runs inside the thread's alertable wait
    iomodels apc --format json             the routines' tid: always the thread that asked
blocking-examples =
    iomodels blocking                      B's bytes wait in the kernel while the server is stuck on A
    iomodels blocking --scenario demos/slow-sender.scenario
    iomodels blocking --serve --port 7000  then, in two terminals: nc 127.0.0.1 7000
epoll-examples =
    iomodels epoll --edge                  edge-triggered: each ready socket drained to EAGAIN
    iomodels epoll --idle 1000             1000 idle connections cost epoll nothing per wake-up
    iomodels epoll --max-fds 9 --scenario demos/emfile.scenario
iocp-examples =
    iomodels iocp                          AcceptEx and WSARecv, then completion packets
    iomodels iocp --scenario demos/crowd.scenario       one completion port for four clients
kqueue-examples =
    iomodels kqueue                        one kevent call changes interest and waits
    iomodels kqueue --scenario demos/faults.scenario    EV_EOF with data still to drain
nonblocking-examples =
    iomodels nonblocking                   EAGAIN, EAGAIN, …: the spins, folded and counted
    iomodels nonblocking --read-size 1     partial reads: one byte per recvfrom
    iomodels nonblocking --scenario demos/slow-sender.scenario
poll-examples =
    iomodels poll --idle 1000              a pollfd array the kernel scans on every wake-up
    iomodels poll --scenario demos/slow-reader.scenario    POLLOUT once the peer reads again
portable-examples =
    iomodels portable                      the polling crate's own calls, beside ours
    iomodels portable --idle 40            polling's backend with a crowd to watch
posix-aio-examples =
    iomodels posix-aio                     aio_read returns at once; who does the read?
    iomodels posix-aio --kernel            glibc's helper threads, as the kernel saw them
    iomodels posix-aio --idle 20           20 idle clients take every helper: who serves A?
reactors-examples =
    iomodels reactors --threads 4 --scenario demos/herd.scenario   the herd: all woken
    iomodels reactors --exclusive --scenario demos/herd.scenario   EPOLLEXCLUSIVE: one or more
    iomodels reactors --reuseport --scenario demos/herd.scenario   SO_REUSEPORT: a queue each
select-examples =
    iomodels select --scenario demos/crowd.scenario    one fd_set scanned for four clients
    iomodels select --idle 1000            1000 idle descriptors in the fd_set, scanned each wake-up
sigio-examples =
    iomodels sigio                         a real-time signal names the ready socket
    iomodels sigio --scenario demos/crowd.scenario      signals queue up for four clients
threads-examples =
    iomodels threads --scenario demos/crowd.scenario    a thread per client, all asleep at once
    iomodels threads --format json                      each call with the tid of its thread
    iomodels threads --pool 2 --scenario demos/pool.scenario   C and D wait to be accepted
uring-examples =
    iomodels uring                         SQEs submitted, CQEs reaped: the kernel copies
    iomodels uring --format json           each op with the key tying it to its submission
    iomodels uring --multishot             one accept SQE, one recv SQE per connection: many CQEs each
    iomodels uring --sqpoll                a kernel thread takes the SQEs: (almost) no system calls
wsaevent-examples =
    iomodels wsaevent                      an event per socket, one WSAWaitForMultipleEvents
    iomodels wsaevent --idle 70            the 64-event wall: the 64th connection is refused
