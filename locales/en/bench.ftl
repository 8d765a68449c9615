# `iomodels bench`: its tables, titles, notes and charts, in English.

bench-unit-echoes = echoes
bench-unit-deliveries = deliveries
bench-note-one-connection = serves one connection at a time: measured with 1
bench-row-note = { $model }: { $note }
bench-more-threads = { $shown } +{ $more } threads
bench-per-run = { $seconds } s per run
bench-per-connection = { $n } messages per connection
bench-median = , median of { $rounds } rounds
bench-title = iomodels bench — closed loop, { $conns } connections, { $size } B messages, { $how }{ $median }
bench-col-model = model
bench-col-conns = conns
bench-col-requests = requests/s
bench-col-p50 = p50 µs
bench-col-p99 = p99 µs
bench-col-p999 = p99.9 µs
bench-col-server-cpu = server CPU ms
bench-col-per-thread = per thread ms
bench-col-cpu-per-request = CPU/request µs
bench-col-verified = echoes verified
bench-legend = CPU/request is the server's user+system time divided by the echoes it served: steadier than requests/s on a shared machine. Per thread: the CPU each server thread ran for during the load (/proc/PID/task/TID/sched, else its stat in 10 ms ticks), busiest first.

# --app chat
bench-left-out = left out: { $why }
bench-chat-col-deliveries = deliveries/s
bench-chat-col-mb = MB/s
bench-chat-col-cpu = CPU µs/1,000 deliveries
bench-chat-col-dropped = dropped
bench-chat-col-checked = deliveries checked
bench-chat-errors = { $deliveries } ({ $errors } errors)
bench-chat-per-sender = { $n } lines per sender
bench-chat-title = iomodels bench --app chat — one room: { $senders } senders, { $receivers } receivers, { $size } B lines, a window of { $window } lines per sender, { $how }{ $median }
bench-chat-legend = A delivery is one line received by one member and checked (its sender, its length, its bytes, its turn). Each of the { $k } senders sends { $size }-byte lines as fast as the room carries them, at most { $w } lines ahead of the slowest member (so that no member's queue nears the server's --max-pending of 256 KiB), what its window allows in one send; each line goes to the { $r } receivers and the other { $k1 } senders: { $per } deliveries when every sender has sent a line. The clock and the CPU start once all { $m } members have joined. CPU/1,000 deliveries is the server's user+system time over the load per thousand deliveries: steadier than deliveries/s, which the load's one thread, checking every line, may limit. Dropped: members the room dropped for reading too slowly (the window is there to keep it 0).

# --scaling
bench-scaling-per-step = { $seconds } s per step
bench-scaling-per-connection = { $n } messages per connection per step
bench-scaling-title = iomodels bench --scaling — { $active } active connections ({ $size } B messages) beside idle ones, { $how }
bench-scaling-col-idle = idle
bench-scaling-col-cpu = CPU/echo µs
bench-scaling-col-rss = server RSS MB
bench-scaling-col-held = connections held
bench-scaling-col-peak = peak RSS MB (VmHWM)
bench-scaling-beyond = { $idle } idle: skipped, beyond select's FD_SETSIZE wall ({ $max } descriptors)
bench-scaling-failed = { $idle } idle: { $why }
bench-scaling-note = note: { $model }: { $note }
bench-scaling-plot-written = plot written to { $path }
bench-chart-title = server CPU per echo by idle connections, log scale: a bar spans { $lo } µs to { $hi } µs
bench-chart-idle = { $idle } idle
bench-plot-cpu = server CPU per echo
bench-plot-cpu-unit = µs of CPU
bench-plot-p99 = p99 latency
bench-plot-p99-unit = µs
bench-plot-x = idle connections (the sweep's steps)
bench-plot-y = { $unit } (log scale)

## Errors
bench-err-duration = --duration takes a number of seconds between 0 and 3600
bench-err-messages = --messages must be at least 1
bench-err-scaling-peer = --scaling sweeps this program's models; --peer is for the plain bench
bench-err-plot = --plot draws the --scaling sweep: add --scaling
bench-err-peer-chat = --peer servers echo; --app chat benchmarks this program's models
bench-err-senders = --senders and --receivers shape the chat's room: add --app chat
bench-err-peer = --peer takes NAME=PROGRAM, not `{ $got }`
bench-err-nothing = nothing to benchmark: no model is available here
bench-err-no-chat = nothing to benchmark: no model named can chat
bench-err-none-swept = none of { $models } is in this build yet: name the models to sweep, e.g. `iomodels bench --scaling nonblocking threads`
bench-err-benchmarking = benchmarking `{ $model }`
bench-err-benchmarking-chat = benchmarking `{ $model }` with --app chat
bench-err-of = { $model }: { $why }
bench-err-dropped = { $model }: the room dropped { $members } for reading too slowly: the load outran a reader
bench-err-chat-size-max = --size { $size }: a chat line is at most { $most } bytes, its newline included (the room refuses longer ones); use --size { $most } or less
bench-err-chat-size-min = --size { $size }: a chat line needs a byte besides its newline (an empty line goes nowhere)
bench-err-exe = cannot find this program
bench-err-start = cannot start the `{ $name }` server
bench-err-not-started = the `{ $name }` server did not start: { $said }
bench-err-exited = the server exited ({ $status }): { $said }
bench-err-not-stopped = the server did not stop within 5 s of Ctrl-C; killed it
bench-err-read = cannot read { $file }
bench-err-proc-stat = odd /proc stat
bench-err-raise-limit = cannot raise the descriptor limit
bench-err-hard-limit = { $needed } descriptors are needed but the hard limit is { $hard } (`ulimit -Hn`); raise it (e.g. `ulimit -n { $needed }` as root, or limits.conf) or use fewer idle connections (--idle-steps)
bench-err-connect = cannot open connection { $i } of { $n } to { $addr }: { $why }
bench-err-draw = cannot draw { $file }: { $why }
