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
