//! The senders of streamed answers (`resource-sender`, `stream-sender`,
//! `chunk-sender`): each streamed RPC hands the instance the channel its
//! messages go to, and what the guest sends waits there, counted against
//! the instance's memory cap, until Grafana's connection takes it.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use wasmtime::component::{HasData, Linker, ResourceTable};

use super::GuestState;
use crate::sandbox::logs::GuestLog;
use crate::wit::grafana::plugin::{chunk_sender, frames, resource_sender, stream_sender};
use crate::wit::types::{CallResourceResponse, DataChunk, SendError};

/// Where the messages of the call in progress go. Each streamed RPC sets
/// its own sender before calling the guest and clears it afterwards, which
/// closes the channel.
#[derive(Default)]
pub struct Outbox {
    /// Messages of a resource call.
    pub resource: Option<mpsc::Sender<Queued<CallResourceResponse>>>,
    /// Packets of a running stream.
    pub stream: Option<mpsc::Sender<Queued<Vec<u8>>>>,
    /// Chunks of a chunked query.
    pub chunks: Option<mpsc::Sender<Queued<DataChunk>>>,
}

/// A message a guest sent, holding its share of the instance's queue
/// budget until Grafana's connection takes it.
pub struct Queued<T> {
    /// The message.
    pub message: T,
    /// Released when dropped.
    pub charge: OwnedSemaphorePermit,
}

/// What a message sent by a guest takes in host memory, roughly.
pub trait HostSize {
    /// Its size in bytes.
    fn host_size(&self) -> usize;
}

impl HostSize for Vec<u8> {
    fn host_size(&self) -> usize {
        self.len()
    }
}

impl HostSize for CallResourceResponse {
    fn host_size(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, values)| name.len() + values.iter().map(String::len).sum::<usize>())
            .sum();
        headers + self.body.len()
    }
}

impl HostSize for DataChunk {
    fn host_size(&self) -> usize {
        let frame = self.frame.as_ref().map_or(0, crate::frames::host_bytes);
        self.ref_id.len() + self.frame_id.len() + frame
    }
}

/// Messages a guest's instance has sent and Grafana has not yet taken
/// count against its memory cap with its linear memory and host
/// resources; a guest sending more waits (its `send` blocks), as it does
/// for a slow reader. Counted in KiB.
struct QueueBudget {
    permits: Arc<Semaphore>,
    kib: u32,
}

impl QueueBudget {
    fn new(max_memory: usize) -> Self {
        let kib = u32::try_from(max_memory / 1024).unwrap_or(u32::MAX).max(1);
        Self {
            permits: Arc::new(Semaphore::new(kib as usize)),
            kib,
        }
    }

    /// Bytes queued now.
    fn queued(&self) -> usize {
        (self.kib as usize).saturating_sub(self.permits.available_permits()) * 1024
    }

    /// Waits until `bytes` fit beside what is queued and the `held` bytes
    /// the instance holds otherwise (a message that cannot fit at all waits
    /// for an empty queue), or the reader is gone.
    async fn charge<T>(
        &self,
        bytes: usize,
        held: usize,
        sender: &mpsc::Sender<T>,
    ) -> Result<OwnedSemaphorePermit, SendError> {
        let kib = |bytes: usize| u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        let own = kib(bytes).min(self.kib);
        let with_held = own.saturating_add(kib(held)).min(self.kib);
        let mut permit = tokio::select! {
            permit = self.permits.clone().acquire_many_owned(with_held) => {
                permit.map_err(|_| SendError::Closed)?
            }
            () = sender.closed() => return Err(SendError::Closed),
        };
        // Only the message's own share stays taken.
        drop(permit.split((with_held - own) as usize));
        Ok(permit)
    }
}

/// One instance's senders: the call's outbox and the budget its queued
/// messages share.
pub struct Senders {
    outbox: Outbox,
    queue: QueueBudget,
}

impl Senders {
    /// Senders whose queued messages may take up to `max_memory` bytes.
    pub fn new(max_memory: usize) -> Self {
        Self {
            outbox: Outbox::default(),
            queue: QueueBudget::new(max_memory),
        }
    }

    /// Bytes queued now.
    pub fn queued(&self) -> usize {
        self.queue.queued()
    }

    /// The channels of the call about to run.
    pub fn prepare(&mut self, outbox: Outbox) {
        self.outbox = outbox;
    }

    /// After a call: its channels are closed.
    pub fn clear(&mut self) {
        self.outbox = Outbox::default();
    }
}

/// What a sender call sees of the instance: its senders, what else it
/// holds (linear memory, and host resources in its table) and its log.
pub struct SendersView<'a> {
    senders: &'a mut Senders,
    memory: usize,
    table: &'a mut ResourceTable,
    log: &'a GuestLog,
}

struct HasSenders;

impl HasData for HasSenders {
    type Data<'a> = SendersView<'a>;
}

/// Adds the three senders to the linker.
///
/// # Errors
/// Only if the host's own definitions conflict.
pub fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    fn view(state: &mut GuestState) -> SendersView<'_> {
        SendersView {
            senders: &mut state.senders,
            memory: state.limits.memory(),
            table: &mut state.table,
            log: &state.logging.log,
        }
    }
    resource_sender::add_to_linker::<_, HasSenders>(linker, view)?;
    stream_sender::add_to_linker::<_, HasSenders>(linker, view)?;
    chunk_sender::add_to_linker::<_, HasSenders>(linker, view)
}

impl SendersView<'_> {
    /// Sends `message` on the channel `pick` chooses, waiting while the
    /// reader is slow or the message does not fit the memory cap yet.
    async fn send_queued<T: HostSize>(
        &mut self,
        pick: fn(&Outbox) -> Option<&mpsc::Sender<Queued<T>>>,
        message: T,
        what: &str,
    ) -> Result<(), SendError> {
        let held = self
            .memory
            .saturating_add(super::memory::resources_charge(self.table));
        let Some(sender) = pick(&self.senders.outbox) else {
            return Err(SendError::Invalid(format!("no {what} is in progress")));
        };
        let charge = self
            .senders
            .queue
            .charge(message.host_size(), held, sender)
            .await?;
        sender
            .send(Queued { message, charge })
            .await
            .map_err(|_| SendError::Closed)
    }
}

impl resource_sender::Host for SendersView<'_> {
    async fn send(&mut self, response: CallResourceResponse) -> Result<(), SendError> {
        self.send_queued(|o| o.resource.as_ref(), response, "resource call")
            .await
    }
}

impl stream_sender::Host for SendersView<'_> {
    async fn send(&mut self, data: Vec<u8>) -> Result<(), SendError> {
        // Grafana rejects a packet that is not JSON and restarts the stream;
        // telling the guest right away is more useful.
        if let Err(error) = super::packet::check(&data) {
            self.log.packet_rejected("not_json", &error);
            return Err(SendError::Invalid(error));
        }
        self.send_queued(|o| o.stream.as_ref(), data, "stream")
            .await
    }

    /// Encodes the frame as Frame JSON here, as a query's frame would be.
    async fn send_frame(
        &mut self,
        frame: frames::FrameData,
        parts: frames::FrameInclude,
    ) -> Result<(), SendError> {
        let json = crate::frames::stream_json(frame, parts).map_err(|err| {
            let error = format!("stream frame: {err}");
            self.log.packet_rejected("invalid_frame", &error);
            SendError::Invalid(error)
        })?;
        self.send_queued(|o| o.stream.as_ref(), json, "stream")
            .await
    }

    /// Sleeps, ending early once the stream's reader is gone.
    async fn wait(&mut self, millis: u32) -> Result<(), SendError> {
        // An owned sender: the store's state must not be borrowed across
        // the await.
        let Some(sender) = self.senders.outbox.stream.clone() else {
            return Err(SendError::Invalid("no stream is in progress".into()));
        };
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(u64::from(millis))) => Ok(()),
            () = sender.closed() => Err(SendError::Closed),
        }
    }
}

impl chunk_sender::Host for SendersView<'_> {
    async fn send(&mut self, chunk: DataChunk) -> Result<(), SendError> {
        self.send_queued(|o| o.chunks.as_ref(), chunk, "chunked query")
            .await
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;

    const MIB: usize = 1 << 20;

    #[tokio::test]
    async fn queued_messages_share_the_memory_cap_with_what_the_instance_holds() {
        let budget = QueueBudget::new(64 * MIB);
        let (sender, _receiver) = mpsc::channel::<()>(1);
        let first = budget.charge(16 * MIB, 16 * MIB, &sender).await.unwrap();
        assert_eq!(budget.queued(), 16 * MIB, "only the message stays charged");
        let second = budget.charge(16 * MIB, 16 * MIB, &sender).await.unwrap();
        // 32 MiB queued and 16 MiB held: another 16 MiB would exceed 64.
        let third = budget.charge(32 * MIB, 16 * MIB, &sender);
        tokio::pin!(third);
        assert!(third.as_mut().now_or_never().is_none(), "the sender waits");
        drop((first, second));
        assert!(
            third.await.is_ok(),
            "and goes on once Grafana took the rest"
        );
    }

    #[tokio::test]
    async fn a_message_larger_than_the_cap_waits_for_an_empty_queue() {
        let budget = QueueBudget::new(64 * MIB);
        let (sender, _receiver) = mpsc::channel::<()>(1);
        let small = budget.charge(MIB, 0, &sender).await.unwrap();
        let huge = budget.charge(100 * MIB, 60 * MIB, &sender);
        tokio::pin!(huge);
        assert!(huge.as_mut().now_or_never().is_none());
        drop(small);
        assert!(huge.await.is_ok());
        assert_eq!(budget.queued(), 0, "released with the message");
    }

    #[tokio::test]
    async fn a_waiting_sender_stops_when_the_reader_is_gone() {
        let budget = QueueBudget::new(MIB);
        let (sender, receiver) = mpsc::channel::<()>(1);
        let _full = budget.charge(MIB, 0, &sender).await.unwrap();
        let waiting = budget.charge(MIB, 0, &sender);
        drop(receiver);
        assert!(matches!(waiting.await, Err(SendError::Closed)));
    }
}
