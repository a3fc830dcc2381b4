//! The samplers Grafana can ask for, each under the parent's decision (a
//! trace Grafana sampled is sampled here too, as the Go SDK does).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use opentelemetry::trace::{Link, SpanKind, TraceContextExt as _, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};

use super::config::SamplerSetting;

/// How often the remote sampler asks the sampling server again.
const REMOTE_REFRESH: Duration = Duration::from_secs(60);

/// Longest wait for the sampling server.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(10);

/// The root sampler of `setting` for the service `service`, under the
/// parent's decision. The remote sampler polls its server on the current
/// async runtime.
///
/// # Errors
/// A remote sampler's server address is not a URL.
pub fn of(setting: &SamplerSetting, service: &str) -> Result<Sampler, String> {
    let root = match setting {
        SamplerSetting::Const(true) => Sampler::AlwaysOn,
        SamplerSetting::Const(false) => Sampler::AlwaysOff,
        SamplerSetting::Probabilistic(fraction) => Sampler::TraceIdRatioBased(*fraction),
        SamplerSetting::RateLimiting(per_second) => {
            return Ok(Sampler::ParentBased(Box::new(RateLimited::new(
                *per_second,
            ))));
        }
        SamplerSetting::Remote { url, initial } => Sampler::jaeger_remote(
            opentelemetry_sdk::runtime::Tokio,
            opentelemetry_http::hyper::HyperClient::with_default_connector(REMOTE_TIMEOUT, None),
            Sampler::TraceIdRatioBased(*initial),
            service,
        )
        .with_endpoint(url.as_str())
        .with_update_interval(REMOTE_REFRESH)
        .build()
        .map_err(|err| format!("the remote sampler's server {url:?}: {err}"))?,
    };
    Ok(Sampler::ParentBased(Box::new(root)))
}

/// At most a given number of new traces a second, with a burst of as many
/// (at least one), as the Go SDK's `rateLimiting` sampler.
#[derive(Debug, Clone)]
struct RateLimited {
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
}

impl RateLimited {
    fn new(per_second: f64) -> Self {
        let limiter = (per_second > 0.0).then(|| {
            let burst = NonZeroU32::new(per_second.ceil().min(f64::from(u32::MAX)) as u32)
                .unwrap_or(NonZeroU32::MIN);
            let period = Duration::from_secs_f64((1.0 / per_second).min(86_400.0));
            let quota = Quota::with_period(period)
                .unwrap_or(Quota::per_second(burst))
                .allow_burst(burst);
            Arc::new(RateLimiter::direct(quota))
        });
        Self { limiter }
    }
}

impl ShouldSample for RateLimited {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        _: TraceId,
        _: &str,
        _: &SpanKind,
        _: &[KeyValue],
        _: &[Link],
    ) -> SamplingResult {
        let admitted = self
            .limiter
            .as_ref()
            .is_some_and(|limiter| limiter.check().is_ok());
        SamplingResult {
            decision: if admitted {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: Vec::new(),
            trace_state: parent_context.map_or_else(TraceState::default, |cx| {
                cx.span().span_context().trace_state().clone()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampled(sampler: &RateLimited) -> bool {
        let result = sampler.should_sample(
            None,
            TraceId::from(1),
            "sdk.queryData",
            &SpanKind::Server,
            &[],
            &[],
        );
        result.decision == SamplingDecision::RecordAndSample
    }

    #[test]
    fn the_rate_limiting_sampler_lets_its_burst_through_then_stops() {
        let sampler = RateLimited::new(2.0);
        assert!(sampled(&sampler));
        assert!(sampled(&sampler));
        assert!(!sampled(&sampler), "a third trace within the second");
        assert!(!sampled(&RateLimited::new(0.0)), "a rate of 0 keeps none");
    }
}
