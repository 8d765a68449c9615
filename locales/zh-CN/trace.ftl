# 每次运行都会做的调用，以及 epoll 模型的说明（中文）。

## 各模型之下的系统

sys-gettid = 本线程的 id：即 strace 显示的 TID
sys-gettid-macos = 本线程的 id，与 dtruss 显示的一致
sys-gettid-freebsd = 本线程的 id，与 truss 显示的一致
sys-gettid-windows = 本线程的 id，与 Process Monitor 显示的一致
sys-socket = 一个用来监听的 TCP 套接字
sys-socket-windows = 一个用来监听的 TCP 套接字（Winsock 的 socket() 允许重叠 I/O）
sys-wsastartup = 加载 Winsock：进程在创建第一个套接字之前要调用它
sys-port-option = 让重启的服务器能立刻重新使用这个端口
sys-port-option-windows = 我们占着这个端口时，别的套接字不能绑定它（Windows 的 SO_REUSEADDR 会让两个服务器共用端口；重启的服务器本来就能立刻重新绑定）
sys-linger-zero = linger 设为 0：close 会复位连接，并丢掉内核里还为它保留的数据
sys-send-buffer = 聊天室：内核最多为这个成员保留这么多待发数据；读得慢的成员剩下的部分在我们的队列里排队，服务器给这个队列设了上限（--max-pending）
sys-nodelay = 聊天室：每一行都立刻发出，不必等上一行被确认（Nagle 算法）——客户端的延迟 ACK 可能让这段等待拉长 40 ms 甚至更久
sys-dup-stopper = 监听套接字的第二个句柄，测试框架用它让我们停下
sys-cpu = 本线程的 CPU：用户态 { $user } ms + 内核态 { $sys } ms
trace-work = 没有就绪时做的一单位其他工作
trace-over = { $note }（历时 { $span }）
sys-blocks = 线程在内核里睡眠，直到这个调用可以返回
stop-how-shutdown = 关闭了监听套接字
stop-how-connect = 再连接一次，把服务器唤醒
harness-stops = 测试框架{ $how }
harness-over = 场景结束：测试框架{ $how }

## 监听与 accept

server-bind = 占用这个地址和端口
server-listen = 开始接受连接；内核最多为我们排队 { $backlog } 个已完成的握手
server-getsockname = 我们拿到的是哪个端口？
server-close-listener = 关闭监听套接字
accept-wake-up = 测试框架用来唤醒的连接：运行结束
accept-shut = 监听套接字已关闭：运行结束
accept-nobody = 没有客户端在等着被 accept
accept-emfile = 描述符用尽（EMFILE）：本进程能打开的描述符都在用
accept-failed = accept 失败
accept-never-waits = 在 { $waiter } 报告之后、{ $accept } 之前放弃的客户端，不能让 { $accept } 阻塞（UNP §16.6）
never-wait = { $recv } 和 { $send } 永远不会等待

## 回显的复制

echo-copied = 把 { $n } 字节复制进我们的缓冲区：{ $shown }
echo-eof = 0 字节：客户端关闭了写方向（FIN）
echo-eof-dropped = 0 字节：我们这一端的读方向已关闭，这个成员已被踢出
echo-nothing = 还没有数据
echo-failed = 连接出错：{ $why }
echo-back = 把 { $n } 字节回显回去：{ $shown }
echo-partial = 只发出一部分：{ $all } 字节中有 { $n } 字节放进了套接字缓冲区；{ $left } 字节等待
echo-full = 发送缓冲区已满：{ $all } 字节等着可写

## epoll

epoll-create = 一个 epoll 实例：由内核保存我们的关注列表
epoll-ready = 关注 { $watched } 个，就绪 { $n } 个，直接交给我们——不用扫描：{ $which }
epoll-wait-failed = epoll_wait 失败
epoll-del = 关闭之前，先不再关注它
epoll-close = 关闭 epoll 实例
epoll-listener-nonblocking = accept4 永远不能等待：每次唤醒都一直 accept 到 EAGAIN，中途放弃的客户端也不能把我们阻塞住（UNP §16.6）
epoll-listener-exclusive = 有客户端等待时告诉我们，但只唤醒等在它上面的一个或几个线程，而不是全部
epoll-listener = 有客户端等着被 accept 时告诉我们
epoll-accept-edge = 边缘触发：一直 accept 到 EAGAIN，否则等待中的客户端不会再被通知
epoll-accept-level = epoll 说监听套接字可读：有客户端在等
epoll-watch-client = 关注这个新客户端：它发数据或挂断时告诉我们
epoll-run-over = 运行结束（close 也会把它从关注列表中移除）
epoll-change-both = 有字节等着回显：可以发送时告诉我们（EPOLLOUT）
epoll-change-in = 全部回显完毕：不再要 EPOLLOUT，否则它会不停触发
epoll-change-out = 背压：回显积压已满，在它排空之前不再读这个客户端
epoll-change-none = 没有要读或要发的
epoll-notice-wakeups = 唤醒 { $wakeups } 次；每次交回 { $ready } 个就绪描述符，进程只看这几个——无论打开多少连接都不用扫描（最大的描述符是 { $max }）
epoll-notice-ctl = { $ctl } 次 epoll_ctl 让内核的关注列表始终跟上每个连接的需要（每个客户端 ADD 一次，为 EPOLLOUT 和背压 MOD，关闭前 DEL）；运行 { $run } ms，共 { $calls } 次系统调用，服务器 CPU { $cpu } ms
epoll-summary = epoll：由内核保存关注列表，只交回就绪的描述符
epoll-state = 一张从描述符到连接的映射表；关注列表本身保存在内核里

## 标题

title-scenario = iomodels { $model } —— UNP 图 { $figure }：{ $summary } · 场景 `{ $scenario }`：{ $clients } 个客户端，{ $ms } ms
title-serve = iomodels { $model } —— UNP 图 { $figure }：{ $summary } · 在 { $addr } 上服务：试试 `nc { $ip } { $port }`（按 Ctrl-C 结束）

## A call's result and time columns.
trace-blocks = … 阻塞中
trace-queued = 已排队
trace-slept = 睡眠 { $took }

## An accept error that passes by itself: the gloss of the 20 ms back-off.
accept-wait-memory = 内核内存不足：稍等一会儿，而不是空转
