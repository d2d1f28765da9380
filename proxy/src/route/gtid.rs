//! Replication positions and whether one includes another: MariaDB GTID positions
//! (`domain-server-seq,…`) and MySQL GTID sets (`uuid:1-5:7,…`). Pure.

use std::collections::BTreeMap;

/// A server's applied position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// MariaDB: the last sequence number per replication domain.
    MariaDb(BTreeMap<u32, u64>),
    /// MySQL: executed intervals per source uuid.
    MySql(BTreeMap<String, Vec<(u64, u64)>>),
}

impl Position {
    /// Parses `@@gtid_binlog_pos` / `@@gtid_current_pos` (`0-1-42,1-2-7`).
    pub fn parse_mariadb(s: &str) -> Option<Position> {
        let mut m = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut it = part.split('-');
            let domain: u32 = it.next()?.parse().ok()?;
            let _server: u32 = it.next()?.parse().ok()?;
            let seq: u64 = it.next()?.parse().ok()?;
            if it.next().is_some() {
                return None;
            }
            let e = m.entry(domain).or_insert(0);
            *e = (*e).max(seq);
        }
        Some(Position::MariaDb(m))
    }

    /// Parses `@@gtid_executed` (`3E11FA47-…:1-5:11,…`).
    pub fn parse_mysql(s: &str) -> Option<Position> {
        let mut m: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut it = part.split(':');
            let uuid = it.next()?.trim().to_ascii_lowercase();
            let ranges = m.entry(uuid).or_default();
            for r in it {
                let (a, b) = match r.split_once('-') {
                    Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
                    None => {
                        let v: u64 = r.trim().parse().ok()?;
                        (v, v)
                    }
                };
                if a > b {
                    return None;
                }
                ranges.push((a, b));
            }
        }
        for ranges in m.values_mut() {
            ranges.sort_unstable();
            let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
            for &(a, b) in ranges.iter() {
                match merged.last_mut() {
                    Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            *ranges = merged;
        }
        Some(Position::MySql(m))
    }

    /// True when everything in `other` has been applied at `self`.
    pub fn includes(&self, other: &Position) -> bool {
        match (self, other) {
            (Position::MariaDb(a), Position::MariaDb(b)) => {
                b.iter().all(|(d, s)| a.get(d).is_some_and(|x| x >= s))
            }
            (Position::MySql(a), Position::MySql(b)) => b.iter().all(|(uuid, ranges)| {
                let have = a.get(uuid).map(Vec::as_slice).unwrap_or_default();
                ranges
                    .iter()
                    .all(|&(lo, hi)| have.iter().any(|&(x, y)| x <= lo && hi <= y))
            }),
            _ => false,
        }
    }

    /// Everything applied at `self` or at `other`: per domain the higher sequence number
    /// (MariaDB), the union of the intervals (MySQL); `None` across flavours.
    pub fn union(&self, other: &Position) -> Option<Position> {
        match (self, other) {
            (Position::MariaDb(a), Position::MariaDb(b)) => {
                let mut m = a.clone();
                for (d, s) in b {
                    let e = m.entry(*d).or_insert(0);
                    *e = (*e).max(*s);
                }
                Some(Position::MariaDb(m))
            }
            // The parser merges the intervals of each source.
            (Position::MySql(_), Position::MySql(_)) => {
                Position::parse_mysql(&format!("{},{}", self.to_text(), other.to_text()))
            }
            _ => None,
        }
    }

    /// The text form, as the server writes it.
    pub fn to_text(&self) -> String {
        match self {
            Position::MariaDb(m) => m
                .iter()
                .map(|(d, s)| format!("{d}-0-{s}"))
                .collect::<Vec<_>>()
                .join(","),
            Position::MySql(m) => m
                .iter()
                .map(|(u, rs)| {
                    let r: Vec<String> = rs
                        .iter()
                        .map(|(a, b)| {
                            if a == b {
                                a.to_string()
                            } else {
                                format!("{a}-{b}")
                            }
                        })
                        .collect();
                    format!("{u}:{}", r.join(":"))
                })
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}
