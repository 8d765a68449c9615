# 完成通知模型：io_uring、Linux AIO、POSIX AIO，以及它们共用的部分。

## 完成通知模型共用

completion-done = 客户端已结束，数据全部回显完毕
completion-dropped = 已被踢出

## io_uring：模型

uring-refused = 这里运行不了 `uring{ $sqpoll }`：{ $why }。请改用 `iomodels { $instead }`
uring-multishot-refused = 这里运行不了 `uring --multishot`：这个内核不接受提供缓冲区环（{ $why }；Linux 5.19 起才有）。请改用 `iomodels uring`
uring-cancel-run-over = 运行结束：取消这个操作
uring-cancel-dropped = 有成员被踢出聊天室：取消它的操作
uring-cancel-dropped-send = 有成员被踢出聊天室：取消它的发送
uring-cancel-send-failed = 发送失败：把接收也取消，然后关闭
uring-cancel-ending = 连接正在结束：取消它的 recv
uring-cancel-full = 它的队列已满：先取消 recv，等队列排空再说
uring-accept-later = 描述符用完，也没有客户端在等：下一个 accept 过 20 ms 再提交，而不是马上（马上提交会立即失败，永无止境）
uring-multishot-accept-later = 描述符用完，也没有客户端在等：accept 过 20 ms 再重新挂上，而不是马上（马上挂会立即失败，永无止境）
uring-multishot-reserve = 一开始就预留一个描述符：multishot accept 不经我们同意就取用描述符，可能在我们留出一个之前就拿走最后一个，到 EMFILE 时就没法拒绝客户端了
uring-notice-per-echo = 每条回显消息 { $per } 次系统调用（共 { $echoes } 次回显）；加上 --sqpoll，由内核的 SQ 线程取走 SQE，它自己的 CPU 用量在摘要之前给出
uring-notice-recvs = 服务器自己只调用了 { $recvs } 次 recv：全部 { $bytes } 字节都由内核复制进我们的缓冲区，{ $sqes } 个提交（SQE）换来 { $cqes } 个完成（CQE）
uring-notice-enters = 共 { $calls } 次系统调用，其中 io_uring_enter { $enters } 次：{ $timeouts } 次等了 1 ms 空手而回（ETIME），好让线程去做别的工作；其余 { $other } 次交出了 SQE，或带着完成事件返回
uring-notice-state = 状态保存在程序自己的 key → 回调表里（同时在途的 key 最多 { $keys } 个），而不像 `threads` 那样放在线程栈上；请求在内核里等待时，这一个线程做了 { $work } 个单位的其他工作（复制本身也在这个线程上、在 io_uring_enter 里面进行：见 --kernel）

## io_uring：环的系统调用与操作

uring-setup-no-sqpoll = 这个内核不接受 IORING_SETUP_SQPOLL（Linux 5.13 之前需要 CAP_SYS_NICE 或 root；EINVAL：早于 5.1）
uring-setup-nosys = 这个内核没有 io_uring（ENOSYS）
uring-setup-disabled = 这里禁用了 io_uring（EPERM：sysctl kernel.io_uring_disabled，或容器之类的 seccomp 策略）
uring-setup-failed = io_uring_setup 失败
completion-unavailable = { $why }：{ $error }
uring-setup-sqpoll = 两个各 { $entries } 项的环，外加一个内核线程（iou-sqp）自己从环里取 SQE，空闲 { $idle } ms 后睡眠（SQPOLL：Linux 5.1；5.13 起无需特权）
uring-setup = 一个提交队列环和一个完成队列环，各 { $entries } 项，位于内核内存中
uring-map-failed = io-uring crate 没能把环映射进我们的内存（{ $why }）；它关闭了这个环
uring-mmap = io-uring crate 把{ $what }映射进我们的内存：{ $why }
uring-munmap = io-uring crate 解除{ $what }的映射
uring-close = io-uring crate 关闭这个环，它的内存已解除映射
uring-map-sqes = 存放 SQE 的数组
uring-map-rings = 提交队列环和完成队列环
uring-map-sq = 提交队列环
uring-map-cq = 完成队列环
uring-map-why-sqes = { $n } 个 64 字节的 SQE：我们在这里写下每个操作，由内核读取
uring-map-why-cq = CQ 环的头、尾指针和 { $n } 个 16 字节的 CQE，由内核写入
uring-map-why-single = 两个环共用一个映射（IORING_FEAT_SINGLE_MMAP）：SQ 环的头、尾指针和 { $sq } 个索引，以及 CQ 环的 { $cq } 个 16 字节 CQE
uring-map-why-sq = SQ 环的头、尾指针和 { $n } 个指向 SQE 数组的索引
uring-sqe-accept = 替我们 accept 下一个连接，并用这个 key 告诉我们
uring-sqe-recv = 等待数据并复制进我们的缓冲区：缓冲区现在归内核使用
uring-sqe-echo = 回显 { $n } 字节：{ $shown }
uring-sqe-deliver = 转发 { $n } 字节：{ $shown }
uring-sqe-accept-multi = 来一个连接就 accept 一个，都用这同一个 key 报告（multishot accept：Linux 5.19）
uring-sqe-recv-multi = 只要有数据就一直接收，放进内核从我们的环里挑选的缓冲区（multishot recv：Linux 6.0）
uring-getpeername = 对方是谁？multishot accept 不写对端地址：fd 由下面的 CQE 带来
uring-enter-woke = 内核的 SQ 线程已经睡着了（IORING_SQ_NEED_WAKEUP）：为 { $n } 个 SQE 唤醒它；{ $ready } 个完成已就绪
uring-enter-sqpoll = SQE 由 SQ 线程取走；我们只是等待：{ $ready } 个完成已就绪
uring-enter = 把 { $n } 个 SQE 交给内核；{ $ready } 个完成已就绪
uring-enter-timeout = 1 ms 内没有完成事件：回去做别的工作
uring-unknown-key = 未知 key { $key } 的完成事件
uring-armed-more = 它仍然有效（F_MORE）
uring-armed-last = 这是它最后一个 CQE（没有 F_MORE）
uring-cqe-accept-multi = 一个已经 accept 好的连接：fd { $fd }；{ $armed } → on_accepted
uring-cqe-fin-multi = 0 字节：客户端关闭了写方向（FIN）；{ $armed } → on_received
uring-cqe-recv-multi = 内核挑了缓冲区 { $buffer }，把 { $n } 字节复制了进去：{ $shown }；{ $armed } → on_received
uring-cqe-nobufs = 提供的缓冲区用完了（ENOBUFS）：这个 recv 到此结束，等缓冲区还回来再说
uring-cqe-cancelled-multi = 按我们的要求取消；{ $armed }
uring-cqe-accept = 一个已经 accept 好的连接：fd { $fd } → on_accepted
uring-cqe-fin = 0 字节：客户端关闭了写方向（FIN）→ on_received
uring-cqe-recv = 内核已经把 { $n } 字节复制进我们的缓冲区：{ $shown } → on_received
uring-cqe-send = 内核收下 { $n } 字节去发送 → { $then }
uring-cqe-cancel = 已取消
uring-cqe-cancelled = 按我们的要求取消
uring-cqe-too-late = 没有可取消的：它已经完成了
uring-cqe-shut = 监听套接字已关闭：运行结束
uring-fdinfo-open = 这个环在 /proc 中的条目：它写明内核的 SQ 线程及其 CPU 用量
uring-fdinfo-read = 环的状态，{ $n } 字节
uring-fdinfo-close = 读完环的 /proc 条目
uring-sq-cpu = 内核的 SQ 线程（iou-sqp，tid { $tid }）用了 { $total } ms CPU（其中 { $work } ms 用于取走我们的 SQE），另计在下面本线程的 CPU 之外：它轮询这个环，我们就不必进入内核
uring-sq-tid = 内核的 SQ 线程是 tid { $tid }；这个内核的 fdinfo 不给出它的 CPU 时间（SqTotalTime：Linux 6.14）：见 /proc/self/task/{ $tid }/schedstat
uring-sq-none = 环的 fdinfo 没有写明 SQ 线程
uring-register = 借给内核 { $count } 个 { $size } 字节的缓冲区，放在一个环里由它取用（提供缓冲区：Linux 5.19）
uring-unregister = 内核把提供的缓冲区还回来

## Linux AIO：模型

aio-refused = 这里运行不了 `aio`：{ $why }。请改用 `iomodels epoll`
aio-never-waits = 在 poll 和 accept4 之间放弃的客户端，不能让 accept4 等待（UNP §16.6）
aio-accept = poll 说有客户端在等
aio-no-write = 没有提交过写操作
aio-poll-listener = AIO 没有 accept：有客户端在等时，用这个 key 告诉我们
aio-listener-failed = 监听套接字的 poll 失败
aio-failed-or-over = 连接出错（或者它不读数据时运行已结束）：丢弃它
aio-poll-listener-fd = 有客户端在等时告诉我们（key = 监听套接字的描述符）
aio-poll-accept = poll 说监听套接字可读：有客户端在等
aio-poll-client = 新客户端发来数据或挂断时告诉我们
aio-poll-again = 再 poll 一次（一个 poll 只触发一次）
aio-poll-writable = 它的发送缓冲区有空间放下聊天室剩下的行时告诉我们
aio-notice-poll-submits = { $submits } 次 io_submit，每次一个 IOCB_CMD_POLL，都立即返回；等待由 io_getevents 完成（数据准备阶段 { $ms } ms），它交回 poll 掩码
aio-notice-poll-own = 服务器自己的 { $own } 次 recvfrom 复制了 { $bytes } 字节（复制到用户空间阶段）：这是就绪通知（图 6.3），只是经由 AIO 送达
aio-notice-submits = { $submits } 次 io_submit 共睡了 { $ms } ms：每个 IOCB_CMD_PREAD 都在提交它的调用里执行，在那里等客户端（数据准备阶段）并复制（复制到用户空间阶段）；之后 io_getevents 立刻拿到它的 { $events } 个事件
aio-notice-stall = 客户端 { $client } 的 { $bytes } 字节在内核里放了 { $ms } ms 服务器才读：线程正睡在另一个客户端的 io_submit 里——一个慢客户端拖住所有其他客户端
aio-notice-blocking = 内核复制了 { $bytes } 字节，{ $submits } 次提交对应 { $events } 个事件；服务器没做任何其他工作：一个完成式接口，行为却像阻塞模型

## Linux AIO：上下文的系统调用

aio-setup-nosys = 这个内核没有 AIO（ENOSYS：编译时没有 CONFIG_AIO）
aio-setup-eagain = 系统的 AIO 事件已经用完（EAGAIN：见 /proc/sys/fs/aio-max-nr）
aio-setup-eperm = 这里不允许使用 AIO（EPERM：也许是 seccomp 策略？）
aio-setup-failed = io_setup 失败
aio-setup = 一个 AIO 上下文（ctx，由内核写入的句柄）：它最多为我们排队 { $nr } 个已完成的事件
aio-events = { $n } 个事件：{ $keys }
aio-unknown-key = 未知 key { $key } 的事件
aio-destroy = 释放 AIO 上下文（仍在途的 poll 会被取消）
aio-shutdown = 为了关闭它：先结束它在途的 poll（它们让套接字保持打开）
aio-rcvtimeo = 睡在 io_submit 里的线程没有任何办法唤醒：让读操作 1 s 后放弃，停止的请求才能传到我们这里
aio-sndtimeo = 回显用的 sendto 在客户端不读时也会睡着，同样 1 s 后放弃
aio-read-slept = 读操作在 io_submit 里面执行：它在这里睡到数据到来（数据准备阶段），内核复制数据（复制到用户空间阶段），然后 io_submit 才返回——这期间谁也没被服务
aio-read-at-once = 读操作在 io_submit 里面执行：数据已经在了，所以它立即返回，复制也已完成
aio-context-full = 上下文已满：放不下另一个事件（io_setup 的 nr_events）
aio-read-copied = { $n } 字节，早在 io_submit 里面就已复制进我们的缓冲区：{ $shown }
aio-poll-ready = 就绪：{ $mask }
aio-read-timeout = 1 s 内没有数据（SO_RCVTIMEO）：io_submit 放弃了

## POSIX AIO：模型

posix-aio-thread-start = 一个新线程（{ $tid }）运行 AIO 循环；本线程负责 accept，并按门铃
posix-aio-thread-failed = 无法启动 AIO 线程（{ $why }）
posix-aio-no-thread = 无法启动 AIO 线程
posix-aio-accept = 睡到有客户端连上来；由 AIO 线程服务它
posix-aio-thread-ended = AIO 线程已经结束：丢弃这个连接
posix-aio-hang-up = 挂断门铃：辅助线程对它的 read 返回 0，AIO 线程随之结束运行
posix-aio-joining = 等 AIO 线程完成它的请求
posix-aio-panicked = AIO 线程 panic 了
posix-aio-bell-hung-up = accept 的线程挂断了门铃
posix-aio-client-done = 客户端发送完毕
posix-aio-bell-close = 门铃已挂断：关闭我们这一端
posix-aio-bell-read = 一个始终在途的门铃 read：新连接一来，aio_suspend 就结束
posix-aio-shut-run-over = 运行结束：让辅助线程对它的 read 结束，这个请求才能完成
posix-aio-dup-close = 它的写操作所用的那个副本描述符
posix-aio-shut-dropped = 已被踢出聊天室：让辅助线程对它的 read 和 write 结束，请求完成后它才能关闭
posix-aio-dup = 给它的写操作另开一个描述符：glibc 对同一个描述符的请求依次处理，而它的 read 要等到这个成员开口才会完成
posix-aio-shut-no-dup = 没有描述符可供它写：结束它的 read，然后关闭它
posix-aio-submit-deliver = 立即返回：由 glibc 的一个辅助线程写出聊天室的行
posix-aio-shut-refused = glibc 不接受这个写请求：结束它的 read，然后关闭它
posix-aio-shut-write-failed = 写操作失败：把它的 read 也结束，然后关闭它
posix-aio-submit-read = 立即返回：由 glibc 的一个辅助线程去读，阻塞地读
posix-aio-read-refused = glibc 不接受这个读请求：丢弃这个连接
posix-aio-submit-write = 立即返回：由 glibc 的一个辅助线程把它写出去
posix-aio-write-refused = glibc 不接受这个写请求：丢弃这个连接
posix-aio-notice-returned = { $reads } 次 aio_read 和 { $writes } 次 aio_write 都立即返回：glibc 把每个请求排给它自己的一个辅助线程，由它做阻塞的 read 或 write——这些线程的 read 把 { $bytes } 字节复制进我们的缓冲区（复制到用户空间阶段发生在本进程的另一个线程上）
posix-aio-notice-suspend = AIO 线程在 { $suspends } 次 aio_suspend 里共睡了 { $ms } ms，每次都交出在途请求的完整列表，之后又用 aio_error 问了 { $errors } 次哪个已完成（不是系统调用，但要逐个查看每个请求，就像 select 的调用者逐个查看每个描述符）
posix-aio-notice-accept = POSIX AIO 没有 accept：主线程在 accept4 里接受了 { $clients } 个客户端，每来一个就按一次门铃；glibc 默认最多运行 20 个辅助线程（见 aio_init），所以空闲客户端超过 20 个后，下一个 read 只能在队列里等——异步接口背后，是一个做阻塞读的线程池

## POSIX AIO：glibc 的调用

posix-aio-submit-again = glibc 没法把它排进队列（资源不足）
posix-aio-submit-refused = glibc 拒绝了这个请求
posix-aio-suspended = 睡到某个辅助线程完成了这 { $n } 个请求中的一个（数据准备阶段发生在它的 read 里）
posix-aio-suspend-intr = 一个信号打断了等待
posix-aio-suspend-failed = 等待失败
posix-aio-error-done = 已完成：结果已经就绪
posix-aio-error-in-progress = 还在某个辅助线程手里
posix-aio-error-failed = 已完成，但失败了
posix-aio-return-zero = 辅助线程的 read 返回 0：{ $of }
posix-aio-return-read = 辅助线程的 read 把 { $n } 字节复制进了我们的缓冲区：我们去看之前就已完成
posix-aio-return-write = 辅助线程的 write 发出了 { $n } 字节
posix-aio-return-failed = 辅助线程的调用失败
posix-aio-doorbell = 一个门铃：accept 的线程写入一个字节，辅助线程对它的 read 就会让 aio_suspend 结束
posix-aio-ring = 按门铃：辅助线程对它的 read 完成，aio_suspend 随之返回
