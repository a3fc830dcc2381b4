//! Arrow IPC bytes a guest passes through: checked and decoded with an
//! error, never a panic that escapes; what decodes re-encodes.
#![no_main]

use grafana_wasm_serve::frames;
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    // The host catches the Arrow reader's panics on malformed files; the
    // fuzzer's hook would abort at the panic, before that. Without a hook,
    // a panic the host does not catch still aborts (libFuzzer reports it).
    init: std::panic::set_hook(Box::new(|_| {})),
    |input: &[u8]| {
        let _ = frames::check_arrow(input);
        if let Ok(frame) = frames::from_arrow(input) {
            let _ = frames::to_arrow(frame, "A");
        }
    }
);
