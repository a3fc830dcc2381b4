//! The WASI capabilities of a guest: deny by default, each grant explicit.
//!
//! A guest gets clocks and randomness, its stdout and stderr (captured
//! into the host log, one entry per line, tagged with the plugin id), the
//! environment variables named in `allow_env` and the directories named
//! in `allow_dirs` (read-only). It gets no sockets: outgoing HTTP goes
//! through `wasi:http`, governed by [`super::http`].

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde_json::{Map, Value};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::config::SandboxConfig;
use super::logs::GuestLog;
use crate::logging::Level;

/// Longest line kept before it is logged anyway: a guest that writes
/// without newlines cannot grow the host's memory.
const MAX_LINE: usize = 16 << 10;

/// A directory the guest may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it.
    pub guest: String,
}

/// The grants of a configuration, resolved once at start-up.
#[derive(Debug, Clone)]
pub struct WasiGrants {
    env: Vec<(String, String)>,
    dirs: Vec<DirGrant>,
}

impl WasiGrants {
    /// The grants of `config`, reading granted variables from `env`.
    ///
    /// # Errors
    /// A granted directory that does not exist or cannot be opened, named.
    pub fn new(
        config: &SandboxConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let env = config
            .allow_env
            .iter()
            .filter_map(|name| Some((name.clone(), env(name)?)))
            .collect();
        let dirs = config
            .allow_dirs
            .iter()
            .map(|grant| parse_dir_grant(grant))
            .collect::<Result<Vec<_>, _>>()?;
        for dir in &dirs {
            if !dir.host.is_dir() {
                return Err(format!(
                    "allow_dirs: {} is not a directory on this machine",
                    dir.host.display()
                ));
            }
        }
        Ok(Self { env, dirs })
    }

    /// A WASI context with exactly these grants, its stdout and stderr
    /// going to the instance's `log`.
    ///
    /// # Errors
    /// A granted directory that can no longer be opened.
    pub fn context(&self, log: &Arc<GuestLog>) -> wasmtime::Result<WasiCtx> {
        let mut builder = WasiCtxBuilder::new();
        builder
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .envs(&self.env)
            .stdout(GuestOutput::new(log.clone(), "stdout", Level::Info))
            .stderr(GuestOutput::new(log.clone(), "stderr", Level::Warn));
        for dir in &self.dirs {
            builder.preopened_dir(&dir.host, &dir.guest, FsPerms::ReadOnly)?;
        }
        Ok(builder.build())
    }
}

/// `host` or `host:guest`; the guest path defaults to the host path.
fn parse_dir_grant(grant: &str) -> Result<DirGrant, String> {
    let (host, guest) = grant.split_once(':').unwrap_or((grant, grant));
    if host.is_empty() || guest.is_empty() {
        return Err(format!(
            "allow_dirs: {grant:?} is not `host-path` or `host-path:guest-path`"
        ));
    }
    Ok(DirGrant {
        host: PathBuf::from(host),
        guest: guest.to_owned(),
    })
}

/// A guest's stdout or stderr, written to the host log line by line.
#[derive(Clone)]
struct GuestOutput {
    log: Arc<GuestLog>,
    stream: &'static str,
    level: Level,
}

impl GuestOutput {
    fn new(log: Arc<GuestLog>, stream: &'static str, level: Level) -> Self {
        Self { log, stream, level }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineLogger {
            output: self.clone(),
            line: Vec::new(),
        })
    }
}

/// Collects bytes into lines and logs each complete line.
struct LineLogger {
    output: GuestOutput,
    line: Vec<u8>,
}

impl LineLogger {
    fn emit(&mut self) {
        let text = String::from_utf8_lossy(&self.line);
        let text = text.trim_end_matches(['\n', '\r']);
        if !text.is_empty() {
            let mut fields = Map::new();
            fields.insert("stream".into(), Value::String(self.output.stream.into()));
            self.output.log.write(self.output.level, text, fields);
        }
        self.line.clear();
    }
}

impl AsyncWrite for LineLogger {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        for &byte in buf {
            this.line.push(byte);
            if byte == b'\n' || this.line.len() >= MAX_LINE {
                this.emit();
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        this.emit();
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineLogger {
    fn drop(&mut self) {
        self.emit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_grants_name_host_and_guest_paths() {
        assert_eq!(
            parse_dir_grant("/srv/data:/data").unwrap(),
            DirGrant {
                host: "/srv/data".into(),
                guest: "/data".into()
            }
        );
        assert_eq!(parse_dir_grant("/srv").unwrap().guest, "/srv");
        assert!(parse_dir_grant(":/data").is_err());
    }

    #[test]
    fn only_granted_variables_that_are_set_reach_the_guest() {
        let config = SandboxConfig {
            allow_env: vec!["TZ".into(), "UNSET".into()],
            ..SandboxConfig::default()
        };
        let grants =
            WasiGrants::new(&config, |name| (name == "TZ").then(|| "UTC".to_owned())).unwrap();
        assert_eq!(grants.env, [("TZ".to_owned(), "UTC".to_owned())]);
    }

    #[test]
    fn a_missing_granted_directory_is_named() {
        let config = SandboxConfig {
            allow_dirs: vec!["/nonexistent/dir".into()],
            ..SandboxConfig::default()
        };
        let err = WasiGrants::new(&config, |_| None).unwrap_err();
        assert!(err.contains("/nonexistent/dir"), "{err}");
    }
}
