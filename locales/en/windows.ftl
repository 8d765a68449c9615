# The Windows models (iocp, apc, wsaevent) and the Winsock calls under them, in English. Every id
# must be in ../zh-CN/windows.ftl too (a test checks). API names, flags and error names stay as
# Windows spells them, in every language.

## What the Windows models share

win-failed = failed: { $why }
win-listener-event-failed = the listener's event object failed
win-listener-event = the listener's event
win-fd-accept = FD_ACCEPT: a client is waiting
win-why-dropped = a member dropped from the room
win-why-send-failed = the send failed: cancel the receive too, then close
# Where the harness stops a run with a connection (every OS but Linux), as the Windows models do.
server-close-wake-up = close the wake-up connection
win-dont-wait = Winsock's send has no MSG_DONTWAIT: make the socket nonblocking, so telling the client why cannot wait

## Winsock's select: an fd_set is an array of 64 sockets

win-select-wall = socket { $fd } would be the { $nth }th in the read set: Winsock's fd_set holds { $size } sockets, so select cannot watch it
win-select-checked = Winsock walked the { $listed } sockets in the two arrays; we test { $listed } sockets
win-select-wall-hit = the fd_set wall: { $refused } of { $accepted } accepted connections were refused — Winsock's fd_set is an array of { $size } sockets (not a bitmap), so select watches at most { $size } at once; any scenario client among them was turned away (its lane in the trace says so)
win-select-wall-not-hit = Winsock's fd_set is an array of at most { $size } sockets, searched by FD_ISSET: try --idle 80 to hit that wall

## Overlapped calls: started, cancelled, completed

win-started-done-port = done at once — the result still comes as a packet carrying ov={ $key }; { $then }
win-started-done-routine = done at once — the completion routine for ov={ $key } still waits for this thread's next alertable wait; { $then }
win-started-pending-port = started: Windows owns the buffer now and will post a packet carrying ov={ $key }; { $then }
win-started-pending-routine = started: Windows owns the buffer now; the completion routine for ov={ $key } will run on this thread, inside an alertable wait; { $then }
win-start-failed = failed to start: { $why }
win-cancel-port = { $why }: cancel that operation; its packet will still come
win-cancel-routine = { $why }: cancel that operation; its completion routine will still run
win-cancel-late-port = nothing to cancel: it has finished; its packet is on the way
win-cancel-late-routine = nothing to cancel: it has finished; its completion routine is queued
win-recv-at-once-port = { $n } bytes were there already; on_received when the packet comes
win-recv-at-once-routine = { $n } bytes were there already; on_received after the routine
win-recv-then = on_received when data has arrived and been copied
win-send-echo = echo { $n } bytes: { $shown }; { $then } once Windows has taken them
win-send-deliver = deliver { $n } bytes: { $shown }; { $then } once Windows has taken them
win-send-at-once = { $note } ({ $sent } taken at once)
win-done-accept = a connection, already accepted into the socket we made → on_accepted
win-done-fin = 0 bytes: the client shut down writing (FIN) → on_received
win-done-recv = Windows already copied { $n } bytes into our buffer: { $shown } → on_received
win-done-send = Windows took { $n } bytes to send → { $then }
win-done-cancelled = cancelled at our request → its callback closes up

## iocp: the completion port and AcceptEx

iocp-port = a completion port: Windows queues a packet here for every overlapped call that finishes
iocp-port-threads = a completion port: Windows queues a packet here for every overlapped call that finishes; NumberOfConcurrentThreads = { $n }: at most { $n } threads that waited on it run at once
iocp-packets = { $n } { $count ->
        [one] packet
       *[other] packets
    } from the port
iocp-wait-timeout = no packet within 1 ms (WAIT_TIMEOUT): back to other work
iocp-wait-timeout-long = no packet within { $ms } ms (WAIT_TIMEOUT): has the run ended?
iocp-unknown-packet = a packet for an OVERLAPPED we do not hold: ov={ $ov } (CompletionKey={ $key })
iocp-close-port = close the completion port
iocp-associate-listener = the listener's AcceptEx packets will come to our port, with completion key = its socket
iocp-associate-conn = this connection's packets will come to our port too
iocp-wsasocket = AcceptEx needs the socket the connection will become, made in advance
iocp-update-context = give the accepted socket its listener's properties (getpeername, shutdown work after this)
iocp-then-accepted = on_accepted when a client connects
iocp-peer-port = the peer is port { $port }
iocp-ask-extension = ask Winsock where { $name } is
iocp-extension-missing = WSAIoctl gave no { $name }
iocp-accept-dropped = the accept did not happen: drop the socket we made for it
iocp-worker-failed = could not start worker { $worker } ({ $why }): the others take its packets
iocp-worker-start = worker { $worker } ({ $tid }) will wait on the port for packets
iocp-workers-done = the workers are done: every operation has reported
iocp-stop-packet = every operation has reported: a stop packet for another worker
iocp-notice-copied = the server made { $recvs } recv calls of its own: Windows copied all { $bytes } bytes into our buffers and posted { $packets } completion packets; each overlapped call (AcceptEx { $accepts }, WSARecv { $wsarecvs }, WSASend { $wsasends }) returned at once
iocp-notice-waits = { $calls } calls in all, { $waits } of them GetQueuedCompletionStatusEx: { $timeouts } came back empty after 1 ms (WAIT_TIMEOUT) so the thread could do other work ({ $work } units)
iocp-notice-workers = packets per worker: { $workers } — whichever worker was waiting in GetQueuedCompletionStatusEx took the next packet, whatever connection it was for (event objects tie a socket to the thread waiting on its event, completion routines to the thread that asked)
iocp-notice-readiness = readiness models (select, poll, epoll, kqueue) hear "you may recv now" and then copy; here the packet means the copy is done. The polling crate's Windows backend (`portable`) uses a completion port too, but only to emulate readiness through AFD polls — the program still calls recv

## apc: completion routines

apc-unselect = it inherited the listener's event selection: end it, so that this socket's I/O leaves the listener's event alone
apc-unknown = a completion routine for an OVERLAPPED we do not hold: ov={ $ov }
apc-ran = the completion routine ran inside { $wait }, on thread { $tid }: { $what }
apc-wait-routines = WSA_WAIT_IO_COMPLETION: completion routines queued to this thread ran inside this wait (below)
apc-wait-listener = event 0 (the listener's) is signalled: a client is waiting
apc-wait-timeout = nothing within 1 ms (WAIT_TIMEOUT): back to other work
apc-notice-routines = Windows copied all { $bytes } bytes into our buffers; { $routines } completion routines ran, every one inside one of this thread's { $waits } alertable waits ({ $timeouts } came back empty after 1 ms, and the thread did { $work } units of other work)
apc-notice-one-thread = results come back only to the thread that asked: a routine is queued to the thread that started the operation and runs only while that thread waits alertably, so the work of handling results cannot be spread over threads — the problem an I/O completion port solves (iocp --workers)

## wsaevent: event objects

wsaevent-event-listener = an event object for the listener
wsaevent-select-listener = signal it when a connection waits to be accepted (the listener is nonblocking now)
wsaevent-news-none = nothing happened on it (the event was set for another reason)
wsaevent-news = { $events }: the event is reset
wsaevent-event-conn = an event object for this connection: events[{ $index }] of the { $max } one wait can take
wsaevent-select-conn = signal it on data, room to write, or the client's close (this replaces the selection it inherited from the listener)
wsaevent-free-event = its socket is closed: free its event
wsaevent-refused = refused: socket { $fd } would need the { $nth }th event: WSAWaitForMultipleEvents waits on at most WSA_MAXIMUM_WAIT_EVENTS ({ $max }) and the listener has one; this server keeps to one waiting thread, so it cannot watch it
wsaevent-signalled-listener = event 0 (the listener's) is signalled
wsaevent-signalled = event { $index } is signalled: its socket has news
wsaevent-timeout-first = nothing signalled (WAIT_TIMEOUT): on to what was put off
wsaevent-timeout-rest = no event after it is signalled too (WAIT_TIMEOUT): on to the reads and writes
wsaevent-notice-calls = { $waits } WSAWaitForMultipleEvents and { $news } WSAEnumNetworkEvents: an event says only that something happened on its socket; WSAEnumNetworkEvents says what, and the server still made every recv and send itself
wsaevent-notice-wall-hit = the 64-event wall: { $refused } of { $accepted } accepted connections were refused — one WSAWaitForMultipleEvents waits on at most 64 events and the listener has one; serving more takes another waiting thread per 64 (this server refuses instead), which is what an I/O completion port makes unnecessary (iocp --workers)
wsaevent-notice-wall-not-hit = one WSAWaitForMultipleEvents waits on at most 64 event objects (WSA_MAXIMUM_WAIT_EVENTS): try --idle 70 to hit that wall
wsaevent-timeout-quiet = nothing signalled for { $ms } ms: look at the listener anyway (under Wine, a burst of connections can leave its FD_ACCEPT unsignalled)
win-accept-wait-sockets = out of sockets: wait 20 ms instead of spinning
