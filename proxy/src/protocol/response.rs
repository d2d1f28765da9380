//! The response scanner: a pure state machine that walks a backend's answer packet by
//! packet, so the relay can forward bytes as they arrive (rows are never decoded, large
//! packets are streamed) and know where the answer ends and what it said.

use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    CommonOkPacket, OkPacket, OkPacketDeserializer, OldEofPacket, ResultSetTerminator,
};

use super::packet::{header, HEADER_LEN, MAX_PAYLOAD};
use super::ProtocolError;

/// What kind of answer a command gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// COM_QUERY, COM_STMT_EXECUTE, COM_STMT_BULK_EXECUTE: OK, ERR, a LOCAL INFILE
    /// request or result sets, several when the server says more results exist.
    Results,
    /// COM_STMT_FETCH: rows, then EOF/OK; or ERR.
    Fetch,
    /// COM_STMT_PREPARE: PREPARE_OK, parameter and column definitions; or ERR.
    Prepare,
    /// COM_FIELD_LIST: column definitions until EOF; or ERR.
    FieldList,
    /// One OK / ERR / EOF packet (COM_PING, COM_INIT_DB, COM_STMT_RESET, COM_SET_OPTION,
    /// COM_RESET_CONNECTION, …).
    Single,
    /// COM_STATISTICS: one packet of text.
    Text,
}

impl Expect {
    /// Every kind of answer (for tests and fuzzing).
    pub const ALL: [Expect; 6] = [
        Expect::Results,
        Expect::Fetch,
        Expect::Prepare,
        Expect::FieldList,
        Expect::Single,
        Expect::Text,
    ];
}

/// What COM_STMT_PREPARE answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrepareOk {
    pub statement_id: u32,
    pub columns: u16,
    pub params: u16,
}

/// What an answer said, gathered while scanning it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Status flags of the last OK or EOF packet.
    pub status: Option<u16>,
    /// Error code of a final ERR packet.
    pub error: Option<u16>,
    pub affected_rows: u64,
    pub last_insert_id: u64,
    /// An OK packet of this answer carried an insert id (LAST_INSERT_ID() may have
    /// changed on that connection).
    pub insert_ids: bool,
    pub warnings: u16,
    pub result_sets: u32,
    pub rows: u64,
    pub prepare: Option<PrepareOk>,
    /// With MariaDB's MARIADB_CLIENT_CACHE_METADATA, when the scanner was asked to
    /// ([`Scanner::fingerprint`]): a fingerprint of the column definitions the answer
    /// carried (a prepare's, or the first result set's when the server sent them).
    pub meta: Option<u64>,
    /// Bytes relayed (filled in by the relay, not the scanner).
    pub bytes: u64,
}

/// What the relay does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Forward the first `forward` bytes, then read more.
    More { forward: usize },
    /// The answer is complete after `forward` bytes.
    Done { forward: usize },
    /// A LOCAL INFILE request ends after `forward` bytes: the client now sends the file.
    LocalInfile { forward: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    First,
    Columns(u64),
    ColumnsEof,
    Rows,
    Params { params: u16, columns: u16 },
    ParamsEof { columns: u16 },
    PrepColumns(u16),
    PrepColumnsEof,
    FieldList,
    Done,
}

/// Scans one answer. Feed it the bytes read from the backend, starting where the last
/// call said to continue.
#[derive(Debug, Clone)]
pub struct Scanner {
    state: State,
    expect: Expect,
    caps: CapabilityFlags,
    /// The current logical packet continues in the next packet.
    continuation: bool,
    /// Payload bytes of the current packet not seen yet (streamed packets).
    remaining: usize,
    summary: Summary,
    /// MARIADB_CLIENT_CACHE_METADATA is on: a column count is followed by a byte that
    /// says whether the column definitions follow.
    cache_metadata: bool,
    /// The column definitions being fingerprinted (see [`Scanner::fingerprint`]).
    hasher: Option<MetaHasher>,
}

/// Fingerprints column definitions: FNV-1a over each payload and its length.
#[derive(Debug, Clone, Copy)]
struct MetaHasher(u64);

impl MetaHasher {
    fn new() -> Self {
        MetaHasher(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, payload: &[u8]) {
        let len = (payload.len() as u64).to_le_bytes();
        for b in len.iter().chain(payload) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Never 0 (0 stands for "not known" where fingerprints are kept).
    fn finish(self) -> u64 {
        self.0 | 1
    }
}

/// The fingerprint of column definitions, as [`Summary::meta`] gives it.
pub fn meta_fingerprint<'a>(defs: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut h = MetaHasher::new();
    for d in defs {
        h.add(d);
    }
    h.finish()
}

const OK: u8 = 0x00;
const EOF: u8 = 0xFE;
const ERR: u8 = 0xFF;
const LOCAL_INFILE: u8 = 0xFB;

impl Scanner {
    /// A scanner for the answer to a command, with the capabilities negotiated on the
    /// connection.
    pub fn new(expect: Expect, caps: CapabilityFlags) -> Self {
        Scanner {
            state: match expect {
                Expect::Fetch => State::Rows,
                Expect::FieldList => State::FieldList,
                _ => State::First,
            },
            expect,
            caps,
            continuation: false,
            remaining: 0,
            summary: Summary::default(),
            cache_metadata: false,
            hasher: None,
        }
    }

    /// The connection negotiated MariaDB's MARIADB_CLIENT_CACHE_METADATA.
    pub fn with_cache_metadata(mut self, on: bool) -> Self {
        self.cache_metadata = on;
        self
    }

    /// Fingerprints the column definitions the answer carries into [`Summary::meta`]: a
    /// prepare's, or a result set's (the first) when the server sends them. Each is then
    /// read whole rather than streamed (they are small).
    pub fn fingerprint(mut self) -> Self {
        self.hasher = Some(MetaHasher::new());
        self
    }

    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn deprecate_eof(&self) -> bool {
        self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF)
    }

    /// Walks `buf` (bytes not yet forwarded). Never reads past a complete answer.
    pub fn feed(&mut self, buf: &[u8]) -> Result<Event, ProtocolError> {
        let mut pos = 0usize;
        loop {
            // Inside a streamed packet: pass its bytes through.
            if self.remaining > 0 {
                let take = self.remaining.min(buf.len() - pos);
                pos += take;
                self.remaining -= take;
                if self.remaining > 0 {
                    return Ok(Event::More { forward: pos });
                }
                continue;
            }
            if self.state == State::Done && !self.continuation {
                return Ok(Event::Done { forward: pos });
            }
            let Some(h) = header(&buf[pos..]) else {
                return Ok(Event::More { forward: pos });
            };
            if self.continuation {
                // Continuation of a long packet: opaque.
                self.continuation = h.len == MAX_PAYLOAD;
                pos += HEADER_LEN;
                self.remaining = h.len;
                continue;
            }
            let avail = buf.len() - pos - HEADER_LEN;
            if h.len > 0 && avail == 0 {
                return Ok(Event::More { forward: pos });
            }
            let first = if h.len > 0 { buf[pos + HEADER_LEN] } else { 0 };
            if self.needs_whole(first, h.len) {
                if h.len >= MAX_PAYLOAD {
                    return Err(ProtocolError::Malformed("oversized control packet"));
                }
                if avail < h.len {
                    return Ok(Event::More { forward: pos });
                }
                let payload = &buf[pos + HEADER_LEN..pos + HEADER_LEN + h.len];
                pos += HEADER_LEN + h.len;
                if let Some(ev) = self.control(payload)? {
                    return Ok(match ev {
                        Control::LocalInfile => Event::LocalInfile { forward: pos },
                    });
                }
            } else {
                // A row, a column definition or text: streamed without looking inside.
                self.passed_packet();
                self.continuation = h.len == MAX_PAYLOAD;
                pos += HEADER_LEN;
                self.remaining = h.len;
            }
        }
    }

    /// True when the packet must be whole before deciding (OK, ERR, EOF, counts).
    fn needs_whole(&self, first: u8, len: usize) -> bool {
        match self.state {
            State::First | State::ColumnsEof | State::ParamsEof { .. } | State::PrepColumnsEof => {
                true
            }
            State::Rows | State::FieldList => (first == EOF && len < MAX_PAYLOAD) || first == ERR,
            State::Columns(_) | State::PrepColumns(_) => self.hasher.is_some(),
            State::Params { .. } => false,
            State::Done => false,
        }
    }

    /// Counts a streamed packet against the state.
    fn passed_packet(&mut self) {
        self.state = match self.state {
            State::Columns(n) if n > 1 => State::Columns(n - 1),
            State::Columns(_) => {
                if self.deprecate_eof() {
                    State::Rows
                } else {
                    State::ColumnsEof
                }
            }
            State::Params { params, columns } if params > 1 => State::Params {
                params: params - 1,
                columns,
            },
            State::Params { columns, .. } => {
                if !self.deprecate_eof() {
                    State::ParamsEof { columns }
                } else if columns > 0 {
                    State::PrepColumns(columns)
                } else {
                    State::Done
                }
            }
            State::PrepColumns(n) if n > 1 => State::PrepColumns(n - 1),
            State::PrepColumns(_) => {
                if self.deprecate_eof() {
                    State::Done
                } else {
                    State::PrepColumnsEof
                }
            }
            State::Rows => {
                self.summary.rows += 1;
                State::Rows
            }
            s => s,
        };
    }

    /// Interprets a whole control packet.
    fn control(&mut self, p: &[u8]) -> Result<Option<Control>, ProtocolError> {
        let last = match self.state {
            State::Columns(n) => Some(n == 1),
            State::PrepColumns(n) => Some(n == 1),
            _ => None,
        };
        if let (Some(last), Some(h)) = (last, &mut self.hasher) {
            // A column definition read whole to be fingerprinted.
            h.add(p);
            if last {
                self.summary.meta = Some(h.finish());
                // The first result set's only: what a prepared statement's metadata is.
                self.hasher = None;
            }
            self.passed_packet();
            return Ok(None);
        }
        let first = p.first().copied();
        if first == Some(ERR) {
            return self.error(p).map(|()| None);
        }
        match self.state {
            State::First => return self.first_packet(p, first),
            State::ColumnsEof => {
                if first != Some(EOF) {
                    return Err(ProtocolError::Malformed("expected EOF after columns"));
                }
                self.read_eof(p)?;
                let cursor = self
                    .summary
                    .status
                    .is_some_and(|s| s & StatusFlags::SERVER_STATUS_CURSOR_EXISTS.bits() != 0);
                self.state = if cursor { State::Done } else { State::Rows };
            }
            State::Rows => {
                // first is EOF here (ERR handled above)
                self.read_terminator(p)?;
                self.end_of_result();
            }
            State::FieldList => {
                self.read_terminator(p)?;
                self.state = State::Done;
            }
            State::ParamsEof { columns } => {
                self.state = if columns > 0 {
                    State::PrepColumns(columns)
                } else {
                    State::Done
                };
            }
            State::PrepColumnsEof => self.state = State::Done,
            State::Columns(_) | State::Params { .. } | State::PrepColumns(_) | State::Done => {}
        }
        Ok(None)
    }

    /// An ERR packet: the answer ends with its code (a MariaDB progress report, code
    /// 0xFFFF, is not an error: the answer goes on).
    fn error(&mut self, p: &[u8]) -> Result<(), ProtocolError> {
        let code = match p {
            [_, a, b, ..] => u16::from_le_bytes([*a, *b]),
            _ => return Err(ProtocolError::Malformed("short ERR packet")),
        };
        if code != 0xFFFF {
            self.summary.error = Some(code);
            self.state = State::Done;
        }
        Ok(())
    }

    /// The first packet of the answer (not an ERR), by what the command expects.
    fn first_packet(
        &mut self,
        p: &[u8],
        first: Option<u8>,
    ) -> Result<Option<Control>, ProtocolError> {
        match self.expect {
            Expect::Single | Expect::Text => {
                if first == Some(OK) {
                    self.read_ok(p)?;
                } else if first == Some(EOF) && p.len() < 9 {
                    self.read_eof(p)?;
                }
                self.state = State::Done;
            }
            Expect::Prepare => self.prepare_ok(p)?,
            _ => match first {
                Some(OK) => {
                    self.read_ok(p)?;
                    self.end_of_result();
                }
                Some(EOF) => {
                    self.read_terminator(p)?;
                    self.end_of_result();
                }
                Some(LOCAL_INFILE) => return Ok(Some(Control::LocalInfile)),
                Some(_) => {
                    let (n, len) = lenenc_len(p).ok_or(ProtocolError::Malformed("column count"))?;
                    if n == 0 {
                        return Err(ProtocolError::Malformed("zero columns"));
                    }
                    self.summary.result_sets += 1;
                    // MARIADB_CLIENT_CACHE_METADATA: 0 when the client has the definitions
                    // (a prepared statement's, unchanged since this connection sent them).
                    let skipped = self.cache_metadata && p.get(len) == Some(&0);
                    self.state = match (skipped, self.deprecate_eof()) {
                        (false, _) => State::Columns(n),
                        (true, false) => State::ColumnsEof,
                        (true, true) => State::Rows,
                    };
                    if skipped || self.summary.result_sets > 1 {
                        self.hasher = None;
                    }
                }
                None => return Err(ProtocolError::Malformed("empty packet")),
            },
        }
        Ok(None)
    }

    /// COM_STMT_PREPARE's OK: the statement id, then its parameter and column
    /// definitions.
    fn prepare_ok(&mut self, p: &[u8]) -> Result<(), ProtocolError> {
        if p.first() != Some(&OK) || p.len() < 12 {
            return Err(ProtocolError::Malformed("bad PREPARE_OK"));
        }
        let ok = PrepareOk {
            statement_id: u32::from_le_bytes([p[1], p[2], p[3], p[4]]),
            columns: u16::from_le_bytes([p[5], p[6]]),
            params: u16::from_le_bytes([p[7], p[8]]),
        };
        if ok.columns == 0 {
            if let Some(h) = self.hasher.take() {
                self.summary.meta = Some(h.finish());
            }
        }
        self.summary.warnings = u16::from_le_bytes([p[10], p[11]]);
        self.summary.prepare = Some(ok);
        self.state = if ok.params > 0 {
            State::Params {
                params: ok.params,
                columns: ok.columns,
            }
        } else if ok.columns > 0 {
            State::PrepColumns(ok.columns)
        } else {
            State::Done
        };
        Ok(())
    }

    /// After an OK or a result set's terminator: more results, or the end.
    fn end_of_result(&mut self) {
        let more = self
            .summary
            .status
            .is_some_and(|s| s & StatusFlags::SERVER_MORE_RESULTS_EXISTS.bits() != 0);
        self.state = if more && self.expect != Expect::Fetch {
            State::First
        } else {
            State::Done
        };
    }

    fn note(&mut self, ok: OkPacket<'_>) {
        self.summary.status = Some(ok.status_flags().bits());
        self.summary.warnings = ok.warnings();
        self.summary.affected_rows = ok.affected_rows();
        self.summary.last_insert_id = ok.last_insert_id().unwrap_or(0);
        self.summary.insert_ids |= self.summary.last_insert_id != 0;
    }

    fn read_ok(&mut self, p: &[u8]) -> Result<(), ProtocolError> {
        let ok = ParseBuf(p)
            .parse::<OkPacketDeserializer<CommonOkPacket>>(self.caps)
            .map_err(|_| ProtocolError::Malformed("OK packet"))?
            .into_inner();
        self.note(ok);
        Ok(())
    }

    fn read_eof(&mut self, p: &[u8]) -> Result<(), ProtocolError> {
        let ok = ParseBuf(p)
            .parse::<OkPacketDeserializer<OldEofPacket>>(self.caps)
            .map_err(|_| ProtocolError::Malformed("EOF packet"))?
            .into_inner();
        self.summary.status = Some(ok.status_flags().bits());
        self.summary.warnings = ok.warnings();
        Ok(())
    }

    /// The packet that ends rows: an OK with the 0xFE header (DEPRECATE_EOF) or an EOF.
    fn read_terminator(&mut self, p: &[u8]) -> Result<(), ProtocolError> {
        if self.deprecate_eof() && p.len() > 5 {
            let ok = ParseBuf(p)
                .parse::<OkPacketDeserializer<ResultSetTerminator>>(self.caps)
                .map_err(|_| ProtocolError::Malformed("result set terminator"))?
                .into_inner();
            self.summary.status = Some(ok.status_flags().bits());
            self.summary.warnings = ok.warnings();
            Ok(())
        } else {
            self.read_eof(p)
        }
    }
}

enum Control {
    LocalInfile,
}

/// A length-encoded integer at the start of `p`.
pub fn lenenc(p: &[u8]) -> Option<u64> {
    lenenc_len(p).map(|(v, _)| v)
}

/// A length-encoded integer at the start of `p`, and the bytes it takes.
pub fn lenenc_len(p: &[u8]) -> Option<(u64, usize)> {
    let le = |b: &[u8]| {
        let mut v = 0u64;
        for (i, x) in b.iter().enumerate() {
            v |= (*x as u64) << (8 * i);
        }
        v
    };
    match p.first()? {
        x @ 0..=0xFA => Some((*x as u64, 1)),
        0xFC => p.get(1..3).map(|b| (le(b), 3)),
        0xFD => p.get(1..4).map(|b| (le(b), 4)),
        0xFE => p.get(1..9).map(|b| (le(b), 9)),
        _ => None,
    }
}
