# The completion models: io_uring, Linux AIO, POSIX AIO, and what they share.

## What the completion models share

completion-done = the client is done and everything is echoed
completion-dropped = dropped

## io_uring: the model

uring-refused = `uring{ $sqpoll }` cannot run here: { $why }. Run `iomodels { $instead }` here instead
uring-multishot-refused = `uring --multishot` cannot run here: this kernel refuses a provided buffer ring ({ $why }; Linux 5.19 has them). Run `iomodels uring` here instead
uring-cancel-run-over = the run is over: cancel that operation
uring-cancel-dropped = a member dropped from the room: cancel its operation
uring-cancel-dropped-send = a member dropped from the room: cancel its send
uring-cancel-send-failed = the send failed: cancel the receive too, then close
uring-cancel-ending = the connection is ending: cancel its recv
uring-cancel-full = its queue is full: cancel the recv until it drains
uring-accept-later = out of descriptors and nobody waiting: the next accept goes in 20 ms, not at once (it would fail at once, for ever)
uring-multishot-accept-later = out of descriptors and nobody waiting: the accept is re-armed in 20 ms, not at once (it would fail at once, for ever)
uring-multishot-reserve = a descriptor in reserve from the start: the multishot accept takes descriptors without asking us, and could take the last one before we could put one aside to refuse a client with at EMFILE
uring-notice-per-echo = { $per } system calls per echoed message ({ $echoes } echoes); with --sqpoll the kernel's SQ thread takes the SQEs, and its own CPU is said before the summary
uring-notice-recvs = the server made { $recvs } recv calls of its own: the kernel copied all { $bytes } bytes into our buffers and reported { $cqes } completions (CQEs) for { $sqes } submissions (SQEs)
uring-notice-enters = { $calls } system calls in all, { $enters } of them io_uring_enter: { $timeouts } came back empty after 1 ms (ETIME) so the thread could do other work; the other { $other } handed over SQEs or returned with completions
uring-notice-state = state lives in the program's key → callback table (at most { $keys } keys in flight), not on thread stacks as in `threads`; the one thread did { $work } units of other work while its requests waited in the kernel (the copy itself runs on this thread, inside io_uring_enter: see --kernel)

## io_uring: the ring's calls and operations

uring-setup-no-sqpoll = this kernel refuses IORING_SETUP_SQPOLL (before Linux 5.13 it needs CAP_SYS_NICE or root; EINVAL: older than 5.1)
uring-setup-nosys = this kernel has no io_uring (ENOSYS)
uring-setup-disabled = io_uring is disabled here (EPERM: sysctl kernel.io_uring_disabled, or a seccomp policy such as a container's)
uring-setup-failed = io_uring_setup failed
completion-unavailable = { $why }: { $error }
uring-setup-sqpoll = rings of { $entries } entries, and a kernel thread (iou-sqp) that takes SQEs from the ring by itself, asleep after { $idle } ms without one (SQPOLL: Linux 5.1; without privilege since 5.13)
uring-setup = a submission ring and a completion ring of { $entries } entries, in the kernel's memory
uring-map-failed = the io-uring crate could not map the rings into our memory ({ $why }); it closed the ring
uring-mmap = the io-uring crate maps { $what } into our memory: { $why }
uring-munmap = the io-uring crate unmaps { $what }
uring-close = the io-uring crate closes the ring, its memory unmapped
uring-map-sqes = the SQE array
uring-map-rings = the submission and completion rings
uring-map-sq = the submission ring
uring-map-cq = the completion ring
uring-map-why-sqes = { $n } SQEs of 64 bytes: we write each operation here, the kernel reads it
uring-map-why-cq = the CQ ring's head and tail and its { $n } CQEs of 16 bytes, which the kernel writes
uring-map-why-single = one mapping for both (IORING_FEAT_SINGLE_MMAP): the SQ ring's head, tail and { $sq } indices, and the CQ ring's { $cq } CQEs of 16 bytes
uring-map-why-sq = the SQ ring's head, tail and { $n } indices into the SQE array
uring-sqe-accept = accept the next connection for us, and tell us under this key
uring-sqe-recv = wait for data and copy it into our buffer: the kernel holds the buffer now
uring-sqe-echo = echo { $n } bytes: { $shown }
uring-sqe-deliver = deliver { $n } bytes: { $shown }
uring-sqe-accept-multi = accept every connection that comes, each reported under this one key (multishot accept: Linux 5.19)
uring-sqe-recv-multi = receive whatever comes, for as long as it comes, into buffers the kernel picks from our ring (multishot recv: Linux 6.0)
uring-getpeername = who is it? A multishot accept writes no address: the fd came in the CQE below
uring-enter-woke = the kernel's SQ thread had gone to sleep (IORING_SQ_NEED_WAKEUP): woken for { $n } { $sqes ->
        [one] SQE
       *[other] SQEs
    }; { $ready } { $cqes ->
        [one] completion
       *[other] completions
    } ready
uring-enter-sqpoll = the SQ thread takes the SQEs; we only waited: { $ready } { $cqes ->
        [one] completion
       *[other] completions
    } ready
uring-enter = { $n } { $sqes ->
        [one] SQE
       *[other] SQEs
    } handed to the kernel; { $ready } { $cqes ->
        [one] completion
       *[other] completions
    } ready
uring-enter-timeout = no completion within 1 ms: back to other work
uring-unknown-key = a completion for unknown key { $key }
uring-armed-more = it stays armed (F_MORE)
uring-armed-last = its last CQE (no F_MORE)
uring-cqe-accept-multi = a connection, already accepted: fd { $fd }; { $armed } → on_accepted
uring-cqe-fin-multi = 0 bytes: the client shut down writing (FIN); { $armed } → on_received
uring-cqe-recv-multi = the kernel picked buffer { $buffer } and copied { $n } bytes into it: { $shown }; { $armed } → on_received
uring-cqe-nobufs = no provided buffer left (ENOBUFS): this recv is over until buffers come back
uring-cqe-cancelled-multi = cancelled at our request; { $armed }
uring-cqe-accept = a connection, already accepted: fd { $fd } → on_accepted
uring-cqe-fin = 0 bytes: the client shut down writing (FIN) → on_received
uring-cqe-recv = the kernel already copied { $n } bytes into our buffer: { $shown } → on_received
uring-cqe-send = the kernel took { $n } bytes to send → { $then }
uring-cqe-cancel = cancelled
uring-cqe-cancelled = cancelled at our request
uring-cqe-too-late = nothing to cancel: it had completed already
uring-cqe-shut = the listener was shut down: the run is over
uring-fdinfo-open = the ring's entry in /proc: it names the kernel's SQ thread and the CPU it used
uring-fdinfo-read = { $n } bytes of the ring's state
uring-fdinfo-close = done with the ring's /proc entry
uring-sq-cpu = the kernel's SQ thread (iou-sqp, tid { $tid }) used { $total } ms of CPU ({ $work } ms of it taking our SQEs), on top of this thread's CPU below: it polled the ring so that we need not enter it
uring-sq-tid = the kernel's SQ thread is tid { $tid }; this kernel does not say its CPU time in fdinfo (SqTotalTime: Linux 6.14): see /proc/self/task/{ $tid }/schedstat
uring-sq-none = the ring's fdinfo names no SQ thread
uring-register = lend the kernel { $count } buffers of { $size } bytes, in a ring it takes them from (provided buffers: Linux 5.19)
uring-unregister = the kernel gives the provided buffers back

## Linux AIO: the model

aio-refused = `aio` cannot run here: { $why }. Run `iomodels epoll` here instead
aio-never-waits = a client that gives up between the poll and accept4 must not make accept4 wait (UNP §16.6)
aio-accept = the poll said a client is waiting
aio-no-write = no write was submitted
aio-poll-listener = AIO has no accept: tell us under this key when a client is waiting
aio-listener-failed = the listener's poll failed
aio-failed-or-over = the connection failed (or the run ended while it would not read): drop it
aio-poll-listener-fd = tell us (key = the listener's descriptor) when a client is waiting
aio-poll-accept = the poll said the listener is readable: a client is waiting
aio-poll-client = tell us when the new client sends or hangs up
aio-poll-again = poll it again (a poll fires once)
aio-poll-writable = tell us when its send buffer has room for the rest of the room's lines
aio-notice-poll-submits = { $submits } io_submit calls, each an IOCB_CMD_POLL, returned at once; io_getevents did the waiting ({ $ms } ms of stage ①) and handed back poll masks
aio-notice-poll-own = the server's own { $own } recvfrom calls copied { $bytes } bytes (stage ②): readiness, figure 6.3, delivered through AIO
aio-notice-submits = { $submits } io_submit calls slept { $ms } ms in all: each IOCB_CMD_PREAD ran inside its submission, waiting there for the client (stage ①) and copying (stage ②); io_getevents then had its { $events } events at once
aio-notice-stall = client { $client }'s { $bytes } bytes sat in the kernel { $ms } ms before the server read them: the thread was asleep inside another client's io_submit — one slow client stalls every other
aio-notice-blocking = { $bytes } kernel-copied bytes, { $events } events for { $submits } submissions; the server did no other work: a completion interface that behaves like the blocking model

## Linux AIO: the context's calls

aio-setup-nosys = this kernel has no AIO (ENOSYS: built without CONFIG_AIO)
aio-setup-eagain = the system's AIO events are used up (EAGAIN: see /proc/sys/fs/aio-max-nr)
aio-setup-eperm = AIO is not allowed here (EPERM: a seccomp policy?)
aio-setup-failed = io_setup failed
aio-setup = an AIO context (ctx, a handle the kernel writes): it will queue up to { $nr } completed events for us
aio-events = { $n } { $count ->
        [one] event
       *[other] events
    }: { $keys }
aio-unknown-key = an event for unknown key { $key }
aio-destroy = free the AIO context (the polls still in flight are cancelled)
aio-shutdown = to close it: end its polls in flight first (they hold the socket open)
aio-rcvtimeo = nothing can wake a thread asleep inside io_submit: the read gives up after 1 s, so that the stop can reach us
aio-sndtimeo = and the echo's sendto, asleep while a client does not read, gives up after 1 s too
aio-read-slept = the read ran inside io_submit: it slept here until data came (stage ①), the kernel copied it (stage ②), and only then did io_submit return — nobody else was served meanwhile
aio-read-at-once = the read ran inside io_submit: data was there already, so it returned at once with the copy done
aio-context-full = the context is full: no room for another event (io_setup's nr_events)
aio-read-copied = { $n } bytes, copied into our buffer back inside io_submit: { $shown }
aio-poll-ready = ready: { $mask }
aio-read-timeout = 1 s went by without data (SO_RCVTIMEO): io_submit gave up

## POSIX AIO: the model

posix-aio-thread-start = a new thread ({ $tid }) runs the AIO loop; this one accepts, and rings the doorbell
posix-aio-thread-failed = could not start the AIO thread ({ $why })
posix-aio-no-thread = could not start the AIO thread
posix-aio-accept = sleep until a client has connected; the AIO thread will serve it
posix-aio-thread-ended = the AIO thread has ended: drop it
posix-aio-hang-up = hang up the doorbell: the helper's read of it returns 0, and the AIO thread ends the run
posix-aio-joining = waiting for the AIO thread to finish its requests
posix-aio-panicked = the AIO thread panicked
posix-aio-bell-hung-up = the accepting thread hung the doorbell up
posix-aio-client-done = the client is done sending
posix-aio-bell-close = the doorbell was hung up: close our end of it
posix-aio-bell-read = a read of the doorbell, always in flight: a new connection ends aio_suspend
posix-aio-shut-run-over = the run is over: end the helper's read of it, so that its request finishes
posix-aio-dup-close = the duplicate its writes went through
posix-aio-shut-dropped = dropped from the room: end the helpers' read and write of it, so that its requests finish and it can close
posix-aio-dup = a second descriptor for its writes: glibc serves one descriptor's requests in turn, and its read waits until the member speaks
posix-aio-shut-no-dup = no descriptor for its writes: end its read, and close it
posix-aio-submit-deliver = returns at once: a helper thread of glibc's will write the room's lines
posix-aio-shut-refused = glibc would not take the write: end its read, and close it
posix-aio-shut-write-failed = the write failed: end its read too, and close it
posix-aio-submit-read = returns at once: a helper thread of glibc's will read it, blocking
posix-aio-read-refused = glibc would not take the read: drop it
posix-aio-submit-write = returns at once: a helper thread of glibc's will write it
posix-aio-write-refused = glibc would not take the write: drop it
posix-aio-notice-returned = { $reads } aio_read and { $writes } aio_write calls returned at once: glibc queued each for a helper thread of its own, which made a blocking read or write — { $bytes } bytes were copied into our buffers by those threads' reads (stage ② on another thread of this process)
posix-aio-notice-suspend = the AIO thread slept { $ms } ms in { $suspends } aio_suspend calls, each handed the whole list of requests in flight, then asked { $errors } times with aio_error which had finished (no system call, but a look at every request, as select's caller looks at every descriptor)
posix-aio-notice-accept = POSIX AIO has no accept: the main thread accepted { $clients } clients in accept4 and rang the doorbell for each; glibc runs at most 20 helpers unless told otherwise (aio_init), so past 20 idle clients the next read waits in its queue — a thread pool of blocking reads behind an asynchronous interface

## POSIX AIO: glibc's calls

posix-aio-submit-again = glibc could not queue it (out of resources)
posix-aio-submit-refused = glibc refused the request
posix-aio-suspended = slept until a helper thread finished one of the { $n } requests (stage ① happened in its read)
posix-aio-suspend-intr = a signal interrupted the wait
posix-aio-suspend-failed = the wait failed
posix-aio-error-done = done: its result is ready
posix-aio-error-in-progress = still in a helper thread's hands
posix-aio-error-failed = done, and it failed
posix-aio-return-zero = the helper's read returned 0: { $of }
posix-aio-return-read = a helper thread's read copied { $n } bytes into our buffer: done before we looked
posix-aio-return-write = a helper thread's write sent { $n } bytes
posix-aio-return-failed = the helper's call failed
posix-aio-doorbell = a doorbell: the accepting thread writes a byte, a helper's read of it ends aio_suspend
posix-aio-ring = ring the doorbell: a helper's read of it finishes, and aio_suspend returns
