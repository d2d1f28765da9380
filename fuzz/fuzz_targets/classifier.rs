//! The classifier (lexer fast path, then sqlparser): any statement text, valid UTF-8 or
//! not, gets a classification.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rwsplit::classify::Classifier;

fuzz_target!(|data: &[u8]| {
    // No cache: every input goes through the lexer and, where it cannot decide, sqlparser.
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    let c = CLASSIFIER.get_or_init(|| Classifier::new(0));
    let _ = c.classify(data);
});
