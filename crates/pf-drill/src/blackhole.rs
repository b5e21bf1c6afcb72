//! An address that swallows connection attempts, as a killed container's
//! address on an overlay network does: no process answers, and no host
//! sends a reset, so a client's SYN goes unanswered until its own connect
//! timeout. On loopback a closed port answers with a reset at once, which
//! would hide exactly the wait the guide's "<1 s" failover is about.
//!
//! Linux drops a SYN when the listener's accept queue is full
//! (`tcp_conn_request`: `sk_acceptq_is_full` -> drop, no reset, syncookies
//! or not). A listener with backlog 0 that never accepts is full after one
//! queued connection, which this module makes itself.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use rustix::net::{AddressFamily, SocketFlags, SocketType, bind, listen, socket_with, sockopt};

/// A full, never-accepting listener on an address, and the connection that
/// fills its queue. Dropping it frees the address.
#[derive(Debug)]
pub(crate) struct BlackHole {
    _listener: TcpListener,
    _filler: TcpStream,
}

impl BlackHole {
    /// Takes `addr` (free, or left by a stopped listener) and fills its
    /// queue; checks that a further connection attempt really times out.
    pub(crate) fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let family = match addr {
            SocketAddr::V4(_) => AddressFamily::INET,
            SocketAddr::V6(_) => AddressFamily::INET6,
        };
        // Close-on-exec: a child process (curl, nginx) must not inherit the
        // listener and keep the address taken after the restart.
        let fd = socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
        sockopt::set_socket_reuseaddr(&fd, true)?;
        bind(&fd, &addr)?;
        listen(&fd, 0)?;
        let listener = TcpListener::from(fd);
        let filler = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        let probe = Duration::from_millis(300);
        match TcpStream::connect_timeout(&addr, probe) {
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(Self {
                _listener: listener,
                _filler: filler,
            }),
            Ok(_) => Err(std::io::Error::other(format!(
                "{addr} still accepts connections with a full backlog-0 queue"
            ))),
            Err(e) => Err(std::io::Error::other(format!(
                "{addr} refused instead of ignoring a connection attempt: {e}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BlackHole;
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    #[test]
    fn connection_attempts_hang_until_the_client_gives_up() {
        let free: SocketAddr = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr")
        };
        let hole = BlackHole::open(free).expect("black hole");
        let start = Instant::now();
        let r = TcpStream::connect_timeout(&free, Duration::from_millis(400));
        let waited = start.elapsed();
        assert!(
            matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::TimedOut),
            "{r:?}"
        );
        assert!(waited >= Duration::from_millis(390), "{waited:?}");
        drop(hole);
        // The address is free again: a plain listener binds it.
        TcpListener::bind(free).expect("rebind after the black hole");
    }
}
