# 错误消息，简体中文。
err-scenario-line = 应为 `TIME CLIENT ACTION`（时间 客户端 动作），例如 `100ms A send "hi\n"`，实际是 `{ $got }`
err-scenario-client-name = 客户端名 `{ $name }` 只能由字母、数字或 _ 组成，最多 12 个
err-scenario-empty = 场景里没有任何步骤（每行是 `TIME CLIENT ACTION`）
err-scenario-clients = { $count } 个客户端；最多 { $most } 个
err-scenario-client = 客户端 { $name }：{ $msg }
err-scenario-after-close = close 或 reset 之后不能再有任何动作
err-scenario-connects-twice = 连接了两次
err-scenario-connect-first = 必须先 connect
err-scenario-client-sends = 总共发送超过 { $mib }MiB；一个客户端最多发送这么多
err-scenario-total-sends = 客户端总共要发送超过 { $mib }MiB；一个场景最多发送这么多
err-scenario-time-unit = 时间 `{ $time }` 需要单位：`250ms` 或 `1.5s`
err-scenario-time-number = 时间 `{ $time }` 不是像 `250ms` 或 `1.5s` 这样的非负十进制数
err-scenario-time-past = 时间 `{ $time }` 超出了场景 { $limit }s 的上限
err-scenario-no-argument = `{ $verb }` 不带参数，却给了 `{ $got }`
err-scenario-connect = connect 不带参数，或带 `rcvbuf SIZE`（例如 `connect rcvbuf 4KiB`）；实际是 `{ $got }`
err-scenario-expect-anytime = expect-anytime 只接受完整的一行，以 \n 结尾
err-scenario-action = 未知的动作 `{ $verb }`（应为 connect、send、close、reset、stop-reading、resume-reading、expect、expect-anytime、expect-drop 之一）
err-scenario-expect = expect 接受一个带引号的字符串或 `from CLIENT SIZE`（例如 `expect from S 64KiB`）；实际是 `{ $got }`
err-scenario-no-line = 来自 { $from } 的 { $size } 不足完整的一行（每行 { $line } 字节）：没有什么可转发
err-scenario-unterminated = 字符串没有结束：请补上结尾的 `"`
err-scenario-hex = `\x{ $hex }` 需要两个十六进制数字
err-scenario-escape = 未知的转义 `\{ $escape }`
err-scenario-after-string = 字符串后面多出了 `{ $rest }`
err-scenario-empty-send = 空的 send 什么也没说：至少给一个字节
err-scenario-send = send 接受一个带引号的字符串，或像 `512B`、`64KiB`、`2MiB` 这样的大小；实际是 `{ $got }`
err-scenario-size = 大小 `{ $size }` 必须在 1B 到 { $mib }MiB 之间
err-scenario-chat = 场景 { $name } 需要一个聊天室（它有 `expect` 步骤）：请加上 --app chat 运行
err-scenario-read = 无法读取场景文件 { $file }
err-scenario-at = { $file }:{ $line }：{ $msg }
err-scenario-big = 场景 { $file } 超过 1 MiB：场景只编排几个客户端，不是用来施加负载的
err-unsupported = `{ $model }` 需要 { $platforms }；这里是 { $os }。请在这里改用 `iomodels { $instead }`
err-unknown-model = 未知的模型 `{ $name }`（运行 `iomodels list` 查看有哪些模型）
err-write = 无法写入 { $file }
err-signal = 无法捕获信号 { $signal }
err-server-thread = 无法启动服务器线程
err-server-died = 服务器线程在启动过程中终止了
err-clients-thread = 无法启动客户端
err-signal-thread = 无法启动信号监视线程
err-port = `{ $text }` 不是端口号：必须在 0-65535 之间（0：任选一个空闲端口）
err-bytes = `{ $text }` 不是字节数（例如 65536、64K、1M）
err-bytes-range = `{ $text }` 必须在 1 字节到 1G 之间
err-mode = --{ $flag } 是 { $owner } 的{ $what }；`{ $model }` 没有这种模式
err-threads = --threads 是 reactors 的事件循环数；`{ $model }` 没有这个选项
warning-bind = 警告：绑定 { $addr } 会把这个教学用的服务器暴露在网络上；除非确有此意，请使用 127.0.0.1
err-bench-linux = 错误：`bench` 需要 Linux：它的负载生成器用 epoll 驱动连接；这里是 { $os }
err-max-fds-unix = --max-fds 需要 Unix 的描述符上限（RLIMIT_NOFILE）；这里是 { $os }
err-max-fds-above = --max-fds { $n } 高于当前的描述符上限（{ $limit }）；它只能降低上限
err-max-fds-lower = 无法把描述符上限降到 { $n }：{ $why }
err-idle-hard-limit = --idle { $idle } 需要 { $need } 个打开的描述符，但硬上限（ulimit -Hn）是 { $hard }；请减少空闲连接，或提高硬上限
err-idle-soft-limit = 无法把描述符软上限提高到 { $need }
err-idle-not-accepting = { $n } 个空闲连接中的第 { $i } 个：服务器已接受 { $accepted } 个，另有 { $backlog } 个已等待 { $secs }s：它没有在接受连接；--idle 是为就绪模型（select、poll、epoll、portable）准备的
err-read-no-client = --read { $want }：场景 `{ $scenario }` 里没有客户端 { $want }（它的客户端：{ $clients }）
err-read-none = 无
err-read-silent = --read { $want }：在场景 `{ $scenario }` 里，客户端 { $want } { $app ->
        [chat] 报上名字之后就没再对聊天室说话
       *[echo] 什么也没发送
    }，所以没有可跟踪的读取（{ $app ->
        [chat] 说过话
       *[echo] 发送过数据
    }的客户端：{ $senders }）
err-compare-no-chat = 没有可比较的：点名的模型都不能聊天
compare-left-out-named = 虽然点了名，但没有包括：{ $why }
compare-left-out = 没有包括：{ $why }
err-kernel-linux = --kernel 记录的是 Linux 的跟踪点（通过 tracefs）；这里是 { $os }
err-kernel-starter-died = --kernel：内核一道的启动线程终止了
err-kernel-follow = --kernel：无法跟随本次运行的线程：{ $why }
err-kernel-starter-gone = --kernel：内核一道的启动线程已经不在了
err-kernel-starter-panicked = 启动本次运行的线程发生了 panic
err-server-failed = server/{ $n } 失败：{ $why }
err-server-panicked = server/{ $n } 发生了 panic
err-bind-in-use = 它已被占用（另一个服务器？）；请换一个 --port，或省略 --port 以使用空闲端口
err-bind-not-here = 这个地址不在本机上；--bind 接受本机地址，例如 127.0.0.1
err-bind-privileged = 1024 以下的端口需要特权；请选一个 ≥ 1024 的端口
err-bind-refused = 内核拒绝了
err-bind = 无法绑定 { $addr }：{ $why }（{ $os }）
err-no-chat-pool = `threads --pool { $n }` 是一个预先创建的 { $n } 线程的线程池，每个线程服务一个客户端直到它离开：在聊天中，第 { $next } 个成员会在监听队列里等着，没人听见它。请用每个客户端一个线程来运行聊天，`iomodels threads --app chat`，或者例如 `iomodels epoll --app chat`
err-no-chat-serial = `{ $model }` 一次只服务一个客户端：在聊天中，其他人说的话在那个客户端离开之前都没人听见。请在能同时服务多个客户端的模型下运行聊天，例如 `iomodels threads --app chat` 或 `iomodels epoll --app chat`
err-failed = { $call } 失败
err-doorbell-aio-read = 对门铃管道的 aio_read 失败
err-doorbell-read = 读门铃管道失败
err-getsockname-ip = getsockname() 没有给出 IP 地址
err-stopper = 无法准备停止服务器的手段
err-interrupted = 场景结束前被中断（{ $signal }）：上面的跟踪到此为止
err-scenario-stuck = 场景在最后一步之后 { $secs }s 内没有结束；仍在运行：{ $who }
err-hung-up = 有 { $count } 个客户端在收到任何回显之前就被挂断，但服务器只拒绝了 { $refused } 个：{ $who }
err-clients-panicked = 客户端线程发生了 panic
err-server-failed-run = 服务器失败：{ $why }
err-server-panicked-run = 服务器线程发生了 panic
err-server-stuck = 场景结束后 { $secs }s 内服务器没有停止
client-doing = 客户端 { $client }（{ $step }）
client-starting = 正在启动
client-at-line = 第 { $line } 行：{ $verb }
err-client-move = 无法把客户端 { $client } 的套接字移到 { $base } 以上：{ $why }
err-client-socket = 无法创建客户端套接字：{ $why }
err-client-bind = 无法绑定客户端套接字：{ $why }
err-client-start = 无法启动客户端 { $client }：{ $why }
err-client-line = 客户端 { $client }（第 { $line } 行）：{ $why }
err-client = 客户端 { $client }：{ $why }
err-client-failed = { $what } 失败：{ $why }
client-check-failed = 检查失败：{ $why }
err-client-send-stalled = 发送停滞：服务器 { $secs }s 内没有收下一个字节（{ $total } 字节中已发送 { $sent }）
err-client-no-echo = { $secs }s 内没有回显（还差 { $missing } 字节）
err-client-closed = 服务器关闭了连接，还有 { $left } 字节没有回显
client-refused-said = 被拒绝：服务器说 { $line }
client-refused-hung-up = 被拒绝：服务器在回显任何内容之前就挂断了（描述符用尽、超出 FD_SETSIZE，或服务器繁忙）
err-client-unasked = 服务器发来了 { $count } 字节，{ $app ->
        [chat] 但没有哪个 expect 步骤要求过它们
       *[echo] 但没有人发送过它们
    }：{ $got }
err-client-differs = { $app ->
        [chat] 期望的第 { $num } 行
       *[echo] 第 { $num } 次发送的回显
    }在第 { $byte } 字节处不同：期望 { $want }，实际是 { $got }
err-client-panicked = 一个客户端线程发生了 panic
err-client-send-full = send 失败：连接再也收不下更多字节
err-crowd-silent = 持有空闲连接的辅助进程一言不发就结束了
warning-ftrace-remove = 警告：无法删除 ftrace 实例 { $dir }（{ $why }）；请用 `rmdir { $dir }` 删除它
note-ftrace-swept = 注意：已删除一次被杀死的运行（PID { $pid }）遗留的 ftrace 实例 { $dir }
warning-ftrace-left = 警告：一次被杀死的运行（PID { $pid }）遗留了 ftrace 实例 { $dir }，而且无法删除：{ $why }
err-ftrace-configure = --kernel：无法配置 ftrace 实例 { $dir }：{ $why }
err-tracefs-root = --kernel 通过 tracefs 读取内核的跟踪点，但这里没有挂载 tracefs，而只有 root 才能挂载：请用 sudo 运行（iomodels 会为自己单独挂载 tracefs），或者用 `sudo mount -t tracefs nodev { $at }` 挂载一次
err-tracefs-mount = --kernel：tracefs 没有挂载，挂载它也失败了（{ $why }）：请用 `mount -t tracefs nodev { $at }` 挂载
err-ftrace-root = --kernel 需要 root：在 { $dir } 中创建 ftrace 实例被拒绝（{ $why }）；请用 sudo 运行
err-ftrace-mkdir = --kernel：无法在 { $dir } 中创建 ftrace 实例（{ $why }）；这个内核可能不支持 ftrace 实例（CONFIG_TRACING）
err-tracepoint-missing = 这个内核没有 { $tracepoint } 跟踪点（内核一道需要 sock、sched 和 signal 跟踪点：CONFIG_TRACEPOINTS，并带有网络和调度器事件）
wrote = 已写入 { $file }

## What each model's mode is, for refusing it on another model (err-mode).
mode-edge = 边缘触发模式（EPOLLET）
mode-share = 共享监听套接字模式（默认：每个线程的 epoll 里都有同一个监听套接字）
mode-exclusive = 独占唤醒模式（EPOLLEXCLUSIVE）
mode-reuseport = 每线程一个监听套接字的模式（SO_REUSEPORT）
mode-pool = 预先创建线程的模式（一组线程阻塞在 accept 里）
mode-multishot = 多次完成（multishot）模式（IORING_ACCEPT_MULTISHOT、IORING_RECV_MULTISHOT 和提供缓冲区环）
mode-sqpoll = 内核轮询提交队列的模式（IORING_SETUP_SQPOLL）
mode-workers = 工作线程池（N 个线程在同一个端口上的 GetQueuedCompletionStatusEx 里等待）
mode-poll = 就绪通知模式（IOCB_CMD_POLL）
