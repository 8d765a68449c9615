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
