//! The wasmtime engine shared by every component and instance, and the epoch
//! ticker that bounds how long a guest can run without yielding.

use std::time::Duration;

use anyhow::Context as _;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::capabilities::MAX_TABLE_ELEMENTS;
use crate::sandbox::SandboxConfig;

/// How often the engine's epoch advances. A running guest yields to the
/// async runtime at every tick, so deadlines and cancellation take effect
/// within about this long.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Core instances and tables a component may have: a Rust component has a
/// handful, a Python one built by componentize-py 14 (the interpreter is
/// dynamically linked from several modules), so there is room for more.
/// Slots cost little address space, unlike memories.
const CORE_INSTANCES_PER_COMPONENT: u32 = 32;

/// Linear memories a component may have: one per language runtime, plus
/// adapters.
const MEMORIES_PER_COMPONENT: u32 = 8;

/// Builds the engine for `sandbox`: component model, epoch interruption,
/// fuel when configured, the pooling allocator where the machine can
/// reserve its address space (else instances are allocated on demand),
/// and component-model async left off (it doubles the cost of every call
/// and is not used).
///
/// # Errors
/// Fails when wasmtime rejects the configuration for this machine.
pub fn new_engine(sandbox: &SandboxConfig) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .concurrency_support(false)
        .epoch_interruption(true)
        .consume_fuel(sandbox.fuel > 0);
    let pooled = config
        .clone()
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(sandbox)))
        .to_owned();
    let engine = match Engine::new(&pooled) {
        Ok(engine) => engine,
        Err(err) => {
            tracing::warn!(error = %err, "the pooling allocator is not available on this machine; allocating instances on demand");
            Engine::new(&config)
                .map_err(anyhow::Error::from)
                .context("creating the wasmtime engine")?
        }
    };
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// Slots for `max_instances` component instances, each memory slot sized
/// for the memory cap.
fn pooling(sandbox: &SandboxConfig) -> PoolingAllocationConfig {
    let instances = sandbox.max_instances;
    let core = instances.saturating_mul(CORE_INSTANCES_PER_COMPONENT);
    let memories = instances.saturating_mul(MEMORIES_PER_COMPONENT);
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(instances)
        .total_core_instances(core)
        .total_memories(memories)
        .total_tables(core)
        .total_stacks(instances)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memory_size(sandbox.max_memory_bytes())
        .table_elements(MAX_TABLE_ELEMENTS);
    pooling
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
