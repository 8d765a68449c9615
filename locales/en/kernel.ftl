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
