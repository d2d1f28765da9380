//! The response scanner on hand-built answers, fed in chunks of every size.

use bytes::BytesMut;
use mysql_common::constants::CapabilityFlags;
use rwsplit::protocol::packet::{write_packets, MAX_PAYLOAD};
use rwsplit::protocol::response::{Event, Expect, Scanner, Summary};

const IN_TRANS: u16 = 0x0001;
const AUTOCOMMIT: u16 = 0x0002;
const MORE: u16 = 0x0008;
const CURSOR: u16 = 0x0040;

fn caps(deprecate_eof: bool) -> CapabilityFlags {
    let mut c = CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PS_MULTI_RESULTS;
    if deprecate_eof {
        c |= CapabilityFlags::CLIENT_DEPRECATE_EOF;
    }
    c
}

/// Builds an answer from payloads, numbering packets from 1.
struct Answer {
    buf: BytesMut,
    seq: u8,
}

impl Answer {
    fn new() -> Self {
        Answer {
            buf: BytesMut::new(),
            seq: 1,
        }
    }
    fn p(mut self, payload: &[u8]) -> Self {
        self.seq = write_packets(&mut self.buf, payload, self.seq);
        self
    }
    fn ok(self, status: u16, affected: u8, insert_id: u8) -> Self {
        let mut v = vec![0x00, affected, insert_id];
        v.extend_from_slice(&status.to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        self.p(&v)
    }
    fn eof(self, status: u16) -> Self {
        let mut v = vec![0xFE, 0, 0];
        v.extend_from_slice(&status.to_le_bytes());
        self.p(&v)
    }
    /// The OK packet with a 0xFE header that ends rows under CLIENT_DEPRECATE_EOF.
    fn ok_fe(self, status: u16) -> Self {
        let mut v = vec![0xFE, 0, 0];
        v.extend_from_slice(&status.to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        self.p(&v)
    }
    fn err(self, code: u16) -> Self {
        let mut v = vec![0xFF];
        v.extend_from_slice(&code.to_le_bytes());
        v.extend_from_slice(b"#42S02no such table");
        self.p(&v)
    }
    fn col(self) -> Self {
        self.p(b"\x03def\x04test\x01t\x01t\x01a\x01a\x0c\x21\x00\x0b\x00\x00\x00\x03\x00\x00\x00\x00\x00")
    }
    fn row(self, text: &[u8]) -> Self {
        let mut v = vec![text.len() as u8];
        v.extend_from_slice(text);
        self.p(&v)
    }
    fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

/// Feeds `bytes` in chunks of `chunk` bytes the way the relay does. Returns the summary,
/// the bytes forwarded and the number of LOCAL INFILE events.
fn scan(
    expect: Expect,
    deprecate_eof: bool,
    bytes: &[u8],
    chunk: usize,
) -> (Summary, usize, usize) {
    scan_with(Scanner::new(expect, caps(deprecate_eof)), bytes, chunk)
}

/// [`scan`] with a scanner made as the caller wants.
fn scan_with(mut s: Scanner, bytes: &[u8], chunk: usize) -> (Summary, usize, usize) {
    let mut pending: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut forwarded = 0;
    let mut infiles = 0;
    loop {
        let ev = s.feed(&pending).expect("scanner error");
        let (n, done) = match ev {
            Event::More { forward } => (forward, false),
            Event::Done { forward } => (forward, true),
            Event::LocalInfile { forward } => {
                infiles += 1;
                (forward, false)
            }
        };
        forwarded += n;
        pending.drain(..n);
        if done {
            assert!(s.is_done());
            return (*s.summary(), forwarded, infiles);
        }
        if matches!(ev, Event::LocalInfile { .. }) {
            continue;
        }
        assert!(
            fed < bytes.len(),
            "scanner wants more than the answer holds"
        );
        let end = (fed + chunk).min(bytes.len());
        pending.extend_from_slice(&bytes[fed..end]);
        fed = end;
    }
}

fn every_chunk(expect: Expect, deprecate_eof: bool, bytes: &[u8]) -> Summary {
    every_chunk_with(|| Scanner::new(expect, caps(deprecate_eof)), bytes)
}

/// [`every_chunk`] with scanners made by `make`.
fn every_chunk_with(make: impl Fn() -> Scanner, bytes: &[u8]) -> Summary {
    let mut first = None;
    for chunk in [1, 2, 3, 5, 7, 64, 4096, usize::MAX / 2] {
        let (s, fwd, _) = scan_with(make(), bytes, chunk);
        assert_eq!(fwd, bytes.len(), "chunk {chunk}: forwarded everything");
        if let Some(f) = first {
            assert_eq!(f, s, "chunk {chunk}: same summary");
        }
        first = Some(s);
    }
    first.unwrap()
}

#[test]
fn ok_answer() {
    let a = Answer::new().ok(AUTOCOMMIT | IN_TRANS, 3, 7);
    let s = every_chunk(Expect::Results, false, a.bytes());
    assert_eq!(s.status, Some(AUTOCOMMIT | IN_TRANS));
    assert_eq!(s.affected_rows, 3);
    assert_eq!(s.last_insert_id, 7);
    assert_eq!(s.error, None);
}

#[test]
fn error_answer() {
    let a = Answer::new().err(1146);
    let s = every_chunk(Expect::Results, true, a.bytes());
    assert_eq!(s.error, Some(1146));
}

#[test]
fn text_result_set_with_eof() {
    let a = Answer::new()
        .p(&[2])
        .col()
        .col()
        .eof(AUTOCOMMIT)
        .row(b"\x01a\x01b")
        .row(b"\x00\xfb")
        .eof(AUTOCOMMIT);
    let s = every_chunk(Expect::Results, false, a.bytes());
    assert_eq!(s.rows, 2);
    assert_eq!(s.result_sets, 1);
    assert_eq!(s.status, Some(AUTOCOMMIT));
}

#[test]
fn text_result_set_deprecate_eof() {
    let a = Answer::new()
        .p(&[1])
        .col()
        .row(b"x")
        .row(b"yy")
        .row(b"zzz")
        .ok_fe(AUTOCOMMIT | IN_TRANS);
    let s = every_chunk(Expect::Results, true, a.bytes());
    assert_eq!(s.rows, 3);
    assert_eq!(s.status, Some(AUTOCOMMIT | IN_TRANS));
}

#[test]
fn multiple_result_sets() {
    let a = Answer::new()
        .p(&[1])
        .col()
        .row(b"1")
        .ok_fe(AUTOCOMMIT | MORE)
        .ok(AUTOCOMMIT | MORE, 1, 0)
        .p(&[1])
        .col()
        .row(b"2")
        .row(b"3")
        .ok_fe(AUTOCOMMIT);
    let s = every_chunk(Expect::Results, true, a.bytes());
    assert_eq!(s.result_sets, 2);
    assert_eq!(s.rows, 3);
    assert_eq!(s.status, Some(AUTOCOMMIT));
}

#[test]
fn error_in_the_middle_of_rows_ends_the_answer() {
    let a = Answer::new()
        .p(&[1])
        .col()
        .eof(AUTOCOMMIT)
        .row(b"1")
        .err(1317);
    let s = every_chunk(Expect::Results, false, a.bytes());
    assert_eq!(s.error, Some(1317));
    assert_eq!(s.rows, 1);
}

#[test]
fn a_row_starting_with_0xfe_is_a_row_when_long() {
    // A row whose first column is a string of 2^24 bytes or more starts with 0xFE and spans
    // several packets: it is not a terminator.
    let mut row = vec![0xFEu8];
    row.extend_from_slice(&(MAX_PAYLOAD as u64 + 10).to_le_bytes());
    row.resize(9 + MAX_PAYLOAD + 10, b'x');
    let a = Answer::new().p(&[1]).col().p(&row).ok_fe(AUTOCOMMIT);
    let (s, fwd, _) = scan(Expect::Results, true, a.bytes(), 1 << 20);
    assert_eq!(fwd, a.bytes().len());
    assert_eq!(s.rows, 1);
}

#[test]
fn exactly_max_payload_packet_is_followed_by_an_empty_one() {
    let row = vec![b'a'; MAX_PAYLOAD];
    let a = Answer::new()
        .p(&[1])
        .col()
        .eof(AUTOCOMMIT)
        .p(&row)
        .eof(AUTOCOMMIT);
    // write_packets added the empty continuation packet
    let (s, fwd, _) = scan(Expect::Results, false, a.bytes(), 65536);
    assert_eq!(fwd, a.bytes().len());
    assert_eq!(s.rows, 1);
}

#[test]
fn prepare_with_params_and_columns() {
    let mut ok = vec![0x00];
    ok.extend_from_slice(&42u32.to_le_bytes());
    ok.extend_from_slice(&2u16.to_le_bytes()); // columns
    ok.extend_from_slice(&1u16.to_le_bytes()); // params
    ok.extend_from_slice(&[0, 0, 0]);
    for deprecate in [false, true] {
        let mut a = Answer::new().p(&ok).col();
        if !deprecate {
            a = a.eof(AUTOCOMMIT);
        }
        a = a.col().col();
        if !deprecate {
            a = a.eof(AUTOCOMMIT);
        }
        let s = every_chunk(Expect::Prepare, deprecate, a.bytes());
        let p = s.prepare.expect("prepare ok");
        assert_eq!((p.statement_id, p.columns, p.params), (42, 2, 1));
    }
}

#[test]
fn prepare_without_columns_or_params() {
    let mut ok = vec![0x00];
    ok.extend_from_slice(&7u32.to_le_bytes());
    ok.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
    let a = Answer::new().p(&ok);
    let s = every_chunk(Expect::Prepare, false, a.bytes());
    assert_eq!(s.prepare.map(|p| p.statement_id), Some(7));
}

#[test]
fn execute_opening_a_cursor_ends_after_the_metadata() {
    let a = Answer::new().p(&[1]).col().eof(AUTOCOMMIT | CURSOR);
    let s = every_chunk(Expect::Results, false, a.bytes());
    assert_eq!(s.rows, 0);
    assert_eq!(s.status, Some(AUTOCOMMIT | CURSOR));
}

#[test]
fn fetch_rows() {
    let a = Answer::new()
        .row(b"\x00\x01")
        .row(b"\x00\x02")
        .eof(AUTOCOMMIT | CURSOR);
    let s = every_chunk(Expect::Fetch, false, a.bytes());
    assert_eq!(s.rows, 2);
}

#[test]
fn field_list() {
    let a = Answer::new().col().col().col().eof(AUTOCOMMIT);
    every_chunk(Expect::FieldList, false, a.bytes());
}

#[test]
fn statistics_is_one_text_packet() {
    let a = Answer::new().p(b"Uptime: 10  Threads: 1");
    every_chunk(Expect::Text, false, a.bytes());
}

#[test]
fn local_infile_request_then_ok() {
    // The scanner stops at the request; after the client sent the file, the server's
    // OK (sequence ids continue after the client's packets) ends the answer.
    let a = Answer::new().p(b"\xfb/tmp/data.csv").ok(AUTOCOMMIT, 5, 0);
    for chunk in [1, 3, 100] {
        let (s, fwd, infiles) = scan(Expect::Results, false, a.bytes(), chunk);
        assert_eq!(infiles, 1);
        assert_eq!(fwd, a.bytes().len());
        assert_eq!(s.affected_rows, 5);
    }
}

#[test]
fn mariadb_progress_reports_are_not_the_end() {
    let mut progress = vec![0xFF, 0xFF, 0xFF, 1, 1];
    progress.extend_from_slice(&[0x10, 0x27, 0x00]);
    progress.extend_from_slice(b"\x05stage");
    let a = Answer::new().p(&progress).p(&progress).ok(AUTOCOMMIT, 0, 0);
    let s = every_chunk(Expect::Results, false, a.bytes());
    assert_eq!(s.error, None);
    assert_eq!(s.status, Some(AUTOCOMMIT));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let inputs: &[&[u8]] = &[
        b"\x01\x00\x00\x01\x00",         // zero column count
        b"\x02\x00\x00\x01\xff\x01",     // short ERR
        b"\x03\x00\x00\x01\x00\xfe\xfe", // truncated OK
        b"\x01\x00\x00\x01\xfc",         // truncated lenenc
    ];
    for input in inputs {
        let mut s = Scanner::new(Expect::Results, caps(true));
        let _ = s.feed(input);
    }
    // Random bytes never panic.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        let mut buf = Vec::new();
        for _ in 0..64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf.push(x as u8);
        }
        for expect in [
            Expect::Results,
            Expect::Prepare,
            Expect::Fetch,
            Expect::FieldList,
            Expect::Single,
        ] {
            let mut s = Scanner::new(expect, caps(x & 1 == 0));
            let _ = s.feed(&buf);
        }
    }
}

/// MariaDB's MARIADB_CLIENT_CACHE_METADATA: a scanner for an execution's answer.
fn cached(deprecate_eof: bool) -> impl Fn() -> Scanner {
    move || {
        Scanner::new(Expect::Results, caps(deprecate_eof))
            .with_cache_metadata(true)
            .fingerprint()
    }
}

#[test]
fn cache_metadata_skipped_definitions_go_straight_to_the_rows() {
    // Without DEPRECATE_EOF the server still sends the EOF after the (absent) columns.
    let a = Answer::new()
        .p(&[2, 0])
        .eof(AUTOCOMMIT)
        .row(b"\x01a\x01b")
        .eof(AUTOCOMMIT);
    let s = every_chunk_with(cached(false), a.bytes());
    assert_eq!((s.rows, s.result_sets, s.meta), (1, 1, None));
    let a = Answer::new()
        .p(&[2, 0])
        .row(b"\x01a\x01b")
        .row(b"\x01c\x01d")
        .ok_fe(AUTOCOMMIT);
    let s = every_chunk_with(cached(true), a.bytes());
    assert_eq!((s.rows, s.meta), (2, None));
}

#[test]
fn cache_metadata_sent_definitions_are_fingerprinted() {
    let sent = |deprecate_eof: bool, col: &[u8]| {
        let mut a = Answer::new().p(&[1, 1]).p(col);
        if !deprecate_eof {
            a = a.eof(AUTOCOMMIT);
        }
        let a = a.row(b"\x01a").eof(AUTOCOMMIT);
        every_chunk_with(cached(deprecate_eof), a.bytes())
    };
    let col_a =
        b"\x03def\x04test\x01t\x01t\x01a\x01a\x0c\x21\x00\x0b\x00\x00\x00\x03\x00\x00\x00\x00\x00";
    let col_b =
        b"\x03def\x04test\x01t\x01t\x01a\x01a\x0c\x21\x00\x0b\x00\x00\x00\x08\x00\x00\x00\x00\x00";
    let (a, b) = (sent(false, col_a), sent(false, col_b));
    assert_eq!(a.rows, 1);
    assert!(a.meta.is_some() && b.meta.is_some());
    assert_ne!(a.meta, b.meta, "another column type, another fingerprint");
    assert_eq!(sent(true, col_a).meta, a.meta);
    let expected = rwsplit::protocol::response::meta_fingerprint([&col_a[..]]);
    assert_eq!(a.meta, Some(expected));
    // Without the capability the same bytes are a count of 1 and no flag byte.
    let plain = Answer::new()
        .p(&[1])
        .col()
        .eof(AUTOCOMMIT)
        .row(b"\x01a")
        .eof(AUTOCOMMIT);
    assert_eq!(
        every_chunk(Expect::Results, false, plain.bytes()).meta,
        None
    );
}

#[test]
fn cache_metadata_prepare_fingerprints_its_columns_not_its_parameters() {
    let prepare = |params: &[&[u8]]| {
        let mut ok = vec![0x00, 9, 0, 0, 0, 1, 0, params.len() as u8, 0, 0, 0, 0];
        ok.truncate(12);
        let mut a = Answer::new().p(&ok);
        for p in params {
            a = a.p(p);
        }
        a.col()
    };
    let make = || {
        Scanner::new(Expect::Prepare, caps(true))
            .with_cache_metadata(true)
            .fingerprint()
    };
    let one = every_chunk_with(
        make,
        prepare(&[b"\x03def\x00\x00\x00\x01?\x00\x0c"]).bytes(),
    );
    let none = every_chunk_with(make, prepare(&[]).bytes());
    assert_eq!(one.prepare.map(|p| p.columns), Some(1));
    assert!(one.meta.is_some());
    assert_eq!(one.meta, none.meta);
}
