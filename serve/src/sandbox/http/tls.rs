//! TLS client configurations for outgoing HTTPS: the machine's trust store
//! plus a datasource's own CA, its client certificate, and no verification
//! when it skips it. Each is built once per connection pool (once per
//! datasource settings version), not per request.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::settings::TlsSettings;

/// The trust store of this machine, read once: the system's certificates
/// (or `SSL_CERT_FILE` / `SSL_CERT_DIR`, which Grafana passes on, as Go
/// reads them), else, on a machine without any, the bundled web roots.
fn system_roots() -> &'static rustls::RootCertStore {
    static ROOTS: OnceLock<rustls::RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for err in &found.errors {
            tracing::warn!(error = %err, "cannot read some of the system's CA certificates");
        }
        let mut roots = rustls::RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        if ignored > 0 {
            tracing::warn!(ignored, "unusable system CA certificates ignored");
        }
        if added == 0 {
            tracing::warn!("no system CA certificates found; trusting the bundled web roots");
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        roots
    })
}

/// A rustls configuration trusting the system's store plus the
/// datasource's CA, with its client certificate, and no verification when
/// it skips it.
pub fn client_config(settings: &TlsSettings) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?;
    let builder = if settings.skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    } else {
        let mut roots = system_roots().clone();
        if let Some(pem) = &settings.ca_cert {
            let before = roots.len();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert =
                    cert.map_err(|err| format!("tlsCACert is not a PEM certificate: {err}"))?;
                roots
                    .add(cert)
                    .map_err(|err| format!("tlsCACert is not usable: {err}"))?;
            }
            if roots.len() == before {
                return Err("tlsCACert holds no PEM certificate".into());
            }
        }
        builder.with_root_certificates(roots)
    };
    match &settings.client_cert {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| format!("tlsClientCert is not a PEM certificate: {err}"))?;
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|err| format!("tlsClientKey is not a PEM private key: {err}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|err| format!("tlsClientCert and tlsClientKey do not match: {err}"))
        }
    }
}

/// `tlsSkipVerify`: accepts any server certificate, still checking that
/// the handshake signatures are well formed.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_tls_settings_name_the_setting_at_fault() {
        let bad_ca = TlsSettings {
            ca_cert: Some("not a certificate".into()),
            ..TlsSettings::default()
        };
        let err = client_config(&bad_ca).unwrap_err();
        assert!(err.contains("tlsCACert"), "{err}");
        let bad_client = TlsSettings {
            client_cert: Some(("no cert".into(), "no key".into())),
            ..TlsSettings::default()
        };
        let err = client_config(&bad_client).unwrap_err();
        assert!(err.contains("tlsClientKey"), "{err}");
    }

    #[test]
    fn skipping_verification_builds_a_configuration() {
        let skip = TlsSettings {
            skip_verify: true,
            server_name: Some("internal".into()),
            ..TlsSettings::default()
        };
        assert!(client_config(&skip).is_ok());
    }
}
