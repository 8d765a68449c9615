# 其余各模型的中文（简体）消息：先是模型注册表的说明，再是各模型及其下的系统调用。
# 每个 id 都必须在 ../en/models.ftl 中也有（测试会检查）。

## 模型注册表：每个模型演示什么（`iomodels list`），状态保存在哪里

blocking-summary = 一次只服务一个客户端；每个调用都睡眠到完成为止
blocking-state = 服务器唯一的栈：只能容纳正在服务的那一个连接
threads-summary = 每个客户端一个线程，各自阻塞在自己的 recv 里
threads-state = 每个连接的状态都在它自己线程的栈上；由内核调度这些线程
nonblocking-summary = O_NONBLOCK 套接字，在循环里轮询：EAGAIN、EAGAIN、…… 数据
nonblocking-state = 循环逐个查看的连接列表；每一项保存它尚未发出的回显
select-summary = select(2) 睡在 fd_set 位图上；进程扫描位图，找出谁就绪了
select-state = 一个连接列表；每次 select 之前都从它重建两个 fd_set 位图
poll-summary = poll(2) 睡在 pollfd 数组上；进程遍历数组查看 revents
poll-state = 一个连接列表，旁边保留一个 pollfd 数组，每个连接一项
reactors-summary = 每个线程一个 epoll 循环：客户端连接时，谁会被唤醒？
reactors-state = 每个线程有自己的连接映射表，登记在自己 epoll 的关注列表里；连接始终留在 accept 它的线程
kqueue-summary = kqueue/kevent：过滤器只注册一次；一个调用既修改关注又等待
kqueue-state = 循环自己持有的连接映射表；关注（每个套接字一个过滤器）保存在内核里
portable-summary = polling crate（类似 Python 的 selectors）：Linux 上用 epoll，macOS/BSD 上用 kqueue，Windows 上用 IOCP
portable-state = 一张从 key 到连接的映射表；关注列表保存在内核里（Windows 上由 polling 保存），每个事件之后都要重新登记
sigio-summary = O_ASYNC 套接字：实时信号告诉我们哪个套接字有变化；然后 recv
sigio-state = 一个连接列表；信号的 si_fd 告诉我们该看哪一个
uring-summary = io_uring：带着 key 提交 accept/recv/send；由内核完成它们，连数据一起
uring-state = 程序自己持有的 key → 回调表（io_uring 的 user_data），而不是线程栈
aio-summary = Linux AIO：io_submit 一个带 key 的读，io_getevents 取它的事件——但套接字的读其实在 io_submit 里面就做完了
aio-state = 程序自己持有的 key → 回调表（iocb 的 aio_data），但线程睡在某个客户端的 io_submit 里
posix-aio-summary = POSIX aio_read + aio_suspend（glibc）：立即返回，因为 glibc 的辅助线程在替我们做阻塞读
posix-aio-state = 每个请求一个 aiocb，在程序的内存里；glibc 的队列，以及为它执行的每个请求阻塞在 read 里的辅助线程
wsaevent-summary = WSAEventSelect：每个套接字一个事件对象，一个线程等在 WSAWaitForMultipleEvents 里（最多 64 个）
wsaevent-state = 一个连接列表，每个连接带着它的事件对象；线程等待的就是这些事件组成的数组
apc-summary = 完成例程：重叠的 WSARecv/WSASend 在发起它的线程上回调，发生在该线程的可警告等待之中
apc-state = 程序自己持有的 key → 回调表（OVERLAPPED 的地址），只在唯一能收到结果的那个线程上
iocp-summary = I/O 完成端口：重叠的 AcceptEx/WSARecv/WSASend；由 Windows 完成它们，连数据一起
iocp-state = 程序自己持有的 key → 回调表（OVERLAPPED 的地址），而不是线程栈

## 各模型关闭连接的原因

models-dropped = 已被踢出聊天室
aio-submit-failed = io_submit 失败：丢弃它
aio-delivered = 客户端已结束，所有内容都已送达
models-run-over = 运行结束
models-conn-failed = 连接出错：丢弃它
models-conn-done = 全部回显完毕，客户端也已结束

## poll

poll-accept = poll 说监听套接字可读：有客户端在等
poll-ready = 内核检查了全部 { $watched } 项（自上次调用以来我们改写了 { $rewritten } 项）；我们再遍历全部 { $watched } 项，找出 { $n } 项有 revents：{ $which }
poll-failed = poll 失败
poll-notice-wakeups = 唤醒 { $wakeups } 次；每次平均把 { $watched } 项的 pollfd 数组交给内核，再遍历它找出 { $ready } 个就绪——没有 FD_SETSIZE 的上限（最大的描述符是 { $max }），但仍是线性扫描
poll-notice-kept = 数组在调用之间一直保留：我们只改写了 { $rewritten } 项（有客户端来去，或它的关注变了）；若像 select 重建集合那样每次调用前都重建，就要写 { $all } 项
poll-notice-slept = 运行 { $run } ms，共 { $calls } 次系统调用，服务器 CPU { $cpu } ms：没有就绪时线程睡在 poll 里

## select

select-accept = select 说监听套接字可读：有客户端在等
select-refused = 拒绝：{ $why }
select-ready = { $checked }，用 FD_ISSET 找出 { $n } 个就绪：读 { $reading }，写 { $writing }
select-failed = select 失败
select-checked = 内核检查了 { $nfds } 个描述符位置；我们测试 { $listed } 个位
select-wall = 描述符 { $fd } ≥ FD_SETSIZE（{ $size }），在 fd_set 里没有对应的位，select 无法关注它
select-wall-hit = FD_SETSIZE 的上限：已 accept 的 { $accepted } 个连接中有 { $refused } 个拿到的描述符 ≥ { $size }（最大的是 { $max }），都被拒绝——fd_set 正好只有 { $size } 位；其中的场景客户端都被拒之门外（跟踪里它的那一栏会写明）
select-wall-not-hit = 最大的描述符是 { $max }：select 只能关注 0‥{ $last } 的描述符（FD_SETSIZE）；试试 --idle 1100，就会撞上这个上限
select-notice-wakeups = 唤醒 { $wakeups } 次；每次进程用 FD_ISSET 测试 { $watched } 个描述符，找出 { $ready } 个就绪——线性扫描，而且每轮循环都从头重建

## blocking

blocking-accept = 睡眠，直到有客户端连上来
blocking-done = 这个客户端服务完了：现在才能服务下一个
blocking-waiting-none = 内核里还没有这个客户端的数据
blocking-waiting = 内核里已有 { $n } 字节在等：它们是我们服务别人时到达的
blocking-waiting-failed = 无法查询
blocking-notice-head = 客户端 { $client } 的 { $bytes } 字节在内核里放了 { $ms } ms 才被服务器读走：服务器正阻塞在另一个客户端上（队头阻塞）
blocking-notice-open = 同时服务的客户端最多 { $n } 个——阻塞式服务器一次只能持有一个连接

## nonblocking

nonblocking-listener = 监听套接字上的 accept4 不再等待
nonblocking-accept = 有客户端在等：不用睡眠就 accept 了
nonblocking-notice-eagain = { $eagain } 次调用回答 EAGAIN（“还没有”）：全部 { $calls } 次系统调用中有 { $pct }% 白问了
nonblocking-notice-never-slept = 服务器从不睡眠：运行 { $run } ms，占用 CPU { $cpu } ms，在两轮轮询之间做了 { $work } 个单位的其他工作

## threads

threads-pool-linux-only = --pool 需要 Linux：在 Linux 上关闭监听套接字会唤醒所有阻塞在 accept 里的线程；在 { $os } 上只有一个连接才能唤醒一个线程。请在这里改用 `iomodels threads`
threads-accept = 睡眠，直到有客户端连上来
threads-joining = 监听套接字已关闭：等待各工作线程结束
threads-client-done = 这个客户端服务完了；它的线程结束
threads-worker-start = 一个新线程（{ $tid }）将服务 fd { $fd }；本线程回到 accept
threads-worker-failed = 无法为 fd { $fd } 启动线程（{ $why }）：放弃这个客户端
threads-pool-dup = 同一个监听套接字换一个描述符号，给线程池的下一个线程用
threads-pool-start = 一个新线程（{ $tid }）将逐个 accept 并服务客户端
threads-pool-waits = { $n } 个线程等在 accept4 里；本线程等它们结束
threads-pool-free = 这个线程空闲：内核把下一个连接交给了它
threads-pool-client-done = 这个客户端服务完了；线程回到 accept4
threads-notice-threads = { $threads } 个服务器线程服务 { $clients } 个客户端；同时服务最多 { $open } 个
threads-notice-wait-pool = 客户端的字节等待 recv 取走，最长等了 { $ms } ms——客户端要等到线程池中有线程空闲才会被读
threads-notice-wait-own = 客户端的字节等待 recv 取走，最长等了 { $ms } ms——每个客户端都有自己的线程在等它
threads-notice-queued-pool = 客户端等待被 accept 的最长时间（从它 connect 到取走它的 accept4）：{ $ms } ms，客户端 { $client }——线程池的每个线程都忙于服务客户端，下一个只好在监听队列里等
threads-notice-queued-own = 每个客户端在 connect 之后 { $ms } ms 之内都被 accept 了——每个客户端一个线程，accept 循环从不会忙很久

## reactors

reactors-stop = 让反应器 { $k } 停下：它的 accept4 以 EINVAL 失败，运行结束
reactors-close-listener = 关闭反应器 { $k } 的监听套接字
reactors-dup-own = 这个反应器在组里自己的监听套接字，换第二个描述符号：第一个线程留一个，用来让它停下
reactors-dup-shared = 同一个监听套接字换一个描述符号，给下一个反应器的 epoll 用：大家共用一个 accept 队列
reactors-start = 一个新线程（{ $tid }）运行反应器 { $k }：有自己的 epoll 和自己的连接
reactors-notice-threads = { $threads } 个线程，各有自己的 epoll；每个线程的连接数：{ $per }（共 { $all } 个）：最忙的接了 { $most } 个，最闲的 { $least } 个——由谁先被唤醒（用 SO_REUSEPORT 时由地址的哈希）决定交给哪个线程，而不是看它有多忙
reactors-notice-wakeups = 为 { $accepted } 个连接报告监听套接字就绪的唤醒共 { $wakeups } 次（每个连接 { $ratio } 次）；其中 { $lost } 次发现队列已经空了（accept4 → EAGAIN）：为一个被别的线程抢走的连接白白醒来
reactors-notice-no-herd = { $listeners } 个监听套接字，各有自己的 accept 队列：内核把每个连接放进其中一个，只唤醒那个监听套接字的线程——没有惊群
reactors-notice-herd = 每个 epoll 里都是同一个监听套接字：每来一个连接，内核就唤醒等在它上面的线程（全部；用 EPOLLEXCLUSIVE 时一个或几个）——这就是惊群；被唤醒的线程若在 epoll_wait 返回之前发现队列已空，就继续睡，不留痕迹，所以 EAGAIN 只统计走到那一步的落败者（--kernel 会显示每一次唤醒）
reactors-doorbell = 反应器 { $k } 的门铃：别的反应器把发给它成员的行排进队列后，就写这个门铃
reactors-doorbell-watch = 关注门铃：别的反应器按响它时，反应器 { $k } 被唤醒
reactors-doorbell-ring = 按响反应器 { $k } 的门铃：有发给它成员的行在排队，而它可能正睡在 epoll_wait 里
reactors-doorbell-answer = 别的反应器按响了门铃：先清掉它，再把排给我们成员的行发出去
reactors-doorbell-close = 关闭门铃

## sigio

sigio-news-listener = 监听套接字上来了连接
sigio-news-client = 有数据、FIN，或有空间可发送
sigio-early = 它在我们设好信号之前就连上了：不会有信号告诉我们
sigio-signalled = 不用等待就 accept 了：信号说它已经在了
sigio-closed-already = fd { $fd } 已经关闭：这个信号是在我们关闭它之前排队的
sigio-notice-signals = 来了 { $signals } 个信号；其中 { $data } 个（{ $pct }%）带来了数据：其余的报告的是新连接、FIN，或是之前查看时已经读走的字节——对 TCP 来说，信号只是在说“去看看”（UNP §25.3）
sigio-notice-free = 数据准备阶段（①）不占用我们：内核替我们关注套接字时，完成了 { $work } 个单位的其他工作；数据从内核空间复制到用户空间（②）仍是服务器自己的 recvfrom，复制了 { $bytes } 字节
sigio-block = 屏蔽这些信号：不运行处理函数；它们一直等着，直到 rt_sigtimedwait 取走
sigio-owner = 这个套接字的信号发给服务器线程
sigio-setsig = 发送排队的实时信号，它的 siginfo 说明是哪个套接字（si_fd）以及原因（si_band）
sigio-async = 有这些消息时给我们发信号：{ $news }；调用永不等待
sigio-overflow = SIGIO：实时信号队列溢出，内核丢失了是哪个套接字：全部重新扫描
sigio-listener-in = 一个信号：监听套接字上有连接在等 → accept4
sigio-listener-other = 一个信号：监听套接字报告 { $band }（{ $code }）→ 用 accept4 弄清原因
sigio-readable = 一个信号：fd { $fd } 可读（{ $code }）→ recvfrom：数据、FIN，或者没有新东西
sigio-writable = 一个信号：fd { $fd } 有空间可发送（{ $code }）→ 把等着的发出去
sigio-none-within = 1 ms 内没有信号：回去做其他工作
sigio-none = 没有信号

## portable：polling crate

portable-never-waits = 在等待返回之后、{ $accept } 之前放弃的客户端，不能让 { $accept } 阻塞（UNP §16.6）
portable-add-listener = add(listener, readable)：oneshot，polling 登记的每个关注都是这样
portable-accept = Poller 说监听套接字可读：有客户端在等
portable-add-client = add(client, readable)
portable-rearm-listener = 重新登记监听套接字：polling 的 oneshot 模式在事件之后就把它停用了
portable-rearm = 重新登记：polling 的 oneshot 模式在事件之后就把它停用了
portable-rearm-writable = 重新登记，并加上可写：聊天室的行没能全部放进发送缓冲区
portable-notice-epoll-own = 全部 { $calls } 次系统调用中，有 { $own } 次是 polling 自己做的（{ $which }）：开始时一个 eventfd 和一个 timerfd，之后 { $waits } 次等待每次前后各有四个调用——直接用 epoll 的模型一个也没有
portable-notice-epoll-ctl = { $ours } 次 epoll_ctl 是我们的：oneshot 关注意味着每个事件之后都要 MOD 一次重新登记（直接用 epoll 的模型只在关注变化时才 MOD）；另有 { $theirs } 次是 polling 的
portable-notice-kqueue-own = 全部 { $calls } 次调用中，有 { $own } 次是 polling 自己做的（{ $which }：让它的 kqueue 在 exec 时关闭，登记它的 EVFILT_USER 唤醒事件，最后再删掉）；在 kqueue 上它不会在等待前后多做调用
portable-notice-kqueue-kevent = 共 { $kevents } 次 kevent 调用，其中 { $waits } 次是等待：oneshot 关注意味着每个事件之后都要一次 kevent 重新登记——直接用 kqueue 的模型只登记一次过滤器，关注变化时才修改
portable-notice-iocp-own = 全部 { $calls } 次调用中，有 { $own } 次是 polling 自己做的（{ $which }）；我们的 add 和 modify 调用一个也没有做：polling 把每个套接字排进队列，在下一次等待时才提交它的 IOCTL_AFD_POLL——{ $waits } 次等待共 { $polls } 个 poll 请求
portable-notice-iocp-emulated = 完成端口在这里只用来模拟就绪：每个完成包只是说“这个套接字就绪了”，程序仍要自己调用 recv——iocp 模型则把 WSARecv 本身交给 Windows，等数据已经复制好才得到通知
portable-wait = Poller::wait()：关注 { $watched } 个，就绪 { $n } 个；每个就绪的现在都已停用（oneshot）
portable-own = polling 自己的调用：{ $note }
portable-delete = delete()：不再关注它
portable-debug-check = std 在调试构建中检查描述符是否打开
portable-epoll-new = Poller::new()：Poller 背后的 epoll 实例
portable-eventfd = 一个 eventfd，让别的线程能唤醒 Poller
portable-timerfd = 一个 timerfd，把等待的超时变成就绪
portable-watch-timerfd = 关注它的 timerfd
portable-watch-eventfd = 关注它的 eventfd
portable-settime = 在 timerfd 上设置这次等待的超时（没有超时：停用）
portable-rearm-timerfd = 重新登记它的 oneshot timerfd
portable-clear-eventfd = 清空它的 eventfd，以防有人唤醒过它（并没有）
portable-rearm-eventfd = 重新登记它的 oneshot eventfd
portable-drop-unwatch = 丢弃 Poller：不再关注它的辅助描述符
portable-drop-timerfd = 丢弃 Poller：关闭它的 timerfd
portable-drop-epoll = 丢弃 Poller：关闭 epoll 实例
portable-drop-eventfd = 丢弃 Poller：关闭它的 eventfd
portable-change = { $op }()：{ $why }
portable-kqueue-new = Poller::new()：Poller 背后的 kqueue
portable-kqueue-cloexec = 让 kqueue 在 exec 时关闭
portable-kqueue-user = 一个 EVFILT_USER 事件，让别的线程能唤醒 Poller
portable-drop-user = 丢弃 Poller：删除它的唤醒事件
portable-drop-kqueue = 丢弃 Poller：关闭 kqueue

## 描述符用尽（EMFILE）与 --max-conns

limits-reserve = 描述符快用完了：预留一个，留给 accept4 报 EMFILE 的时候用
limits-close-spare = 关闭预留的描述符
limits-no-spare = 没有预留的描述符可以腾出位置：等 20 ms，而不是对着一直可读的监听套接字空转
limits-reserve-again = 再试一次，为下一次 EMFILE 预留一个描述符
limits-give-back = { $name }：交还预留的描述符，让 accept4 能取走一个等待中的客户端
limits-refused-fds = 拒绝：服务器的描述符用尽了（{ $name }）；立刻挂断能告诉客户端，而不是让它一直排在队列里、监听套接字永远可读
limits-take-back = 把预留的描述符拿回来，留给下一次 EMFILE
limits-nobody-back-off = 描述符用尽，也没有客户端在等：等 20 ms 再 accept4，而不是空转
limits-queue-waiting = 有客户端在等
limits-queue-empty = 没有客户端在等：accept4 在查看队列之前就报了 EMFILE
limits-shed-accepted = accept 只是为了挂断：没有描述符可以用来服务它
limits-shed-shut = 监听套接字已关闭：运行结束
limits-shed-gone = 客户端已经走了
limits-busy-send = 告诉客户端原因，不等待发送缓冲区有空间
limits-refused-busy = 拒绝：已打开 { $open } 个连接，达到 --max-conns 允许的上限（{ $max }）

## macOS 与各 BSD

bsd-cloexec-socket = 不让我们可能 exec 的程序继承它
bsd-cloexec-accepted = 这里没有 accept4：close-on-exec 要再用一个调用来设
kqueue-create = 一个内核事件队列：它将保存我们对每个套接字的关注
kqueue-ready = 就绪：[{ $events }]
kqueue-failed = 失败：{ $why }
kqueue-close = 关闭 kqueue
