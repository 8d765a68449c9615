# iomodels 的中文（简体）消息。每个 id 都必须在 ../en/iomodels.ftl 中也有（测试会检查）。
# { $name } 由程序填入；数字已按千分位格式化。

## 跟踪的各列与阶段

head-time = 时间 ms
head-who = 执行者
head-call = 调用
head-result = 结果
head-took = 耗时
head-stage = 阶段
head-means = 含义
stage-setup = 准备
stage-data-ready = ① 数据准备
stage-copy-to-user = ② 复制到用户空间
stage-data-ready-copy = ①+② 准备+复制
stage-send-out = 发送
stage-completion = ✓ 完成
stage-teardown = 收尾
stage-client = 客户端
stage-work = 其他工作
folded = … 另有 { $n } 行已折叠（小结里全部计入）

## 小结

summary-title = ── 小结：{ $model } ──
summary-syscalls = 系统调用
summary-kernel-ops = 内核代办的操作
summary-kernel-ops-value = { $n }（提交给内核，由内核替我们完成）
summary-eagain = EAGAIN 回答
summary-time = 调用内耗时
summary-bytes = 字节
summary-bytes-value = 我们的 recv 调用复制进来 { $got }，内核替我们复制 { $kernel }，{ $app ->
        [chat] 转发出去
       *[echo] 回显出去
    } { $out }
summary-bytes-library-value = 我们的 recv 调用复制进来 { $got }，库的线程替我们复制 { $library }，{ $app ->
        [chat] 转发出去
       *[echo] 回显出去
    } { $out }
summary-cpu = 服务器 CPU
summary-cpu-value = 运行 { $run }，用户态+内核态共 { $cpu }
summary-cpu-call-value = 运行 { $run }，用户态+内核态共 { $cpu }（{ $call }）
summary-readiness = 就绪等待
summary-readiness-value = 唤醒 { $wakeups } 次；每次唤醒要查看 { $watched } 个描述符，找到 { $ready } 个就绪
summary-refused = 拒绝
summary-refused-value = { $n } 个连接刚接受就关闭
summary-refused-clients-value = { $n } 个连接刚接受就关闭；场景中有 { $clients } 个客户端被拒之门外（服务器繁忙、描述符用尽或超出 FD_SETSIZE）
summary-kernel-events = 内核事件
summary-kernel-lost = ；丢失 { $n } 个（内核缓冲区已满）
summary-library = 库函数调用
summary-library-value = { $calls }：C 库函数，不是系统调用
summary-library-own = 库自己的调用
summary-work = 其他工作
summary-work-value = 等待期间完成了 { $n } 个单位
summary-room = 聊天室
summary-room-value = 加入 { $joined } 人；说了 { $lines } 行，投递 { $deliveries } 次（为成员排队 { $bytes } 字节）；因读得太慢被踢出 { $dropped } 人；拒绝 { $refused } 行；最长的队列 { $peak } 字节
summary-clients = 客户端
summary-clients-value = { $threads } 个服务器线程服务了 { $accepted } 个客户端，同时最多 { $open } 个；{ $checked }
summary-not-checked = --serve 模式下不检查{ $app ->
        [chat] 收到的行
       *[echo] 回显
    }（客户端不是我们的）
summary-checked = 逐字节检查了 { $n } { $app ->
        [chat] 条预期的行
       *[echo] 次回显
    }（{ $bytes } 字节）{ $failed ->
        [0] {" ✓"}
       *[other] ，其中 { $failed } 个失败
    }
summary-state = 状态保存在
notice-heading = 值得注意

## 测试框架与脚本化的客户端

listening = 在 { $addr } 上监听
client-connects = 从端口 { $port } 发起连接
client-connects-rcvbuf = 从端口 { $port } 发起连接，接收缓冲区设为 { $bytes } 字节（SO_RCVBUF）
client-sends = 发送 { $shown }（{ $bytes } 字节）
client-stops-reading = 不再读取回显
client-resumes-reading = 重新读取回显
client-expects = 等着聊天室发来 { $shown }（{ $bytes } 字节）
client-expects-anytime = 等着聊天室在某个时候发来 { $shown }
client-expects-drop = 预计服务器会因为它读得太慢而把它踢出
client-resets = 以 SO_LINGER 0 关闭：服务器收到一个复位（RST）
client-closes = 关闭写方向（FIN），等待剩下的回显
client-eof = 服务器关闭了连接（EOF）
client-dropped = 服务器复位了连接：因读得太慢被踢出，与预期一致 ✓
client-got-anytime = 收到了预计会在某个时候到达的一行：{ $shown } ✓
client-got-expected = 收到了预期的内容（第 { $n } 条）：{ $shown }（{ $bytes } 字节）✓
client-got-echo = 收到第 { $n } 次发送的回显：{ $shown }（{ $bytes } 字节）✓

## 聊天室（--app chat）

room-members = { $count ->
        [0] 没有别的成员
       *[other] { $shown } 已为其余 { $count } 个成员各排一份
    }
room-joined = 聊天室：{ $who } 加入；{ $members }
room-left = 聊天室：{ $who } 离开；{ $members }
room-said = 聊天室：{ $who } 说了 { $lines } 行；{ $members }（共 { $bytes } 字节；目前最长的队列 { $longest } 字节）
room-dropped = 聊天室：{ $who } 的队列将超过 { $max } 字节（它没在读）：踢出它，聊天室照常进行，内存保持有界；接下来关闭它的连接
room-too-long = 一行超过了 { $max } 字节：拒绝，并告诉发送者原因，这一行余下的部分跳过
room-bad-name = 名字不合规：拒绝，并告诉客户端原因（它可以换一个再试）
room-name-taken = 名字 { $name } 已被占用：拒绝，并告诉客户端原因
room-deliver = 投递聊天室的 { $n } 字节：{ $shown }
room-close-dropped = { $who } 读得太慢：被踢出聊天室，聊天室照常进行
room-close-left = { $who } 离开了聊天室，排给它的每一行都已送达
room-nameless = 还没起名字的客户端
room-notice-fanout = 从成员那里读到 { $lines } 行，变成了 { $deliveries } 次投递（含加入与离开的通知）：在聊天室里，一个套接字可读就意味着要向其余每个成员各发一次；每读入 1 字节要发出 { $ratio } 字节
room-notice-kept = 没有成员掉队：最长的队列是 { $peak } 字节（成员的队列将超过 { $max } 字节时会被踢出，见 --max-pending）
room-notice-dropped = 有 { $n } 个成员不再读取：内核为它们准备的缓冲区满了之后，发给它们的行就在我们的内存里排队；某个队列将超过 { $max } 字节（--max-pending）时，服务器踢出了那个成员（先设 SO_LINGER 0，再 close）——聊天室照常进行，没有哪个队列超过 { $peak } 字节

## 每个成员一个线程（threads --app chat）

threads-writer-start = 新线程（{ $tid }）负责把聊天室为 fd { $fd } 排队的内容发给它；本线程负责读它
threads-writer-failed = 无法为 fd { $fd } 启动发送线程：这个客户端被丢弃
threads-writer-none = 没有线程给它发送：丢弃它
threads-member-done = 这个成员结束了；它的线程也随之结束
threads-sndtimeo = 在满缓冲区上阻塞的 sendto 最多等这么久就放弃，这样我们能及时发现聊天室在此期间踢出了这个成员
threads-writer-sleeps = 本线程在这个成员的信箱（一个条件变量：futex 调用，不显示）上睡眠，直到聊天室为它排入新的行
threads-wake-reader = 唤醒这个成员睡在 recvfrom 里的读线程（它会返回 0）：连接要关闭了
threads-sent-part = 超时之前只写进去 { $all } 字节中的 { $n } 字节：这个成员读得慢
threads-no-room = { $ms } ms 内没有空间放下 { $all } 字节：这个成员还在聊天室里吗？
