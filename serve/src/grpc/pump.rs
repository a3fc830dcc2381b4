//! Server-streamed answers: the guest sends messages through a host import
//! while its export call runs; this pump forwards them to Grafana as they
//! come, stops the guest when Grafana goes away, and ends the stream with
//! the call's outcome.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::capabilities::Queued;
use crate::runtime::CallError;

/// Messages buffered towards Grafana before the guest's `send` waits.
pub const CAPACITY: usize = 16;

/// How long a guest may take to return after Grafana cancelled its stream
/// (its next `send` fails with `closed`) before it is stopped.
pub const CANCEL_GRACE: Duration = Duration::from_millis(100);

/// A wire message, with the queue budget its guest message holds until
/// tonic takes it (none for the call's last item).
type Charged<P> = (Result<P, Status>, Option<OwnedSemaphorePermit>);

/// The stream handed to tonic: taking an item releases its charge.
pub type Outgoing<P> =
    tokio_stream::adapters::Map<ReceiverStream<Charged<P>>, fn(Charged<P>) -> Result<P, Status>>;

/// Turns guest messages into wire messages; `None` drops a message.
pub trait Forward<M, P>: Send + 'static {
    /// Converts one guest message.
    fn forward(&mut self, message: M) -> Option<Result<P, Status>>;
    /// The last item to send once the call ended, given how many messages
    /// went out.
    fn finish(self, outcome: Result<(), CallError>, sent: usize) -> Option<Result<P, Status>>;
}

/// Runs `call` on a task and streams what it sends through `from_guest`.
pub fn pump<M, P, F>(
    mut from_guest: mpsc::Receiver<Queued<M>>,
    call: impl Future<Output = Result<(), CallError>> + Send + 'static,
    mut forward: F,
) -> Outgoing<P>
where
    M: Send + 'static,
    P: Send + 'static,
    F: Forward<M, P>,
{
    let (to_grafana, outgoing) = mpsc::channel(CAPACITY);
    tokio::spawn(async move {
        let mut call = std::pin::pin!(call);
        let mut sent = 0usize;
        let outcome = loop {
            tokio::select! {
                biased;
                outcome = &mut call => break outcome,
                Some(Queued { message, charge }) = from_guest.recv() => {
                    if let Some(item) = forward.forward(message) {
                        if to_grafana.send((item, Some(charge))).await.is_err() {
                            return stop_cancelled(from_guest, call).await;
                        }
                        sent += 1;
                    }
                }
                () = to_grafana.closed() => return stop_cancelled(from_guest, call).await,
            }
        };
        // The call is over and its senders dropped: deliver what is queued.
        while let Some(Queued { message, charge }) = from_guest.recv().await {
            if let Some(item) = forward.forward(message) {
                if to_grafana.send((item, Some(charge))).await.is_err() {
                    return;
                }
                sent += 1;
            }
        }
        if let Some(last) = forward.finish(outcome, sent) {
            let _ = to_grafana.send((last, None)).await;
        }
    });
    ReceiverStream::new(outgoing).map(release as fn(Charged<P>) -> Result<P, Status>)
}

/// The wire message of a charged item; the charge is released here.
fn release<P>((item, _charge): Charged<P>) -> Result<P, Status> {
    item
}

/// Grafana cancelled: close the guest's channel so its next `send` fails
/// with `closed`, give it [`CANCEL_GRACE`] to return, then drop it.
async fn stop_cancelled<M>(
    from_guest: mpsc::Receiver<M>,
    call: std::pin::Pin<&mut impl Future<Output = Result<(), CallError>>>,
) {
    tracing::debug!("call cancelled by Grafana");
    drop(from_guest);
    match tokio::time::timeout(CANCEL_GRACE, call).await {
        Ok(_) => tracing::debug!("guest returned after cancellation"),
        Err(_) => {
            tracing::debug!(grace = ?CANCEL_GRACE, "guest did not return after cancellation; stopped");
        }
    }
}
