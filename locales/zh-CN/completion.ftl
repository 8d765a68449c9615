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
uring-notice-state = 状态保存在程序自己的“键 → 回调”表里（同时在途的键最多 { $keys } 个），而不像 `threads` 那样放在线程栈上；请求在内核里等待时，这一个线程做了 { $work } 个单位的其他工作（复制本身也在这个线程上、在 io_uring_enter 里面进行：见 --kernel）
