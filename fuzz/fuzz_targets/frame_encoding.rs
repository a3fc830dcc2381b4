//! Frames as a guest may build them (any types, lengths, offsets, validity,
//! labels, meta and config text), encoded for Grafana: the encoders either
//! refuse the frame or produce bytes that decode back to it.
#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use grafana_wasm_serve::frames::{self, Include};
use grafana_wasm_serve::wit::frames::{Field, Frame, Values, VarBytes};
use libfuzzer_sys::fuzz_target;

fn var_bytes(u: &mut Unstructured) -> Result<VarBytes> {
    Ok(VarBytes {
        offsets: Arbitrary::arbitrary(u)?,
        data: Arbitrary::arbitrary(u)?,
    })
}

fn values(u: &mut Unstructured) -> Result<Values> {
    Ok(match u.int_in_range(0..=14)? {
        0 => Values::Int8(u.arbitrary()?),
        1 => Values::Int16(u.arbitrary()?),
        2 => Values::Int32(u.arbitrary()?),
        3 => Values::Int64(u.arbitrary()?),
        4 => Values::Uint8(u.arbitrary()?),
        5 => Values::Uint16(u.arbitrary()?),
        6 => Values::Uint32(u.arbitrary()?),
        7 => Values::Uint64(u.arbitrary()?),
        8 => Values::Float32(u.arbitrary()?),
        9 => Values::Float64(u.arbitrary()?),
        10 => Values::String(var_bytes(u)?),
        11 => Values::Bool(u.arbitrary()?),
        12 => Values::Time(u.arbitrary()?),
        13 => Values::Json(var_bytes(u)?),
        _ => Values::Enum(u.arbitrary()?),
    })
}

fn frame(u: &mut Unstructured) -> Result<Frame> {
    let count = u.int_in_range(0..=4)?;
    let fields = (0..count)
        .map(|_| {
            Ok(Field {
                name: u.arbitrary()?,
                values: values(u)?,
                nullable: u.arbitrary()?,
                validity: u.arbitrary()?,
                labels: u.arbitrary()?,
                config: u.arbitrary()?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Frame {
        name: u.arbitrary()?,
        ref_id: u.arbitrary()?,
        meta: u.arbitrary()?,
        fields,
    })
}

fuzz_target!(|input: &[u8]| {
    let Ok(frame) = frame(&mut Unstructured::new(input)) else {
        return;
    };
    for include in [Include::All, Include::SchemaOnly, Include::DataOnly] {
        let _ = frames::to_json(&frame, include);
    }
    if let Ok(bytes) = frames::to_arrow(frame.clone(), "A") {
        frames::check_arrow(&bytes).expect("our Arrow passes our own check");
        let decoded = frames::from_arrow(&bytes).expect("our Arrow decodes");
        assert_eq!(decoded.fields.len(), frame.fields.len());
    }
});
