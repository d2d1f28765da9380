//! The client side of a session: reading commands (check-then-parse framing) and
//! writing answers.

use std::borrow::Cow;
use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tls::{ClientTls, Stream};

use crate::backend::Downstream;
use crate::protocol::packet::{self, header, Frame, HEADER_LEN};
use crate::protocol::{ProtocolError, SqlError};

/// One client command as it came: the framed bytes, ready to forward as they are.
#[derive(Debug, Clone)]
pub struct Message {
    pub raw: Bytes,
    pub frame: Frame,
}

impl Message {
    /// The payload (packets joined when the command spans several).
    pub fn payload(&self) -> Cow<'_, [u8]> {
        if self.frame.packets == 1 {
            Cow::Borrowed(self.raw.get(HEADER_LEN..).unwrap_or_default())
        } else {
            Cow::Owned(packet::payload_of(&self.raw, &self.frame))
        }
    }

    /// Sequence id for the first packet of an answer rwsplit writes itself.
    pub fn reply_seq(&self) -> u8 {
        self.frame.last_seq.wrapping_add(1)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

pub struct ClientConn {
    stream: Stream,
    rbuf: BytesMut,
    pub peer: SocketAddr,
    pub max_packet: usize,
}

impl ClientConn {
    pub fn new(stream: TcpStream, peer: SocketAddr, max_packet: usize) -> Self {
        ClientConn {
            stream: Stream::Plain(stream),
            rbuf: BytesMut::new(),
            peer,
            max_packet,
        }
    }

    /// Reads the next command; `None` when the client closed the connection.
    pub async fn read_message(&mut self) -> Result<Option<Message>, ClientError> {
        loop {
            if let Some(f) = packet::frame(&self.rbuf, self.max_packet)? {
                let raw = self.rbuf.split_to(f.total).freeze();
                return Ok(Some(Message { raw, frame: f }));
            }
            if self.rbuf.is_empty() {
                // Between commands: wait holding no buffer (most connections are idle
                // most of the time), then take one for the next command.
                if self.rbuf.capacity() > 0 {
                    self.rbuf = BytesMut::new();
                }
                self.stream.readable().await?;
            }
            if self.rbuf.capacity() - self.rbuf.len() < 1024 {
                self.rbuf.reserve(8 * 1024);
            }
            if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                if self.rbuf.is_empty() {
                    return Ok(None);
                }
                return Err(ClientError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }

    /// The TLS handshake, after the client's SSLRequest.
    pub async fn start_tls(&mut self, tls: &ClientTls) -> std::io::Result<()> {
        // What came after the SSLRequest is the start of the TLS handshake.
        let early = self.rbuf.split().to_vec();
        self.stream.accept_tls(tls, early).await
    }

    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Writes one payload as packets starting at `seq`.
    pub async fn send(&mut self, payload: &[u8], seq: u8) -> std::io::Result<()> {
        let buf = packet::packets(payload, seq);
        self.stream.write_all(&buf).await
    }

    pub async fn send_error(&mut self, err: &SqlError, seq: u8) -> std::io::Result<()> {
        self.send(&err.payload(), seq).await
    }

    pub async fn shutdown(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}

impl Downstream for ClientConn {
    async fn forward(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    async fn infile_to(&mut self, sink: &mut crate::backend::BackendStream) -> std::io::Result<()> {
        // Pass the client's packets on one by one until the empty packet that ends the file.
        loop {
            let h = loop {
                if let Some(h) = header(&self.rbuf) {
                    if self.rbuf.len() >= HEADER_LEN + h.len {
                        break h;
                    }
                }
                if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            };
            let n = HEADER_LEN + h.len;
            sink.write_all(&self.rbuf[..n]).await?;
            self.rbuf.advance(n);
            if h.len == 0 {
                return Ok(());
            }
        }
    }
}
