# The other models' messages, in English: the registry's texts, then each model and the system
# calls under it. Every id must be in ../zh-CN/models.ftl too (a test checks).

## The registry: what each model shows (`iomodels list`) and where it keeps its state

blocking-summary = one client at a time; every call sleeps until it is done
blocking-state = the server's one stack: it can hold only the connection it is serving
threads-summary = a thread per client, each blocked in its own recv
threads-state = each connection's state lives on its own thread's stack; the kernel schedules them
nonblocking-summary = O_NONBLOCK sockets polled in a loop: EAGAIN, EAGAIN, … data
nonblocking-state = a list of connections the loop walks; each entry holds its unsent echo
select-summary = select(2) sleeps on fd_set bitmaps; the process scans them for who is ready
select-state = a list of connections; two fd_set bitmaps rebuilt from it before every select
poll-summary = poll(2) sleeps on an array of pollfd; the process walks it for revents
poll-state = a list of connections and a pollfd array kept beside it, one entry each
reactors-summary = an epoll loop per thread: who is woken when a client connects?
reactors-state = each thread's own map of its connections, in its own epoll's interest list; a connection stays with the thread that accepted it
kqueue-summary = kqueue/kevent: filters registered once; one call changes interest and waits
kqueue-state = a map of connections the loop owns; interest (one filter per socket) lives in the kernel
# The registry's English differs by OS (epoll, kqueue or IOCP "here"); this is Linux's.
portable-summary = the polling crate (like Python's selectors): epoll here, kqueue or IOCP elsewhere
portable-state = a map from key to connection; the interest list lives in the kernel, re-armed after every event
sigio-summary = O_ASYNC sockets: a real-time signal says which socket changed; then recv
sigio-state = a list of connections; the signal's si_fd says which one to look at
uring-summary = io_uring: submit accept/recv/send with a key; the kernel completes them, data and all
uring-state = a key → callback table the program owns (io_uring user_data), not thread stacks
aio-summary = Linux AIO: io_submit a read with a key, io_getevents its event — but a socket read runs inside io_submit
aio-state = a key → callback table the program owns (the iocb's aio_data), but the thread sleeps inside one client's io_submit
posix-aio-summary = POSIX aio_read + aio_suspend (glibc): returns at once, because glibc's helper threads sit in blocking reads
posix-aio-state = an aiocb per request, in the program's memory; glibc's queue, and a helper thread blocked in read for each request it runs
wsaevent-summary = WSAEventSelect: an event object per socket, one thread in WSAWaitForMultipleEvents (at most 64)
wsaevent-state = a list of connections, each with its event object; the events' array is what the thread waits on
apc-summary = completion routines: overlapped WSARecv/WSASend call back on the issuing thread, inside its alertable wait
apc-state = a key → callback table the program owns (the OVERLAPPED's address), on the one thread that may hear the results
iocp-summary = I/O completion port: overlapped AcceptEx/WSARecv/WSASend; Windows completes them, data and all
iocp-state = a key → callback table the program owns (the OVERLAPPED's address), not thread stacks

## Closing a connection, in every model below

models-dropped = dropped from the room
aio-submit-failed = io_submit failed: drop it
aio-delivered = the client is done and everything is delivered
models-run-over = the run is over
models-conn-failed = the connection failed: drop it
models-conn-done = echoed everything and the client is done

## poll

poll-accept = poll said the listener is readable: a client is waiting
poll-ready = the kernel checked all { $watched } entries ({ $rewritten } written by us since the last call); we walk all { $watched } again to find { $n } with revents: { $which }
poll-failed = poll failed
poll-notice-wakeups = { $wakeups } wakeups; each handed the kernel an array of { $watched } pollfd entries on average and walked it to find { $ready } ready — no FD_SETSIZE wall (highest descriptor { $max }), but still a linear scan
poll-notice-kept = the array was kept between calls: we wrote { $rewritten } entries (a client came or went, or its interest changed); rebuilt before every call, as select rebuilds its sets, it would have been { $all } entries
poll-notice-slept = { $calls } system calls, { $cpu } ms of server CPU in a { $run } ms run: the thread slept in poll while nothing was ready

## select

select-accept = select said the listener is readable: a client is waiting
select-refused = refused: { $why }
select-ready = { $checked } with FD_ISSET to find { $n } ready: in { $reading }, out { $writing }
select-failed = select failed
select-checked = the kernel checked { $nfds } descriptor slots; we test { $listed } bits
select-wall = descriptor { $fd } ≥ FD_SETSIZE ({ $size }) has no bit in an fd_set, so select cannot watch it
select-wall-hit = the FD_SETSIZE wall: { $refused } of { $accepted } accepted connections got descriptors ≥ { $size } (the highest was { $max }) and were refused — an fd_set has exactly { $size } bits; any scenario client among them was turned away (its lane in the trace says so)
select-wall-not-hit = the highest descriptor was { $max }: select can watch descriptors 0‥{ $last } only (FD_SETSIZE); try --idle 1100 to hit the wall
select-notice-wakeups = { $wakeups } wakeups; each time the process tested { $watched } descriptors with FD_ISSET to find { $ready } ready — a linear scan, rebuilt from scratch every loop

## blocking

blocking-accept = sleep until a client has connected
blocking-done = done with this client: only now can the next one be served
blocking-waiting-none = nothing waiting in the kernel for this client yet
blocking-waiting = { $n } bytes already waiting in the kernel: they arrived while we served someone else
blocking-waiting-failed = could not ask
blocking-notice-head = client { $client }'s { $bytes } bytes sat in the kernel for { $ms } ms before the server read them: it was blocked on another client (head-of-line blocking)
blocking-notice-open = most clients served at once: { $n } — a blocking server holds one connection at a time

## nonblocking

nonblocking-listener = accept4 on the listener will no longer wait
nonblocking-accept = a client was waiting: accepted without sleeping
nonblocking-notice-eagain = { $eagain } calls answered EAGAIN ("not yet"): { $pct }% of all { $calls } system calls asked for nothing
nonblocking-notice-never-slept = the server never slept: { $cpu } ms of CPU in a { $run } ms run, and { $work } units of other work done between polls

## threads

threads-pool-linux-only = --pool needs Linux, where shutting the listener down wakes every thread blocked in accept; on { $os } only a connection wakes one. Run `iomodels threads` here instead
threads-accept = sleep until a client has connected
threads-joining = the listener is shut: waiting for the worker threads to finish
threads-client-done = this client is done; its thread ends
threads-worker-start = a new thread ({ $tid }) will serve fd { $fd }; this one goes back to accept
threads-worker-failed = could not start a thread for fd { $fd } ({ $why }): that client is dropped
threads-pool-dup = the same listening socket under another number, for the next thread of the pool
threads-pool-start = a new thread ({ $tid }) will accept and serve clients, one at a time
threads-pool-waits = { $n } threads wait in accept4; this one waits for them to end
threads-pool-free = this thread was free: the kernel handed it the next connection
threads-pool-client-done = this client is done; the thread goes back to accept4
threads-notice-threads = { $threads } server threads for { $clients } clients; the most served at once: { $open }
threads-notice-wait-pool = the longest any client's bytes waited before a recv took them: { $ms } ms — a client waits until a thread of the pool is free to read it
threads-notice-wait-own = the longest any client's bytes waited before a recv took them: { $ms } ms — every client has a thread of its own to wait in
threads-notice-queued-pool = the longest a client waited to be accepted (from its connect to the accept4 that took it): { $ms } ms, client { $client } — every thread of the pool was busy with a client, so the next waited in the listen queue
threads-notice-queued-own = every client was accepted within { $ms } ms of its connect — with a thread per client the accept loop is never busy for long

## reactors

reactors-stop = stop reactor { $k }: its accept4 fails with EINVAL, the run is over
reactors-close-listener = close reactor { $k }'s listener
reactors-dup-own = reactor's own listener of the group, under a second number: the first thread keeps one to stop it with
reactors-dup-shared = the same listening socket under another number, for the next reactor's epoll: one accept queue for all
reactors-start = a new thread ({ $tid }) runs reactor { $k }: its own epoll and its own connections
reactors-notice-threads = { $threads } threads, each with its own epoll; connections per thread: { $per } ({ $all } in all): the busiest took { $most }, the least { $least } — whoever is woken first, or with SO_REUSEPORT a hash of the addresses, picks the thread, not how busy it is
reactors-notice-wakeups = { $wakeups } wake-ups reported a listener for { $accepted } connections ({ $ratio } per connection); { $lost } of them found the queue already empty (accept4 → EAGAIN): woken for a connection another thread took
reactors-notice-no-herd = { $listeners } listeners, each with its own accept queue: the kernel puts each connection in one of them, and only that listener's thread is woken for it — no herd
reactors-notice-herd = one listener in every epoll: for each connection the kernel wakes the threads waiting on it (all of them; with EPOLLEXCLUSIVE one or more) — the thundering herd; a woken thread that finds the queue empty before its epoll_wait returns sleeps on unseen, so the EAGAINs count only the losers that got that far (--kernel shows every wake-up)
reactors-doorbell = a doorbell for reactor { $k }: another reactor that queues lines for one of its members writes to it
reactors-doorbell-watch = watch the doorbell: reactor { $k } wakes when another one rings it
reactors-doorbell-ring = ring reactor { $k }'s doorbell: lines are queued for its members, and it may be asleep in epoll_wait
reactors-doorbell-answer = another reactor rang the doorbell: clear it, then send what it queued for our members
reactors-doorbell-close = close the doorbell

## sigio

sigio-news-listener = a connection on the listener
sigio-news-client = data, a FIN, room to send
sigio-early = it connected before we were armed: no signal would have told us
sigio-signalled = accepted without waiting: the signal said it was there
sigio-closed-already = fd { $fd } is already closed: this signal was queued before we closed it
sigio-notice-signals = { $signals } signals came; { $data } of them ({ $pct }%) led to data: the rest announced a connection, a FIN, or bytes an earlier look had already read — for TCP a signal only says "look" (UNP §25.3)
sigio-notice-free = free in stage ①: { $work } units of other work done while the kernel watched the sockets; stage ② was still the server's own recvfrom, { $bytes } bytes copied
sigio-block = block the signals: no handler runs; they wait until rt_sigtimedwait takes them
sigio-owner = signals for this socket go to the server thread
sigio-setsig = send a queued real-time signal whose siginfo says which socket (si_fd) and why (si_band)
sigio-async = signal us on news: { $news }; calls never wait
sigio-overflow = SIGIO: the real-time queue overflowed, the kernel lost which socket: rescan all
sigio-listener-in = a signal: the listener has a connection waiting → accept4
sigio-listener-other = a signal: the listener reports { $band } ({ $code }) → accept4 to find out why
sigio-readable = a signal: fd { $fd } is readable ({ $code }) → recvfrom: data, a FIN, or nothing new
sigio-writable = a signal: fd { $fd } has room to send ({ $code }) → send what waits
sigio-none-within = no signal within 1 ms: back to other work
sigio-none = no signal

## portable: the polling crate

portable-never-waits = a client that gives up between the wait and { $accept } must not make { $accept } wait (UNP §16.6)
portable-add-listener = add(listener, readable): oneshot, like every interest polling registers
portable-accept = the Poller said the listener is readable: a client is waiting
portable-add-client = add(client, readable)
portable-rearm-listener = re-arm the listener: polling's oneshot mode disarmed it after the event
portable-rearm = re-arm: polling's oneshot mode disarmed it after the event
portable-rearm-writable = re-arm with writability too: the room's lines did not all fit in the send buffer
portable-notice-epoll-own = polling made { $own } of the { $calls } system calls on its own ({ $which }): an eventfd and a timerfd at start, then four calls around each of the { $waits } waits — the raw epoll model makes none of them
portable-notice-epoll-ctl = { $ours } epoll_ctl calls were ours: oneshot interest means one re-arming MOD after every event (the raw epoll model only MODs when interest changes); { $theirs } more were polling's
portable-notice-kqueue-own = polling made { $own } of the { $calls } calls on its own ({ $which }: making its kqueue close-on-exec, its EVFILT_USER wake-up event, and deleting it at the end); on kqueue it adds nothing around a wait
portable-notice-kqueue-kevent = { $kevents } kevent calls in all, { $waits } of them waits: oneshot interest means one re-arming kevent after every event — the raw kqueue model registers a filter once and changes it only when the interest changes
portable-notice-iocp-own = polling made { $own } of the { $calls } calls on its own ({ $which }); our add and modify calls made none: polling queued each socket and submitted its IOCTL_AFD_POLL inside the next wait — { $polls } poll requests for { $waits } waits
portable-notice-iocp-emulated = a completion port, used only to emulate readiness: each packet says "this socket is ready", and the program still calls recv — the iocp model hands Windows the WSARecv itself and hears only when the data is already copied
portable-wait = Poller::wait(): { $n } ready out of { $watched } watched; each one is now disarmed (oneshot)
portable-own = polling's own: { $note }
portable-delete = delete(): stop watching it
portable-debug-check = std's debug check that the descriptor is open
portable-epoll-new = Poller::new(): the epoll instance behind the Poller
portable-eventfd = an eventfd, so another thread could wake the Poller
portable-timerfd = a timerfd, to turn wait timeouts into readiness
portable-watch-timerfd = watch its timerfd
portable-watch-eventfd = watch its eventfd
portable-settime = set the wait's timeout on its timerfd (none: disarmed)
portable-rearm-timerfd = re-arm its oneshot timerfd
portable-clear-eventfd = clear its eventfd in case someone woke it (nobody did)
portable-rearm-eventfd = re-arm its oneshot eventfd
portable-drop-unwatch = dropping the Poller: unwatch its helper
portable-drop-timerfd = dropping the Poller: close its timerfd
portable-drop-epoll = dropping the Poller: close the epoll instance
portable-drop-eventfd = dropping the Poller: close its eventfd
portable-change = { $op }(): { $why }
portable-kqueue-new = Poller::new(): the kqueue behind the Poller
portable-kqueue-cloexec = make the kqueue close-on-exec
portable-kqueue-user = an EVFILT_USER event, so another thread could wake the Poller
portable-drop-user = dropping the Poller: delete its wake-up event
portable-drop-kqueue = dropping the Poller: close the kqueue

## Out of descriptors (EMFILE) and --max-conns

limits-reserve = descriptors are running short: keep one in reserve for when accept4 says EMFILE
limits-close-spare = close the spare descriptor
limits-no-spare = no spare descriptor to make room with: wait 20 ms instead of spinning on a listener that stays readable
limits-reserve-again = try again to put a descriptor aside for the next EMFILE
limits-give-back = { $name }: give back the spare descriptor, so accept4 can take a waiting client
limits-refused-fds = refused: the server is out of descriptors ({ $name }); hanging up at once tells the client, instead of leaving it queued and the listener readable for ever
limits-take-back = take the spare descriptor back for the next EMFILE
limits-nobody-back-off = out of descriptors and nobody waiting: wait 20 ms before accept4 again, instead of spinning
limits-queue-waiting = a client is waiting
limits-queue-empty = nobody is waiting: accept4 said EMFILE before it looked at the queue
limits-shed-accepted = accepted only to hang up: there is no descriptor to serve it with
limits-shed-shut = the listener was shut down: the run is over
limits-shed-gone = the client had gone
limits-busy-send = tell the client why, without waiting for room
limits-refused-busy = refused: { $open } connections are open, the most --max-conns allows ({ $max })

## macOS and the BSDs

bsd-cloexec-socket = keep it out of programs we might exec
bsd-cloexec-accepted = no accept4 here: close-on-exec is a second call
kqueue-create = a kernel event queue: it will hold our interest in each socket
kqueue-ready = ready: [{ $events }]
kqueue-failed = failed: { $why }
kqueue-close = close the kqueue
