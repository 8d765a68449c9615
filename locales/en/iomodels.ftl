# iomodels' messages in English. Each id must also be in ../zh-CN/iomodels.ftl (a test checks).
# { $name } is filled in by the code; numbers come formatted (with thousands' separators).

## The trace's columns and stages

head-time = time ms
head-who = who
head-call = call
head-result = result
head-took = took
head-stage = stage
head-means = what it means
stage-setup = setup
stage-data-ready = ① data-ready
stage-copy-to-user = ② copy-to-user
stage-data-ready-copy = ①+② ready+copy
stage-send-out = send out
stage-completion = ✓ completion
stage-teardown = teardown
stage-client = client
stage-work = work
folded = … { $n } more lines folded (the summary counts them all)

## The summary

summary-title = ── summary: { $model } ──
summary-syscalls = system calls
summary-kernel-ops = kernel operations
summary-kernel-ops-value = { $n } (submitted and completed for us)
summary-eagain = EAGAIN answers
summary-time = time in calls
summary-bytes = bytes
summary-bytes-value = { $got } copied in by our recv calls, { $kernel } by the kernel for us, { $out } { $app ->
        [chat] sent on
       *[echo] sent back
    }
summary-bytes-library-value = { $got } copied in by our recv calls, { $library } by a library's threads for us, { $out } { $app ->
        [chat] sent on
       *[echo] sent back
    }
summary-cpu = server CPU
summary-cpu-value = { $cpu } user+sys in a { $run } run
summary-cpu-call-value = { $cpu } user+sys in a { $run } run ({ $call })
summary-readiness = readiness waits
summary-readiness-value = { $wakeups } wakeups; { $watched } descriptors looked through per wakeup to find { $ready } ready
summary-refused = refused
summary-refused-value = { $n } connections accepted and closed at once
summary-refused-clients-value = { $n } connections accepted and closed at once; { $clients } of the scenario's clients were turned away (busy, out of descriptors or past FD_SETSIZE)
summary-kernel-events = kernel events
summary-kernel-lost = ; { $n } lost (the kernel's buffer was full)
summary-library = library calls
summary-library-value = { $calls }: C library functions, no system calls
summary-library-own = library's own calls
summary-work = other work
summary-work-value = { $n } units done while waiting
summary-room = chat room
summary-room-value = { $joined } joined; { $lines } lines said, { $deliveries } deliveries ({ $bytes } bytes queued for members); { $dropped } dropped for reading too slowly; { $refused } lines refused; the longest queue { $peak } bytes
summary-clients = clients
summary-clients-value = { $accepted } served by { $threads } server thread(s), at most { $open } at once; { $checked }
summary-not-checked = { $app ->
        [chat] lines
       *[echo] echoes
    } are not checked in --serve (the clients are not ours)
summary-checked = { $n } { $app ->
        [chat] expected lines
       *[echo] echoes
    } ({ $bytes } bytes) checked byte for byte{ $failed ->
        [0] {" ✓"}
       *[other] , { $failed } FAILED
    }
summary-state = state lives in
notice-heading = what to notice

## The harness and the scripted clients

listening = listening on { $addr }
client-connects = connects from port { $port }
client-connects-rcvbuf = connects from port { $port }, its receive buffer set to { $bytes } bytes (SO_RCVBUF)
client-sends = sends { $shown } ({ $bytes } bytes)
client-stops-reading = stops reading its echo
client-resumes-reading = reads its echo again
client-expects = expects { $shown } ({ $bytes } bytes) from the room
client-expects-anytime = expects { $shown } from the room at some point
client-expects-drop = expects the server to drop it for reading too slowly
client-resets = closes with SO_LINGER 0: the server gets a reset
client-closes = shuts down writing (FIN), waits for the rest of its echo
client-eof = the server closed the connection (EOF)
client-dropped = the server reset the connection: dropped for reading too slowly, as expected ✓
client-got-anytime = gets a line it expected at some point: { $shown } ✓
client-got-expected = gets what it expected (#{ $n }): { $shown } ({ $bytes } bytes) ✓
client-got-echo = gets the echo of send #{ $n }: { $shown } ({ $bytes } bytes) ✓

## The chat room (--app chat)

room-members = { $count ->
        [0] nobody else is here
        [one] { $shown } queued for the 1 other member
       *[other] { $shown } queued for each of the { $count } other members
    }
room-joined = the room: { $who } joined; { $members }
room-left = the room: { $who } left; { $members }
room-said = the room: { $who } said { $lines ->
        [one] a line
       *[other] { $lines } lines
    }; { $members } ({ $bytes } bytes in all; the longest queue is now { $longest } bytes)
room-dropped = the room: { $who }'s queue would pass { $max } bytes (it is not reading): dropped, so the room goes on and memory stays bounded; its connection is closed next
room-too-long = a line over { $max } bytes: refused, the sender told why, the rest of it skipped
room-bad-name = a bad name: refused, the client told why (it may try another)
room-name-taken = the name { $name } is taken: refused, the client told why
room-deliver = deliver { $n } bytes of the room's lines: { $shown }
room-close-dropped = { $who } read too slowly: dropped from the room, so the room goes on
room-close-left = { $who } left the room and got every line queued for it
room-nameless = a client with no name yet
room-notice-fanout = { $lines } lines read from members became { $deliveries } deliveries (joins and leaves included): in a chat one readable socket means a send to every other member, { $ratio } bytes sent for every byte read
room-notice-kept = no member fell behind: the longest queue was { $peak } bytes (a member is dropped when its queue would pass { $max }, --max-pending)
room-notice-dropped = { $n } member(s) stopped reading: once the kernel's buffers for them were full, their lines waited in our memory, and when a queue would pass { $max } bytes (--max-pending) the server dropped that member (SO_LINGER 0, then close) — the room went on, and no queue grew past { $peak } bytes

## A thread per member (threads --app chat)

threads-writer-start = a new thread ({ $tid }) will send fd { $fd } what the room queues for it; this one reads it
threads-writer-failed = could not start a writing thread for fd { $fd }: that client is dropped
threads-writer-none = no thread to send to it: drop it
threads-member-done = this member is done; its threads end
threads-sndtimeo = a sendto blocked on a full buffer gives up after this long, so we see when the room drops this member meanwhile
threads-writer-sleeps = this thread sleeps on the member's mailbox, a condition variable (futex calls, not shown), until the room queues lines for it
threads-wake-reader = wake this member's reader, asleep in recvfrom (it returns 0): the connection is to close
threads-sent-part = { $n } of { $all } bytes went in before the timeout: the member reads slowly
threads-no-room = no room for { $all } bytes within { $ms } ms: is the member still in the room?
