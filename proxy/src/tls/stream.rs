//! A connection's byte stream, to a client or to a backend: plain TCP, or TLS over it
//! once the SSLRequest has gone by.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsStream;

use super::{BackendTls, ClientTls};

pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<Rewind>>),
    /// Between taking the plain stream and getting the TLS one back (a failed upgrade
    /// leaves it here: the connection is unusable and is dropped).
    Closed,
}

impl Stream {
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// Waits until a read would not block (plain TCP), so an idle connection can wait
    /// without a read buffer. Over TLS it returns at once (the TLS layer buffers anyway).
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.readable().await,
            _ => Ok(()),
        }
    }

    /// True when the peer closed the connection or sent something while it was idle (a
    /// connection to a backend that died, or that ended it): it cannot serve a command.
    /// Plain TCP only, and without a system call unless the socket was seen readable.
    pub fn gone_while_idle(&self) -> bool {
        match self {
            Stream::Plain(tcp) => match tcp.try_read(&mut [0u8; 1]) {
                Err(e) => e.kind() != io::ErrorKind::WouldBlock,
                Ok(_) => true,
            },
            Stream::Tls(_) => false,
            Stream::Closed => true,
        }
    }

    fn take_plain(&mut self) -> io::Result<TcpStream> {
        match std::mem::replace(self, Stream::Closed) {
            Stream::Plain(tcp) => Ok(tcp),
            other => {
                *self = other;
                Err(io::Error::other("the stream is not plain TCP"))
            }
        }
    }

    /// Upgrades to TLS as the client of a backend (after the SSLRequest went out).
    pub async fn connect_tls(&mut self, tls: &BackendTls, host: &str) -> io::Result<()> {
        let tcp = Rewind::new(Vec::new(), self.take_plain()?);
        *self = Stream::Tls(Box::new(tls.connect(host, tcp).await?.into()));
        Ok(())
    }

    /// Upgrades to TLS as the server of a client (after its SSLRequest came in).
    /// `early`: bytes that came after the SSLRequest (a client may send its ClientHello
    /// without waiting), read first by the TLS handshake.
    pub async fn accept_tls(&mut self, tls: &ClientTls, early: Vec<u8>) -> io::Result<()> {
        let tcp = Rewind::new(early, self.take_plain()?);
        *self = Stream::Tls(Box::new(tls.accept(tcp).await?.into()));
        Ok(())
    }
}

/// A TCP stream that first gives back bytes already read from it.
pub struct Rewind {
    early: Vec<u8>,
    pos: usize,
    tcp: TcpStream,
}

impl Rewind {
    pub fn new(early: Vec<u8>, tcp: TcpStream) -> Rewind {
        Rewind { early, pos: 0, tcp }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if let Some(rest) = me.early.get(me.pos..).filter(|r| !r.is_empty()) {
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            me.pos += n;
            if me.pos == me.early.len() {
                me.early = Vec::new();
                me.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "backend stream closed")
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
            Stream::Closed => false,
        }
    }
}
