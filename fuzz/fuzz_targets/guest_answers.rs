//! Answers a guest returns (resource responses with any status and
//! headers, query responses with any status and frames, stream packets),
//! converted for Grafana: never a panic.
#![no_main]

use arbitrary::{Result, Unstructured};
use grafana_wasm_serve::convert::to_proto;
use grafana_wasm_serve::wit::frames::FrameData;
use grafana_wasm_serve::wit::types::{
    CallResourceResponse, DataResponse, ErrorSource, FrameFormat, PluginError, QueryDataResponse,
};
use libfuzzer_sys::fuzz_target;

fn data_response(u: &mut Unstructured) -> Result<DataResponse> {
    let frames = (0..u.int_in_range(0..=2)?)
        .map(|_| Ok(FrameData::ArrowIpc(u.arbitrary()?)))
        .collect::<Result<_>>()?;
    let error = if u.arbitrary()? {
        Some(PluginError {
            message: u.arbitrary()?,
            source: if u.arbitrary()? {
                ErrorSource::Plugin
            } else {
                ErrorSource::Downstream
            },
        })
    } else {
        None
    };
    Ok(DataResponse {
        frames,
        error,
        status: u.arbitrary()?,
    })
}

fn run(u: &mut Unstructured) -> Result<()> {
    let resource = CallResourceResponse {
        status: u.arbitrary()?,
        headers: u.arbitrary()?,
        body: u.arbitrary()?,
    };
    to_proto::call_resource_response(resource);
    let responses = (0..u.int_in_range(0..=3)?)
        .map(|_| Ok((u.arbitrary()?, data_response(u)?)))
        .collect::<Result<_>>()?;
    let format = if u.arbitrary()? {
        FrameFormat::Arrow
    } else {
        FrameFormat::Json
    };
    to_proto::query_data_response(QueryDataResponse { responses }, format);
    to_proto::stream_packet(u.arbitrary()?);
    Ok(())
}

fuzz_target!(|input: &[u8]| {
    let _ = run(&mut Unstructured::new(input));
});
