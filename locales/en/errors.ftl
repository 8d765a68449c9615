# Error messages, in English.
err-scenario-line = expected `TIME CLIENT ACTION`, e.g. `100ms A send "hi\n"`, got `{ $got }`
err-scenario-client-name = client name `{ $name }` must be up to 12 letters, digits or _
err-scenario-empty = the scenario has no steps (each line is `TIME CLIENT ACTION`)
err-scenario-clients = { $count } clients; at most { $most }
err-scenario-client = client { $name }: { $msg }
err-scenario-after-close = no action is possible after close or reset
err-scenario-connects-twice = connects twice
err-scenario-connect-first = must connect first
err-scenario-client-sends = sends more than { $mib }MiB in all; one client sends at most that
err-scenario-total-sends = the clients would send more than { $mib }MiB in all; a scenario sends at most that
err-scenario-time-unit = time `{ $time }` needs a unit: `250ms` or `1.5s`
err-scenario-time-number = time `{ $time }` is not a non-negative decimal number like `250ms` or `1.5s`
err-scenario-time-past = time `{ $time }` is past the { $limit }s limit of a scenario
err-scenario-no-argument = `{ $verb }` takes no argument, got `{ $got }`
err-scenario-connect = connect takes nothing, or `rcvbuf SIZE` (e.g. `connect rcvbuf 4KiB`); got `{ $got }`
err-scenario-expect-anytime = expect-anytime takes one whole line, ending in \n
err-scenario-action = unknown action `{ $verb }` (expected connect, send, close, reset, stop-reading, resume-reading, expect, expect-anytime, expect-drop)
err-scenario-expect = expect takes a quoted string or `from CLIENT SIZE` (e.g. `expect from S 64KiB`); got `{ $got }`
err-scenario-no-line = { $size } from { $from } holds no whole line ({ $line } bytes each): nothing would be relayed
err-scenario-unterminated = unterminated string: add the closing `"`
err-scenario-hex = `\x{ $hex }` needs two hex digits
err-scenario-escape = unknown escape `\{ $escape }`
err-scenario-after-string = unexpected `{ $rest }` after the string
err-scenario-empty-send = an empty send says nothing: give at least one byte
err-scenario-send = send takes a quoted string or a size like `512B`, `64KiB`, `2MiB`; got `{ $got }`
err-scenario-size = size `{ $size }` must be from 1B to { $mib }MiB
err-scenario-chat = scenario { $name } expects a chat room (it has `expect` steps): run it with --app chat
err-scenario-read = cannot read scenario file { $file }
err-scenario-at = { $file }:{ $line }: { $msg }
err-scenario-big = scenario { $file } is over 1 MiB: a scenario scripts a few clients, not a load
err-unsupported = `{ $model }` needs { $platforms }; this is { $os }. Run `iomodels { $instead }` here instead
err-unknown-model = unknown model `{ $name }` (run `iomodels list` for the models)
err-write = cannot write { $file }
err-signal = cannot catch signal { $signal }
err-server-thread = cannot start the server thread
err-server-died = the server thread died while starting
err-clients-thread = cannot start the clients
err-signal-thread = cannot start the signal watcher
err-port = `{ $text }` is not a port: it must be 0-65535 (0: a free one)
err-bytes = `{ $text }` is not a byte count (e.g. 65536, 64K, 1M)
err-bytes-range = `{ $text }` must be between 1 byte and 1G
err-mode = --{ $flag } is { $owner }'s { $what }; `{ $model }` has no such mode
err-threads = --threads is the number of reactors' event loops; `{ $model }` has no such option
warning-bind = warning: binding { $addr } exposes this teaching server to the network; use 127.0.0.1 unless you mean it
err-bench-linux = error: `bench` needs Linux: its load generator drives its connections with epoll; this is { $os }
err-max-fds-unix = --max-fds needs a Unix descriptor limit (RLIMIT_NOFILE); this is { $os }
err-max-fds-above = --max-fds { $n } is above the current descriptor limit ({ $limit }); it can only lower it
err-max-fds-lower = cannot lower the descriptor limit to { $n }: { $why }
err-idle-hard-limit = --idle { $idle } needs { $need } open descriptors, but the hard limit (ulimit -Hn) is { $hard }; ask for fewer idle connections or raise the hard limit
err-idle-soft-limit = cannot raise the soft descriptor limit to { $need }
err-idle-not-accepting = idle connection #{ $i } of { $n }: the server has accepted { $accepted } and left { $backlog } waiting for { $secs }s: it is not accepting; --idle is meant for the readiness models (select, poll, epoll, portable)
err-read-no-client = --read { $want }: scenario `{ $scenario }` has no client { $want } (its clients: { $clients })
err-read-none = none
err-read-silent = --read { $want }: client { $want } { $app ->
        [chat] says nothing to the room after its name
       *[echo] sends nothing
    } in scenario `{ $scenario }`, so there is no read to follow (clients that { $app ->
        [chat] say a line
       *[echo] send
    }: { $senders })
err-compare-no-chat = nothing to compare: none of the models named can chat
compare-left-out-named = left out though you named it: { $why }
compare-left-out = left out: { $why }
err-kernel-linux = --kernel records Linux's tracepoints (through tracefs); this is { $os }
err-kernel-starter-died = --kernel: the lane's starter thread died
err-kernel-follow = --kernel: cannot follow the run's threads: { $why }
err-kernel-starter-gone = --kernel: the lane's starter thread is gone
err-kernel-starter-panicked = the thread starting the run panicked
err-server-failed = server/{ $n } failed: { $why }
err-server-panicked = server/{ $n } panicked
err-bind-in-use = it is already in use (another server?); pick another --port, or omit --port for a free one
err-bind-not-here = that address is not on this machine; --bind takes a local address such as 127.0.0.1
err-bind-privileged = ports below 1024 need privileges; pick a port ≥ 1024
err-bind-refused = the kernel refused
err-bind = cannot bind { $addr }: { $why } ({ $os })
err-no-chat-pool = `threads --pool { $n }` is a prethreaded pool of { $n } threads, each serving one client until it leaves: in a chat, member { $next } would wait unheard in the listen queue. Run the chat with a thread per client, `iomodels threads --app chat`, or e.g. `iomodels epoll --app chat`
err-no-chat-serial = `{ $model }` serves one client at a time: in a chat the others would go unheard until that client leaves. Run the chat under a model that serves many at once, e.g. `iomodels threads --app chat` or `iomodels epoll --app chat`
err-failed = { $call } failed
err-doorbell-aio-read = aio_read of the doorbell failed
err-doorbell-read = the doorbell's read failed
err-getsockname-ip = getsockname() gave no IP address
err-stopper = cannot prepare a way to stop the server
err-interrupted = interrupted ({ $signal }) before the scenario ended: the trace above stops there
err-scenario-stuck = the scenario did not end within { $secs }s of its last step; still running: { $who }
err-hung-up = { $count } client(s) were hung up on before any echo, but the server refused { $refused }: { $who }
err-clients-panicked = the client threads panicked
err-server-failed-run = the server failed: { $why }
err-server-panicked-run = the server thread panicked
err-server-stuck = the server did not stop within { $secs }s of the end of the scenario
client-doing = client { $client } ({ $step })
client-starting = starting
client-at-line = line { $line }: { $verb }
err-client-move = cannot move client { $client }'s socket above { $base }: { $why }
err-client-socket = cannot make a client socket: { $why }
err-client-bind = cannot bind a client socket: { $why }
err-client-start = cannot start client { $client }: { $why }
err-client-line = client { $client } (line { $line }): { $why }
err-client = client { $client }: { $why }
err-client-failed = { $what } failed: { $why }
client-check-failed = FAILED: { $why }
err-client-send-stalled = send stalled: the server took no byte for { $secs }s ({ $sent } of { $total } bytes sent)
err-client-no-echo = no echo for { $secs }s ({ $missing } bytes still missing)
err-client-closed = the server closed with { $left } bytes not echoed
client-refused-said = refused: the server said { $line }
client-refused-hung-up = refused: the server hung up before echoing anything (out of descriptors, past FD_SETSIZE, or busy)
err-client-unasked = the server sent { $count } bytes that { $app ->
        [chat] no expect step asked for
       *[echo] nobody sent
    }: { $got }
err-client-differs = { $app ->
        [chat] expected line
       *[echo] echo of send
    } #{ $num } differs at byte { $byte }: expected { $want }, got { $got }
err-client-panicked = a client thread panicked
err-client-send-full = send failed: the connection took no more bytes
err-crowd-silent = the idle crowd's helper process ended without a word
warning-ftrace-remove = warning: could not remove the ftrace instance { $dir } ({ $why }); remove it with `rmdir { $dir }`
note-ftrace-swept = note: removed the ftrace instance { $dir } that a killed run (PID { $pid }) left behind
warning-ftrace-left = warning: a killed run (PID { $pid }) left the ftrace instance { $dir } behind and it cannot be removed: { $why }
err-ftrace-configure = --kernel: cannot configure the ftrace instance { $dir }: { $why }
err-tracefs-root = --kernel reads the kernel's tracepoints through tracefs, which is not mounted here, and only root may mount it: run it with sudo (iomodels then mounts tracefs for itself alone), or mount it once with `sudo mount -t tracefs nodev { $at }`
err-tracefs-mount = --kernel: tracefs is not mounted and mounting it failed ({ $why }): mount it with `mount -t tracefs nodev { $at }`
err-ftrace-root = --kernel needs root: making an ftrace instance in { $dir } was refused ({ $why }); run it with sudo
err-ftrace-mkdir = --kernel: cannot make an ftrace instance in { $dir } ({ $why }); this kernel may lack ftrace instances (CONFIG_TRACING)
err-tracepoint-missing = this kernel has no { $tracepoint } tracepoint (the kernel lane needs the sock, sched and signal tracepoints: CONFIG_TRACEPOINTS with networking and scheduler events)
wrote = wrote { $file }

## What each model's mode is, for refusing it on another model (err-mode).
mode-edge = edge-triggered mode (EPOLLET)
mode-share = shared-listener mode (the default: one listener in every thread's epoll)
mode-exclusive = exclusive-wake-up mode (EPOLLEXCLUSIVE)
mode-reuseport = listener-per-thread mode (SO_REUSEPORT)
mode-pool = prethreaded mode (a pool of threads blocked in accept)
mode-multishot = multishot mode (IORING_ACCEPT_MULTISHOT, IORING_RECV_MULTISHOT and a provided buffer ring)
mode-sqpoll = kernel-polled submission mode (IORING_SETUP_SQPOLL)
mode-workers = worker pool (N threads in GetQueuedCompletionStatusEx on one port)
mode-poll = readiness mode (IOCB_CMD_POLL)
