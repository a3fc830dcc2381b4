//! The wasmtime engine shared by every component and instance, and the epoch
//! ticker that bounds how long a guest can run without yielding.

use std::time::Duration;

use anyhow::Context as _;
use wasmtime::{Config, Engine};

/// How often the engine's epoch advances. A running guest yields to the
/// async runtime at every tick, so deadlines and cancellation take effect
/// within about this long.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Builds the engine: component model, epoch interruption, and component-model
/// async left off (it doubles the cost of every call and is not used).
///
/// # Errors
/// Fails when wasmtime rejects the configuration for this machine.
pub fn new_engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .concurrency_support(false)
        .epoch_interruption(true);
    let engine = Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("creating the wasmtime engine")?;
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a dedicated thread
/// (independent of the async runtime, so a busy runtime cannot stall it).
/// The thread ends once the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(err) = spawned {
        tracing::error!(error = %err, "cannot start the epoch ticker: guest deadlines will not be enforced");
    }
}
