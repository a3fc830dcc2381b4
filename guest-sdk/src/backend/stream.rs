//! Grafana Live streams.

use std::time::Duration;

use super::{Error, PluginContext, StringMap};

/// The answer to a subscribe or publish request.
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

/// A user subscribes to a channel path.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The answer to a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscribeStreamResponse {
    /// Whether the subscription is allowed.
    pub status: StreamStatus,
    /// Initial data (JSON), optional.
    pub data: Vec<u8>,
}

/// A user publishes into a channel path.
pub type PublishStreamRequest = SubscribeStreamRequest;

/// The answer to a publication.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishStreamResponse {
    /// Whether publishing is allowed.
    pub status: StreamStatus,
    /// Data to publish (JSON); empty when the plugin publishes itself.
    pub data: Vec<u8>,
}

/// Grafana starts serving a channel.
pub type RunStreamRequest = SubscribeStreamRequest;

/// Sends packets of a running stream.
pub trait StreamPacketSender {
    /// Sends one JSON packet; waits while Grafana is slow.
    ///
    /// # Errors
    /// When Grafana cancelled the stream (return from `run_stream` then) or
    /// the packet is not valid JSON.
    fn send(&mut self, data: Vec<u8>) -> Result<(), Error>;

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

    /// Returns at once: native tests need not wait.
    fn wait(&mut self, _: Duration) -> Result<(), Error> {
        Ok(())
    }
}

/// Handles Grafana Live streams.
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
