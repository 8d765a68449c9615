# 内核通道（中文）：它的要点（“值得注意”）、内核事件的说明、附注，以及 async 表格。

## 内核通道的要点（trace/story.rs）

story-handshake = { $client } 的握手在 { $at } 于内核中完成，没有任何进程参与（inet_sock_set_state SYN_RECV → ESTABLISHED）；{ $later } 之后，服务器的 { $call } 才从 accept 队列中取走这个连接
story-first-client = 第一个客户端
story-longest = { $client } 的 { $bytes } 字节在 { $at } 到达内核（sk_data_ready），在那里停留了 { $queued }，直到{ $who }把它们复制到用户空间（sock_recv_length，在 { $inside } 里）{ $busy }
story-busy-in = ：数据到达时，线程正在 { $call } 里
story-who-uring = io_uring 的内核线程
story-who-helper = { $lib } 的辅助线程
story-who-server = 服务器的线程
story-inside-unknown = 某个跟踪中看不到的调用
story-woken = { $total } 条消息中有 { $n } 条到达时，等它们的线程正在睡眠：数据到达后 { $took }（中位数），内核唤醒了它（sched_wakeup）
story-eagain = { $client } 的数据在服务器对其套接字最后一次得到 EAGAIN 之后 { $after } 到达，下一次 recvfrom 在数据到达 { $copied } 后把它复制到用户空间：此前的每一次 EAGAIN，都是一次只得知“还没有”的系统调用
story-signal = { $client } 的数据到达后 { $took }，内核发出了信号（signal_generate）：通知来自数据的交付本身
story-uring = { $armed } 个 RECV 和 ACCEPT 请求发现还没有数据，便在各自的套接字上挂了一个 poll（io_uring_poll_arm：就绪通知，只是下沉了一层）；每次数据到达，都为 ring 的线程排入一项 task work（{ $added } 次 io_uring_task_add）；{ $copies } 次复制中有 { $inside } 次在服务器自己的线程上、在 io_uring_enter 里完成。设置 IORING_SETUP_DEFER_TASKRUN 时，复制要等这个线程下一次进入 io_uring_enter；不设置时，同样的 task work 会在这个线程下次返回用户空间时在它上面运行（会先打断它，除非设置了 IORING_SETUP_COOP_TASKRUN）

## 内核通道的附注（kernel/mod.rs、kernel/merge.rs）

lane-intro = 内核通道：本次运行各线程的 tracepoint，来自一个私有的 ftrace 实例（iomodels-{ $pid }），使用与跟踪相同的时钟（CLOCK_MONOTONIC）；每一行内核事件都是真实的 tracepoint
lane-left-out-server = 内核中略去的：返回 EAGAIN 的 sock_recv_length（每一次都对应跟踪里的一行 recvfrom … = -1 EAGAIN）、什么也没运行的 io_uring_task_work_run（io_uring 的 SQ 线程在循环中轮询），以及除服务器线程外所有线程的调度事件（唤醒、上下文切换、线程启动）（`--kernel=all` 会显示它们）
lane-left-out-all = 内核中略去的：返回 EAGAIN 的 sock_recv_length（每一次都对应跟踪里的一行 recvfrom … = -1 EAGAIN）、什么也没运行的 io_uring_task_work_run，以及打印跟踪的线程的唤醒
lane-raw-syscalls-server = 还有 raw_syscalls：库在其函数内部启动的线程所做的系统调用（glibc 的 AIO 辅助线程），以及库在这些函数里于服务器线程上所做的系统调用（sys_enter、sys_exit）；服务器的其他调用本来就是跟踪自己的行，辅助线程的启动和内存相关调用（mmap、mprotect、rseq 等）已略去（`--kernel=all` 会显示它们）
lane-raw-syscalls-all = 还有 raw_syscalls：库在其函数内部启动的线程所做的系统调用（glibc 的 AIO 辅助线程），以及库在这些函数里于服务器线程上所做的系统调用（sys_enter、sys_exit）；服务器的其他调用本来就是跟踪自己的行
lane-tracefs-mounted = tracefs 原本没有挂载：只为本次运行挂载（在它自己的挂载命名空间里）
lane-missing = 这个内核没有 { $missing }：未记录
lane-serve = --serve：真实客户端的发送在它自己的进程里交付，内核通道不跟踪那个进程：看不到它们的 sk_data_ready、握手的 inet_sock_set_state 和 io_uring_task_add，因此服务器的套接字只能按复制发生时所在调用的描述符来命名（标有 ?）
lane-crowd = 空闲连接群的辅助进程也被跟踪（它是本次运行的子进程）：它的握手按种类各折叠成一行
lane-dropped = 内核丢弃了 { $n } 个事件（缓冲区已满）：上面的内核通道不完整
lane-not-shown = … 还有 { $n } 个内核事件未显示（内核通道最多显示 { $cap } 行；摘要对它们全部计数）
lane-read-failed = 读取内核跟踪失败：{ $why }
lane-lost = 内核在这里丢失了 { $n } 个事件（某个 CPU 的缓冲区已满）：内核通道有缺口
lane-cannot-follow = 无法跟踪 io_uring 的线程 { $tid }：{ $why }
lane-same-again = 同上：{ $note }

## 内核事件的说明（kernel/attribute.rs）

# 线程，以及事件在哪里运行
lane-role-named = { $name } 的线程
lane-role-reader = 客户端 { $client } 的读线程
lane-role-writer = 客户端 { $client } 的写线程
lane-role-client = 客户端 { $client } 的线程
lane-role-harness = 测试框架的线程
lane-role-crowd = 空闲连接群的辅助进程
lane-role-printer = 测试框架的打印线程（主线程）
lane-role-launcher = 测试框架的启动线程
lane-role-idle = 空闲任务（idle）
lane-role-other = 另一个任务（{ $comm }）
lane-on = 在{ $who }上
lane-on-irq = 在{ $who }上，于 { $irq } 处理程序中
lane-on-irq-other = 在 { $irq } 处理程序中，当时 CPU 正在运行{ $who }
lane-inside = （在 { $call } 里）

# 对端
lane-who-port = 端口 { $port } 上的客户端
lane-who-idle = 一个空闲客户端
lane-who-fd = fd { $fd }
lane-who-unnamed = 一个内核通道无法命名的套接字
lane-cli = 客户端 { $client }
lane-arrived-connection = 一个连接
lane-arrived-fin = { $who } 的 FIN
lane-arrived-data = { $who } 的数据
lane-arrived-something = 某些东西

# raw_syscalls
lane-after-ms = （耗时 { $ms } ms）
lane-helper-pread = { $whose }执行这个请求的 I/O：先试 pread64，即在文件偏移处读
lane-helper-read = { $whose }阻塞地读：它在这里睡眠，直到数据到达（阶段 ①），再由内核复制数据（阶段 ②）
lane-helper-write = { $whose }写回显，一直阻塞到数据进入发送缓冲区
lane-helper-futex = { $whose }在一个 futex 上等待（等工作，或等锁）
lane-helper-enters = { $whose }进入 { $call }
lane-library-enters = { $by } 在{ $whose }上进入 { $call }{ $inside }
lane-pread-espipe = { $call } 失败{ $took }：ESPIPE，套接字没有文件位置；{ $by } 改用 read
lane-helper-read-returns = { $call } 返回 { $ret }{ $took }：字节已在程序的缓冲区里，复制发生在{ $whose }上
lane-helper-write-returns = { $call } 返回 { $ret }{ $took }：回显已在发送缓冲区里
lane-clone3 = clone3 返回 { $ret }{ $took }：{ $by } 启动了一个辅助线程（tid { $ret }）{ $inside }
lane-returns = { $call } 返回{ $took }，在{ $whose }上{ $inside }

# sk_data_ready
lane-ready-connection = 有连接可以 accept 了：握手已在内核中完成，{ $on }
lane-ready-client = { $cli } 的套接字有数据可读（回显，或服务器的 FIN），{ $on }
lane-ready-fin = { $who } 的 FIN 到达：读它的套接字将返回 0（流结束）；{ $on }交付
lane-ready-data = { $who } 的数据{ $sent }已到达内核，{ $on }交付：对它来说，数据准备阶段（①）已经结束
lane-it-sent = （它发送了 { $n } 字节）
lane-ready-unnamed = 有东西到达了一个内核通道无法命名的套接字（没看到它的握手），{ $on }

# sock_recv_length
lane-peek = （只是窥视：字节仍留在队列中）
lane-which-inferred = （是哪个套接字：由调用的描述符推断）
lane-client-copied = { $whose }从内核复制出 { $n } 字节回显{ $peek }
lane-client-eof = { $whose }读到服务器的流结束（0 字节）
lane-client-nothing = { $whose }读时还没有数据
lane-copied = 内核把 { $n } 字节从 { $who } 的套接字复制进服务器的缓冲区，{ $on }{ $inside }{ $peek }：阶段 ②，复制到用户空间{ $which }
lane-eof = 内核发现 { $who } 的流已结束：0 字节可复制，{ $on }{ $inside }{ $which }
lane-nothing-yet = { $who } 的套接字上还没有可复制的数据（{ $errno }），{ $on }{ $inside }{ $which }

# inet_sock_set_state
lane-tcp-other = 一个不属于本服务器的套接字的 TCP 状态 { $change }（端口 { $sport } → { $dport }），{ $on }
lane-tcp-listen = 监听套接字已打开：内核自己应答发往端口 { $port } 的 SYN
lane-tcp-listener-closed = 监听套接字已关闭：不再接受连接
lane-tcp-syn-sent = { $cli } 的 connect 发出 SYN，{ $on }
lane-tcp-connected = { $cli } 的连接已建立（SYN-ACK 已返回）：它的 connect 返回
lane-tcp-syn-recv = { $who } 的握手到达监听套接字：内核为它创建一个套接字，没有任何进程参与（{ $on }）
lane-tcp-established = 与 { $who } 的握手已在内核中完成：连接在 accept 队列中等待，直到服务器 accept 它
lane-tcp-fin-wait1 = { $cli } 关闭写方向：它的 FIN 发出
lane-tcp-close-wait = { $who } 的 FIN 到达服务器为它开的套接字：在那里读会返回 0（流结束）
lane-tcp-last-ack = 服务器关闭了为 { $who } 开的套接字：它的 FIN 发出
lane-tcp-fin-wait2 = 服务器一端确认了 { $cli } 的 FIN
lane-tcp-time-wait = { $cli } 收到服务器的 FIN：它的套接字进入 TIME_WAIT 等待
lane-tcp-server-closed = 服务器为 { $who } 开的套接字彻底关闭
lane-tcp-client-closed = { $cli } 的套接字彻底关闭
lane-tcp-server-state = 服务器为 { $who } 开的套接字的 TCP 状态：{ $change }
lane-tcp-client-state = { $cli } 的套接字的 TCP 状态：{ $change }

# 调度器
lane-wakeup = 内核唤醒{ $wakee }{ $asleep }：它可以再次运行，目标 CPU { $cpu }（唤醒发生{ $waker }）
lane-asleep-in = （它正睡在 { $call } 里）
lane-switch-out = { $prev }{ $how }{ $inside }{ $then }
lane-switch-in-call = （在 { $call } 中）
lane-switch-then-runs = ；{ $next }运行
lane-switch-then-cpu = ；CPU 转而运行{ $next }
lane-switch-in = { $next }在 CPU { $cpu } 上重新运行（接在{ $prev }之后）
lane-state-preempted = 被抢占（仍可运行）
lane-state-yields = 让出 CPU（仍可运行）
lane-state-sleeps = 进入睡眠
lane-state-uninterruptible = 进入不可中断的睡眠
lane-state-stopped = 被停止
lane-state-ends = 结束
lane-state-idle = 进入空闲
lane-state-leaves = 离开 CPU
lane-new-thread = 一个新线程，tid { $tid }
lane-fork-named = { $whose }，tid { $tid }
lane-fork = { $parent }启动了{ $named }（clone）：内核通道从它的第一条指令起就跟踪它
lane-exec = tid { $tid } 变成一个独立的程序（{ $file }）：空闲连接群的辅助进程，同样被跟踪

# 信号
lane-signal-delivered = 已投递
lane-signal-ignored = 被忽略
lane-signal-pending = 已在等待投递：与它合并
lane-signal-no-memory = 已排队，但没有附带细节（内存不足）
lane-signal-dropped = 被丢弃（目标已不存在）
lane-signal-arrived = 内核为{ $whom }发出 { $signal }（{ $result }）：{ $arrived }刚刚在这个线程上到达（推断：来自它之前的 sk_data_ready）
lane-signal = 内核为{ $whom }发出 { $signal }（{ $result }）

# io_uring
lane-uring-create = 内核创建 ring：{ $sq } 个提交队列项，{ $cq } 个完成队列项（setup 标志 { $flags }）
lane-uring-submit = 内核从提交队列取出 SQE { $sqe }，{ $on }{ $inside }
lane-uring-file-get = 内核为 key { $key } 查找描述符 { $fd }
lane-uring-poll-arm = { $req } 还没有数据：内核在套接字上挂一个 poll，等它就绪后重试（就绪通知，只是下沉了一层）
lane-uring-task-add = 套接字对 { $req } 已就绪：内核把重试作为 task work 排给 ring 的线程，{ $on }（DEFER_TASKRUN：它在那个线程下一次 io_uring_enter 时运行）
lane-uring-work-run = { $whose }运行了 ring 的 { $count } 项 task work{ $inside }：重试的请求（及其复制）在这里运行
lane-uring-complete = 内核发布 { $req } 的完成事件：结果 { $res }，{ $on }{ $inside }
lane-uring-cqring-wait = { $whose }等待 { $n } 个完成事件{ $inside }
lane-uring-async-work = 内核把 { $req } 交给一个 io-wq 工作线程（它无法在不阻塞的情况下完成）
lane-uring-failed = { $req } 在内核中失败

## iomodels async（compare/asynchrony.rs）

async-none = 这里没有能运行的图 6.4 或图 6.5 的模型（见 `iomodels list`）
async-head-run = 运行
async-head-waited = ① 等待（谁，在哪个调用里）
async-head-copied = ② 复制（哪个线程）
async-head-calls = 每次回显的调用数
async-head-completions = 每次提交的完成数
async-head-extra = 额外线程
async-waited-in = { $actor } 在 { $call } 里
async-sep = 、
async-server-running = 没有服务器调用（服务器正在运行）
async-woke = ；数据唤醒了 { $on }（内核通道）
async-copied-inside = { $on }，在 { $call } 里（内核通道）
async-copied-on = { $on }（内核通道）
async-itself-inside = { $actor } 自己，在 { $call } 里（推断：它在这次发送期间一直睡着）
async-itself-in = { $actor } 自己，在 { $call } 里（推断）
async-by-kernel = 内核
async-by-library = 某个库的线程
async-told = { $by }；由 { $call } 告知 { $actor }（推断）
async-failed = 失败：{ $why }
async-no-lane = —（需要 `--kernel`）
# 表格下面对各列的说明。
async-legend =
    每次运行都跟踪第一个发送数据的客户端（classroom 场景中是 A）。
    ① 等待：A 发送时正在睡眠的服务器调用；加上 --kernel 时，还有被 A 的数据唤醒的线程。
    ② 复制：内核复制 A 的字节时运行在哪个线程上、当时在哪个调用里（内核通道的
      sock_recv_length）；没有内核通道时，是报告这些字节的那一行（推断）。
    每次回显的调用数：从客户端的第一个动作到最后一个，服务器的系统调用数除以回显的消息数，
      不计超时而一无所获的等待；库函数不是系统调用。
    每次提交的完成数：每个 SQE、io_submit 或 aio_read/write 对应的 CQE、AIO 事件或 aio_return 数。
    额外线程：内核通道看到的、为服务器工作但并非由它启动的线程。
