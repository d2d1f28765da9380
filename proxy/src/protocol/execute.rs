//! COM_STMT_* packets a proxy must rewrite: the statement id (the client sees one id,
//! each backend has its own) and, for a backend that never received them, the parameter
//! types of COM_STMT_EXECUTE.

use super::ProtocolError;

/// Cursor flag of COM_STMT_EXECUTE.
pub const CURSOR_TYPE_READ_ONLY: u8 = 0x01;

/// Where things are in a COM_STMT_EXECUTE payload (command byte included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecuteLayout {
    pub statement_id: u32,
    pub flags: u8,
    /// Offset of the new-params-bound byte (absent without parameters).
    pub bound_at: Option<usize>,
    /// The types sent with this execution (offset, length), when the bound byte is 1.
    pub types: Option<(usize, usize)>,
}

/// Reads the layout of COM_STMT_EXECUTE for a statement with `params` parameters.
pub fn execute_layout(payload: &[u8], params: u16) -> Result<ExecuteLayout, ProtocolError> {
    if payload.len() < 10 {
        return Err(ProtocolError::Malformed("COM_STMT_EXECUTE"));
    }
    let statement_id = u32::from_le_bytes([payload[1], payload[2], payload[3], payload[4]]);
    let flags = payload[5];
    if params == 0 {
        return Ok(ExecuteLayout {
            statement_id,
            flags,
            bound_at: None,
            types: None,
        });
    }
    let bound_at = 10 + (params as usize).div_ceil(8);
    let bound = *payload.get(bound_at).ok_or(ProtocolError::Malformed(
        "COM_STMT_EXECUTE without parameters",
    ))?;
    let types = if bound == 1 {
        let len = 2 * params as usize;
        if payload.len() < bound_at + 1 + len {
            return Err(ProtocolError::Malformed("COM_STMT_EXECUTE parameter types"));
        }
        Some((bound_at + 1, len))
    } else {
        None
    };
    Ok(ExecuteLayout {
        statement_id,
        flags,
        bound_at: Some(bound_at),
        types,
    })
}

/// The payload with `statement_id` in place of the client's (any COM_STMT_* command:
/// the id follows the command byte).
pub fn with_statement_id(payload: &[u8], statement_id: u32) -> Vec<u8> {
    let mut out = payload.to_vec();
    if out.len() >= 5 {
        out[1..5].copy_from_slice(&statement_id.to_le_bytes());
    }
    out
}

/// COM_STMT_EXECUTE for a backend: its statement id, and the parameter types inserted
/// when the client did not send them this time (`types` = the last ones it sent).
pub fn execute_for_backend(
    payload: &[u8],
    layout: &ExecuteLayout,
    statement_id: u32,
    types: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = with_statement_id(payload, statement_id);
    if let (Some(at), None, Some(types)) = (layout.bound_at, layout.types, types) {
        if at < out.len() {
            out[at] = 1;
            let tail = out.split_off(at + 1);
            out.extend_from_slice(types);
            out.extend_from_slice(&tail);
        }
    }
    out
}
