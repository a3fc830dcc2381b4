//! CheckHealth's handler: the `health` interface when a component exports
//! it (plugins without metrics of their own), else `check-health` of
//! `diagnostics`.

use wasmtime::Store;
use wasmtime::component::Instance;

use super::plugin::{Exports, Family};
use crate::capabilities::GuestState;
use crate::wit::handlers::{diagnostics, health};
use crate::wit::types::{CheckHealthRequest, CheckHealthResult, HandlerError};

/// Where a component's CheckHealth is found.
#[derive(Clone)]
pub enum HealthIndices {
    /// The `health` interface.
    Health(health::GuestIndices),
    /// The `diagnostics` interface.
    Diagnostics(diagnostics::GuestIndices),
}

/// CheckHealth of one instance, loaded.
pub enum HealthGuest {
    /// Through `health`.
    Health(health::Guest),
    /// Through `diagnostics`.
    Diagnostics(diagnostics::Guest),
}

impl HealthIndices {
    /// `health` when exported (it is the more specific), else
    /// `diagnostics`, else none.
    pub(super) fn choose(exports: &Exports) -> Option<Self> {
        exports
            .health
            .clone()
            .map(Self::Health)
            .or_else(|| exports.diagnostics.clone().map(Self::Diagnostics))
    }
}

impl Family for HealthIndices {
    type Guest = HealthGuest;

    fn find(exports: &Exports) -> Option<&Self> {
        exports.check_health.as_ref()
    }

    fn load(
        &self,
        store: &mut Store<GuestState>,
        instance: &Instance,
    ) -> wasmtime::Result<HealthGuest> {
        Ok(match self {
            Self::Health(indices) => HealthGuest::Health(indices.load(store, instance)?),
            Self::Diagnostics(indices) => HealthGuest::Diagnostics(indices.load(store, instance)?),
        })
    }
}

impl HealthGuest {
    /// Calls the guest's `check-health`.
    ///
    /// # Errors
    /// A trap.
    pub async fn call_check_health(
        &self,
        store: &mut Store<GuestState>,
        request: &CheckHealthRequest,
    ) -> wasmtime::Result<Result<CheckHealthResult, HandlerError>> {
        match self {
            Self::Health(guest) => guest.call_check_health(store, request).await,
            Self::Diagnostics(guest) => guest.call_check_health(store, request).await,
        }
    }
}
