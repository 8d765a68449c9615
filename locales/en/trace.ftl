# The glosses of the calls every run makes, and of the epoll model, in English.

## The system under every model

sys-gettid = this thread's id: the TID that strace shows
sys-gettid-macos = this thread's id, as dtruss shows it
sys-gettid-freebsd = this thread's id, as truss shows it
sys-gettid-windows = this thread's id, as Process Monitor shows it
sys-socket = a TCP socket that will listen
sys-socket-windows = a TCP socket that will listen (Winsock's socket() allows overlapped I/O)
sys-wsastartup = load Winsock: a process calls it before its first socket
sys-port-option = let a restarted server reuse the port at once
sys-port-option-windows = no other socket may bind this port while we hold it (Windows' SO_REUSEADDR would let two servers share it; a restarted server can rebind at once anyway)
sys-linger-zero = linger 0: close will reset the connection and throw away what the kernel still holds for it
sys-send-buffer = a chat: the kernel holds at most this much waiting for this member; what a slow reader leaves beyond it waits in our queue, which the server bounds (--max-pending)
sys-nodelay = a chat: each line goes out at once, not held back until the last one is acknowledged (Nagle's algorithm), which a client's delayed ACK could stretch by 40 ms or more
sys-dup-stopper = a second handle to the listener, for the harness to stop us with
sys-cpu = this thread's CPU: { $user } ms user + { $sys } ms system
trace-work = a unit of other work while nothing is ready
trace-over = { $note } (over { $span })
sys-blocks = the thread sleeps in the kernel until this call can return
stop-how-shutdown = shuts the listener down
stop-how-connect = connects once more to wake the server
harness-stops = the harness { $how }
harness-over = the scenario is over: the harness { $how }

## The listener and accept

server-bind = claim the address and port
server-listen = accept connections; the kernel queues up to { $backlog } finished handshakes
server-getsockname = which port did we get?
server-close-listener = close the listener
accept-wake-up = the harness's wake-up connection: the run is over
accept-shut = the listener was shut down: the run is over
accept-nobody = no client is waiting to be accepted
accept-emfile = out of descriptors (EMFILE): every descriptor this process may open is in use
accept-failed = accept failed
accept-never-waits = a client that gives up between { $waiter } and { $accept } must not make { $accept } wait (UNP §16.6)
never-wait = { $recv } and { $send } will never wait

## The echo's copies

echo-copied = copied { $n } bytes into our buffer: { $shown }
echo-eof = 0 bytes: the client shut down writing (FIN)
echo-eof-dropped = 0 bytes: our reading side was shut down, the member was dropped
echo-nothing = nothing there yet
echo-failed = the connection failed: { $why }
echo-back = echo { $n } bytes back: { $shown }
echo-partial = partial send: { $n } of { $all } bytes fit in the socket buffer; { $left } wait
echo-full = send buffer full: { $all } bytes wait for writability

## epoll

epoll-create = an epoll instance: the kernel will keep our interest list
epoll-ready = { $n } ready out of { $watched } watched, handed to us directly — nothing to scan: { $which }
epoll-wait-failed = epoll_wait failed
epoll-del = stop watching it before closing
epoll-close = close the epoll instance
epoll-listener-nonblocking = accept4 must never wait: every wake-up accepts until EAGAIN, and a client that gives up in between must not block us (UNP §16.6)
epoll-listener-exclusive = tell us when a client is waiting, but wake only one or more of the threads waiting on it, not all
epoll-listener = tell us when a client is waiting to be accepted
epoll-accept-edge = edge-triggered: accept until EAGAIN, or a waiting client is never announced again
epoll-accept-level = epoll said the listener is readable: a client is waiting
epoll-watch-client = watch the new client: tell us when it sends or hangs up
epoll-run-over = the run is over (close also removes it from the interest list)
epoll-change-both = bytes wait to be echoed: tell us when there is room to send (EPOLLOUT)
epoll-change-in = everything echoed: stop asking for EPOLLOUT, or it would fire without end
epoll-change-out = backpressure: the echo backlog is full, stop reading this client until it drains
epoll-change-none = nothing to read or send
epoll-notice-wakeups = { $wakeups } wakeups; each handed back { $ready } ready descriptors and the process looked at exactly those — nothing scanned, however many connections are open (highest descriptor { $max })
epoll-notice-ctl = { $ctl } epoll_ctl calls kept the kernel's interest list in step with what each connection needs (ADD per client, MOD for EPOLLOUT and backpressure, DEL before close); { $calls } system calls and { $cpu } ms of server CPU in a { $run } ms run
epoll-summary = epoll: the kernel keeps the interest list and hands back only the ready ones
epoll-state = a map from descriptor to connection; the interest list itself lives in the kernel

## The title

title-scenario = iomodels { $model } — UNP figure { $figure }: { $summary } · scenario `{ $scenario }`: { $clients } clients, { $ms } ms
title-serve = iomodels { $model } — UNP figure { $figure }: { $summary } · serving on { $addr }: try `nc { $ip } { $port }` (Ctrl-C ends)

## A call's result and time columns.
trace-blocks = … blocks
trace-queued = queued
trace-slept = slept { $took }

## An accept error that passes by itself: the gloss of the 20 ms back-off.
accept-wait-memory = the kernel is short of memory: wait a little instead of spinning
