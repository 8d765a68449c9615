# compare 的表格与图（中文）。

table-model = 模型
table-syscalls =
    系统
    调用
table-blocked =
    ①
    阻塞
table-spinning =
    ①
    空转
table-free =
    ①
    空闲
table-copy-paths =
    ②
    复制路径
table-recv-calls =
    ②
    recv 调用
table-cpu =
    服务器
    CPU
table-work =
    其他
    工作
table-most =
    最多
    同时
table-bytes-in =
    读入字节：
    我们/内核
table-deliveries = 投递
table-send-calls =
    发送
    调用
table-dropped = 踢出
table-peak =
    最长
    队列
table-failed = 失败：{ $why }

## 并排的各列

cols-then = 然后服务器调用…
cols-before = 第一步之前
cols-page = 并排比较，第 { $page } 页，共 { $pages } 页
cols-listener = 建立监听套接字（{ $n } 次调用）
cols-more = … 另有 { $n } 次调用
step-connects = 连接
step-sends = 发送 { $shown }
step-closes = 关闭
step-resets = 复位
step-stops-reading = 不再读取
step-reads-again = 重新读取
step-expects = 等待 { $shown }
step-expects-drop = 预计被踢出
step-waiting = ；{ $clients } 等待收到的行

## 图 6.6

fig-none = 这个场景里没有客户端发送任何数据：没有图可画
fig-followed = 客户端 { $client } 的第一条消息
fig-followed-chat = 客户端 { $client } 在聊天室里说的第一行（名字之后）
fig-how-lane = 借助内核通道：① 从开始等待到数据到达（sock:sk_data_ready）；② 复制路径，从调用开始（或线程在调用中重新运行）到复制结束（sock:sock_recv_length）。下表把中间经过拆开：唤醒（sched:sched_wakeup）、线程重新运行（sched:sched_switch；内核没有发出切换事件时记为“未记录”，下一列则从唤醒算起），以及到达复制路径的过程（从等待中返回、发起读取的调用）
fig-how-user = 从用户空间测量，看不到复制本身：② “recv”是只做复制的那次调用的时长；“send→return”（一次阻塞调用完成了两个阶段）是从客户端发送到调用返回的时间，包括投递、唤醒和复制；“send→CQE”是从客户端发送到我们读到完成事件的时间（内核在这期间的某个时刻做了复制）。`--kernel` 能测出复制本身
fig-legend = UNP 图 6.6，{ $how }。{ $followed }：从服务器开始等待它，到字节进入服务器的缓冲区（{ $blocked } 阻塞  { $spinning } 空转  { $free } 空闲  { $copy } 复制；② 至少画一格宽）
fig-blocked = 阻塞
fig-spinning = 空转
fig-free = 空闲
fig-copying = 复制
fig-told = 通知方式：{ $told }

## 各模型由什么得知阶段 ① 已结束（注册表的 `told`）

aio-told = io_submit 返回
apc-told = 完成例程，在线程的可警告等待中运行
blocking-told = 调用返回
epoll-told = 就绪通知
iocp-told = 完成包
kqueue-told = 就绪通知
nonblocking-told = 一次成功的 recv
poll-told = 就绪通知
portable-told = 就绪通知
posix-aio-told = aio_suspend + aio_error
reactors-told = 就绪通知
select-told = 就绪通知
sigio-told = 信号
threads-told = 调用返回
uring-told = 完成事件
wsaevent-told = 就绪通知（事件对象被触发，再调用 WSAEnumNetworkEvents）

## The kernel lane's decomposition of figure 6.6 (compare --kernel).
fig-copy-path = 复制路径
lane-col-model = 模型
lane-col-woken = 到达 →
    唤醒
lane-col-runs = 唤醒 →
    运行
lane-col-to-path = → 复制
    路径
lane-col-path = ② 复制
    路径
lane-col-on = 复制在哪儿运行
lane-col-meanwhile = 这期间内核做了什么
    （+ 到达之后多久）
lane-row-unseen = 内核通道没有看到
lane-row-on-cpu = 正在 CPU 上
lane-row-unrecorded = 未记录
lane-row-preempted = 被抢占
lane-row-inside = ，在 { $call } 里
lane-row-signal = 发出了信号 +{ $after }
lane-row-task-work = 排入了 task work +{ $after }
lane-row-eagain = 回答了 EAGAIN −{ $before }
