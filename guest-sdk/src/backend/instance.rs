//! Plugin instances per datasource or app, as the Go SDK's `instancemgmt`
//! and `datasource.NewInstanceManager`: an instance is created from the
//! settings on first use, reused while they stay the same, and disposed of
//! when they change or when the host drops the guest instance.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use std::time::SystemTime;

use super::{AppInstanceSettings, DataSourceInstanceSettings, Error, PluginContext};

/// Releases what an instance holds (Go: `instancemgmt.InstanceDisposer`),
/// e.g. flushes a cache, when its settings change or the guest is dropped.
/// The default does nothing, so most instances need only an empty `impl`.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use grafana_wasm_sdk::backend::*;
///
/// struct Client { closed: Rc<Cell<bool>> }
/// impl InstanceDisposer for Client {
///     fn dispose(&self) { self.closed.set(true) }
/// }
///
/// let closed = Rc::new(Cell::new(false));
/// let flag = closed.clone();
/// let instances = InstanceManager::new(move |_| Ok(Client { closed: flag.clone() }));
/// let ctx = |updated_s| PluginContext {
///     data_source_instance_settings: Some(DataSourceInstanceSettings {
///         updated: std::time::UNIX_EPOCH + std::time::Duration::from_secs(updated_s),
///         ..DataSourceInstanceSettings::default()
///     }),
///     ..PluginContext::default()
/// };
/// instances.get(&ctx(1))?;
/// instances.get(&ctx(2))?; // the settings changed: the old client is disposed of
/// assert!(closed.get());
/// # Ok::<(), Error>(())
/// ```
pub trait InstanceDisposer {
    /// Called once, when the instance is replaced or dropped.
    fn dispose(&self) {}
}

type Factory<T> = Box<dyn Fn(&PluginContext) -> Result<T, Error>>;

/// One instance of `T` per datasource (by uid) or app (by org), recreated
/// when the settings change: the place for per-datasource state such as
/// parsed settings and clients, built once instead of on every request
/// (Go: `instancemgmt.InstanceManager`).
///
/// # Examples
///
/// Keep the manager in the handler and fetch the instance per request:
///
/// ```
/// use grafana_wasm_sdk::backend::*;
///
/// struct Settings { base: String }
/// impl InstanceDisposer for Settings {}
///
/// struct Plugin { instances: InstanceManager<Settings> }
///
/// impl CheckHealthHandler for Plugin {
///     fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
///         let settings = self.instances.get(&req.plugin_context)?;
///         Ok(CheckHealthResult::ok(format!("configured for {}", settings.base)))
///     }
/// }
///
/// let plugin = Plugin {
///     instances: InstanceManager::for_datasource(|ds| Ok(Settings { base: ds.url.clone() })),
/// };
/// let req = CheckHealthRequest {
///     plugin_context: PluginContext {
///         data_source_instance_settings: Some(DataSourceInstanceSettings {
///             url: "http://api".into(),
///             ..DataSourceInstanceSettings::default()
///         }),
///         ..PluginContext::default()
///     },
///     ..CheckHealthRequest::default()
/// };
/// assert_eq!(plugin.check_health(req)?.message, "configured for http://api");
/// # Ok::<(), Error>(())
/// ```
pub struct InstanceManager<T: InstanceDisposer + 'static> {
    inner: Rc<Instances<T>>,
}

struct Instances<T> {
    factory: Factory<T>,
    /// By datasource or app: the settings version and the instance.
    live: RefCell<BTreeMap<String, (SystemTime, Rc<T>)>>,
}

impl<T: InstanceDisposer + 'static> InstanceManager<T> {
    /// A manager creating instances with `factory`, from any plugin context:
    /// for instances that need more than the settings (the org, the Grafana
    /// configuration, ...). Instances are keyed by datasource (org, id and
    /// uid), else by app org, else one for the plugin.
    pub fn new(factory: impl Fn(&PluginContext) -> Result<T, Error> + 'static) -> Self {
        let inner = Rc::new(Instances {
            factory: Box::new(factory),
            live: RefCell::new(BTreeMap::new()),
        });
        let weak: Weak<dyn DisposeAll> = Rc::downgrade(&inner) as Weak<dyn DisposeAll>;
        MANAGERS.with(|managers| managers.borrow_mut().push(weak));
        Self { inner }
    }

    /// A manager for datasource plugins (Go: `datasource.NewInstanceManager`):
    /// `factory` gets the datasource's settings; requests without them fail
    /// with a plugin error.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::*;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Settings { path: String }
    /// #[derive(serde::Deserialize)]
    /// struct Secrets { token: Option<String> }
    ///
    /// struct Api { base: String, token: Option<String> }
    /// impl InstanceDisposer for Api {}
    ///
    /// let instances = InstanceManager::for_datasource(|settings| {
    ///     let json: Settings = settings.json_data()?;
    ///     let secrets: Secrets = settings.secure_json_data()?;
    ///     Ok(Api { base: format!("{}{}", settings.url, json.path), token: secrets.token })
    /// });
    /// # let ctx = PluginContext {
    /// #     data_source_instance_settings: Some(DataSourceInstanceSettings {
    /// #         url: "http://db".into(), json_data: br#"{"path":"/v1"}"#.to_vec(),
    /// #         decrypted_secure_json_data: [("token".to_owned(), "t".to_owned())].into(),
    /// #         ..DataSourceInstanceSettings::default() }),
    /// #     ..PluginContext::default() };
    /// let api = instances.get(&ctx)?;
    /// assert_eq!(api.base, "http://db/v1");
    /// assert_eq!(api.token.as_deref(), Some("t"));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn for_datasource(
        factory: impl Fn(&DataSourceInstanceSettings) -> Result<T, Error> + 'static,
    ) -> Self {
        Self::new(move |ctx| {
            let settings = ctx
                .data_source_instance_settings
                .as_ref()
                .ok_or_else(|| Error::plugin("the request has no datasource settings"))?;
            factory(settings)
        })
    }

    /// A manager for app plugins (Go: `app.NewInstanceManager`): `factory`
    /// gets the app's settings; requests without them fail with a plugin
    /// error.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::*;
    ///
    /// struct App { orgs_seen: usize }
    /// impl InstanceDisposer for App {}
    ///
    /// let instances = InstanceManager::for_app(|_settings| Ok(App { orgs_seen: 1 }));
    /// let ctx = PluginContext {
    ///     org_id: 2,
    ///     app_instance_settings: Some(AppInstanceSettings::default()),
    ///     ..PluginContext::default()
    /// };
    /// assert_eq!(instances.get(&ctx)?.orgs_seen, 1);
    /// assert!(instances.get(&PluginContext::default()).is_err());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn for_app(factory: impl Fn(&AppInstanceSettings) -> Result<T, Error> + 'static) -> Self {
        Self::new(move |ctx| {
            let settings = ctx
                .app_instance_settings
                .as_ref()
                .ok_or_else(|| Error::plugin("the request has no app settings"))?;
            factory(settings)
        })
    }

    /// The instance for the datasource or app of `ctx`: the cached one
    /// while its settings are unchanged, else a new one (the old one is
    /// disposed of).
    ///
    /// # Errors
    /// The factory's error.
    pub fn get(&self, ctx: &PluginContext) -> Result<Rc<T>, Error> {
        let (key, version) = identity(ctx);
        if let Some((seen, instance)) = self.inner.live.borrow().get(&key)
            && *seen == version
        {
            return Ok(instance.clone());
        }
        let instance = Rc::new((self.inner.factory)(ctx)?);
        let replaced = self
            .inner
            .live
            .borrow_mut()
            .insert(key, (version, instance.clone()));
        if let Some((_, old)) = replaced {
            old.dispose();
        }
        Ok(instance)
    }
}

/// Which datasource or app `ctx` addresses, and its settings version.
fn identity(ctx: &PluginContext) -> (String, SystemTime) {
    if let Some(ds) = &ctx.data_source_instance_settings {
        // A uid is unique only within an org: the org and the numeric id
        // keep two orgs' datasources apart.
        (
            format!("datasource:{}:{}:{}", ctx.org_id, ds.id, ds.uid),
            ds.updated,
        )
    } else if let Some(app) = &ctx.app_instance_settings {
        (format!("app:{}", ctx.org_id), app.updated)
    } else {
        ("plugin".to_owned(), SystemTime::UNIX_EPOCH)
    }
}

trait DisposeAll {
    fn dispose_all(&self);
}

impl<T: InstanceDisposer> DisposeAll for Instances<T> {
    fn dispose_all(&self) {
        let live = std::mem::take(&mut *self.live.borrow_mut());
        for (_, instance) in live.into_values() {
            instance.dispose();
        }
    }
}

thread_local! {
    /// Every manager created in this guest instance.
    static MANAGERS: RefCell<Vec<Weak<dyn DisposeAll>>> = const { RefCell::new(Vec::new()) };
}

/// Disposes of every instance of every manager: the host is dropping this
/// guest instance.
pub(crate) fn dispose_all() {
    let managers: Vec<_> = MANAGERS.with(|managers| managers.borrow().clone());
    for manager in managers.iter().filter_map(Weak::upgrade) {
        manager.dispose_all();
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::*;

    thread_local! {
        static DISPOSED: Cell<u32> = const { Cell::new(0) };
    }

    struct Counted(u64);
    impl InstanceDisposer for Counted {
        fn dispose(&self) {
            DISPOSED.with(|d| d.set(d.get() + 1));
        }
    }

    fn ctx(uid: &str, updated_s: u64) -> PluginContext {
        PluginContext {
            data_source_instance_settings: Some(DataSourceInstanceSettings {
                uid: uid.into(),
                updated: SystemTime::UNIX_EPOCH + Duration::from_secs(updated_s),
                ..DataSourceInstanceSettings::default()
            }),
            ..PluginContext::default()
        }
    }

    #[test]
    fn instances_follow_settings_and_are_disposed_of() {
        let created = Rc::new(Cell::new(0_u64));
        let counter = created.clone();
        let manager = InstanceManager::for_datasource(move |_| {
            counter.set(counter.get() + 1);
            Ok(Counted(counter.get()))
        });
        assert_eq!(manager.get(&ctx("a", 1)).unwrap().0, 1);
        assert_eq!(manager.get(&ctx("a", 1)).unwrap().0, 1, "cached");
        assert_eq!(
            manager.get(&ctx("b", 1)).unwrap().0,
            2,
            "one per datasource"
        );
        assert_eq!(manager.get(&ctx("a", 2)).unwrap().0, 3, "new settings");
        assert_eq!(DISPOSED.with(Cell::get), 1, "the replaced one is disposed");
        dispose_all();
        assert_eq!(DISPOSED.with(Cell::get), 3);
        assert!(manager.get(&PluginContext::default()).is_err());
    }
}
