// The test page: plays Grafana's part around the real dist/module.js.
//
// It imports the real @grafana/data, @grafana/ui, @grafana/runtime and React
// from node_modules, offers them to module.js through a small AMD `define`
// that behaves like the SystemJS AMD extra Grafana's plugin loader uses
// (shared modules handed over as module namespaces), and renders the
// plugin's components the way Grafana's pages do: the settings page keeps
// the datasource settings in state and feeds every onOptionsChange back in,
// the query row does the same with onChange.
//
// test/run.mjs drives it through window.__h with real typing and clicking.

import * as React from 'react';
import * as ReactDOM from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as ReactJsxRuntime from 'react/jsx-runtime';
import * as grafanaData from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import { initializeLoggersRegistry } from '@grafana/runtime/unstable';
import * as grafanaUI from '@grafana/ui';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as lodash from 'lodash';

// A SystemJS module namespace: the module's enumerable exports, null prototype.
function namespace(mod) {
  const ns = Object.create(null);
  for (const key of Object.keys(mod)) {
    ns[key] = mod[key];
  }
  Object.defineProperty(ns, Symbol.toStringTag, { value: 'Module' });
  return ns;
}

// What Grafana's sharedDependencies.ts offers plugins (those installed here).
const SHARED = {
  react: namespace(React),
  'react-dom': namespace(ReactDOM),
  'react-dom/client': namespace(ReactDOMClient),
  'react/jsx-runtime': namespace(ReactJsxRuntime),
  '@grafana/data': namespace(grafanaData),
  '@grafana/runtime': namespace(grafanaRuntime),
  '@grafana/ui': namespace(grafanaUI),
  rxjs: namespace(rxjs),
  'rxjs/operators': namespace(rxjsOperators),
  '@emotion/css': namespace(emotionCss),
  '@emotion/react': namespace(emotionReact),
  lodash: namespace({ ...lodash, __useDefault: true, default: lodash.default || lodash }),
};

const errors = [];
const log = { options: [], queries: [], runs: 0, backend: [] };
let pendingDefine = null;

function recordError(where, err) {
  const message = err && err.stack ? String(err.stack) : String(err && err.message ? err.message : err);
  errors.push(where + ': ' + message);
}

// The AMD define of SystemJS's amd extra: resolve each dependency, run the
// factory, take its return value (or module.exports) as the exports, and
// expose them as a namespace (for..in copy, as SystemJS's _export does).
function define(deps, factory) {
  const target = pendingDefine;
  pendingDefine = null;
  try {
    if (!target) {
      throw new Error('define() called while no module.js was being loaded');
    }
    if (typeof deps === 'function') {
      factory = deps;
      deps = [];
    }
    if (!Array.isArray(deps) || typeof factory !== 'function') {
      throw new Error('module.js must call define([deps], factory)');
    }
    const module = { exports: {} };
    const args = deps.map((dep) => {
      if (dep === 'module') {
        return module;
      }
      if (dep === 'exports') {
        return module.exports;
      }
      if (!(dep in SHARED)) {
        throw new Error('module.js depends on ' + JSON.stringify(dep) + ', which Grafana does not share');
      }
      const ns = SHARED[dep];
      return ns.__useDefault ? ns.default : ns;
    });
    const result = factory.apply(module.exports, args);
    const exports = result !== undefined ? result : module.exports;
    const ns = {};
    for (const key in exports) {
      ns[key] = exports[key];
    }
    target.resolve({ deps, ns });
  } catch (err) {
    target.reject(err);
  }
}
define.amd = {};
window.define = define;

function loadModule(url) {
  return new Promise((resolve, reject) => {
    pendingDefine = { resolve, reject };
    const script = document.createElement('script');
    script.src = url;
    script.onerror = () => reject(new Error('could not load ' + url));
    script.onload = () => {
      if (pendingDefine) {
        pendingDefine = null;
        reject(new Error(url + ' loaded but never called define()'));
      }
    };
    document.head.appendChild(script);
  });
}

// A stand-in for Grafana's backend_srv: answers the calls the plugin's
// frontend makes to Grafana's HTTP API and records them.
function response(url, data) {
  return { data, status: 200, statusText: 'OK', ok: true, url, headers: new Headers(), redirected: false, type: 'basic', config: { url } };
}
function answer(options) {
  const url = options.url;
  if (/^\/api\/ds\/query/.test(url)) {
    const results = {};
    for (const q of (options.data && options.data.queries) || []) {
      results[q.refId] = { status: 200, frames: [] };
    }
    return { results };
  }
  if (/^\/api\/datasources\/uid\/[^/]+\/health$/.test(url)) {
    return { status: 'OK', message: 'Data source is working (test backend)' };
  }
  if (/^\/api\/plugins\/[^/]+\/health$/.test(url)) {
    return { status: 'OK', message: 'Plugin health check passed (test backend)' };
  }
  throw Object.assign(new Error('unexpected request ' + url), { status: 404, data: { message: 'not found: ' + url } });
}
const backendSrv = {
  fetch(options) {
    log.backend.push({ method: options.method || 'GET', url: options.url, data: options.data === undefined ? null : options.data });
    return rxjs.defer(() => rxjs.of(response(options.url, answer(options))));
  },
  request(options) {
    return rxjs.lastValueFrom(this.fetch(options)).then((r) => r.data);
  },
  datasourceRequest(options) {
    return rxjs.lastValueFrom(this.fetch(options));
  },
  get(url, params, requestId, options) {
    return this.request({ ...options, url, params, requestId, method: 'GET' });
  },
  delete(url, data, options) {
    return this.request({ ...options, url, data, method: 'DELETE' });
  },
  post(url, data, options) {
    return this.request({ ...options, url, data, method: 'POST' });
  },
  patch(url, data, options) {
    return this.request({ ...options, url, data, method: 'PATCH' });
  },
  put(url, data, options) {
    return this.request({ ...options, url, data, method: 'PUT' });
  },
  resolveCancelerIfExists() {},
};
grafanaRuntime.setBackendSrv(backendSrv);
// Grafana's boot sets up the runtime's loggers before any plugin runs.
initializeLoggersRegistry();

class Boundary extends React.Component {
  constructor(props) {
    super(props);
    this.state = { error: null };
  }
  static getDerivedStateFromError(error) {
    return { error };
  }
  componentDidCatch(error) {
    recordError('error boundary', error);
  }
  render() {
    if (this.state.error) {
      return <div data-testid="harness-error">{String(this.state.error)}</div>;
    }
    return this.props.children;
  }
}

let root = null;
let plugin = null;
let pluginInfo = null;
const container = document.getElementById('root');

function mount(element) {
  if (root) {
    root.unmount();
  }
  root = ReactDOMClient.createRoot(container, {
    onUncaughtError: (err) => recordError('uncaught render error', err),
    onCaughtError: (err) => recordError('caught render error', err),
    onRecoverableError: (err) => recordError('recoverable render error', err),
  });
  root.render(
    <React.StrictMode>
      <Boundary>{element}</Boundary>
    </React.StrictMode>
  );
}

const PLUGIN_ID = 'grafana-wasm-test-datasource';
const INSTANCE_SETTINGS = {
  id: 7,
  uid: 'test-ds-uid',
  type: PLUGIN_ID,
  name: 'Test datasource',
  access: 'proxy',
  url: '',
  readOnly: false,
  jsonData: {},
  meta: { id: PLUGIN_ID, name: 'Test datasource', type: 'datasource', backend: true, info: { logos: {} }, module: '' },
};

// The DataSource class the plugin registered (DataSourceClass since Grafana 13, DataSource before).
function dataSourceClass() {
  return plugin && (plugin.DataSourceClass || plugin.DataSource);
}

// Grafana's DatasourceSrv, knowing the one datasource under test.
grafanaRuntime.setDataSourceSrv({
  getInstanceSettings(ref) {
    const uid = typeof ref === 'string' ? ref : ref && ref.uid;
    return uid === INSTANCE_SETTINGS.uid || uid === INSTANCE_SETTINGS.name ? INSTANCE_SETTINGS : undefined;
  },
  getList() {
    return [INSTANCE_SETTINGS];
  },
  async get(ref) {
    if (this.getInstanceSettings(ref)) {
      return newDataSource();
    }
    throw new Error('unknown datasource ' + JSON.stringify(ref));
  },
  async reload() {},
  registerRuntimeDataSource() {},
});

function newDataSource() {
  const DataSource = dataSourceClass();
  return new DataSource(INSTANCE_SETTINGS);
}

function SettingsPage({ initial }) {
  const [options, setOptions] = React.useState(initial);
  const Editor = plugin.components.ConfigEditor;
  const onOptionsChange = React.useCallback((next) => {
    log.options.push(next);
    setOptions(next);
  }, []);
  return <Editor options={options} onOptionsChange={onOptionsChange} />;
}

function QueryRow({ initial, datasource }) {
  const [query, setQuery] = React.useState(initial);
  const Editor = plugin.components.QueryEditor;
  const onChange = React.useCallback((next) => {
    log.queries.push(next);
    setQuery(next);
  }, []);
  const onRunQuery = React.useCallback(() => {
    log.runs++;
  }, []);
  return <Editor datasource={datasource} query={query} onChange={onChange} onRunQuery={onRunQuery} app="panel-editor" />;
}

const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

window.__h = {
  async load(cfg) {
    const { deps, ns } = await loadModule('/module.js?cfg=' + encodeURIComponent(cfg));
    plugin = ns.plugin;
    pluginInfo = {
      deps,
      exports: Object.keys(ns),
      isDataSourcePlugin: plugin instanceof grafanaData.DataSourcePlugin,
      isAppPlugin: plugin instanceof grafanaData.AppPlugin,
      dataSourceExtendsWithBackend:
        typeof dataSourceClass() === 'function' && dataSourceClass().prototype instanceof grafanaRuntime.DataSourceWithBackend,
      hasConfigEditor: !!(plugin && plugin.components && typeof plugin.components.ConfigEditor === 'function'),
      hasQueryEditor: !!(plugin && plugin.components && typeof plugin.components.QueryEditor === 'function'),
      hasRootPage: !!(plugin && typeof plugin.root === 'function'),
    };
    return pluginInfo;
  },
  defaultQuery() {
    return clone(newDataSource().getDefaultQuery('panel-editor'));
  },
  mountSettings(initial) {
    log.options = [];
    mount(<SettingsPage initial={initial} />);
  },
  mountQuery(initial) {
    log.queries = [];
    log.runs = 0;
    mount(<QueryRow initial={initial} datasource={newDataSource()} />);
  },
  mountApp(meta) {
    const Root = plugin.root;
    mount(<Root meta={meta} basename={'/a/' + meta.id} path={'/a/' + meta.id} query={{}} onNavChanged={() => {}} />);
  },
  unmount() {
    if (root) {
      root.unmount();
      root = null;
    }
  },
  // The plugin's DataSource as Grafana's query runner uses it.
  async runQuery(query) {
    log.backend = [];
    const ds = newDataSource();
    const now = grafanaData.dateTime();
    const range = { from: now.clone().subtract(1, 'hour'), to: now, raw: { from: 'now-1h', to: 'now' } };
    const request = {
      requestId: 'Q1',
      interval: '1m',
      intervalMs: 60000,
      maxDataPoints: 100,
      range,
      scopedVars: {},
      targets: [query],
      timezone: 'utc',
      app: 'panel-editor',
      startTime: Date.now(),
    };
    const result = await rxjs.lastValueFrom(ds.query(request));
    return { requests: clone(log.backend), errors: clone(result.errors || (result.error ? [result.error] : [])) };
  },
  async testDatasource() {
    log.backend = [];
    const result = await newDataSource().testDatasource();
    return { requests: clone(log.backend), result: clone(result) };
  },
  state() {
    return {
      options: clone(log.options[log.options.length - 1]),
      optionsCalls: log.options.length,
      query: clone(log.queries[log.queries.length - 1]),
      queryCalls: log.queries.length,
      runs: log.runs,
      backend: clone(log.backend),
      errors: errors.slice(),
    };
  },
};
window.__harnessReady = true;
