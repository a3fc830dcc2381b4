import { DataSourceWithBackend } from '@grafana/runtime';

import { cloneJson, getConfig } from './config';

// Queries go to the wasm backend through Grafana (POST /api/ds/query) and the
// "Save & test" button calls its CheckHealth
// (GET /api/datasources/uid/<uid>/health): both come from
// DataSourceWithBackend unchanged.
export class DataSource extends DataSourceWithBackend {
  getDefaultQuery(_app) {
    return cloneJson(getConfig().query.default);
  }
}
