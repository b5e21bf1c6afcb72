//! Stand-in app instances: one small HTTP/1.1 server per backend and
//! frontend instance, on the instance's loopback address and port. Each
//! answers every request (its health path included) with 200 and its own
//! name, in the body and in an `X-Drill-Backend` header, so the drill sees
//! which instance nginx picked. Stopping one closes its listener and every
//! open connection, as a stopped container would; killing one also leaves
//! its address silent, as a dead task's overlay address is.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::blackhole::BlackHole;

/// The response header naming the instance.
pub(crate) const HEADER: &str = "x-drill-backend";

/// How long an idle upstream connection is kept (nginx keeps them pooled).
const IDLE_LIMIT: Duration = Duration::from_secs(120);

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    requests: AtomicU64,
    /// Added to every answer (the load-balancer scenario's slow backend).
    delay_ms: AtomicU64,
    /// Open connections, to close them on stop.
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_conn: AtomicU64,
    active: AtomicUsize,
}

/// One stand-in instance.
#[derive(Debug)]
pub(crate) struct StandIn {
    pub(crate) name: String,
    pub(crate) addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    /// While killed: its address ignores connection attempts.
    hole: Option<BlackHole>,
}

impl StandIn {
    /// Starts listening on `addr`.
    pub(crate) fn start(name: &str, addr: SocketAddr) -> std::io::Result<Self> {
        let mut s = Self {
            name: name.to_owned(),
            addr,
            shared: Arc::new(Shared::default()),
            acceptor: None,
            hole: None,
        };
        s.listen()?;
        Ok(s)
    }

    fn listen(&mut self) -> std::io::Result<()> {
        let listener = TcpListener::bind(self.addr)?;
        listener.set_nonblocking(true)?;
        let shared = Arc::clone(&self.shared);
        shared.stop.store(false, Ordering::SeqCst);
        let name = self.name.clone();
        self.acceptor = Some(std::thread::spawn(move || {
            accept(&listener, &shared, &name)
        }));
        Ok(())
    }

    /// Closes the listener and every open connection.
    pub(crate) fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
        let conns: Vec<TcpStream> = self
            .shared
            .conns
            .lock()
            .map(|mut m| m.drain().map(|(_, s)| s).collect())
            .unwrap_or_default();
        for c in conns {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
        // Handlers notice within their read timeout.
        let end = Instant::now() + Duration::from_secs(3);
        while self.shared.active.load(Ordering::SeqCst) > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops as a killed container on an overlay network does: open
    /// connections are closed (the kernel closes a dead process's sockets),
    /// and new connection attempts get no answer at all, not even a reset,
    /// so nginx waits its connect timeout before the next server.
    pub(crate) fn kill(&mut self) -> std::io::Result<()> {
        self.stop();
        self.hole = Some(BlackHole::open(self.addr)?);
        Ok(())
    }

    /// Listens again on the same address.
    pub(crate) fn restart(&mut self) -> std::io::Result<()> {
        self.hole = None;
        if self.acceptor.is_none() {
            self.listen()?;
        }
        Ok(())
    }

    /// Requests answered so far.
    pub(crate) fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Delays every answer by `d`.
    pub(crate) fn set_delay(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>, name: &str) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let id = shared.next_conn.fetch_add(1, Ordering::SeqCst);
                if let (Ok(()), Ok(clone)) = (stream.set_nonblocking(false), stream.try_clone()) {
                    if let Ok(mut m) = shared.conns.lock() {
                        m.insert(id, clone);
                    }
                    shared.active.fetch_add(1, Ordering::SeqCst);
                    let shared = Arc::clone(shared);
                    let name = name.to_owned();
                    std::thread::spawn(move || {
                        serve(stream, &shared, &name);
                        if let Ok(mut m) = shared.conns.lock() {
                            m.remove(&id);
                        }
                        shared.active.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Answers requests on one keep-alive connection until the peer closes it,
/// it idles for too long, or the stand-in stops.
fn serve(mut stream: TcpStream, shared: &Shared, name: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut idle_since = Instant::now();
    loop {
        if shared.stop.load(Ordering::SeqCst) || idle_since.elapsed() > IDLE_LIMIT {
            return;
        }
        // One request head (GET without a body; a declared body is skipped).
        let Some(end) = find(&buf, b"\r\n\r\n") else {
            match stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > 64 * 1024 {
                        return;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let body_len: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() < end + 4 + body_len {
            match stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
            continue;
        }
        buf.drain(..end + 4 + body_len);
        let delay = shared.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let body = format!("{name}\n");
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{HEADER}: {name}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
        idle_since = Instant::now();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
