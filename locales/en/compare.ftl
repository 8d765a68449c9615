# compare's tables and figure, in English.

table-model = model
table-syscalls =
    system
    calls
table-blocked =
    ①
    blocked
table-spinning =
    ①
    spinning
table-free =
    ①
    free
table-copy-paths =
    ②
    copy paths
table-recv-calls =
    ②
    recv calls
table-cpu =
    server
    CPU
table-work =
    other
    work
table-most =
    most at
    once
table-bytes-in =
    bytes in:
    us/kernel
table-deliveries = deliveries
table-send-calls =
    send
    calls
table-dropped = dropped
table-peak =
    peak
    queue
table-failed = failed: { $why }

## The side-by-side columns

cols-then = then the server calls…
cols-before = before the first step
cols-page = side by side, page { $page } of { $pages }
cols-listener = listener set up ({ $n } calls)
cols-more = … { $n } more calls
step-connects = connects
step-sends = sends { $shown }
step-closes = closes
step-resets = resets
step-stops-reading = stops reading
step-reads-again = reads again
step-expects = expects { $shown }
step-expects-drop = expects to be dropped
step-waiting = ; { $clients } { $count ->
        [one] expects
       *[other] expect
    } lines

## Figure 6.6

fig-none = no client sends anything in this scenario: no figure to draw
fig-followed = Client { $client }'s first message
fig-followed-chat = Client { $client }'s first line to the room (after its name)
fig-how-lane = with the kernel lane: ① from the start of the wait to the data's arrival (sock:sk_data_ready); ② the copy path, from the call's start (or the thread's running again inside it) to the end of the copy (sock:sock_recv_length). The table below splits what came between: the wake-up (sched:sched_wakeup), the thread's running again (sched:sched_switch; "not recorded" where the kernel emitted no switch, and the next column then counts from the wake-up), and the way to the copy path (returning from the wait, the call that reads)
fig-how-user = from user space, which cannot see the copy itself: ② "recv" is the length of the call that only copied; "send→return" (one blocking call did both stages) is the time from the client's send to the call's return, delivery, wake-up and copy together; "send→CQE" is the time from the client's send to our reading the completion (the kernel copied somewhere in between). `--kernel` measures the copy
fig-legend = UNP figure 6.6, measured { $how }. { $followed }, from when the server began waiting for it until the bytes were in its buffer ({ $blocked } blocked  { $spinning } spinning  { $free } free  { $copy } copying; ② is drawn at least one cell wide)
fig-blocked = blocked
fig-spinning = spinning
fig-free = free
fig-copying = copying
fig-told = told by { $told }

## What tells each model that stage ① is over (the registry's `told`)

aio-told = io_submit returning
apc-told = a completion routine, run inside the thread's alertable wait
blocking-told = the call returning
epoll-told = readiness
iocp-told = a completion packet
kqueue-told = readiness
nonblocking-told = a recv that succeeds
poll-told = readiness
portable-told = readiness
posix-aio-told = aio_suspend + aio_error
reactors-told = readiness
select-told = readiness
sigio-told = a signal
threads-told = the call returning
uring-told = a completion
wsaevent-told = readiness (an event object signalled, then WSAEnumNetworkEvents)

## The kernel lane's decomposition of figure 6.6 (compare --kernel).
fig-copy-path = copy path
lane-col-model = model
lane-col-woken = arrival →
    woken
lane-col-runs = woken →
    runs
lane-col-to-path = → copy
    path
lane-col-path = ② copy
    path
lane-col-on = copy ran on
lane-col-meanwhile = meanwhile, the kernel
    (+ after the arrival)
lane-row-unseen = not seen by the lane
lane-row-on-cpu = on a CPU
lane-row-unrecorded = not recorded
lane-row-preempted = preempted
lane-row-inside = , in { $call }
lane-row-signal = raised the signal +{ $after }
lane-row-task-work = queued task work +{ $after }
lane-row-eagain = answered EAGAIN −{ $before }
