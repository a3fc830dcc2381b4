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
/// and addresses that are not a single destination. An IPv6 address that
/// embeds an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo) is
/// forbidden when any IPv4 address it may carry is: a translator or relay
/// delivers it there.
fn is_forbidden(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6) || embedded_v4(v6).into_iter().any(is_forbidden_v4),
    }
}

fn is_forbidden_v4(v4: Ipv4Addr) -> bool {
    METADATA_ADDRESSES.contains(&IpAddr::V4(v4))
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
}

fn is_forbidden_v6(v6: Ipv6Addr) -> bool {
    METADATA_ADDRESSES.contains(&IpAddr::V6(v6))
        || v6.is_loopback()
        || v6.is_unicast_link_local()
        || v6.is_unspecified()
        || v6.is_multicast()
}

/// Every IPv4 address `v6` may carry: IPv4-mapped `::ffff:0:0/96`,
/// IPv4-compatible `::/96`, NAT64 `64:ff9b::/96` and local-use
/// `64:ff9b:1::/48` (RFC 8215; each RFC 6052 prefix length it allows),
/// 6to4 `2002::/16`, and Teredo `2001::/32` (server and client).
fn embedded_v4(v6: Ipv6Addr) -> Vec<Ipv4Addr> {
    let bits = v6.to_bits();
    let s = v6.segments();
    let low32 = || Ipv4Addr::from_bits(bits as u32);
    let at = |shift: u32| Ipv4Addr::from_bits((bits >> shift) as u32);
    match s {
        [0, 0, 0, 0, 0, 0xffff | 0, _, _] => vec![low32()],
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => vec![low32()],
        [0x64, 0xff9b, 1, ..] => rfc6052_candidates(bits),
        [0x2002, ..] => vec![at(80)],
        [0x2001, 0, ..] => vec![at(64), Ipv4Addr::from_bits(!(bits as u32))],
        _ => Vec::new(),
    }
}

/// The IPv4 address under each RFC 6052 prefix length of at least 48 bits
/// (48, 56, 64, 96; bits 64-71, the "u" octet, never carry address bits).
/// The prefix length is the operator's choice, so every reading counts,
/// except 0.0.0.0: the zero suffix of a shorter format read as a longer one.
fn rfc6052_candidates(bits: u128) -> Vec<Ipv4Addr> {
    let around_u = |high_bits: u32, high_shift: u32| {
        let low_bits = 32 - high_bits;
        let high = (bits >> high_shift) as u32 & ((1 << high_bits) - 1);
        let low = (bits >> (56 - low_bits)) as u32 & ((1 << low_bits) - 1);
        Ipv4Addr::from_bits((high << low_bits) | low)
    };
    [
        around_u(16, 64),                         // /48: bits 48-63, then 72-87
        around_u(8, 64),                          // /56: bits 56-63, then 72-95
        Ipv4Addr::from_bits((bits >> 24) as u32), // /64: bits 72-103
        Ipv4Addr::from_bits(bits as u32),         // /96: bits 96-127
    ]
    .into_iter()
    .filter(|candidate| !candidate.is_unspecified())
    .collect()
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
    fn ipv6_forms_embedding_ipv4_are_judged_by_the_ipv4_address() {
        let strict = policy(&[], &[]);
        let refused = |text: &str| strict.permitted("h", &[text.parse().unwrap()]).is_err();
        // 127.0.0.1, 169.254.169.254 and 100.100.100.200 in every form.
        for forbidden in [
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::127.0.0.1",
            "64:ff9b::169.254.169.254",
            "64:ff9b::100.100.100.200",
            "64:ff9b:1:7f00:0:100::", // /48
            "64:ff9b:1:a9:fe:a9fe::", // /56
            "64:ff9b:1:0:7f:0:100:0", // /64
            "64:ff9b:1::a9fe:a9fe",   // /96
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // client 127.0.0.1
            "2001:0:7f00:1::",                      // server 127.0.0.1
        ] {
            assert!(refused(forbidden), "{forbidden}");
        }
        for public in [
            "::93.184.216.34",
            "64:ff9b::93.184.216.34",
            "64:ff9b:1::93.184.216.34",
            "2002:5db8:d822::1",
            "2001:0:4136:e378:8000:63bf:a247:27dd",
            "2606:4700::1111",
        ] {
            assert!(!refused(public), "{public}");
        }
    }

    #[test]
    fn invalid_patterns_are_named() {
        let err = AddressPolicy::new(&["*.".into()], &[]).unwrap_err();
        assert!(err.contains("*."), "{err}");
        let err = AddressPolicy::new(&["http://x/y".into()], &[]).unwrap_err();
        assert!(err.contains("http://x/y"), "{err}");
    }
}
