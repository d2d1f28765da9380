//! Text-protocol result rows and column definitions, decoded only where rwsplit reads an
//! answer of its own queries (a read-back); relayed rows are never decoded. Pure.

use mysql_common::constants::ColumnType;
use mysql_common::io::ParseBuf;
use mysql_common::packets::Column;

use super::response::lenenc;

/// The type of the column a column-definition packet describes.
pub fn column_type(payload: &[u8]) -> Option<ColumnType> {
    ParseBuf(payload)
        .parse::<Column>(())
        .ok()
        .map(|c| c.column_type())
}

/// The values of a text-protocol row of `n` columns (`None`: NULL); `None` when the
/// packet does not hold exactly `n` values.
pub fn text_row(payload: &[u8], n: usize) -> Option<Vec<Option<&[u8]>>> {
    let mut out = Vec::with_capacity(n);
    let mut rest = payload;
    for _ in 0..n {
        if rest.first() == Some(&0xFB) {
            out.push(None);
            rest = &rest[1..];
            continue;
        }
        let len = usize::try_from(lenenc(rest)?).ok()?;
        let skip: usize = match rest.first()? {
            0xFC => 3,
            0xFD => 4,
            0xFE => 9,
            _ => 1,
        };
        let end = skip.checked_add(len)?;
        out.push(Some(rest.get(skip..end)?));
        rest = &rest[end..];
    }
    rest.is_empty().then_some(out)
}
