//! Client commands: the first byte of a command packet and what follows it.

use super::ProtocolError;

pub const COM_QUIT: u8 = 0x01;
pub const COM_INIT_DB: u8 = 0x02;
pub const COM_QUERY: u8 = 0x03;
pub const COM_FIELD_LIST: u8 = 0x04;
pub const COM_REFRESH: u8 = 0x07;
pub const COM_STATISTICS: u8 = 0x09;
pub const COM_PROCESS_INFO: u8 = 0x0a;
pub const COM_PROCESS_KILL: u8 = 0x0c;
pub const COM_DEBUG: u8 = 0x0d;
pub const COM_PING: u8 = 0x0e;
pub const COM_CHANGE_USER: u8 = 0x11;
pub const COM_STMT_PREPARE: u8 = 0x16;
pub const COM_STMT_EXECUTE: u8 = 0x17;
pub const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
pub const COM_STMT_CLOSE: u8 = 0x19;
pub const COM_STMT_RESET: u8 = 0x1a;
pub const COM_SET_OPTION: u8 = 0x1b;
pub const COM_STMT_FETCH: u8 = 0x1c;
pub const COM_RESET_CONNECTION: u8 = 0x1f;
pub const COM_STMT_BULK_EXECUTE: u8 = 0xfa;

/// A decoded client command (borrowing the packet's payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    Quit,
    InitDb(&'a [u8]),
    Query(&'a [u8]),
    FieldList(&'a [u8]),
    Refresh,
    Statistics,
    ProcessInfo,
    ProcessKill(u32),
    Debug,
    Ping,
    ChangeUser(&'a [u8]),
    StmtPrepare(&'a [u8]),
    StmtExecute { id: u32 },
    StmtSendLongData { id: u32 },
    StmtClose { id: u32 },
    StmtReset { id: u32 },
    SetOption(u16),
    StmtFetch { id: u32 },
    ResetConnection,
    StmtBulkExecute { id: u32 },
    Unknown(u8),
}

fn stmt_id(body: &[u8]) -> Result<u32, ProtocolError> {
    match body {
        [a, b, c, d, ..] => Ok(u32::from_le_bytes([*a, *b, *c, *d])),
        _ => Err(ProtocolError::Malformed("statement id")),
    }
}

/// Decodes a command payload.
pub fn parse(payload: &[u8]) -> Result<Command<'_>, ProtocolError> {
    let (&code, body) = payload
        .split_first()
        .ok_or(ProtocolError::Malformed("empty command"))?;
    Ok(match code {
        COM_QUIT => Command::Quit,
        COM_INIT_DB => Command::InitDb(body),
        COM_QUERY => Command::Query(body),
        COM_FIELD_LIST => Command::FieldList(body),
        COM_REFRESH => Command::Refresh,
        COM_STATISTICS => Command::Statistics,
        COM_PROCESS_INFO => Command::ProcessInfo,
        COM_PROCESS_KILL => Command::ProcessKill(stmt_id(body)?),
        COM_DEBUG => Command::Debug,
        COM_PING => Command::Ping,
        COM_CHANGE_USER => Command::ChangeUser(body),
        COM_STMT_PREPARE => Command::StmtPrepare(body),
        COM_STMT_EXECUTE => {
            if body.len() < 9 {
                return Err(ProtocolError::Malformed("COM_STMT_EXECUTE"));
            }
            Command::StmtExecute { id: stmt_id(body)? }
        }
        COM_STMT_SEND_LONG_DATA => {
            if body.len() < 6 {
                return Err(ProtocolError::Malformed("COM_STMT_SEND_LONG_DATA"));
            }
            Command::StmtSendLongData { id: stmt_id(body)? }
        }
        COM_STMT_CLOSE => Command::StmtClose { id: stmt_id(body)? },
        COM_STMT_RESET => Command::StmtReset { id: stmt_id(body)? },
        COM_SET_OPTION => match body {
            [a, b, ..] => Command::SetOption(u16::from_le_bytes([*a, *b])),
            _ => return Err(ProtocolError::Malformed("COM_SET_OPTION")),
        },
        COM_STMT_FETCH => {
            if body.len() < 8 {
                return Err(ProtocolError::Malformed("COM_STMT_FETCH"));
            }
            Command::StmtFetch { id: stmt_id(body)? }
        }
        COM_RESET_CONNECTION => Command::ResetConnection,
        COM_STMT_BULK_EXECUTE => Command::StmtBulkExecute { id: stmt_id(body)? },
        other => Command::Unknown(other),
    })
}
