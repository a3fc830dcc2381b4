import * as React from 'react';
import { Alert } from '@grafana/ui';
import { config as grafanaConfig, getBackendSrv } from '@grafana/runtime';

import { getConfig } from './config';

/** The app's root page: its backend's health and the resources it serves. */
export function AppRootPage(props) {
  const meta = props.meta || {};
  const id = meta.id || '';
  const name = meta.name || id || 'This app';
  const resources = getConfig().resources;
  const base = (grafanaConfig.appSubUrl || '') + '/api/plugins/' + encodeURIComponent(id);
  const [health, setHealth] = React.useState({ state: 'loading' });

  React.useEffect(() => {
    let live = true;
    if (!id) {
      setHealth({ state: 'error', message: 'the plugin id is unknown' });
      return undefined;
    }
    Promise.resolve()
      .then(() => getBackendSrv().get('/api/plugins/' + encodeURIComponent(id) + '/health', undefined, undefined, {
        showErrorAlert: false,
      }))
      .then(
        (result) => live && setHealth({ state: 'ok', message: (result && result.message) || 'OK' }),
        (err) => {
          const data = err && err.data;
          const message = (data && (data.message || data.error)) || (err && (err.statusText || err.message)) || String(err);
          if (live) {
            setHealth({ state: 'error', message });
          }
        }
      );
    return () => {
      live = false;
    };
  }, [id]);

  return (
    <div data-testid="grafana-wasm-app-root" style={{ padding: 16 }}>
      <h2>{name}</h2>
      <p>This app&apos;s backend is running as a sandboxed WebAssembly component.</p>
      {health.state === 'loading' && <p data-testid="grafana-wasm-app-health">Checking the backend&hellip;</p>}
      {health.state === 'ok' && (
        <Alert severity="success" title="Backend health" data-testid="grafana-wasm-app-health">
          {health.message}
        </Alert>
      )}
      {health.state === 'error' && (
        <Alert severity="warning" title="Backend health check failed" data-testid="grafana-wasm-app-health">
          {health.message}
        </Alert>
      )}
      {resources.length > 0 && (
        <section data-testid="grafana-wasm-app-resources">
          <h3>Resources</h3>
          <ul>
            {resources.map((path) => (
              <li key={path}>
                <a href={base + '/resources/' + path.replace(/^\/+/, '')} target="_blank" rel="noreferrer">
                  {path}
                </a>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
