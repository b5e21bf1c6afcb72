//! A minimal Redis client (RESP2 over TCP): what the drill needs to write,
//! read and ask Sentinels, as an application's client would.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Option<Vec<Value>>),
}

impl Value {
    /// The text of a simple or bulk reply.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Self::Simple(s) | Self::Bulk(Some(s)) => Some(s),
            _ => None,
        }
    }

    /// The items of an array reply.
    pub(crate) fn items(&self) -> &[Value] {
        match self {
            Self::Array(Some(v)) => v,
            _ => &[],
        }
    }
}

/// One connection.
#[derive(Debug)]
pub(crate) struct Conn {
    reader: BufReader<TcpStream>,
}

/// Connection and reply timeout: loopback answers in microseconds.
const TIMEOUT: Duration = Duration::from_secs(2);

impl Conn {
    /// Connects, and authenticates when `password` is given.
    pub(crate) fn open(addr: IpAddr, port: u16, password: Option<&str>) -> std::io::Result<Self> {
        let stream = TcpStream::connect_timeout(&SocketAddr::from((addr, port)), TIMEOUT)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        stream.set_nodelay(true)?;
        let mut c = Self {
            reader: BufReader::new(stream),
        };
        // Only the error code of a refusal: the message could quote the command.
        if let Some(pw) = password
            && let Value::Error(e) = c.cmd(&["AUTH", pw])?
        {
            return Err(std::io::Error::other(format!(
                "AUTH refused: {}",
                e.split_whitespace().next().unwrap_or("error")
            )));
        }
        Ok(c)
    }

    /// Sends one command and reads its reply.
    pub(crate) fn cmd(&mut self, args: &[&str]) -> std::io::Result<Value> {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.reader.get_mut().write_all(out.as_bytes())?;
        self.read()
    }

    fn line(&mut self) -> std::io::Result<String> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }

    fn read(&mut self) -> std::io::Result<Value> {
        let line = self.line()?;
        let (kind, rest) = line.split_at(line.len().min(1));
        let bad = || std::io::Error::other(format!("bad reply `{line}`"));
        Ok(match kind {
            "+" => Value::Simple(rest.to_owned()),
            "-" => Value::Error(rest.to_owned()),
            ":" => Value::Int(rest.parse().map_err(|_| bad())?),
            "$" => {
                let len: i64 = rest.parse().map_err(|_| bad())?;
                if len < 0 {
                    Value::Bulk(None)
                } else {
                    let len = usize::try_from(len).map_err(|_| bad())?;
                    let mut buf = vec![0u8; len + 2];
                    self.reader.read_exact(&mut buf)?;
                    buf.truncate(len);
                    Value::Bulk(Some(String::from_utf8_lossy(&buf).into_owned()))
                }
            }
            "*" => {
                let len: i64 = rest.parse().map_err(|_| bad())?;
                if len < 0 {
                    Value::Array(None)
                } else {
                    let mut items = Vec::new();
                    for _ in 0..len {
                        items.push(self.read()?);
                    }
                    Value::Array(Some(items))
                }
            }
            _ => return Err(bad()),
        })
    }

    /// `INFO <section>` as key/value pairs.
    pub(crate) fn info(&mut self, section: &str) -> std::io::Result<Vec<(String, String)>> {
        let v = self.cmd(&["INFO", section])?;
        Ok(v.text()
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect())
    }
}

/// The value of `key` in INFO output.
pub(crate) fn field<'a>(info: &'a [(String, String)], key: &str) -> Option<&'a str> {
    info.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A flat [k1, v1, ...] reply whose values may be integers (ACL LOG).
pub(crate) fn pairs_mixed(v: &Value) -> Vec<(String, String)> {
    v.items()
        .chunks(2)
        .filter_map(|c| {
            let k = c.first()?.text()?.to_owned();
            let v = match c.get(1)? {
                Value::Int(i) => i.to_string(),
                other => other.text()?.to_owned(),
            };
            Some((k, v))
        })
        .collect()
}

/// A flat [k1, v1, k2, v2, ...] reply (SENTINEL master) as pairs.
pub(crate) fn pairs(v: &Value) -> Vec<(String, String)> {
    v.items()
        .chunks(2)
        .filter_map(|c| Some((c.first()?.text()?.to_owned(), c.get(1)?.text()?.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Replies as a server writes them, parsed back.
    #[test]
    fn parses_every_reply_type() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            s.write_all(
                b"*6\r\n+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhe\r\nl\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n",
            )
            .expect("write");
            // Keep the socket open until the client has read.
            std::thread::sleep(std::time::Duration::from_millis(200));
        });
        let mut c = Conn::open(std::net::Ipv4Addr::LOCALHOST.into(), port, None).expect("connect");
        let v = c.cmd(&["PING"]).expect("reply");
        let items = v.items();
        assert_eq!(items[0], Value::Simple("OK".into()));
        assert_eq!(items[1], Value::Error("ERR bad".into()));
        assert_eq!(items[2], Value::Int(42));
        assert_eq!(items[3].text(), Some("he\r\nl"));
        assert_eq!(items[4], Value::Bulk(None));
        assert_eq!(
            pairs_mixed(&items[5]),
            vec![("a".to_owned(), "1".to_owned())]
        );
        server.join().expect("server");
    }
}
