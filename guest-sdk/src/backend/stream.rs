//! Grafana Live streams: data pushed to panels as it happens, over
//! channels `ds/<uid>/<path>` that the plugin serves.

use std::time::Duration;

use super::{Error, PluginContext, StringMap};
use crate::data::{Frame, FrameInclude};

/// The answer to a subscribe or publish request (Go:
/// `SubscribeStreamStatus` / `PublishStreamStatus`), letting the plugin
/// refuse unknown paths and unauthorized users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamStatus {
    /// Allowed.
    #[default]
    Ok,
    /// No such stream.
    NotFound,
    /// Not allowed for this user.
    PermissionDenied,
}

/// A user subscribes to a channel path. `Default` gives an empty request,
/// handy in native tests.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::SubscribeStreamRequest;
///
/// let req = SubscribeStreamRequest { path: "cpu/host-a".into(), ..SubscribeStreamRequest::default() };
/// assert_eq!(req.path.split_once('/'), Some(("cpu", "host-a")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeStreamRequest {
    /// Who asks.
    pub plugin_context: PluginContext,
    /// Channel path.
    pub path: String,
    /// Subscription payload (JSON).
    pub data: Vec<u8>,
    /// Forwarded headers.
    pub headers: StringMap,
}

/// The answer to a subscription: allowed or not, with optional initial
/// data (e.g. the schema of the frames to come).
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{StreamStatus, SubscribeStreamResponse};
///
/// let refused = SubscribeStreamResponse { status: StreamStatus::NotFound, ..SubscribeStreamResponse::default() };
/// assert_eq!(SubscribeStreamResponse::default().status, StreamStatus::Ok);
/// assert_ne!(refused.status, StreamStatus::Ok);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscribeStreamResponse {
    /// Whether the subscription is allowed.
    pub status: StreamStatus,
    /// Initial data (JSON), optional.
    pub data: Vec<u8>,
}

/// A user publishes into a channel path: the same fields as a
/// subscription, `data` being what the user publishes.
pub type PublishStreamRequest = SubscribeStreamRequest;

/// The answer to a publication: allowed or not, with the data Grafana
/// publishes on the plugin's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishStreamResponse {
    /// Whether publishing is allowed.
    pub status: StreamStatus,
    /// Data to publish (JSON); empty when the plugin publishes itself.
    pub data: Vec<u8>,
}

/// Grafana starts serving a channel: the subscription that made it start.
pub type RunStreamRequest = SubscribeStreamRequest;

/// Sends packets of a running stream (Go: `backend.StreamSender`), and waits
/// between them in a way that notices cancellation. In native tests, a
/// `Vec<Vec<u8>>` collects the packets and never waits.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use grafana_wasm_sdk::backend::StreamPacketSender;
///
/// let mut packets: Vec<Vec<u8>> = Vec::new();
/// packets.send(br#"{"value": 1}"#.to_vec())?;
/// packets.wait(Duration::from_secs(1))?; // returns at once in tests
/// assert_eq!(packets.len(), 1);
/// # Ok::<(), grafana_wasm_sdk::backend::Error>(())
/// ```
pub trait StreamPacketSender {
    /// Sends one JSON packet; waits while Grafana is slow.
    ///
    /// # Errors
    /// When Grafana cancelled the stream (return from `run_stream` then) or
    /// the packet is not valid JSON.
    fn send(&mut self, data: Vec<u8>) -> Result<(), Error>;

    /// Sends `frame` as one packet of Grafana's frame JSON with the `parts`
    /// asked for (Go: `StreamSender.SendFrame`): what a panel subscribed to
    /// the stream plots. The host encodes it, as it does a query's frames.
    ///
    /// # Errors
    /// When Grafana cancelled the stream, or the frame is invalid.
    fn send_frame(&mut self, frame: Frame, parts: FrameInclude) -> Result<(), Error>;

    /// Waits `duration`, or less: fails as soon as Grafana cancels the
    /// stream (like selecting on the Go SDK's `ctx.Done()`). Wait with this
    /// between packets so that a cancelled stream ends at once.
    ///
    /// # Errors
    /// When the stream was cancelled: return from `run_stream`.
    fn wait(&mut self, duration: Duration) -> Result<(), Error>;
}

impl StreamPacketSender for Vec<Vec<u8>> {
    /// Collects packets: handy in native tests.
    fn send(&mut self, data: Vec<u8>) -> Result<(), Error> {
        self.push(data);
        Ok(())
    }

    /// Fails: only the host encodes frame JSON. Record frames in native
    /// tests with a `Vec<StreamPacket>`.
    fn send_frame(&mut self, _: Frame, _: FrameInclude) -> Result<(), Error> {
        Err(Error::plugin(
            "a Vec<Vec<u8>> records JSON packets only; record frames with a Vec<StreamPacket>",
        ))
    }

    /// Returns at once: native tests need not wait.
    fn wait(&mut self, _: Duration) -> Result<(), Error> {
        Ok(())
    }
}

/// A packet recorded by a native test's `Vec<StreamPacket>` sender.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{StreamPacket, StreamPacketSender};
/// use grafana_wasm_sdk::data::{Field, Frame, FrameInclude};
///
/// let mut packets: Vec<StreamPacket> = Vec::new();
/// let frame = Frame::new("live").with_field(Field::new("value", vec![1.0]));
/// packets.send_frame(frame.clone(), FrameInclude::All)?;
/// packets.send(br#"{"note":"hi"}"#.to_vec())?;
/// assert_eq!(packets[0], StreamPacket::Frame(Box::new(frame), FrameInclude::All));
/// # Ok::<(), grafana_wasm_sdk::backend::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum StreamPacket {
    /// Sent with [`StreamPacketSender::send`].
    Json(Vec<u8>),
    /// Sent with [`StreamPacketSender::send_frame`].
    Frame(Box<Frame>, FrameInclude),
}

impl StreamPacketSender for Vec<StreamPacket> {
    fn send(&mut self, data: Vec<u8>) -> Result<(), Error> {
        self.push(StreamPacket::Json(data));
        Ok(())
    }

    /// Records the frame after checking it, as the host would.
    fn send_frame(&mut self, frame: Frame, parts: FrameInclude) -> Result<(), Error> {
        frame.validate()?;
        self.push(StreamPacket::Frame(Box::new(frame), parts));
        Ok(())
    }

    fn wait(&mut self, _: Duration) -> Result<(), Error> {
        Ok(())
    }
}

/// Handles Grafana Live streams (Go: `backend.StreamHandler`).
///
/// There is no closure adapter for it, unlike the single-method handlers:
/// a stream needs three cooperating methods (subscribe, publish, run), which
/// a type implementing the trait keeps together.
///
/// # Examples
///
/// A handler is plain Rust, so unit-test it natively, with a `Vec` as the
/// packet sender:
///
/// ```
/// use std::time::Duration;
/// use grafana_wasm_sdk::backend::*;
///
/// struct Ticks;
///
/// impl StreamHandler for Ticks {
///     fn subscribe_stream(&self, req: SubscribeStreamRequest) -> Result<SubscribeStreamResponse, Error> {
///         let status = if req.path == "ticks" { StreamStatus::Ok } else { StreamStatus::NotFound };
///         Ok(SubscribeStreamResponse { status, ..SubscribeStreamResponse::default() })
///     }
///
///     fn publish_stream(&self, _: PublishStreamRequest) -> Result<PublishStreamResponse, Error> {
///         Ok(PublishStreamResponse { status: StreamStatus::PermissionDenied, ..PublishStreamResponse::default() })
///     }
///
///     fn run_stream(&self, _: RunStreamRequest, sender: &mut dyn StreamPacketSender) -> Result<(), Error> {
///         for tick in 0..3 {
///             sender.send(serde_json::json!({ "tick": tick }).to_string().into_bytes())?;
///             // Fails once Grafana cancels: `?` then ends the stream.
///             sender.wait(Duration::from_secs(1))?;
///         }
///         Ok(())
///     }
/// }
///
/// let req = SubscribeStreamRequest { path: "ticks".into(), ..SubscribeStreamRequest::default() };
/// assert_eq!(Ticks.subscribe_stream(req.clone())?.status, StreamStatus::Ok);
///
/// let mut packets: Vec<Vec<u8>> = Vec::new();
/// Ticks.run_stream(req, &mut packets)?;
/// assert_eq!(packets.last().unwrap(), br#"{"tick":2}"#);
/// # Ok::<(), Error>(())
/// ```
pub trait StreamHandler {
    /// May the user subscribe to `req.path`?
    ///
    /// # Errors
    /// An error failing the subscription.
    fn subscribe_stream(
        &self,
        req: SubscribeStreamRequest,
    ) -> Result<SubscribeStreamResponse, Error>;

    /// May the user publish to `req.path`?
    ///
    /// # Errors
    /// An error failing the publication.
    fn publish_stream(&self, req: PublishStreamRequest) -> Result<PublishStreamResponse, Error>;

    /// Serves a channel until Grafana cancels: send packets, and return once
    /// `send` fails.
    ///
    /// # Errors
    /// An error ending the stream (Grafana restarts it).
    fn run_stream(
        &self,
        req: RunStreamRequest,
        sender: &mut dyn StreamPacketSender,
    ) -> Result<(), Error>;
}
