//! The gRPC services Grafana calls, one thin adapter per handler family in
//! the manner of the Go SDK's `*_adapter.go`: convert the request, call the
//! guest, convert the answer, map errors.

mod admission;
mod conversion;
mod data;
mod diagnostics;
mod goplugin;
pub mod metered;
mod pump;
mod resource;
mod status;
mod streaming;

use std::sync::Arc;
use std::time::Duration;

use grafana_wasm_proto::{goplugin as gp, pluginv2 as pb};
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;

use crate::rpc::{Incoming, Rpc};
use crate::runtime::Runtime;

/// Largest request Grafana may send, as the Go SDK's default (16 MiB).
pub const MAX_RECEIVE_MESSAGE_SIZE: usize = 16 << 20;

/// A pluginv2 server with the Go SDK's message limits: 16 MiB in, unlimited out.
macro_rules! limited {
    ($server:expr) => {
        $server
            .max_decoding_message_size(MAX_RECEIVE_MESSAGE_SIZE)
            .max_encoding_message_size(usize::MAX)
    };
}

/// Every service a go-plugin server with the Grafana SDK exposes, except
/// health (added by the server). `shutdown` is cancelled by
/// `GRPCController/Shutdown` when `controller` is served (not in standalone
/// mode), and ends the side streams.
pub fn routes(
    runtime: Arc<Runtime>,
    shutdown: CancellationToken,
    controller: bool,
) -> RoutesBuilder {
    use pb::{
        admission_control_server::AdmissionControlServer, data_server::DataServer,
        diagnostics_server::DiagnosticsServer,
        resource_conversion_server::ResourceConversionServer, resource_server::ResourceServer,
        stream_server::StreamServer,
    };
    let mut routes = RoutesBuilder::default();
    routes
        .add_service(limited!(DataServer::new(data::DataService::new(
            runtime.clone()
        ))))
        .add_service(limited!(ResourceServer::new(
            resource::ResourceService::new(runtime.clone())
        )))
        .add_service(limited!(DiagnosticsServer::new(
            diagnostics::DiagnosticsService::new(runtime.clone())
        )))
        .add_service(limited!(StreamServer::new(streaming::StreamService::new(
            runtime.clone(),
            shutdown.clone()
        ))))
        .add_service(limited!(AdmissionControlServer::new(
            admission::AdmissionService::new(runtime.clone())
        )))
        .add_service(limited!(ResourceConversionServer::new(
            conversion::ConversionService::new(runtime)
        )))
        .add_service(gp::grpc_stdio_server::GrpcStdioServer::new(
            goplugin::Stdio::new(shutdown.clone()),
        ))
        .add_service(gp::grpc_broker_server::GrpcBrokerServer::new(
            goplugin::Broker::new(shutdown.clone()),
        ));
    if controller {
        routes.add_service(gp::grpc_controller_server::GrpcControllerServer::new(
            goplugin::Controller::new(shutdown),
        ));
    }
    routes
}

/// What every handler reads from Grafana's request before converting it:
/// the deadline, and the trace context the call's span continues.
pub fn incoming<T>(request: &tonic::Request<T>, rpc: Rpc) -> Incoming {
    Incoming {
        rpc,
        requested: requested_deadline(request),
        span: crate::traces::incoming(
            request.metadata(),
            rpc.endpoint(),
            rpc.service(),
            rpc.name(),
        ),
    }
}

/// The deadline Grafana set on a call (`grpc-timeout`: up to 8 digits and
/// a unit, H M S m u n), if any.
pub fn requested_deadline<T>(request: &tonic::Request<T>) -> Option<Duration> {
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    parse_grpc_timeout(value)
}

fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_grpc_timeout("1500m"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("7n"), Some(Duration::from_nanos(7)));
        assert_eq!(parse_grpc_timeout("S"), None);
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("5x"), None);
        assert_eq!(parse_grpc_timeout(""), None);
    }
}
