# 内核通道（中文）：它的要点（“值得注意”）、内核事件的说明、附注，以及 async 表格。

## 内核通道的要点（trace/story.rs）

story-handshake = { $client } 的握手在 { $at } 于内核中完成，没有任何进程参与（inet_sock_set_state SYN_RECV → ESTABLISHED）；{ $later } 之后，服务器的 { $call } 才从 accept 队列中取走这个连接
story-first-client = 第一个客户端
story-longest = { $client } 的 { $bytes } 字节在 { $at } 到达内核（sk_data_ready），在那里停留了 { $queued }，直到{ $who }把它们复制到用户空间（sock_recv_length，在 { $inside } 里）{ $busy }
story-busy-in = ：数据到达时，线程正在 { $call } 里
story-who-uring = io_uring 的内核线程
story-who-helper = { $lib } 的辅助线程
story-who-server = 服务器的线程
story-inside-unknown = 某个追踪中看不到的调用
story-woken = { $total } 条消息中有 { $n } 条到达时，等它们的线程正在睡眠：数据到达后 { $took }（中位数），内核唤醒了它（sched_wakeup）
story-eagain = { $client } 的数据在服务器对其套接字最后一次得到 EAGAIN 之后 { $after } 到达，下一次 recvfrom 在数据到达 { $copied } 后把它复制到用户空间：此前的每一次 EAGAIN，都是一次只得知“还没有”的系统调用
story-signal = { $client } 的数据到达后 { $took }，内核发出了信号（signal_generate）：通知来自数据的交付本身
story-uring = { $armed } 个 RECV 和 ACCEPT 请求发现还没有数据，便在各自的套接字上挂了一个 poll（io_uring_poll_arm：就绪通知，只是下沉了一层）；每次数据到达，都为 ring 的线程排入一项 task work（{ $added } 次 io_uring_task_add）；{ $copies } 次复制中有 { $inside } 次在服务器自己的线程上、在 io_uring_enter 里完成。设置 IORING_SETUP_DEFER_TASKRUN 时，复制要等这个线程下一次进入 io_uring_enter；不设置时，同样的 task work 会在这个线程下次返回用户空间时在它上面运行（会先打断它，除非设置了 IORING_SETUP_COOP_TASKRUN）

## 内核通道的附注（kernel/mod.rs、kernel/merge.rs）

lane-intro = 内核通道：本次运行各线程的 tracepoint，来自一个私有的 ftrace 实例（iomodels-{ $pid }），使用与追踪相同的时钟（CLOCK_MONOTONIC）；每一行内核事件都是真实的 tracepoint
lane-left-out-server = 内核中略去的：返回 EAGAIN 的 sock_recv_length（每一次都对应追踪里的一行 recvfrom … = -1 EAGAIN）、什么也没运行的 io_uring_task_work_run（io_uring 的 SQ 线程在循环中轮询），以及除服务器线程外所有线程的调度事件（唤醒、上下文切换、线程启动）（`--kernel=all` 会显示它们）
lane-left-out-all = 内核中略去的：返回 EAGAIN 的 sock_recv_length（每一次都对应追踪里的一行 recvfrom … = -1 EAGAIN）、什么也没运行的 io_uring_task_work_run，以及打印追踪的线程的唤醒
lane-raw-syscalls-server = 还有 raw_syscalls：库在其函数内部启动的线程所做的系统调用（glibc 的 AIO 辅助线程），以及库在这些函数里于服务器线程上所做的系统调用（sys_enter、sys_exit）；服务器的其他调用本来就是追踪自己的行，辅助线程的启动和内存相关调用（mmap、mprotect、rseq 等）已略去（`--kernel=all` 会显示它们）
lane-raw-syscalls-all = 还有 raw_syscalls：库在其函数内部启动的线程所做的系统调用（glibc 的 AIO 辅助线程），以及库在这些函数里于服务器线程上所做的系统调用（sys_enter、sys_exit）；服务器的其他调用本来就是追踪自己的行
lane-tracefs-mounted = tracefs 原本没有挂载：只为本次运行挂载（在它自己的挂载命名空间里）
lane-missing = 这个内核没有 { $missing }：未记录
lane-serve = --serve：真实客户端的发送在它自己的进程里交付，内核通道不跟踪那个进程：看不到它们的 sk_data_ready、握手的 inet_sock_set_state 和 io_uring_task_add，因此服务器的套接字只能按复制发生时所在调用的描述符来命名（标有 ?）
lane-crowd = 空闲连接群的辅助进程也被跟踪（它是本次运行的子进程）：它的握手按种类各折叠成一行
lane-dropped = 内核丢弃了 { $n } 个事件（缓冲区已满）：上面的内核通道不完整
lane-not-shown = … 还有 { $n } 个内核事件未显示（内核通道最多显示 { $cap } 行；摘要对它们全部计数）
lane-read-failed = 读取内核追踪失败：{ $why }
lane-lost = 内核在这里丢失了 { $n } 个事件（某个 CPU 的缓冲区已满）：内核通道有缺口
lane-cannot-follow = 无法跟踪 io_uring 的线程 { $tid }：{ $why }
lane-same-again = 同上：{ $note }
