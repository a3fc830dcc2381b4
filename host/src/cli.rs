//! Command line: serving (what Grafana runs, with no arguments) and the
//! developer commands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use grafana_wasm_client::handshake;
use grafana_wasm_serve::logging::{self, Level};
use grafana_wasm_serve::plugin_files::{COMPONENT_ENV, DEFAULT_COMPONENT_FILE, SANDBOX_CONFIG_ENV};
use grafana_wasm_serve::runtime::RuntimeSettings;
use grafana_wasm_serve::sandbox::SandboxConfig;
use grafana_wasm_serve::server::{self, ServeConfig};

/// Runs Grafana backend plugins as sandboxed WebAssembly components.
///
/// Without a subcommand it serves the plugin protocol, as Grafana expects
/// when it launches the plugin executable.
#[derive(Debug, Parser)]
#[command(name = "grafana-wasm-host", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the plugin protocol to Grafana (the default).
    Serve(ServeArgs),
    /// Launch this host with a component the way Grafana does, call every
    /// handler, and print what Grafana would receive.
    Demo(crate::demo::DemoArgs),
    /// Scaffold a datasource plugin crate that builds and passes its own
    /// test.
    New(crate::scaffold::NewArgs),
    /// Call one handler of a component as Grafana would, without Grafana,
    /// and print the answer.
    Call(crate::call::CallArgs),
    /// Assemble an installable Grafana plugin directory (and zip) from a
    /// component and its plugin.json.
    Package(crate::package::PackageArgs),
}

/// Options of the serving host.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The plugin component. Default: `plugin.wasm` next to the executable.
    #[arg(long, env = COMPONENT_ENV)]
    pub component: Option<PathBuf>,
    /// The plugin id used in logs. Default: the `id` in `plugin.json` next
    /// to the executable, else the component's file name.
    #[arg(long)]
    pub plugin_id: Option<String>,
    /// The sandbox configuration (limits and grants). Default:
    /// `sandbox.toml` next to the component, if there is one.
    #[arg(long, env = SANDBOX_CONFIG_ENV)]
    pub sandbox_config: Option<PathBuf>,
    /// Directory for compiled components. Default: `$XDG_CACHE_HOME` or
    /// `$HOME/.cache` `/grafana-wasm`, else `grafana-wasm-<uid>` in the
    /// temporary directory.
    #[arg(long, env = grafana_wasm_serve::runtime::cache::CACHE_DIR_ENV)]
    pub cache_dir: Option<PathBuf>,
    /// Largest size of the compiled-component cache in MiB; the least
    /// recently used entries are removed beyond it.
    #[arg(long, env = grafana_wasm_serve::runtime::cache::CACHE_MAX_MB_ENV, default_value_t = grafana_wasm_serve::runtime::cache::DEFAULT_MAX_MB)]
    pub cache_max_mb: u64,
    /// Least severe level logged to stderr.
    #[arg(long, env = logging::LOG_LEVEL_ENV, default_value = "debug")]
    pub log_level: Level,
    /// The plugin's directory (with `plugin.json`, and where standalone mode
    /// writes `standalone.txt`). Default: the executable's directory.
    #[arg(long)]
    pub plugin_dir: Option<PathBuf>,
    /// Debug mode: serve on TCP, started by hand (under a debugger, say),
    /// and make the copy Grafana launches point Grafana here. Stop with
    /// Ctrl-C; Grafana then launches the plugin normally again.
    #[arg(long)]
    pub standalone: bool,
    /// The TCP address to listen on in standalone mode. Default:
    /// `GF_PLUGIN_GRPC_ADDRESS_<ID>`, else a free port on 127.0.0.1.
    #[arg(long, requires = "standalone")]
    pub address: Option<std::net::SocketAddr>,
    /// Standalone mode: build the component from this crate (`cargo build
    /// --release --target wasm32-wasip2`) and rebuild it whenever a source
    /// file changes; each build is hot-swapped in. Serves the crate's
    /// component unless `--component` names another.
    #[arg(long, requires = "standalone", value_name = "CRATE_DIR")]
    pub watch: Option<PathBuf>,
    /// How log lines are written to stderr. `auto`: text in standalone
    /// mode on a terminal, else the hclog JSON Grafana parses.
    #[arg(long, value_enum, default_value = "auto")]
    pub log_format: grafana_wasm_serve::logtext::LogFormat,
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Demo(args)) => crate::demo::run(args),
        Some(Command::Package(args)) => crate::package::run(args),
        Some(Command::Call(args)) => crate::call::run(args),
        Some(Command::New(args)) => crate::scaffold::run(args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let cookie = std::env::var(handshake::MAGIC_COOKIE_KEY).ok();
    if !args.standalone && !handshake::has_magic_cookie(cookie.as_deref()) {
        eprint!("{}", handshake::NOT_A_PLUGIN_MESSAGE);
        return ExitCode::from(1);
    }
    if args.log_format.is_text(args.standalone) {
        logging::render_as_text(grafana_wasm_serve::logtext::stderr_colour());
    }
    logging::init(args.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(serve_mode(args));
    // Tasks still running (guests' included) are left behind: exit must
    // not wait for them.
    runtime.shutdown_background();
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "plugin host failed");
            ExitCode::FAILURE
        }
    };
    logging::finish();
    code
}

/// Serves as Grafana's child, or in standalone mode (building and watching
/// a crate first when asked).
async fn serve_mode(mut args: ServeArgs) -> anyhow::Result<()> {
    if !args.standalone {
        return server::serve(serve_config(args)).await;
    }
    let watched = match args.watch.take() {
        Some(dir) => {
            let built = crate::rebuild::build(dir.clone()).await?;
            args.component.get_or_insert(built);
            // The crate's own sandbox, the one `call` and `package` use.
            if args.sandbox_config.is_none() {
                args.sandbox_config =
                    grafana_wasm_serve::plugin_files::sandbox_file(None, Some(&dir));
            }
            Some(dir)
        }
        None => None,
    };
    let listen = args.address;
    let config = serve_config(args);
    let listen = listen.or_else(|| standalone_address(&config.runtime.plugin_id));
    if let Some(dir) = watched {
        crate::rebuild::spawn_watch(dir)?;
    }
    server::serve_standalone(config, listen).await
}

/// `GF_PLUGIN_GRPC_ADDRESS_<ID>`, when it holds an address to listen on.
fn standalone_address(plugin_id: &str) -> Option<std::net::SocketAddr> {
    let name = grafana_wasm_serve::standalone::address_env(plugin_id);
    let value = std::env::var(&name).ok()?;
    match value.trim().parse() {
        Ok(address) => Some(address),
        Err(err) => {
            tracing::warn!(variable = name, value, error = %err, "not an address to listen on; using a free port");
            None
        }
    }
}

fn executable_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .parent()
        .map(Path::to_path_buf)
}

fn serve_config(args: ServeArgs) -> ServeConfig {
    let plugin_dir = args.plugin_dir.or_else(executable_dir).unwrap_or_default();
    let manifest = grafana_wasm_serve::plugin_files::manifest(&plugin_dir).unwrap_or_default();
    let component = args
        .component
        .unwrap_or_else(|| plugin_dir.join(DEFAULT_COMPONENT_FILE));
    let plugin_id = args
        .plugin_id
        .or_else(|| manifest["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            component
                .file_stem()
                .map_or_else(|| "plugin".to_owned(), |s| s.to_string_lossy().into_owned())
        });
    let (sandbox_path, required) = match args.sandbox_config {
        Some(path) => (path, true),
        None => (
            component
                .parent()
                .unwrap_or(Path::new("."))
                .join(grafana_wasm_serve::plugin_files::SANDBOX_FILE),
            false,
        ),
    };
    let sandbox = SandboxConfig::load(&sandbox_path, required, |name| std::env::var(name).ok());
    ServeConfig {
        component,
        plugin_dir,
        sandbox,
        runtime: RuntimeSettings {
            plugin_id: Arc::from(plugin_id),
            plugin_version: Arc::from(manifest["info"]["version"].as_str().unwrap_or_default()),
            cache_dir: args
                .cache_dir
                .unwrap_or_else(grafana_wasm_serve::runtime::cache::default_dir),
            cache_max_bytes: args.cache_max_mb.saturating_mul(1 << 20),
        },
    }
}
