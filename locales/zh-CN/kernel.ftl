# 内核通道（中文）：它的要点（“值得注意”）、内核事件的说明、附注，以及 async 表格。

## 内核通道的要点（trace/story.rs）

story-handshake = { $client } 的握手在 { $at } 于内核中完成，没有任何进程参与（inet_sock_set_state SYN_RECV → ESTABLISHED）；{ $later } 之后，服务器的 { $call } 才从 accept 队列中取走这个连接
story-first-client = 第一个客户端
story-longest = { $client } 的 { $bytes } 字节在 { $at } 到达内核（sk_data_ready），在那里停留了 { $queued }，直到{ $who }把它们复制到用户空间（sock_recv_length，在 { $inside } 里）{ $busy }
story-busy-in = ：数据到达时，线程正在 { $call } 里
story-who-uring = io_uring 的内核线程
story-who-helper = { $lib } 的辅助线程
story-who-server = 服务器的线程
story-inside-unknown = 某个追踪中看不到的调用
story-woken = { $total } 条消息中有 { $n } 条到达时，等它们的线程正在睡眠：数据到达后 { $took }（中位数），内核唤醒了它（sched_wakeup）
story-eagain = { $client } 的数据在服务器对其套接字最后一次得到 EAGAIN 之后 { $after } 到达，下一次 recvfrom 在数据到达 { $copied } 后把它复制到用户空间：此前的每一次 EAGAIN，都是一次只得知“还没有”的系统调用
story-signal = { $client } 的数据到达后 { $took }，内核发出了信号（signal_generate）：通知来自数据的交付本身
story-uring = { $armed } 个 RECV 和 ACCEPT 请求发现还没有数据，便在各自的套接字上挂了一个 poll（io_uring_poll_arm：就绪通知，只是下沉了一层）；每次数据到达，都为 ring 的线程排入一项 task work（{ $added } 次 io_uring_task_add）；{ $copies } 次复制中有 { $inside } 次在服务器自己的线程上、在 io_uring_enter 里完成。设置 IORING_SETUP_DEFER_TASKRUN 时，复制要等这个线程下一次进入 io_uring_enter；不设置时，同样的 task work 会在这个线程下次返回用户空间时在它上面运行（会先打断它，除非设置了 IORING_SETUP_COOP_TASKRUN）
