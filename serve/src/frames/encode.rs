//! A guest's frame as the bytes Grafana decodes: Arrow IPC (encoded here,
//! or the guest's own, checked) or Frame JSON, for a query's answer or a
//! live stream's packet.

use super::{FrameError, Include, check_arrow, from_arrow, to_arrow, to_json};
use crate::wit::frames::{self as wit_frames, FrameData};
use crate::wit::types as wit;

/// One frame as the bytes Grafana decodes, in the format it asked for: an
/// Arrow IPC file (encoded here, or passed through from the guest) or Frame
/// JSON (`include` says which parts). `ref_id` fills in a missing refId.
pub fn encode(
    frame: FrameData,
    ref_id: &str,
    format: wit::FrameFormat,
    include: Include,
) -> Result<Vec<u8>, FrameError> {
    match (frame, format) {
        (FrameData::Columnar(frame), wit::FrameFormat::Arrow) => to_arrow(frame, ref_id),
        (FrameData::ArrowIpc(bytes), wit::FrameFormat::Arrow) => {
            check_arrow(&bytes)?;
            Ok(bytes)
        }
        (data, wit::FrameFormat::Json) => {
            let mut frame = match data {
                FrameData::Columnar(frame) => frame,
                FrameData::ArrowIpc(bytes) => from_arrow(&bytes)?,
            };
            if frame.ref_id.is_empty() {
                ref_id.clone_into(&mut frame.ref_id);
            }
            to_json(&frame, include).map(String::into_bytes)
        }
    }
}

/// A frame sent on a live stream: Frame JSON with the parts `include` says.
///
/// # Errors
/// When the frame is invalid.
pub fn stream_json(
    data: FrameData,
    include: wit_frames::FrameInclude,
) -> Result<Vec<u8>, FrameError> {
    let include = match include {
        wit_frames::FrameInclude::All => Include::All,
        wit_frames::FrameInclude::DataOnly => Include::DataOnly,
        wit_frames::FrameInclude::SchemaOnly => Include::SchemaOnly,
    };
    encode(data, "", wit::FrameFormat::Json, include)
}
