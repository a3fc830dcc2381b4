//! Which outgoing requests a guest may make: to which hosts (an allow-list)
//! and to which addresses those hosts may resolve (never loopback,
//! link-local or cloud metadata addresses unless granted).
//!
//! The address check runs on the addresses the name actually resolved to,
//! and the connection is made to a checked address, so a name that
//! resolves differently a second time (DNS rebinding) cannot slip through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::settings::Origin;

/// Cloud metadata services outside the link-local range (Alibaba Cloud;
/// AWS's IPv6 endpoint). 169.254.169.254 is link-local and refused anyway.
const METADATA_ADDRESSES: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
];

/// One `allow_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// `name` (any port) or `name:port`.
    Exact { host: String, port: Option<u16> },
    /// `*.domain`: every subdomain of `domain`, any port.
    Subdomains { domain: String },
}

impl HostPattern {
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        if let Some(domain) = text.strip_prefix("*.") {
            if domain.is_empty() || domain.contains(['*', ':', '/']) {
                return Err(format!("allow_hosts: {text:?} is not a valid pattern"));
            }
            return Ok(Self::Subdomains {
                domain: domain.to_owned(),
            });
        }
        let authority: http::uri::Authority = text.parse().map_err(|_| {
            format!("allow_hosts: {text:?} is not `name`, `name:port` or `*.domain`")
        })?;
        Ok(Self::Exact {
            host: authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: authority.port_u16(),
        })
    }

    fn matches(&self, origin: &Origin) -> bool {
        match self {
            Self::Exact { host, port } => {
                *host == origin.host && port.is_none_or(|port| port == origin.port)
            }
            Self::Subdomains { domain } => origin
                .host
                .strip_suffix(domain.as_str())
                .is_some_and(|prefix| prefix.ends_with('.')),
        }
    }
}

/// The hosts and addresses a plugin's guests may reach.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    hosts: Vec<HostPattern>,
    addresses: Vec<IpNet>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The host is neither the datasource's nor granted.
    #[error(
        "{origin} is not in the plugin's allow-list (its datasource URL and the allow_hosts grants)"
    )]
    HostNotAllowed {
        /// Where the request was going.
        origin: String,
    },
    /// The name resolved only to addresses the sandbox forbids.
    #[error(
        "{host} resolves to {address}, a loopback, link-local or metadata address; grant it with allow_addresses"
    )]
    AddressForbidden {
        /// The host name.
        host: String,
        /// The first forbidden address.
        address: IpAddr,
    },
}

impl AddressPolicy {
    /// The policy of `allow_hosts` and `allow_addresses`.
    ///
    /// # Errors
    /// An `allow_hosts` entry that is not a valid pattern, named.
    pub fn new(hosts: &[String], addresses: &[IpNet]) -> Result<Self, String> {
        Ok(Self {
            hosts: hosts
                .iter()
                .map(|host| HostPattern::parse(host))
                .collect::<Result<_, _>>()?,
            addresses: addresses.to_vec(),
        })
    }

    /// Whether a request to `origin` may be made, given the datasource's
    /// own origin (always allowed).
    ///
    /// # Errors
    /// [`Refusal::HostNotAllowed`].
    pub fn check_host(&self, origin: &Origin, datasource: Option<&Origin>) -> Result<(), Refusal> {
        let own = datasource.is_some_and(|ds| ds.host == origin.host && ds.port == origin.port);
        if own || self.hosts.iter().any(|pattern| pattern.matches(origin)) {
            Ok(())
        } else {
            Err(Refusal::HostNotAllowed {
                origin: origin.to_string(),
            })
        }
    }

    /// The addresses among `resolved` a connection may be made to.
    ///
    /// # Errors
    /// [`Refusal::AddressForbidden`] when none may.
    pub fn permitted(&self, host: &str, resolved: &[IpAddr]) -> Result<Vec<IpAddr>, Refusal> {
        let permitted: Vec<IpAddr> = resolved
            .iter()
            .copied()
            .filter(|address| self.is_permitted(*address))
            .collect();
        match (permitted.is_empty(), resolved.first()) {
            (true, Some(address)) => Err(Refusal::AddressForbidden {
                host: host.to_owned(),
                address: *address,
            }),
            _ => Ok(permitted),
        }
    }

    fn is_permitted(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        !is_forbidden(address) || self.addresses.iter().any(|net| net.contains(&address))
    }
}

/// Addresses no request reaches unless granted: this machine, link-local
/// networks (where cloud metadata services live), metadata addresses,
/// and addresses that are not a single destination.
fn is_forbidden(address: IpAddr) -> bool {
    if METADATA_ADDRESSES.contains(&address) {
        return true;
    }
    match address {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unicast_link_local()
                || v6.is_unspecified()
                || v6.is_multicast()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(host: &str, port: u16) -> Origin {
        Origin {
            https: true,
            host: host.into(),
            port,
        }
    }

    fn policy(hosts: &[&str], addresses: &[&str]) -> AddressPolicy {
        AddressPolicy::new(
            &hosts.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(),
            &addresses
                .iter()
                .map(|a| a.parse().unwrap())
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn the_datasource_origin_and_granted_hosts_are_allowed() {
        let policy = policy(&["api.example.com", "*.corp.net", "metrics:9090"], &[]);
        let ds = origin("prom.internal", 9090);
        assert!(policy.check_host(&ds, Some(&ds)).is_ok());
        assert!(
            policy
                .check_host(&origin("prom.internal", 9091), Some(&ds))
                .is_err()
        );
        assert!(
            policy
                .check_host(&origin("api.example.com", 8443), None)
                .is_ok()
        );
        assert!(
            policy
                .check_host(&origin("a.b.corp.net", 443), None)
                .is_ok()
        );
        assert!(policy.check_host(&origin("corp.net", 443), None).is_err());
        assert!(
            policy
                .check_host(&origin("evilcorp.net", 443), None)
                .is_err()
        );
        assert!(policy.check_host(&origin("metrics", 9090), None).is_ok());
        assert!(policy.check_host(&origin("metrics", 80), None).is_err());
        let err = policy
            .check_host(&origin("evil.com", 443), None)
            .unwrap_err();
        assert!(err.to_string().contains("https://evil.com:443"), "{err}");
    }

    #[test]
    fn loopback_link_local_and_metadata_addresses_are_refused_unless_granted() {
        let strict = policy(&[], &[]);
        for forbidden in [
            "127.0.0.1",
            "::1",
            "169.254.169.254",
            "fe80::1",
            "100.100.100.200",
            "fd00:ec2::254",
            "0.0.0.0",
            "::ffff:127.0.0.1",
        ] {
            let address: IpAddr = forbidden.parse().unwrap();
            assert!(strict.permitted("h", &[address]).is_err(), "{forbidden}");
        }
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let private: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(
            strict.permitted("h", &[public, private]).unwrap(),
            [public, private]
        );

        let granted = policy(&[], &["127.0.0.0/8"]);
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(granted.permitted("h", &[loopback]).unwrap(), [loopback]);
        assert!(granted.permitted("h", &["::1".parse().unwrap()]).is_err());
    }

    #[test]
    fn invalid_patterns_are_named() {
        let err = AddressPolicy::new(&["*.".into()], &[]).unwrap_err();
        assert!(err.contains("*."), "{err}");
        let err = AddressPolicy::new(&["http://x/y".into()], &[]).unwrap_err();
        assert!(err.contains("http://x/y"), "{err}");
    }
}
