//! The worker's listening socket, with a backlog for a crowd that comes back at once.

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// How many connections the kernel may hold for us before we accept them (capped by
/// `net.core.somaxconn`). A restarted worker's crowd comes back within a second or two;
/// with the 128 of a plain bind, the rest of their SYNs were dropped and each such client
/// waited out TCP's retransmission (1 s, 3 s, 7 s, …) before trying again.
const LISTEN_BACKLOG: u32 = 8192;

/// Binds `addr` (reusing the address, as a plain bind does) with [`LISTEN_BACKLOG`].
pub(super) fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}
