# 命令行的帮助、用法错误和“错误：”一行，简体中文（参数帮助的命名方式见 src/cli.rs）。

error = 错误：{ $message }
error-cause = ：

## 各个命令。

help-about = 网络服务器的 I/O 模型，一次一个系统调用地展示出来
help-long-about = 在一种 I/O 模型下运行同一个 TCP 回显服务器，用脚本化的客户端驱动它，打印服务器发出的每个系统调用，并标出它属于 I/O 的哪个阶段：① 等待数据（数据准备），② 把数据复制到进程（复制到用户空间）。
help-examples =
    示例：
      iomodels blocking                      阻塞 I/O 下的课堂场景
      iomodels nonblocking --format json     同上，每个事件一个 JSON 对象
      iomodels epoll --html epoll.html       另存一个页面：可缩放的时间线
      iomodels epoll --format perfetto > e.json   在 ui.perfetto.dev 中打开 e.json
      iomodels threads --scenario demos/crowd.scenario
      iomodels blocking --serve --port 7000  服务真实的客户端：nc 127.0.0.1 7000
      iomodels list                          每个模型、它在 UNP 中的图号，以及本系统是否支持
help-model-about = { $summary }（UNP 图 { $figure }）
help-model-examples =
    示例：
    {"  "}{ $examples }
help-compare-about = 在几种模型下运行同一个场景：并排对照、一张表格，以及 UNP 图 6.6
help-compare-examples =
    示例：
      iomodels compare
      iomodels compare blocking nonblocking --width 120
      iomodels compare --format markdown
      iomodels compare --html compare.html
help-async-about = 真的是异步吗？UNP 图 6.4 和 6.5 的每个模型，逐一运行它的每种模式：谁在等待，谁在复制，每次回显用几个调用
help-async-examples =
    示例：
      iomodels async
      sudo iomodels async --kernel
      iomodels async --format markdown
help-bench-about = 测量每个模型：每秒请求数、延迟、每个请求花费的服务器 CPU；--scaling：空闲连接的代价
help-bench-examples =
    示例：
      iomodels bench
      iomodels bench threads nonblocking -c 100 -d 5 --format csv
      iomodels bench --scaling --plot scaling.svg
help-list-about = 列出各个模型、它们在 UNP 中的图号，以及本系统支持哪些
help-completions-about = 打印 shell 补全脚本
help-completions-examples =
    示例：
      iomodels completions bash > ~/.local/share/bash-completion/completions/iomodels
      iomodels completions zsh > ~/.zfunc/_iomodels
      iomodels completions fish > ~/.config/fish/completions/iomodels.fish
help-man-about = 打印 man 手册页（roff 格式）
help-man-examples =
    示例：
      iomodels man | man -l -
      iomodels man > ~/.local/share/man/man1/iomodels.1

## 各命令共有的参数。

help-lang = 给人看的输出所用的语言：en 或 zh-CN（默认取自 LC_ALL、LC_MESSAGES 或 LANG；都没有则用英文）。JSON 的键名、调用名、标志名和 errno 名永远不变
value-lang-en = 英文
value-lang-zh-cn = 简体中文
help-scenario = 用这个场景文件编排客户端（默认：内置的课堂场景；--app chat 时为 demos/chat.scenario）
value-app-echo = 每个客户端发来的字节原样回到它自己
value-app-chat = 每个客户端发来的每一行都转给其他所有客户端
help-color = auto：标准输出是终端且 NO_COLOR 未设置或为空时使用颜色（never 还会让 compare 的图改用 ASCII 字符绘制）
help-width = 把文字排进多少列：比一整行跟踪记录窄时，每个调用的注解移到它下方，过长的调用和注解折行（默认：$COLUMNS，否则取终端宽度；输出到管道时，跟踪记录的行保持完整，compare 按 100 列排版）
help-read-size = 每次 recv 要求读取的字节数；取值小时可以看到部分读取
value-kernel-server = 服务器的线程：要看的正是服务器何时睡眠、何时被唤醒
value-kernel-all = 本次运行的所有线程：包括客户端的和测试框架的

## 一个模型的运行（iomodels MODEL）。

help-run-app = 服务器如何处理读到的数据：原样回显，或者聊天（每一行转给其他所有客户端：原课程多路复用一课最后的练习）
help-run-serve = 持续服务真实的客户端（例如 `nc 127.0.0.1 PORT`），实时跟踪，直到按下 Ctrl-C
help-run-port = 监听的端口（0：任选一个空闲端口）
help-run-bind = 监听的地址；除回环地址外，任何地址都会把服务器暴露在网络上
help-run-format = text 给人看，json 给程序读（每行一个对象），perfetto 用于 ui.perfetto.dev
value-run-format-perfetto = Chrome 的 Trace Event JSON，用于 ui.perfetto.dev 和 chrome://tracing（在运行结束时写出）
help-run-html = 另把这次运行写成一个自包含的 HTML 页面：一条时间线，每个线程和客户端各占一道（跟踪照常打印；只要页面就加上 `>/dev/null`）
help-run-no-trace = 什么都不记录：全速服务（供外部负载生成器使用）
help-run-edge = epoll：边沿触发的就绪通知（EPOLLET）；服务器把每个就绪的套接字一直读到 EAGAIN
help-run-poll = aio：先经由 AIO 的 IOCB_CMD_POLL 等待就绪，再由服务器自己调用 recvfrom（图 6.3）
help-run-multishot = uring：一个多次触发（multishot）的 accept，每个连接一个多次触发的 recv，读进由提供的缓冲区组成的环（一个 SQE，多个 CQE；Linux 6.0）
help-run-sqpoll = uring：由一个内核线程轮询提交环（IORING_SETUP_SQPOLL），提交请求无需系统调用
help-run-share = reactors：同一个监听套接字直接注册进每个线程的 epoll：一个连接到来会唤醒所有在等待的线程（惊群；默认方式）
help-run-exclusive = reactors：共享的监听套接字以 EPOLLEXCLUSIVE 注册（Linux 4.5）：只唤醒一个或几个在等待的线程，而不是全部
help-run-reuseport = reactors：每个线程一个监听套接字，都用 SO_REUSEPORT 绑定到同一端口：内核按连接地址的哈希选出其中一个
help-run-threads = reactors：事件循环线程数，每个线程有自己的 epoll 和连接（默认：每个 CPU 一个）
help-run-pool = threads：预先创建线程的服务器（UNP 第 30 章）：在任何客户端到来之前创建 N 个线程，都阻塞在同一个监听套接字的 accept 上；第 N+1 个客户端要等到有线程空闲（N 默认为 4）
help-run-workers = iocp：N 个工作线程（省略 N 时为 4）等在同一个以 NumberOfConcurrentThreads = N 创建的完成端口上；每个完成包交给正在等待的某个工作线程
help-run-idle = 在场景开始前先打开 N 个从不发送数据的空闲客户端连接（一群可供观察的旁观者）
help-run-max-conns = 同时服务的最大连接数；再来的连接会被告知原因并关闭
help-run-max-pending = 一个连接最多可以有多少字节等待回显，超过后服务器暂停读它（可用 K、M 后缀）
help-run-max-buffer-total = 所有连接合计最多可以有多少字节等待回显，每个连接的一次读取不计在内
help-run-max-fds = 把本进程的描述符上限（RLIMIT_NOFILE）降到 N，观察服务器用尽描述符（EMFILE）后如何存活；场景里的客户端让自己的套接字保持在 N 以上（可配合 demos/emfile.scenario 试试）
help-run-kernel = Linux，需 root：另用单独的一道显示内核自己的跟踪点，针对本次运行的线程（数据到达、复制、唤醒、io_uring 的请求）；客户端线程和测试框架线程的调度事件只在 `--kernel=all` 时显示

## compare

help-compare-models = 要比较的模型（默认：本系统支持的所有模型）
help-compare-app = 每个模型服务的应用：回显，或者聊天（每一行转给其他所有客户端）；聊天时不含一次只服务一个客户端的模型，并统计聊天室的投递次数
help-compare-format = text 给人看，json 给程序读，markdown 用于幻灯片和书，perfetto 用于 ui.perfetto.dev
value-compare-format-perfetto = Chrome 的 Trace Event JSON（ui.perfetto.dev）：每个模型一个进程
help-compare-html = 另把每个模型的运行写成一个自包含的 HTML 页面：它们的时间线共用一条时间轴，外加图 6.6 和表格（比较结果照常打印）
help-compare-read = 在图中跟踪这个客户端的第一条消息（默认：第一个发送数据的客户端）
help-compare-kernel = Linux，需 root：记录每个模型的运行时带上内核一道（见 `iomodels MODEL --help`）

## async

help-async-scenario = 用这个场景文件编排客户端（默认：内置的课堂场景）
help-async-format = text 给人看，json 给程序读，markdown 用于幻灯片和书
help-async-kernel = Linux，需 root：记录每次运行时带上内核一道，由它观察谁在等待、谁在复制（见 `iomodels MODEL --help`）

## bench

help-bench-models = 要测量的模型（默认：本系统支持的所有模型，blocking 除外，因为它一次只服务一个连接；点名它就用一个连接测量），有模式的带上模式的标志，整个用引号括成一个参数（'reactors --reuseport --threads 2'）。用 --scaling 时：要扫描的模型（默认：这里的就绪模型和完成模型）
help-bench-app = 服务器运行的应用：回显，或者聊天（一个聊天室；用 --senders 和 --receivers 测每秒投递次数；不含一次只服务一个客户端的模型）
help-bench-senders = --app chat：以聊天室能承受的最快速度发送各行的成员数（默认：4）
help-bench-receivers = --app chat：只读不写的成员数（默认：16）
help-bench-connections = 闭环中的连接数，每个连接发送一条消息并等待它的回显
help-bench-size = 每条消息的字节数（--app chat 时为每行，含换行符，最多 256）
help-bench-duration = 每个模型施加负载的秒数（用 --scaling 时为每一步）（默认：3，用 --scaling 时为 1）
help-bench-messages = 不按时长，而是每个连接发送的消息数
help-bench-rounds = 每个模型交替运行（A B A B ……）这么多次，报告中位数
help-bench-format = table 给人看，json 或 csv 给出原始数据
value-bench-format-table = 给人看的表格（用 `--scaling` 时还有一张文字图表）
value-bench-format-json = 一个含原始数据的 JSON 文档
value-bench-format-csv = 一行表头，每行数据一行
help-bench-peer = 另外测量一个回显服务器：NAME=PROGRAM，以 `PROGRAM --port 0` 启动，它要先在标准错误上打印 `serving on IP:PORT`（见 examples/peers/）
help-bench-scaling = 空闲连接扫描：在 0 …… 10,000 个空闲连接下，每次回显的 CPU 开销和延迟
help-bench-active = 用 --scaling 时：空闲连接之外的活跃连接数
help-bench-idle-steps = 用 --scaling 时：逐步经过的空闲连接数
help-bench-plot = 用 --scaling 时：另把扫描结果画成一个 SVG 文件

## list

help-list-format = text 给人看，json 给程序读（每个模型一行，一个对象）

## clap 自己的用语（英文由 clap 自己说）。

help-usage = 用法：
help-heading-commands = 命令
help-heading-options = 选项
help-heading-arguments = 参数
help-flag-help = 打印帮助（用 '--help' 查看详细说明）
help-flag-help-long = 打印帮助（用 '-h' 查看摘要）
help-flag-version = 打印版本
help-help-about = 打印本帮助，或给定子命令的帮助
help-help-command = 要查看帮助的子命令
help-values = {" "}[可选值：{ $values }]
help-values-heading = {"\u000A\u000A"}可选值：
help-value = {"\u000A"}- { $value }
help-value-explained = {"\u000A"}- { $value }：{ $help }
help-default = {" "}[默认值：{ $value }]
help-default-long = {"\u000A"}[默认值：{ $value }]
help-list-separator = 、

## 用法错误：按 clap 错误的种类重新说一遍。

usage-hint-help = （见 `iomodels --help`）
usage-hint-list = （运行 `iomodels list` 查看有哪些模型）
usage-unknown-argument = 无法识别的参数 '{ $arg }'
usage-unknown-command = 无法识别的子命令 '{ $command }'
usage-missing-value = '{ $arg }' 需要一个值，但没有给出
usage-invalid-value = '{ $arg }' 的值 '{ $value }' 无效；可选值：{ $values }
usage-bad-value = '{ $arg }' 的值 '{ $value }' 无效：{ $why }
usage-out-of-range = { $value } 不在 { $range } 范围内
# Why a number did not parse (the English is std's own ParseIntError text).
usage-number-empty = 空字符串不是数字
usage-number-digit = 含有不是数字的字符
usage-number-large = 数字太大，超出了允许的范围
usage-number-small = 数字太小，超出了允许的范围
usage-missing-argument = 缺少必需的参数：{ $arg }
usage-missing-command = '{ $command }' 需要一个子命令，但没有给出
usage-conflict = 参数 '{ $arg }' 不能与 '{ $other }' 同时使用
usage-repeated = 参数 '{ $arg }' 不能多次使用
usage-no-equals = 给 '{ $arg }' 赋值时需要等号
usage-too-many = '{ $arg }' 多出了一个值 '{ $value }'；它不再接受更多的值
usage-utf8 = 参数中有无效的 UTF-8
usage-other = 参数无效

## `iomodels list`：表头（各列宽 12、8、10 列）和是否可用。

list-model = 模型
list-figure = UNP 图
list-here = 本机可用？
list-shows = 展示什么
list-yes = 是
list-no = 否：{ $platforms }

## 每个模型 `--help` 里的示例（和模型的简介一样，来自模型注册表）。

aio-examples =
    iomodels aio                           提交读请求的 io_submit 一直睡到客户端发来数据
    iomodels aio --poll                    IOCB_CMD_POLL：经由 AIO 等待就绪，再调用 recvfrom
    iomodels aio --format json             每个事件都带着把它和它的 iocb 对应起来的 key
apc-examples =
    iomodels apc                           每个完成例程都在线程的可警告等待之中运行
    iomodels apc --format json             完成例程的 tid：总是发起请求的那个线程
blocking-examples =
    iomodels blocking                      服务器卡在 A 上时，B 的字节在内核里等着
    iomodels blocking --scenario demos/slow-sender.scenario
    iomodels blocking --serve --port 7000  然后在两个终端里分别运行：nc 127.0.0.1 7000
epoll-examples =
    iomodels epoll --edge                  边沿触发：每个就绪的套接字都读到 EAGAIN 为止
    iomodels epoll --idle 1000             1000 个空闲连接不增加 epoll 每次唤醒的开销
    iomodels epoll --max-fds 9 --scenario demos/emfile.scenario
iocp-examples =
    iomodels iocp                          先 AcceptEx 和 WSARecv，再取完成包
    iomodels iocp --scenario demos/crowd.scenario       四个客户端共用一个完成端口
kqueue-examples =
    iomodels kqueue                        一次 kevent 调用既修改关注又等待
    iomodels kqueue --scenario demos/faults.scenario    EV_EOF 到来时还有数据要读完
nonblocking-examples =
    iomodels nonblocking                   EAGAIN、EAGAIN、……：空转被折叠并计数
    iomodels nonblocking --read-size 1     部分读取：每次 recvfrom 一个字节
    iomodels nonblocking --scenario demos/slow-sender.scenario
poll-examples =
    iomodels poll --idle 1000              内核每次唤醒都要扫描的 pollfd 数组
    iomodels poll --scenario demos/slow-reader.scenario    对端重新开始读时出现 POLLOUT
portable-examples =
    iomodels portable                      polling crate 自己的调用，和我们的并列
    iomodels portable --idle 40            polling 的后端，外加一群可供观察的空闲连接
posix-aio-examples =
    iomodels posix-aio                     aio_read 立即返回；是谁在读？
    iomodels posix-aio --kernel            内核眼中的 glibc 辅助线程
    iomodels posix-aio --idle 20           20 个空闲客户端占满了所有辅助线程：谁来服务 A？
reactors-examples =
    iomodels reactors --threads 4 --scenario demos/herd.scenario   惊群：全部被唤醒
    iomodels reactors --exclusive --scenario demos/herd.scenario   EPOLLEXCLUSIVE：唤醒一个或几个
    iomodels reactors --reuseport --scenario demos/herd.scenario   SO_REUSEPORT：每个线程一个队列
select-examples =
    iomodels select --scenario demos/crowd.scenario    为四个客户端扫描同一个 fd_set
    iomodels select --idle 1000            fd_set 里有 1000 个空闲描述符，每次唤醒都要扫描
sigio-examples =
    iomodels sigio                         实时信号指出就绪的套接字
    iomodels sigio --scenario demos/crowd.scenario      四个客户端的信号排起队来
threads-examples =
    iomodels threads --scenario demos/crowd.scenario    每个客户端一个线程，同时都在睡眠
    iomodels threads --format json                      每个调用都带着所在线程的 tid
    iomodels threads --pool 2 --scenario demos/pool.scenario   C 和 D 等着被 accept
uring-examples =
    iomodels uring                         提交 SQE，收取 CQE：由内核复制数据
    iomodels uring --format json           每个操作都带着把它和它的提交对应起来的 key
    iomodels uring --multishot             一个 accept SQE，每个连接一个 recv SQE：每个都产生多个 CQE
    iomodels uring --sqpoll                由内核线程取走 SQE：（几乎）没有系统调用
wsaevent-examples =
    iomodels wsaevent                      每个套接字一个事件，一个 WSAWaitForMultipleEvents
    iomodels wsaevent --idle 70            64 个事件的上限：第 64 个连接被拒绝
