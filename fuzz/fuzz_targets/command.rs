//! The command decoder: any client command, and COM_STMT_EXECUTE rewriting for a backend
//! with any parameter count.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwsplit::protocol::{command, execute};

fuzz_target!(|data: &[u8]| {
    let _ = command::parse(data);
    let (params, body) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]), rest),
        _ => (0, data),
    };
    if let Ok(layout) = execute::execute_layout(body, params) {
        let types = vec![0u8; 2 * usize::from(params.min(64))];
        let _ = execute::execute_for_backend(body, &layout, 7, Some(&types));
        let _ = execute::execute_for_backend(body, &layout, 7, None);
    }
    let _ = execute::with_statement_id(body, 9);
});
