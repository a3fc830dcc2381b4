//! What a datasource's outgoing HTTP costs, and its span: request and
//! response bodies counted into the datasource's account as they flow,
//! the request's span kept open until its response body is done.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::metrics::Account;
use crate::traces::Span;

/// Which way a body goes.
#[derive(Clone, Copy)]
pub enum Direction {
    /// A request body the guest sends.
    Sent,
    /// A response body the guest receives.
    Received,
}

/// A body whose bytes are counted into `account`, holding `span` until it
/// is dropped.
pub struct Observed<B> {
    inner: B,
    direction: Direction,
    account: Option<Arc<Account>>,
    _span: Option<Span>,
}

impl<B> Observed<B> {
    /// `inner`, counted as going `direction` for `account`, ending `span`
    /// when dropped.
    pub fn new(
        inner: B,
        direction: Direction,
        account: Option<Arc<Account>>,
        span: Option<Span>,
    ) -> Self {
        Self {
            inner,
            direction,
            account,
            _span: span,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Observed<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let (Poll::Ready(Some(Ok(frame))), Some(account)) = (&polled, &self.account)
            && let Some(data) = frame.data_ref()
        {
            let bytes = data.len() as u64;
            match self.direction {
                Direction::Sent => account.http_sent(bytes),
                Direction::Received => account.http_received(bytes),
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
