//! hashicorp go-plugin's start-up contract, as Grafana's plugin client
//! expects it: magic cookie, protocol negotiation and the one handshake line
//! on stdout.
//!
//! These values are part of Grafana's protocol and must never change
//! (grafana-plugin-sdk-go `backend/grpcplugin/handshake.go`).

use std::io::Write;

/// Environment variable holding the magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "grafana_plugin_type";
/// Its value for every Grafana backend plugin type, apps included.
pub const MAGIC_COOKIE_VALUE: &str = "datasource";
/// go-plugin's core protocol version.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The application protocol version this host speaks (`pluginv2`).
pub const APP_PROTOCOL_VERSION: u32 = 2;
/// Environment variable listing the protocol versions the client accepts.
pub const PROTOCOL_VERSIONS_ENV: &str = "PLUGIN_PROTOCOL_VERSIONS";
/// Environment variable naming the directory for the Unix socket.
pub const UNIX_SOCKET_DIR_ENV: &str = "PLUGIN_UNIX_SOCKET_DIR";

/// What a go-plugin server prints on stderr (then exits 1) when it is run
/// without the magic cookie, i.e. not by its host.
pub const NOT_A_PLUGIN_MESSAGE: &str = "This binary is a plugin. These are not meant to be executed directly.\n\
Please execute the program that consumes these plugins, which will\n\
load any plugins automatically\n";

/// Whether the process was started by a go-plugin client with Grafana's
/// magic cookie.
pub fn has_magic_cookie(value: Option<&str>) -> bool {
    value == Some(MAGIC_COOKIE_VALUE)
}

/// The outcome of protocol negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiation {
    /// The client accepts our version.
    Agreed(u32),
    /// The client did not say, or does not accept our version. As a go-plugin
    /// server does, we answer our (only) version and let the client decide.
    Fallback {
        /// The version we answer.
        version: u32,
        /// What the client offered.
        offered: Option<String>,
    },
}

impl Negotiation {
    /// The application protocol version to announce.
    pub fn version(&self) -> u32 {
        match self {
            Negotiation::Agreed(version) | Negotiation::Fallback { version, .. } => *version,
        }
    }
}

/// Picks the application protocol version from `PLUGIN_PROTOCOL_VERSIONS`,
/// a comma-separated list (order not significant: Grafana 7/8 built it from
/// a Go map).
pub fn negotiate(offered: Option<&str>) -> Negotiation {
    let accepts_ours = offered.is_some_and(|list| {
        list.split(',')
            .any(|v| v.trim().parse::<u32>() == Ok(APP_PROTOCOL_VERSION))
    });
    if accepts_ours {
        Negotiation::Agreed(APP_PROTOCOL_VERSION)
    } else {
        Negotiation::Fallback {
            version: APP_PROTOCOL_VERSION,
            offered: offered.map(str::to_owned),
        }
    }
}

/// Where the gRPC server listens, as announced in the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A Unix socket path.
    Unix(String),
    /// A `host:port` TCP address.
    Tcp(String),
}

/// The handshake line `CORE|APP|NETWORK|ADDRESS|grpc|` (with its newline).
///
/// The sixth field (server certificate) stays empty: Grafana never enables
/// AutoMTLS, and a field longer than 50 characters without it makes the
/// client dereference a nil TLS config.
pub fn handshake_line(app_version: u32, address: &Address) -> String {
    let (network, address) = match address {
        Address::Unix(path) => ("unix", path.as_str()),
        Address::Tcp(addr) => ("tcp", addr.as_str()),
    };
    format!("{CORE_PROTOCOL_VERSION}|{app_version}|{network}|{address}|grpc|\n")
}

/// Writes the handshake line to stdout and flushes it. Nothing else may ever
/// be written to stdout: Grafana reads only this line and discards the rest.
///
/// # Errors
/// Fails when stdout is closed or unwritable.
pub fn announce(line: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(line.as_bytes())?;
    stdout.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_must_match_exactly() {
        assert!(has_magic_cookie(Some("datasource")));
        assert!(!has_magic_cookie(Some("Datasource")));
        assert!(!has_magic_cookie(Some("")));
        assert!(!has_magic_cookie(None));
    }

    #[test]
    fn negotiation_picks_version_two_in_any_order() {
        assert_eq!(negotiate(Some("2")), Negotiation::Agreed(2));
        assert_eq!(negotiate(Some("1,2")), Negotiation::Agreed(2));
        assert_eq!(negotiate(Some(" 2 , 1")), Negotiation::Agreed(2));
    }

    #[test]
    fn negotiation_falls_back_to_our_version() {
        let n = negotiate(Some("1"));
        assert_eq!(n.version(), 2);
        assert!(matches!(n, Negotiation::Fallback { offered: Some(ref o), .. } if o == "1"));
        assert_eq!(negotiate(None).version(), 2);
    }

    #[test]
    fn handshake_line_matches_go_plugin() {
        let unix = handshake_line(2, &Address::Unix("/tmp/plugin123".into()));
        assert_eq!(unix, "1|2|unix|/tmp/plugin123|grpc|\n");
        let tcp = handshake_line(2, &Address::Tcp("127.0.0.1:10000".into()));
        assert_eq!(tcp, "1|2|tcp|127.0.0.1:10000|grpc|\n");
    }

    #[test]
    fn not_a_plugin_message_is_go_plugins_three_lines() {
        assert_eq!(NOT_A_PLUGIN_MESSAGE.lines().count(), 3);
        assert!(NOT_A_PLUGIN_MESSAGE.starts_with("This binary is a plugin."));
    }
}
