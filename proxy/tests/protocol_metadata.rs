//! MARIADB_CLIENT_CACHE_METADATA: column definitions put back into an answer that left
//! them out, and the renumbering of the rest of it.

use bytes::BytesMut;
use rwsplit::protocol::metadata::{prepare_columns, with_columns, Renumber};
use rwsplit::protocol::packet::{header, write_packets, HEADER_LEN};

fn framed(payloads: &[&[u8]], first_seq: u8) -> Vec<u8> {
    let mut out = BytesMut::new();
    let mut seq = first_seq;
    for p in payloads {
        seq = write_packets(&mut out, p, seq);
    }
    out.to_vec()
}

/// Each packet's sequence id and payload.
fn packets(mut buf: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(h) = header(buf) {
        out.push((h.seq, buf[HEADER_LEN..HEADER_LEN + h.len].to_vec()));
        buf = &buf[HEADER_LEN + h.len..];
    }
    assert!(buf.is_empty(), "a partial packet left");
    out
}

const COL_A: &[u8] =
    b"\x03def\x04test\x01t\x01t\x01a\x01a\x0c\x3f\x00\x08\x00\x00\x00\x08\x00\x00\x00\x00\x00";
const COL_B: &[u8] =
    b"\x03def\x04test\x01t\x01t\x01b\x01b\x0c\x21\x00\x0b\x00\x00\x00\x03\x00\x00\x00\x00\x00";

#[test]
fn a_count_without_definitions_gets_them_numbered_on() {
    let defs = vec![COL_A.to_vec(), COL_B.to_vec()];
    let first = framed(&[&[2, 0]], 1);
    let out = with_columns(&first, &defs).expect("put back");
    assert_eq!(
        packets(&out),
        vec![(1, vec![2, 1]), (2, COL_A.to_vec()), (3, COL_B.to_vec())]
    );
    // A count saying they follow, another count, OK, ERR, a LOCAL INFILE request: as is.
    for p in [
        &[2u8, 1][..],
        &[3, 0],
        &[0, 0, 0, 2, 0, 0, 0],
        &[0xFF, 0x7a, 0x04],
        &[0xFB, b'f'],
    ] {
        assert!(with_columns(&framed(&[p], 1), &defs).is_none(), "{p:?}");
    }
    // A long count (0xFC prefix).
    let many: Vec<Vec<u8>> = (0..300).map(|_| COL_B.to_vec()).collect();
    let first = framed(&[&[0xFC, 0x2C, 0x01, 0]], 1);
    let out = packets(&with_columns(&first, &many).expect("put back"));
    assert_eq!(out[0], (1, vec![0xFC, 0x2C, 0x01, 1]));
    assert_eq!(out.len(), 301);
    assert_eq!(out[300].0, 301u16 as u8, "sequence ids wrap");
}

#[test]
fn the_rest_of_the_answer_is_renumbered_in_any_chunks() {
    let eof: &[u8] = b"\xfe\x00\x00\x02\x00";
    let row: &[u8] = b"\x00\x00\x01\x02\x03";
    let end: &[u8] = b"\xfe\x00\x00\x02\x00\x00\x00";
    let big = vec![0u8; 70_000];
    for payloads in [vec![eof, row, end], vec![eof, &big[..], row, end]] {
        let bytes = framed(&payloads, 2);
        let want: Vec<(u8, Vec<u8>)> = packets(&bytes)
            .into_iter()
            .map(|(seq, p)| (seq.wrapping_add(2), p))
            .collect();
        // Chunks end at packet ends or inside payloads, never inside a header.
        let mut ends = vec![];
        let mut at = 0;
        for p in &payloads {
            ends.push(at + HEADER_LEN + p.len() / 2);
            at += HEADER_LEN + p.len();
            ends.push(at);
        }
        for step in [1, 2, 3] {
            let mut r = Renumber::new(2);
            let mut out = bytes.clone();
            let mut from = 0;
            for &cut in ends
                .iter()
                .skip(step - 1)
                .step_by(step)
                .chain([&bytes.len()])
            {
                if cut > from {
                    r.apply(&mut out[from..cut]);
                    from = cut;
                }
            }
            assert_eq!(packets(&out), want, "cut every {step}");
        }
    }
}

#[test]
fn a_prepare_answers_column_definitions() {
    let ok = |cols: u8, params: u8| vec![0, 5, 0, 0, 0, cols, 0, params, 0, 0, 0, 0];
    let param: &[u8] = b"\x03def\x00\x00\x00\x01?\x00\x0c";
    let eof: &[u8] = b"\xfe\x00\x00\x02\x00";
    let with_eof = framed(&[&ok(2, 1), param, eof, COL_A, COL_B, eof], 1);
    assert_eq!(
        prepare_columns(&with_eof, false),
        Some(vec![COL_A.to_vec(), COL_B.to_vec()])
    );
    let deprecated = framed(&[&ok(2, 1), param, COL_A, COL_B], 1);
    assert_eq!(
        prepare_columns(&deprecated, true),
        Some(vec![COL_A.to_vec(), COL_B.to_vec()])
    );
    let no_params = framed(&[&ok(1, 0), COL_B, eof], 1);
    assert_eq!(
        prepare_columns(&no_params, false),
        Some(vec![COL_B.to_vec()])
    );
    // Fewer packets than it says, or an error: nothing.
    assert_eq!(prepare_columns(&framed(&[&ok(2, 0), COL_A], 1), true), None);
    assert_eq!(
        prepare_columns(&framed(&[b"\xff\x7a\x04#42S02x"], 1), true),
        None
    );
}
