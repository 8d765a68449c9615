# `iomodels bench` 的表格、标题、说明与图（中文）。

bench-unit-echoes = 次回显
bench-unit-deliveries = 次投递
bench-note-one-connection = 一次只服务一个连接：用 1 个连接测量
bench-row-note = { $model }：{ $note }
bench-more-threads = { $shown } +{ $more } 个线程
bench-per-run = 每次运行 { $seconds } s
bench-per-connection = 每个连接 { $n } 条消息
bench-median = ，取 { $rounds } 轮的中位数
bench-title = iomodels bench — 闭环负载，{ $conns } 个连接，每条消息 { $size } B，{ $how }{ $median }
bench-col-model = 模型
bench-col-conns = 连接数
bench-col-requests = 请求/s
bench-col-p50 = p50 µs
bench-col-p99 = p99 µs
bench-col-p999 = p99.9 µs
bench-col-server-cpu = 服务器 CPU ms
bench-col-per-thread = 各线程 ms
bench-col-cpu-per-request = 每请求 CPU µs
bench-col-verified = 已校验回显
bench-legend = 每请求 CPU 是服务器的用户态加内核态时间除以它完成的回显次数：在共享的机器上比请求/s 更稳定。各线程：负载期间服务器每个线程运行的 CPU 时间（取自 /proc/PID/task/TID/sched，没有时取自它的 stat，以 10 ms 为一个滴答），最忙的在前。

# --app chat
bench-left-out = 未参加：{ $why }
bench-chat-col-deliveries = 投递/s
bench-chat-col-mb = MB/s
bench-chat-col-cpu = 每千次投递 CPU µs
bench-chat-col-dropped = 踢出
bench-chat-col-checked = 已校验投递
bench-chat-errors = { $deliveries }（{ $errors } 个错误）
bench-chat-per-sender = 每个发送者 { $n } 行
bench-chat-title = iomodels bench --app chat — 一个聊天室：{ $senders } 个发送者，{ $receivers } 个接收者，每行 { $size } B，每个发送者的窗口为 { $window } 行，{ $how }{ $median }
bench-chat-legend = 一次投递是某个成员收到并校验过的一行（校验它的发送者、长度、字节和次序）。{ $k } 个发送者各自以聊天室能承载的最快速度发送 { $size } 字节的行，但最多领先最慢的成员 { $w } 行（这样任何成员的队列都不会接近服务器 --max-pending 的 256 KiB），窗口允许多少就一次发送多少；每一行都发给 { $r } 个接收者和其余 { $k1 } 个发送者：每个发送者各发一行，就是 { $per } 次投递。全部 { $m } 个成员都加入之后才开始计时和计 CPU。每千次投递 CPU 是负载期间服务器的用户态加内核态时间按每千次投递折算：比投递/s 更稳定，后者可能受限于负载生成器那唯一的线程，它要校验每一行。踢出：因读得太慢被聊天室踢出的成员（窗口就是为了让它保持为 0）。

# --scaling
bench-scaling-per-step = 每步 { $seconds } s
bench-scaling-per-connection = 每步每个连接 { $n } 条消息
bench-scaling-title = iomodels bench --scaling — { $active } 个活跃连接（每条消息 { $size } B），旁边是空闲连接，{ $how }
bench-scaling-col-idle = 空闲
bench-scaling-col-cpu = 每次回显 CPU µs
bench-scaling-col-rss = 服务器 RSS MB
bench-scaling-col-held = 持有的连接
bench-scaling-col-peak = RSS 峰值 MB (VmHWM)
bench-scaling-beyond = { $idle } 个空闲：跳过，超出了 select 的 FD_SETSIZE 上限（{ $max } 个描述符）
bench-scaling-failed = { $idle } 个空闲：{ $why }
bench-scaling-note = 注：{ $model }：{ $note }
bench-scaling-plot-written = 图已写入 { $path }
bench-chart-title = 服务器每次回显的 CPU，按空闲连接数分组，对数刻度：条形长度对应 { $lo } µs 到 { $hi } µs
bench-chart-idle = { $idle } 个空闲
bench-plot-cpu = 服务器每次回显的 CPU
bench-plot-cpu-unit = CPU µs
bench-plot-p99 = p99 延迟
bench-plot-p99-unit = µs
bench-plot-x = 空闲连接数（扫描的各步）
bench-plot-y = { $unit }（对数刻度）

## Errors
bench-err-duration = --duration 接受 0 到 3600 之间的秒数
bench-err-messages = --messages 至少为 1
bench-err-scaling-peer = --scaling 扫描的是本程序的模型；--peer 只用于普通的基准测试
bench-err-plot = --plot 画的是 --scaling 扫描的结果：请加上 --scaling
bench-err-peer-chat = --peer 的服务器只做回显；--app chat 测的是本程序的模型
bench-err-senders = --senders 和 --receivers 决定聊天室的构成：请加上 --app chat
bench-err-peer = --peer 接受 NAME=PROGRAM，而不是 `{ $got }`
bench-err-nothing = 没有可测的：这里没有可用的模型
bench-err-no-chat = 没有可测的：点名的模型都不能聊天
bench-err-none-swept = 这个构建里还没有 { $models } 中的任何一个：请点名要扫描的模型，例如 `iomodels bench --scaling nonblocking threads`
bench-err-benchmarking = 测试 `{ $model }` 时
bench-err-benchmarking-chat = 用 --app chat 测试 `{ $model }` 时
bench-err-of = { $model }：{ $why }
bench-err-dropped = { $model }：聊天室把读得太慢的 { $members } 踢了出去：负载超出了读者的承受能力
bench-err-chat-size-max = --size { $size }：一行聊天最多 { $most } 字节（含换行符），更长的聊天室会拒绝；请用 --size { $most } 或更小的值
bench-err-chat-size-min = --size { $size }：一行聊天除换行符外至少要有一个字节（空行不会发给任何人）
bench-err-exe = 找不到本程序
bench-err-start = 无法启动 `{ $name }` 服务器
bench-err-not-started = `{ $name }` 服务器没有启动：{ $said }
bench-err-exited = 服务器已退出（{ $status }）：{ $said }
bench-err-not-stopped = 服务器在 Ctrl-C 之后 5 s 内没有停止；已将它杀死
bench-err-read = 无法读取 { $file }
bench-err-proc-stat = /proc 的 stat 格式异常
bench-err-raise-limit = 无法提高描述符上限
bench-err-hard-limit = 需要 { $needed } 个描述符，但硬上限（`ulimit -Hn`）只有 { $hard }；请提高它（例如以 root 身份执行 `ulimit -n { $needed }`，或修改 limits.conf），或者减少空闲连接（--idle-steps）
bench-err-connect = 无法打开到 { $addr } 的第 { $i } 个连接（共 { $n } 个）：{ $why }
bench-err-draw = 无法绘制 { $file }：{ $why }
