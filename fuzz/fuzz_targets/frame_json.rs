//! Frame JSON (as plugins and Grafana write it) decoded: never a panic, and
//! a frame that decodes encodes to JSON that decodes to the same frame.
#![no_main]

use grafana_wasm_serve::frames::{self, Include};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(frame) = frames::from_json(text) else {
        return;
    };
    let Ok(json) = frames::to_json(&frame, Include::All) else {
        return;
    };
    let again = frames::from_json(&json).expect("our own frame JSON decodes");
    let json_again = frames::to_json(&again, Include::All).expect("and encodes");
    assert_eq!(json, json_again, "frame JSON is stable after one round");
});
