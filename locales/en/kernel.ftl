# The kernel lane, in English: its lessons ("what to notice"), the glosses of kernel events,
# its remarks, and the async table.

## The lane's lessons (trace/story.rs)

story-handshake = { $client }'s handshake finished in the kernel at { $at }, no process involved (inet_sock_set_state SYN_RECV → ESTABLISHED); the server's { $call } took the connection from the accept queue { $later } later
story-first-client = the first client
story-longest = { $client }'s { $bytes } bytes arrived in the kernel at { $at } (sk_data_ready) and sat there { $queued } until { $who } copied them (sock_recv_length, inside { $inside }){ $busy }
story-busy-in = : the thread was inside { $call } when they came
story-who-uring = io_uring's kernel thread
story-who-helper = a helper thread of { $lib }'s
story-who-server = the server's thread
story-inside-unknown = a call the trace does not show
story-woken = { $n } of { $total } messages found the thread waiting for them asleep: the kernel woke it (sched_wakeup) { $took } after the data's arrival (median)
story-eagain = { $client }'s data arrived { $after } after the server's last EAGAIN on its socket, and the next recvfrom copied it { $copied } after the arrival: every EAGAIN before was a system call that learnt "not yet"
story-signal = the kernel raised the signal (signal_generate) { $took } after { $client }'s data arrived: the notice comes from the delivery of the data itself
story-uring = { $armed } RECV and ACCEPT requests found nothing yet and armed a poll on their socket (io_uring_poll_arm: readiness, one layer down); each arrival queued task work for the ring's thread ({ $added } io_uring_task_add); { $inside } of { $copies } copies ran on the server's own thread inside io_uring_enter. With IORING_SETUP_DEFER_TASKRUN the copy waits for that thread's next io_uring_enter; without it, the same task work would run on the same thread when it next returns to user space (interrupting it first, unless IORING_SETUP_COOP_TASKRUN)

## The lane's remarks (kernel/mod.rs, kernel/merge.rs)

lane-intro = the kernel lane: tracepoints of this run's threads from a private ftrace instance (iomodels-{ $pid }), on the trace's clock (CLOCK_MONOTONIC); every kernel line is a real tracepoint
lane-left-out-server = left out in the kernel: sock_recv_length answering EAGAIN (each is a recvfrom … = -1 EAGAIN line of the trace), io_uring_task_work_run that ran nothing (io_uring's SQ thread polls in a loop), and the scheduler's events (wake-ups, context switches, thread starts) of every thread but the server's (`--kernel=all` shows them)
lane-left-out-all = left out in the kernel: sock_recv_length answering EAGAIN (each is a recvfrom … = -1 EAGAIN line of the trace), io_uring_task_work_run that ran nothing, and the wake-ups of the thread printing the trace
lane-raw-syscalls-server = raw_syscalls too: the system calls of the threads a library starts inside its functions (glibc's AIO helpers), and those the library makes on the server's threads inside them (sys_enter, sys_exit); the server's other calls are the trace's own lines, and the helpers' thread start and memory calls (mmap, mprotect, rseq, …) are left out (`--kernel=all` shows them)
lane-raw-syscalls-all = raw_syscalls too: the system calls of the threads a library starts inside its functions (glibc's AIO helpers), and those the library makes on the server's threads inside them (sys_enter, sys_exit); the server's other calls are the trace's own lines
lane-tracefs-mounted = tracefs was not mounted: it is mounted for this run alone (a mount namespace of its own)
lane-missing = this kernel has no { $missing }: not recorded
lane-serve = --serve: a real client's sends are delivered in its own process, which the lane does not follow: their sk_data_ready, the handshake's inet_sock_set_state and io_uring_task_add are not seen, so the server's sockets are named only by the descriptor of the call a copy ran inside (marked ?)
lane-crowd = the idle crowd's helper process is followed too (it is a child of the run): its handshakes fold into one line per kind
lane-dropped = the kernel dropped { $n } events (its buffer was full): the kernel lane above is incomplete
lane-not-shown = … { $n } more kernel events not shown (the lane shows at most { $cap } lines; the summary counts them all)
lane-read-failed = reading the kernel's trace failed: { $why }
lane-lost = the kernel lost { $n } events here (a CPU's buffer was full): the lane has a gap
lane-cannot-follow = cannot follow io_uring's thread { $tid }: { $why }
lane-same-again = the same again: { $note }

## The glosses of kernel events (kernel/attribute.rs)

# Threads and where an event ran
lane-role-named = { $name }'s thread
lane-role-reader = client { $client }'s reader thread
lane-role-writer = client { $client }'s writer thread
lane-role-client = client { $client }'s thread
lane-role-harness = the harness's thread
lane-role-crowd = the idle crowd's helper process
lane-role-printer = the harness's printer (the main thread)
lane-role-launcher = the harness's starter thread
lane-role-idle = the idle task
lane-role-other = another task ({ $comm })
lane-on = on { $who }
lane-on-irq = on { $who }, in a { $irq } handler
lane-on-irq-other = in a { $irq } handler while { $who } had the CPU
lane-inside = {" "}(inside { $call })

# Peers
lane-who-port = the client on port { $port }
lane-who-idle = an idle client
lane-who-fd = fd { $fd }
lane-who-unnamed = a socket the lane cannot name
lane-cli = client { $client }
lane-arrived-connection = a connection
lane-arrived-fin = { $who }'s FIN
lane-arrived-data = data for { $who }
lane-arrived-something = something

# raw_syscalls
lane-after-ms = {" "}after { $ms } ms
lane-helper-pread = { $whose } makes the request's I/O: pread64 first, a read at a file offset
lane-helper-read = { $whose } reads, blocking: it sleeps here until data arrives (stage ①), and the kernel copies it (stage ②)
lane-helper-write = { $whose } writes the echo, blocking until it is in the send buffer
lane-helper-futex = { $whose } waits on a futex (for work, or a lock)
lane-helper-enters = { $whose } enters { $call }
lane-library-enters = { $by } enters { $call } on { $whose }{ $inside }
lane-pread-espipe = { $call } fails{ $took }: ESPIPE, a socket has no file position; { $by } falls back to read
lane-helper-read-returns = { $call } returns { $ret }{ $took }: the bytes are in the program's buffer, copied on { $whose }
lane-helper-write-returns = { $call } returns { $ret }{ $took }: the echo is in the send buffer
lane-clone3 = clone3 returns { $ret }{ $took }: { $by } started a helper thread (tid { $ret }){ $inside }
lane-returns = { $call } returns{ $took } on { $whose }{ $inside }

# sk_data_ready
lane-ready-connection = a connection is ready to accept: the handshake finished in the kernel, { $on }
lane-ready-client = something to read arrived at { $cli }'s socket (the echo, or the server's FIN), { $on }
lane-ready-fin = { $who }'s FIN arrived: a read of its socket will return 0 (end of stream); delivered { $on }
lane-ready-data = data for { $who }{ $sent } arrived in the kernel, delivered { $on }: stage ① is over for it
lane-it-sent = {" "}(it sent { $n } bytes)
lane-ready-unnamed = something arrived on a socket the lane cannot name (it never saw its handshake), { $on }

# sock_recv_length
lane-peek = {" "}(a peek: the bytes stay queued)
lane-which-inferred = {" "}(which socket: inferred from the call's descriptor)
lane-client-copied = { $whose } copied { $n } bytes of its echo out of the kernel{ $peek }
lane-client-eof = { $whose } read the server's end of stream (0 bytes)
lane-client-nothing = { $whose }'s read found nothing yet
lane-copied = the kernel copied { $n } bytes from { $who }'s socket into the server's buffer, { $on }{ $inside }{ $peek }: stage ②{ $which }
lane-eof = the kernel found the end of { $who }'s stream: 0 bytes to copy, { $on }{ $inside }{ $which }
lane-nothing-yet = nothing to copy from { $who }'s socket yet ({ $errno }), { $on }{ $inside }{ $which }

# inet_sock_set_state
lane-tcp-other = TCP state { $change } of a socket that is not this server's (ports { $sport } → { $dport }), { $on }
lane-tcp-listen = the listening socket is open: the kernel answers SYNs to port { $port } by itself
lane-tcp-listener-closed = the listener is closed: no more connections
lane-tcp-syn-sent = { $cli }'s connect sends a SYN, { $on }
lane-tcp-connected = { $cli }'s connection is established (the SYN-ACK came back): its connect returns
lane-tcp-syn-recv = { $who }'s handshake reached the listener: the kernel makes a socket for it, no process involved ({ $on })
lane-tcp-established = the handshake with { $who } is complete in the kernel: it waits in the accept queue until the server accepts
lane-tcp-fin-wait1 = { $cli } shuts down writing: its FIN goes out
lane-tcp-close-wait = { $who }'s FIN reached the server's socket for it: a read there returns 0 (end of stream)
lane-tcp-last-ack = the server closed its socket for { $who }: its FIN goes out
lane-tcp-fin-wait2 = the server's side acknowledged { $cli }'s FIN
lane-tcp-time-wait = { $cli } got the server's FIN: its socket waits out TIME_WAIT
lane-tcp-server-closed = the server's socket for { $who } is closed for good
lane-tcp-client-closed = { $cli }'s socket is closed for good
lane-tcp-server-state = TCP state of the server's socket for { $who }: { $change }
lane-tcp-client-state = TCP state of { $cli }'s socket: { $change }

# The scheduler
lane-wakeup = the kernel wakes { $wakee }{ $asleep }: it may run again, on CPU { $cpu } (the wake-up ran { $waker })
lane-asleep-in = , asleep in { $call }
lane-switch-out = { $prev } { $how }{ $inside }{ $then }
lane-switch-in-call = {" "}in { $call }
lane-switch-then-runs = ; { $next } runs
lane-switch-then-cpu = ; the CPU runs { $next }
lane-switch-in = { $next } runs again on CPU { $cpu } (after { $prev })
lane-state-preempted = is preempted (still runnable)
lane-state-yields = gives up the CPU (still runnable)
lane-state-sleeps = goes to sleep
lane-state-uninterruptible = sleeps uninterruptibly
lane-state-stopped = is stopped
lane-state-ends = ends
lane-state-idle = goes idle
lane-state-leaves = leaves the CPU
lane-new-thread = a new thread, tid { $tid }
lane-fork-named = { $whose }, tid { $tid }
lane-fork = { $parent } starts { $named } (clone): the lane follows it from its first instruction
lane-exec = tid { $tid } becomes a program of its own ({ $file }): the idle crowd's helper process, followed too

# Signals
lane-signal-delivered = delivered
lane-signal-ignored = ignored
lane-signal-pending = already pending: merged with it
lane-signal-no-memory = queued without its details (no memory)
lane-signal-dropped = dropped (the target is gone)
lane-signal-arrived = the kernel raises { $signal } for { $whom } ({ $result }): { $arrived } just arrived on this thread (inferred: the sk_data_ready before it)
lane-signal = the kernel raises { $signal } for { $whom } ({ $result })

# io_uring
lane-uring-create = the kernel makes the ring: { $sq } submission entries, { $cq } completion entries (setup flags { $flags })
lane-uring-submit = the kernel takes SQE { $sqe } from the submission ring, { $on }{ $inside }
lane-uring-file-get = the kernel looks up descriptor { $fd } for key { $key }
lane-uring-poll-arm = nothing there yet for { $req }: the kernel arms a poll on the socket and retries when it is ready (readiness, one layer down)
lane-uring-task-add = the socket is ready for { $req }: the kernel queues the retry as task work for the ring's thread, { $on } (DEFER_TASKRUN: it runs at that thread's next io_uring_enter)
lane-uring-work-run = { $whose } ran { $count } item(s) of the ring's task work{ $inside }: the retried requests (and their copies) ran here
lane-uring-complete = the kernel posts the completion of { $req }: result { $res }, { $on }{ $inside }
lane-uring-cqring-wait = { $whose } waits for { $n } completion(s){ $inside }
lane-uring-async-work = the kernel hands { $req } to an io-wq worker thread (it could not finish without blocking)
lane-uring-failed = { $req } failed in the kernel

## iomodels async (compare/asynchrony.rs)

async-none = no model of figures 6.4 or 6.5 runs here (see `iomodels list`)
async-head-run = run
async-head-waited = ① waited (who, in what)
async-head-copied = ② copied (which thread)
async-head-calls = calls per echo
async-head-completions = completions per submission
async-head-extra = extra threads
async-waited-in = { $actor } in { $call }
async-sep = {", "}
async-server-running = no server call (the server was running)
async-woke = ; the data woke { $on } (lane)
async-copied-inside = { $on }, inside { $call } (lane)
async-copied-on = { $on } (lane)
async-itself-inside = { $actor } itself, inside { $call } (inferred: it slept through the send)
async-itself-in = { $actor } itself, in { $call } (inferred)
async-by-kernel = the kernel
async-by-library = a library's thread
async-told = { $by }; { $actor } told by { $call } (inferred)
async-failed = failed: { $why }
async-no-lane = — (`--kernel`)
# What the columns mean, under the table.
async-legend =
    Each run follows the first client that sends (A in the classroom scenario).
    ① waited: the server's calls asleep when A sent; with --kernel, also the thread A's data woke.
    ② copied: the thread the kernel's copy of A's bytes ran on and the call it was inside (the lane's
      sock_recv_length); without the lane, the line that reported the bytes (inferred).
    calls per echo: the server's system calls from the first client action to the last, per echoed
      message, leaving out waits that timed out with nothing; library functions are not system calls.
    completions per submission: CQEs, AIO events or aio_returns per SQE, io_submit or aio_read/write.
    extra threads: threads that worked for the server which it never started, as the lane saw them.
