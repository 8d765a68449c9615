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
