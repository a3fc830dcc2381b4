//! The sandbox, through the real host: misbehaving guests are stopped and
//! the host keeps serving; capabilities are denied unless granted;
//! outgoing HTTP is governed; datasources cannot see each other.

use std::time::{Duration, Instant};

use grafana_wasm_client::PluginProcess;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

use crate::support::*;

/// Runs a probe as a resource call for a plain datasource `a`.
async fn probe(plugin: &PluginProcess, args: Value) -> Value {
    resource_probe(plugin, datasource("a", "", json!({}), &[]), args).await
}

fn error_of(answer: &Value) -> &str {
    answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {answer}"))
}

#[tokio::test]
async fn an_endless_loop_stops_at_its_deadline_while_another_datasource_answers() {
    let plugin = launch_probe(&[("query_timeout_seconds", "1.5")]).await;
    let started = Instant::now();
    let looping = query_probe(
        &plugin,
        datasource("a", "", json!({}), &[]),
        json!({"probe": "loop"}),
    );
    let other = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let asked = Instant::now();
        let answer = query_probe(
            &plugin,
            datasource("b", "", json!({}), &[]),
            json!({"probe": "alloc", "mb": 1}),
        )
        .await
        .unwrap();
        (answer, asked.elapsed())
    };
    let (looped, (answer, took)) = tokio::join!(looping, other);
    let err = looped.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(
        (1.4..4.0).contains(&started.elapsed().as_secs_f64()),
        "stopped at its 1.5 s deadline, after {:?}",
        started.elapsed()
    );
    assert_eq!(answer["ok"], 1 << 20);
    assert!(
        took < Duration::from_secs(1),
        "the other datasource answered while the loop ran, in {took:?}"
    );
    assert_serving(&plugin).await;
}

#[tokio::test]
async fn a_grafana_deadline_shorter_than_the_configured_one_wins() {
    let plugin = launch_probe(&[]).await;
    let mut request = query_request(vec![query("A", r#"{"probe":"loop"}"#, 1_000)]);
    request.plugin_context = Some(datasource("a", "", json!({}), &[]));
    // The deadline as Grafana's gRPC client sends it, without a client-side
    // timer racing the host's answer.
    let mut request = tonic::Request::new(request);
    request
        .metadata_mut()
        .insert("grpc-timeout", "500m".parse().unwrap());
    let started = Instant::now();
    let err = plugin.data().query_data(request).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(err.message().contains("exceeded its"), "{}", err.message());
    assert!(started.elapsed() < Duration::from_secs(5));
    // The guest was stopped, not left running: the host logged it.
    logged(&plugin, "guest call stopped").await;
}

#[tokio::test]
async fn a_memory_bomb_hits_the_cap_and_the_host_stays_small() {
    // No back-off: every bomb goes off.
    let plugin = launch_probe(&[("max_memory_mb", "32"), ("trap_backoff_after", "0")]).await;
    let ctx = || datasource("a", "", json!({}), &[]);
    let err = query_probe(&plugin, ctx(), json!({"probe": "alloc", "mb": 512}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert!(
        err.message().contains("linear memory limit exceeded"),
        "{}",
        err.message()
    );
    for _ in 0..5 {
        let _ = query_probe(&plugin, ctx(), json!({"probe": "alloc", "mb": 512})).await;
    }
    let small = query_probe(&plugin, ctx(), json!({"probe": "alloc", "mb": 8}))
        .await
        .unwrap();
    assert_eq!(small["ok"], 8 << 20, "the next call works");
    let rss_kib = resident_kib(plugin.id().unwrap());
    assert!(
        rss_kib < 200 * 1024,
        "the host's memory stays bounded: {rss_kib} KiB resident"
    );
}

#[tokio::test]
async fn host_resources_a_guest_hoards_count_against_its_memory_cap() {
    let plugin = launch_probe(&[("max_memory_mb", "64"), ("trap_backoff_after", "0")]).await;
    let ctx = || datasource("a", "", json!({}), &[]);
    let pid = plugin.id().unwrap();
    let before = resident_kib(pid);
    // 40,000 header fields of 30 KiB: 1.2 GB of host memory unbounded.
    let hoard = json!({"probe": "hoard-fields", "count": 40_000, "kb": 30});
    let err = query_probe(&plugin, ctx(), hoard).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    // An idle instance keeps what it hoards between calls, within its cap.
    let some = json!({"probe": "hoard-fields", "count": 300, "kb": 30});
    for _ in 0..10 {
        let _ = query_probe(&plugin, ctx(), some.clone()).await;
    }
    let grown_kib = resident_kib(pid).saturating_sub(before);
    assert!(
        grown_kib < 150 * 1024,
        "host memory stays within the guest's 64 MiB cap and a margin: grew by {grown_kib} KiB"
    );
    assert_serving(&plugin).await;
}

#[tokio::test]
async fn packets_grafana_has_not_taken_yet_stay_within_the_guests_memory_cap() {
    let plugin = launch(PROTOCOL).await;
    let pid = plugin.id().unwrap();
    let before = resident_kib(pid);
    // Grafana takes the first packet, then reads no more: the guest's
    // sends must wait once its queued packets fill what its 64 MiB cap
    // leaves (unbounded, the 32 queued 16 MiB packets alone took 512 MiB).
    let stream = running_stream(&plugin, "flood").await;
    let mut peak_kib = 0;
    for _ in 0..40 {
        peak_kib = peak_kib.max(resident_kib(pid).saturating_sub(before));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        peak_kib < 300 * 1024,
        "queued packets held {peak_kib} KiB of host memory"
    );
    drop(stream);
    assert_serving(&plugin).await;
}

#[tokio::test]
async fn a_panic_is_a_clean_error_and_repeated_traps_back_off() {
    let plugin = launch_probe(&[("trap_backoff_after", "3")]).await;
    let ctx = || datasource("a", "", json!({}), &[]);
    for _ in 0..3 {
        let err = query_probe(&plugin, ctx(), json!({"probe": "panic"}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{err:?}");
    }
    let err = query_probe(&plugin, ctx(), json!({"probe": "alloc"}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "backed off: {err:?}");
    assert!(
        err.message().contains("3 calls in a row"),
        "{}",
        err.message()
    );
    // Another datasource is not affected.
    let other = datasource("b", "", json!({}), &[]);
    assert!(
        query_probe(&plugin, other, json!({"probe": "alloc"}))
            .await
            .is_ok()
    );
    // After the pause, the next call works and clears the record.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        query_probe(&plugin, ctx(), json!({"probe": "alloc"}))
            .await
            .is_ok()
    );
    let panicked = log_entries(&plugin).into_iter().any(|e| {
        e["@level"] == "warn"
            && e["stream"] == "stderr"
            && e["@message"]
                .as_str()
                .is_some_and(|m| m.contains("panicked on purpose"))
    });
    assert!(panicked, "the guest's panic message reaches the log");
}

#[tokio::test]
async fn a_full_queue_is_refused_with_resource_exhausted() {
    let plugin = launch_probe(&[
        ("max_concurrent_calls", "1"),
        ("max_queued_calls", "0"),
        ("query_timeout_seconds", "1"),
    ])
    .await;
    let looping = query_probe(
        &plugin,
        datasource("a", "", json!({}), &[]),
        json!({"probe": "loop"}),
    );
    let refused = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        query_probe(
            &plugin,
            datasource("b", "", json!({}), &[]),
            json!({"probe": "alloc"}),
        )
        .await
    };
    let (_, refused) = tokio::join!(looping, refused);
    let err = refused.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("overloaded"), "{}", err.message());
}

#[tokio::test]
async fn files_variables_and_sockets_are_denied_without_a_grant() {
    let mut command = host_command(SANDBOX);
    command.env("PROBE_SECRET", "host-only");
    let plugin = PluginProcess::launch(command).await.unwrap();
    let file = probe(
        &plugin,
        json!({"probe": "read-file", "path": "/etc/hostname"}),
    )
    .await;
    assert!(!error_of(&file).is_empty());
    let env = probe(&plugin, json!({"probe": "env", "name": "PROBE_SECRET"})).await;
    assert!(error_of(&env).contains("not found"), "{env}");
    let socket = probe(
        &plugin,
        json!({"probe": "socket", "address": "127.0.0.1:9"}),
    )
    .await;
    assert!(!error_of(&socket).is_empty());
}

#[tokio::test]
async fn granted_directories_and_variables_are_readable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.txt"), "granted").unwrap();
    let config = dir.path().join("sandbox.toml");
    std::fs::write(
        &config,
        format!(
            "allow_env = [\"PROBE_SETTING\"]\nallow_dirs = [\"{}:/data\"]\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let mut command = host_command(SANDBOX);
    command
        .env("GF_PLUGIN_WASM_SANDBOX_CONFIG", &config)
        .env("PROBE_SETTING", "visible")
        .env("PROBE_SECRET", "hidden");
    let plugin = PluginProcess::launch(command).await.unwrap();
    let file = probe(
        &plugin,
        json!({"probe": "read-file", "path": "/data/data.txt"}),
    )
    .await;
    assert_eq!(file["ok"], "granted");
    let env = probe(&plugin, json!({"probe": "env", "name": "PROBE_SETTING"})).await;
    assert_eq!(env["ok"], "visible");
    let other = probe(&plugin, json!({"probe": "env", "name": "PROBE_SECRET"})).await;
    assert!(other["error"].is_string(), "{other}");
    let outside = probe(
        &plugin,
        json!({"probe": "read-file", "path": "/etc/hostname"}),
    )
    .await;
    assert!(outside["error"].is_string(), "{outside}");
}

#[tokio::test]
async fn guest_output_is_logged_with_the_plugin_id() {
    let plugin = launch_probe(&[]).await;
    probe(
        &plugin,
        json!({"probe": "print", "text": "hello from the guest"}),
    )
    .await;
    let line = logged(&plugin, "hello from the guest").await;
    assert_eq!(line["stream"], "stdout");
    assert_eq!(line["@level"], "info");
    assert_eq!(line["pluginId"], "sandbox");
}

#[tokio::test]
async fn two_datasources_never_see_each_others_state() {
    let plugin = launch_probe(&[]).await;
    let alpha = || datasource("alpha", "", json!({}), &[("token", "alpha-secret")]);
    let beta = || datasource("beta", "", json!({}), &[("token", "beta-secret")]);
    // Interleaved and concurrent calls, so that both have warm instances.
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            query_probe(&plugin, alpha(), json!({"probe": "seen"})),
            query_probe(&plugin, beta(), json!({"probe": "seen"})),
        );
        let (a, b) = (a.unwrap().to_string(), b.unwrap().to_string());
        assert!(a.contains("alpha-secret") && !a.contains("beta"), "{a}");
        assert!(b.contains("beta-secret") && !b.contains("alpha"), "{b}");
    }
}

/// A one-shot HTTP server on 127.0.0.1 that answers each request with the
/// request head it received. Returns its port.
async fn echo_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0_u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    head.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.write_all(&head).await;
            });
        }
    });
    port
}

/// An echo server's URL, and the probe launched with `overrides` plus a
/// grant for loopback addresses (the server's).
async fn probe_with_echo_server(overrides: &[(&str, &str)]) -> (PluginProcess, String) {
    let port = echo_server().await;
    let mut overrides = overrides.to_vec();
    overrides.push(("allow_addresses", "127.0.0.1/32"));
    let plugin = launch_probe(&overrides).await;
    (plugin, format!("http://127.0.0.1:{port}"))
}

#[tokio::test]
async fn outgoing_http_is_governed_by_the_allow_list_and_address_checks() {
    let (plugin, url) = probe_with_echo_server(&[]).await;
    let ctx = || {
        datasource(
            "a",
            &url,
            json!({"httpHeaderName1": "X-Tenant"}),
            &[
                ("httpHeaderValue1", "acme"),
                ("basicAuthPassword", "s3cret"),
            ],
        )
    };
    let with_basic_auth = || {
        let mut ctx = ctx();
        let ds = ctx.data_source_instance_settings.as_mut().unwrap();
        ds.basic_auth_enabled = true;
        ds.basic_auth_user = "grafana".into();
        ctx
    };

    // Outside the allow-list: refused before any connection.
    let denied = resource_probe(
        &plugin,
        ctx(),
        json!({"probe": "fetch", "url": "http://example.com/"}),
    )
    .await;
    assert!(
        error_of(&denied).contains("refused by the sandbox"),
        "{denied}"
    );

    // The datasource's own URL: allowed, with its settings applied.
    let own = fetch_datasource(&plugin, with_basic_auth(), "/api/x").await;
    assert_eq!(own["ok"]["status"], 200, "{own}");
    let head = own["ok"]["body"].as_str().unwrap().to_ascii_lowercase();
    assert!(head.starts_with("get /api/x http/1.1"), "{head}");
    assert!(
        head.contains("x-tenant: acme"),
        "custom header applied: {head}"
    );
    // base64("grafana:s3cret")
    assert!(
        head.contains("authorization: basic z3jhzmfuytpzm2nyzxq="),
        "basic auth applied: {head}"
    );

    // Another port of the same address is not the datasource's origin.
    let other_port = echo_server().await;
    let elsewhere = resource_probe(
        &plugin,
        ctx(),
        json!({"probe": "fetch", "url": format!("http://127.0.0.1:{other_port}/")}),
    )
    .await;
    assert!(
        error_of(&elsewhere).contains("refused by the sandbox"),
        "{elsewhere}"
    );

    let refusals = |entries: &[Value]| {
        entries
            .iter()
            .filter(|e| e["@message"] == "outgoing HTTP request refused")
            .count()
    };
    let entries = log_entries_when(&plugin, |entries| refusals(entries) >= 2).await;
    assert!(refusals(&entries) >= 2, "each refusal is logged");
    let secrets_logged = plugin
        .stderr_lines()
        .iter()
        .any(|l| l.contains("s3cret") || l.contains("acme"));
    assert!(!secrets_logged, "secrets never reach the log");
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_unless_the_address_is_granted() {
    let port = echo_server().await;
    let plugin = launch_probe(&[("allow_hosts", "localhost")]).await;
    let ctx = datasource("a", "", json!({}), &[]);
    let refused = resource_probe(
        &plugin,
        ctx,
        json!({"probe": "fetch", "url": format!("http://localhost:{port}/")}),
    )
    .await;
    let message = error_of(&refused);
    assert!(
        message.contains("loopback, link-local or metadata address"),
        "{message}"
    );
}

#[tokio::test]
async fn without_raw_secrets_the_guest_never_holds_them_but_requests_carry_them() {
    let (plugin, url) = probe_with_echo_server(&[("raw_secrets", "false")]).await;
    let ctx = || {
        datasource(
            "a",
            &url,
            json!({"httpHeaderName1": "Authorization"}),
            &[("httpHeaderValue1", "Bearer t0ken")],
        )
    };
    let secrets = resource_probe(&plugin, ctx(), json!({"probe": "secrets"})).await;
    assert_eq!(secrets["ok"], json!([]), "the guest sees no secret");
    let fetched = fetch_datasource(&plugin, ctx(), "/").await;
    let head = fetched["ok"]["body"].as_str().unwrap().to_ascii_lowercase();
    assert!(head.contains("authorization: bearer t0ken"), "{head}");
}

#[tokio::test]
async fn responses_larger_than_the_limit_are_cut_off() {
    // The echoed request head is a few hundred bytes; Grafana's response
    // limit (in the call's configuration) is lower.
    let (plugin, url) = probe_with_echo_server(&[]).await;
    let mut ctx = datasource("a", &url, json!({}), &[]);
    ctx.grafana_config
        .insert("GF_RESPONSE_LIMIT".into(), "16".into());
    let answer = fetch_datasource(&plugin, ctx, "/").await;
    assert!(
        error_of(&answer).contains("exceeds limit: 16 bytes"),
        "{answer}"
    );
}

#[tokio::test]
async fn with_fuel_metering_a_loop_runs_out_of_fuel() {
    let plugin = launch_probe(&[("fuel", "50000000")]).await;
    let ctx = || datasource("a", "", json!({}), &[]);
    let err = query_probe(&plugin, ctx(), json!({"probe": "loop"}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert!(err.message().contains("fuel"), "{}", err.message());
    // Each call gets its own fuel: ordinary calls keep working.
    for _ in 0..3 {
        assert!(
            query_probe(&plugin, ctx(), json!({"probe": "alloc"}))
                .await
                .is_ok()
        );
    }
}

#[tokio::test]
async fn ipv6_addresses_embedding_a_forbidden_ipv4_address_are_refused() {
    let plugin = launch_probe(&[]).await;
    // 127.0.0.1 or 169.254.169.254 as IPv4-compatible, IPv4-mapped, NAT64
    // (well-known and local-use), 6to4 and Teredo addresses.
    for host in [
        "::127.0.0.1",
        "::ffff:127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1:7f00:0:100::",
        "2002:7f00:1::",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
    ] {
        let ctx = datasource("a", &format!("http://[{host}]:9"), json!({}), &[]);
        let answer = fetch_datasource(&plugin, ctx, "/").await;
        assert!(
            error_of(&answer).contains("loopback, link-local or metadata address"),
            "{host}: {answer}"
        );
    }
    assert_serving(&plugin).await;
}

/// A certificate authority the TLS tests make, and certificates it signs.
struct TestCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

/// A certificate (PEM) and its private key (PEM).
struct Issued {
    cert: String,
    key: String,
}

impl TestCa {
    fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "grafana-wasm test CA");
        let key = rcgen::KeyPair::generate().unwrap();
        Self {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `names` (DNS names or IP addresses).
    fn issue(&self, names: &[&str]) -> Issued {
        let params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// An HTTPS server on 127.0.0.1 presenting `identity`, requiring a client
/// certificate signed by `client_ca` when given, answering every request
/// with `200 ok`. Returns its URL.
async fn tls_server(identity: &Issued, client_ca: Option<&TestCa>) -> String {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.issuer.der().clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let chain = vec![CertificateDer::from_pem_slice(identity.cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(identity.key.as_bytes()).unwrap();
    let config = builder.with_single_cert(chain, key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0_u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let response =
                    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

/// Fetches `/` from the datasource at `url` with `json` and `secrets`.
async fn fetch_tls(
    plugin: &PluginProcess,
    url: &str,
    json: Value,
    secrets: &[(&str, &str)],
) -> Value {
    fetch_datasource(plugin, datasource(url, url, json, secrets), "/").await
}

#[tokio::test]
async fn every_tls_option_of_a_datasource_works_against_a_real_server() {
    let ca = TestCa::new();
    let ca_pem = ca.pem();
    let plugin = launch_probe(&[("allow_addresses", "127.0.0.1/32")]).await;
    let with_ca = |extra: Value| {
        let mut json = json!({"tlsAuthWithCACert": true});
        json.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json
    };

    // The datasource's CA; without it the certificate is untrusted.
    let server = tls_server(&ca.issue(&["127.0.0.1"]), None).await;
    let trusted = fetch_tls(
        &plugin,
        &server,
        with_ca(json!({})),
        &[("tlsCACert", &ca_pem)],
    )
    .await;
    assert_eq!(trusted["ok"]["body"], "ok", "{trusted}");
    let untrusted = fetch_tls(&plugin, &server, json!({}), &[]).await;
    let message = error_of(&untrusted);
    assert!(
        message.contains("TLS handshake with") && message.contains("UnknownIssuer"),
        "{message}"
    );
    // Skipping verification accepts it.
    let skipped = fetch_tls(&plugin, &server, json!({"tlsSkipVerify": true}), &[]).await;
    assert_eq!(skipped["ok"]["body"], "ok", "{skipped}");

    // A certificate for another name: verified against `serverName`.
    let named = tls_server(&ca.issue(&["db.internal.example"]), None).await;
    let renamed = with_ca(json!({"serverName": "db.internal.example"}));
    let answer = fetch_tls(&plugin, &named, renamed, &[("tlsCACert", &ca_pem)]).await;
    assert_eq!(answer["ok"]["body"], "ok", "{answer}");
    let mismatch = fetch_tls(
        &plugin,
        &named,
        with_ca(json!({})),
        &[("tlsCACert", &ca_pem)],
    )
    .await;
    assert!(
        error_of(&mismatch).contains("not valid for name"),
        "{mismatch}"
    );

    // A server requiring a client certificate.
    let mutual = tls_server(&ca.issue(&["127.0.0.1"]), Some(&ca)).await;
    let client = ca.issue(&["grafana"]);
    let answer = fetch_tls(
        &plugin,
        &mutual,
        with_ca(json!({"tlsAuth": true})),
        &[
            ("tlsCACert", &ca_pem),
            ("tlsClientCert", &client.cert),
            ("tlsClientKey", &client.key),
        ],
    )
    .await;
    assert_eq!(answer["ok"]["body"], "ok", "{answer}");
    let anonymous = fetch_tls(
        &plugin,
        &mutual,
        with_ca(json!({})),
        &[("tlsCACert", &ca_pem)],
    )
    .await;
    assert!(anonymous["error"].is_string(), "{anonymous}");

    let logged = log_entries_when(&plugin, |e| {
        count_logged(e, "outgoing HTTPS connection refused") >= 2
    })
    .await;
    assert!(
        !logged.iter().any(|e| e.to_string().contains("PRIVATE KEY")),
        "keys never reach the log"
    );
    assert_serving(&plugin).await;
}

#[tokio::test]
async fn the_system_trust_store_from_ssl_cert_file_is_trusted() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, ca.pem()).unwrap();
    let mut command = host_command(SANDBOX);
    command
        .env("GF_PLUGIN_ALLOW_ADDRESSES", "127.0.0.1/32")
        .env("SSL_CERT_FILE", &bundle);
    let plugin = PluginProcess::launch(command).await.unwrap();
    let server = tls_server(&ca.issue(&["127.0.0.1"]), None).await;
    let answer = fetch_tls(&plugin, &server, json!({}), &[]).await;
    assert_eq!(answer["ok"]["body"], "ok", "{answer}");
}
