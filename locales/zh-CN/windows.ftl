# Windows 模型（iocp、apc、wsaevent）及其下的 Winsock 调用。每个 id 都必须也在
# ../en/windows.ftl 里（有测试检查）。API 名、标志和错误名在任何语言里都按 Windows 的写法。

## Windows 模型共用

win-failed = 失败：{ $why }
win-listener-event-failed = 监听套接字的事件对象创建失败
win-listener-event = 监听套接字的事件对象
win-fd-accept = FD_ACCEPT：有客户端在等
win-why-dropped = 有成员被踢出聊天室
win-why-send-failed = 发送失败：把接收也取消，然后关闭
# 测试框架用一个连接让运行停下的地方（Linux 以外的系统都如此），Windows 模型也是这样。
server-close-wake-up = 关闭用来唤醒的连接
win-dont-wait = Winsock 的 send 没有 MSG_DONTWAIT：先把套接字设为非阻塞，告诉客户端原因时才不会阻塞

## Winsock 的 select：fd_set 是一个 64 个套接字的数组

win-select-wall = 套接字 { $fd } 会是读集合里的第 { $nth } 个：Winsock 的 fd_set 只能放 { $size } 个套接字，select 无法关注它
win-select-checked = Winsock 遍历了两个数组里的 { $listed } 个套接字；我们测试 { $listed } 个套接字
win-select-wall-hit = fd_set 的上限：已 accept 的 { $accepted } 个连接中有 { $refused } 个被拒绝——Winsock 的 fd_set 是一个 { $size } 个套接字的数组（不是位图），select 同时最多关注 { $size } 个；其中的场景客户端都被拒之门外（跟踪里它的那一栏会写明）
win-select-wall-not-hit = Winsock 的 fd_set 是一个最多 { $size } 个套接字的数组，由 FD_ISSET 逐个查找：试试 --idle 80，就会撞上这个上限

## 重叠调用：发起、取消、完成

win-started-done-port = 立即完成——结果仍以带着 ov={ $key } 的完成包送达；{ $then }
win-started-done-routine = 立即完成——ov={ $key } 的完成例程仍要等本线程下一次可警告等待；{ $then }
win-started-pending-port = 已发起：缓冲区现在归 Windows 使用，它会投递一个带着 ov={ $key } 的完成包；{ $then }
win-started-pending-routine = 已发起：缓冲区现在归 Windows 使用；ov={ $key } 的完成例程将在本线程的可警告等待中运行；{ $then }
win-start-failed = 发起失败：{ $why }
win-cancel-port = { $why }：取消这个操作；它的完成包仍会到来
win-cancel-routine = { $why }：取消这个操作；它的完成例程仍会运行
win-cancel-late-port = 没有可取消的：它已经完成，完成包正在路上
win-cancel-late-routine = 没有可取消的：它已经完成，完成例程已经排队
win-recv-at-once-port = { $n } 字节早已到达；完成包到来时调用 on_received
win-recv-at-once-routine = { $n } 字节早已到达；完成例程运行后调用 on_received
win-recv-then = 数据到达并复制完毕后调用 on_received
win-send-echo = 回显 { $n } 字节：{ $shown }；Windows 取走它们后调用 { $then }
win-send-deliver = 转发 { $n } 字节：{ $shown }；Windows 取走它们后调用 { $then }
win-send-at-once = { $note }（立即取走 { $sent } 字节）
win-done-accept = 一个已经 accept 进我们预先创建的套接字的连接 → on_accepted
win-done-fin = 0 字节：客户端关闭了写方向（FIN）→ on_received
win-done-recv = Windows 已经把 { $n } 字节复制进我们的缓冲区：{ $shown } → on_received
win-done-send = Windows 收下 { $n } 字节去发送 → { $then }
win-done-cancelled = 按我们的要求取消 → 由它的回调收尾

## iocp：完成端口与 AcceptEx

iocp-port = 一个完成端口：每个重叠调用完成时，Windows 都在这里排入一个完成包
iocp-port-threads = 一个完成端口：每个重叠调用完成时，Windows 都在这里排入一个完成包；NumberOfConcurrentThreads = { $n }：等在它上面的线程最多同时运行 { $n } 个
iocp-packets = 从端口取到 { $n } 个完成包
iocp-wait-timeout = 1 ms 内没有完成包（WAIT_TIMEOUT）：回去做别的工作
iocp-wait-timeout-long = { $ms } ms 内没有完成包（WAIT_TIMEOUT）：运行结束了吗？
iocp-unknown-packet = 一个不属于我们任何 OVERLAPPED 的完成包：ov={ $ov }（CompletionKey={ $key }）
iocp-close-port = 关闭完成端口
iocp-associate-listener = 监听套接字的 AcceptEx 完成包将送到我们的端口，完成键 = 它的套接字
iocp-associate-conn = 这个连接的完成包也将送到我们的端口
iocp-wsasocket = AcceptEx 需要预先创建好连接将要成为的那个套接字
iocp-update-context = 让 accept 得到的套接字继承监听套接字的属性（此后 getpeername、shutdown 才能用）
iocp-then-accepted = 有客户端连上来时调用 on_accepted
iocp-peer-port = 对端端口是 { $port }
iocp-ask-extension = 向 Winsock 查询 { $name } 的地址
iocp-extension-missing = WSAIoctl 没有给出 { $name }
iocp-accept-dropped = accept 没有发生：丢掉为它创建的套接字
iocp-worker-failed = 无法启动工作线程 { $worker }（{ $why }）：它的完成包由其他线程处理
iocp-worker-start = 工作线程 { $worker }（{ $tid }）将在端口上等待完成包
iocp-workers-done = 工作线程都已结束：每个操作都已报告
iocp-stop-packet = 每个操作都已报告：给另一个工作线程投递一个停止包
iocp-notice-copied = 服务器自己调用了 { $recvs } 次 recv：全部 { $bytes } 字节都由 Windows 复制进我们的缓冲区，它投递了 { $packets } 个完成包；每个重叠调用（AcceptEx { $accepts } 次，WSARecv { $wsarecvs } 次，WSASend { $wsasends } 次）都立即返回
iocp-notice-waits = 共 { $calls } 次调用，其中 GetQueuedCompletionStatusEx { $waits } 次：{ $timeouts } 次等了 1 ms 空手而回（WAIT_TIMEOUT），好让线程去做别的工作（{ $work } 个单位）
iocp-notice-workers = 各工作线程取到的完成包：{ $workers }——哪个工作线程正等在 GetQueuedCompletionStatusEx 里，下一个完成包就归它，不管是哪个连接的（事件对象把套接字绑在等待其事件的线程上，完成例程则绑在发起操作的线程上）
iocp-notice-readiness = 就绪模型（select、poll、epoll、kqueue）听到的是“现在可以 recv 了”，然后自己复制；这里的完成包则意味着复制已经完成。polling crate 的 Windows 后端（`portable`）也用完成端口，但只是借 AFD poll 来模拟就绪——程序仍要自己调用 recv

## apc：完成例程

apc-unselect = 它继承了监听套接字的事件选择：解除它，这个套接字的 I/O 才不会动到监听套接字的事件
apc-unknown = 一个不属于我们任何 OVERLAPPED 的完成例程：ov={ $ov }
apc-ran = 完成例程在 { $wait } 里面、线程 { $tid } 上运行：{ $what }
apc-wait-routines = WSA_WAIT_IO_COMPLETION：排给本线程的完成例程在这次等待中运行了（见下）
apc-wait-listener = 事件 0（监听套接字的）被触发：有客户端在等
apc-wait-timeout = 1 ms 内什么也没有（WAIT_TIMEOUT）：回去做别的工作
apc-notice-routines = 全部 { $bytes } 字节都由 Windows 复制进我们的缓冲区；{ $routines } 个完成例程，每一个都在本线程 { $waits } 次可警告等待中的某一次里运行（{ $timeouts } 次等了 1 ms 空手而回，线程做了 { $work } 个单位的其他工作）
apc-notice-one-thread = 结果只会回到发起操作的线程：完成例程排给发起操作的那个线程，而且只在该线程可警告等待时运行，所以处理结果的工作没法分摊到多个线程上——这正是 I/O 完成端口要解决的问题（iocp --workers）

## wsaevent：事件对象

wsaevent-event-listener = 给监听套接字的一个事件对象
wsaevent-select-listener = 有连接等着被 accept 时触发它（监听套接字现在是非阻塞的了）
wsaevent-news-none = 它上面什么也没发生（事件是因为别的原因被触发的）
wsaevent-news = { $events }：事件已重置
wsaevent-event-conn = 给这个连接的一个事件对象：一次等待最多能等 { $max } 个，它是 events[{ $index }]
wsaevent-select-conn = 有数据、可以写、或客户端关闭时触发它（这会取代它从监听套接字继承来的选择）
wsaevent-free-event = 它的套接字已关闭：释放它的事件对象
wsaevent-refused = 拒绝：套接字 { $fd } 需要第 { $nth } 个事件对象，而 WSAWaitForMultipleEvents 最多只等 WSA_MAXIMUM_WAIT_EVENTS（{ $max }）个，监听套接字已占了一个；这个服务器只用一个等待线程，无法关注它
wsaevent-signalled-listener = 事件 0（监听套接字的）被触发
wsaevent-signalled = 事件 { $index } 被触发：它的套接字有消息
wsaevent-timeout-first = 没有事件被触发（WAIT_TIMEOUT）：去处理先前推迟的读写
wsaevent-timeout-rest = 它之后也没有事件被触发（WAIT_TIMEOUT）：去做读写
wsaevent-notice-calls = { $waits } 次 WSAWaitForMultipleEvents，{ $news } 次 WSAEnumNetworkEvents：事件只说明它的套接字上发生了某件事；发生了什么要由 WSAEnumNetworkEvents 来说，而每一次 recv 和 send 仍是服务器自己做的
wsaevent-notice-wall-hit = 64 个事件的上限：已 accept 的 { $accepted } 个连接中有 { $refused } 个被拒绝——一次 WSAWaitForMultipleEvents 最多等 64 个事件，监听套接字已占了一个；要服务更多连接，每 64 个就得再加一个等待线程（这个服务器选择拒绝），而 I/O 完成端口让这一切都不再必要（iocp --workers）
wsaevent-notice-wall-not-hit = 一次 WSAWaitForMultipleEvents 最多等 64 个事件对象（WSA_MAXIMUM_WAIT_EVENTS）：试试 --idle 70，就会撞上这个上限
wsaevent-timeout-quiet = { $ms } ms 内没有事件被触发：仍去看一眼监听套接字（在 Wine 下，一阵密集的连接可能让它的 FD_ACCEPT 不被触发）
win-accept-wait-sockets = 套接字用完了：等 20 ms，而不是空转
