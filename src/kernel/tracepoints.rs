//! The tracepoints the kernel lane records, by subsystem: what each one marks in the lesson.

/// One tracepoint of `/sys/kernel/tracing/events/SYSTEM/NAME`.
#[derive(Debug)]
pub struct Tracepoint {
    pub system: &'static str,
    pub name: &'static str,
    /// `system:name`, as `perf list` and the JSON `tracepoint` field spell it.
    pub full: &'static str,
    /// The lane refuses to run without it (the io_uring ones exist only with io_uring).
    pub required: bool,
}

macro_rules! tp {
    ($system:literal, $name:literal, $required:literal) => {
        Tracepoint {
            system: $system,
            name: $name,
            full: concat!($system, ":", $name),
            required: $required,
        }
    };
}

/// Every tracepoint the lane enables: socket data and state (the two stages themselves), the
/// scheduler (who sleeps, who is woken, who runs), signals (SIGIO) and io_uring's requests.
pub const TRACEPOINTS: &[Tracepoint] = &[
    // Data has arrived on a socket (or a connection on a listener): stage ① ends here.
    tp!("sock", "sk_data_ready", true),
    // The kernel copied N bytes to the process: stage ②, on the thread that did it.
    tp!("sock", "sock_recv_length", true),
    // TCP state changes: the handshake completes before any accept, FINs, closes.
    tp!("sock", "inet_sock_set_state", true),
    tp!("sched", "sched_wakeup", true),
    tp!("sched", "sched_switch", true),
    // Which threads the followed ones start (they are followed too), and the crowd's exec.
    tp!("sched", "sched_process_fork", true),
    tp!("sched", "sched_process_exec", true),
    tp!("signal", "signal_generate", true),
    tp!("io_uring", "io_uring_create", false),
    tp!("io_uring", "io_uring_register", false),
    tp!("io_uring", "io_uring_file_get", false),
    tp!("io_uring", "io_uring_queue_async_work", false),
    tp!("io_uring", "io_uring_defer", false),
    tp!("io_uring", "io_uring_link", false),
    tp!("io_uring", "io_uring_cqring_wait", false),
    tp!("io_uring", "io_uring_fail_link", false),
    tp!("io_uring", "io_uring_complete", false),
    tp!("io_uring", "io_uring_submit_req", false),
    tp!("io_uring", "io_uring_poll_arm", false),
    tp!("io_uring", "io_uring_task_add", false),
    tp!("io_uring", "io_uring_req_failed", false),
    tp!("io_uring", "io_uring_cqe_overflow", false),
    tp!("io_uring", "io_uring_task_work_run", false),
    tp!("io_uring", "io_uring_short_write", false),
    tp!("io_uring", "io_uring_local_work_run", false),
    // Every system call's entry and exit (its number and result): enabled only for models
    // whose library starts threads of its own (glibc's POSIX AIO), to show what those do.
    tp!("raw_syscalls", "sys_enter", false),
    tp!("raw_syscalls", "sys_exit", false),
];
