//! Grafana's side of the plugin protocol, and the handshake both sides
//! share: [`PluginProcess`] launches a plugin executable as Grafana's
//! go-plugin client does (the magic cookie, the protocol versions it
//! offers), reads its handshake line, connects over the Unix socket or TCP
//! address it names, calls it with Grafana's message limits, and stops it
//! as Grafana does. The host serves the other side of [`handshake`].

pub mod handshake;
mod process;

pub use process::*;
