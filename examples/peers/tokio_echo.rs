//! A tokio echo server, the shape of tokio's own `examples/echo.rs` (multi-thread runtime, a
//! task per connection, read then `write_all`), as a peer for `iomodels bench --peer`.
//!
//! `peer-tokio [--port N]` prints `serving on IP:PORT …` first on stderr, like
//! `iomodels MODEL --serve`, and runs until killed (Ctrl-C).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let local = listener.local_addr()?;
    eprintln!(
        "serving on {local} — connect with: nc {} {}",
        local.ip(),
        local.port()
    );
    loop {
        let (mut socket, _) = listener.accept().await?;
        tokio::spawn(async move {
            let mut buf = vec![0; 1024];
            loop {
                let n = match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if socket.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn port_arg() -> u16 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}
