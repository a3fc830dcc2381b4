// A datasource written in JavaScript: it reads a time series from an HTTP
// JSON API through the host's governed client (`fetch()`), answers
// "Save & test" by calling that API, and relays API answers to its
// frontend as a resource. It implements the `grafana:plugin/datasource`
// world of ../../wit directly, without an SDK (types in
// types/datasource.d.ts).
//
// Settings: the datasource's URL; the host adds basic auth and custom
// headers, so the plugin never sees those secrets. `jsonData.healthPath`
// (default `/`) is what health checks GET.
// Query: `{"path": "/series"}` GETs that path under the URL; the answer is
// a JSON array of `{"time": <ms since the epoch>, "value": <number>}`.
// Resource: `GET api/<path>` answers with the API's status and body.

import { log } from 'grafana:plugin/log@0.1.1';
import { send } from 'grafana:plugin/resource-sender@0.1.1';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A `types.json` value (UTF-8 bytes) parsed, `{}` when empty. */
function parseJson(bytes) {
  return bytes.length === 0 ? {} : JSON.parse(decoder.decode(bytes));
}

/** The datasource's settings; every request to a datasource carries them. */
function datasource(pluginContext) {
  const settings = pluginContext.dataSourceInstanceSettings;
  if (settings === undefined) {
    throw { tag: 'failed', val: { message: 'no datasource settings', source: 'plugin' } };
  }
  return settings;
}

/** GET `path` under the datasource's URL, through the governed client. */
async function get(settings, path) {
  return fetch(settings.url.replace(/\/$/, '') + '/' + path.replace(/^\//, ''));
}

/** An error of one query: `source` says whose fault it is. */
function failure(message, source, status) {
  return { frames: [], error: { message, source }, status };
}

/** A non-nullable field without labels or config. */
function field(name, values) {
  return { name, values, nullable: false, validity: new Uint8Array(), labels: undefined, config: undefined };
}

/** The frame of one query: the API's points as a time series. */
function timeSeries(refId, points) {
  const times = new BigInt64Array(points.length);
  const values = new Float64Array(points.length);
  points.forEach((point, i) => {
    times[i] = BigInt(point.time) * 1000000n; // milliseconds to nanoseconds
    values[i] = point.value;
  });
  const frame = {
    name: refId,
    refId,
    meta: undefined,
    fields: [field('time', { tag: 'time', val: times }), field('value', { tag: 'float64', val: values })],
  };
  return { tag: 'columnar', val: frame };
}

/** The response to one query; its failure is its own, not the request's. */
async function answer(settings, query) {
  let path;
  try {
    path = parseJson(query.json).path ?? '/series';
  } catch (error) {
    return failure(`invalid query: ${error.message}`, 'plugin', 400);
  }
  let response;
  try {
    response = await get(settings, path);
  } catch (error) {
    return failure(`GET ${path}: ${error.message}`, 'downstream', 502);
  }
  if (!response.ok) {
    return failure(`GET ${path}: status ${response.status}`, 'downstream', 502);
  }
  const points = await response.json();
  if (!Array.isArray(points) || points.some((p) => typeof p.time !== 'number' || typeof p.value !== 'number')) {
    return failure(`GET ${path}: expected an array of {time, value} numbers`, 'downstream', 502);
  }
  log('debug', 'series read', [['refId', query.refId], ['points', String(points.length)]]);
  return { frames: [timeSeries(query.refId, points)], error: undefined, status: undefined };
}

export const data = {
  async queryData(request) {
    const settings = datasource(request.pluginContext);
    const responses = [];
    for (const query of request.queries) {
      responses.push([query.refId, await answer(settings, query)]);
    }
    return { responses };
  },
};

export const health = {
  async checkHealth(request) {
    const settings = datasource(request.pluginContext);
    const path = parseJson(settings.jsonData).healthPath ?? '/';
    const result = (status, message) => ({ status, message, jsonDetails: new Uint8Array() });
    try {
      const response = await get(settings, path);
      return response.ok
        ? result('ok', `${settings.url} answered ${response.status}`)
        : result('error', `${settings.url} answered ${response.status} to GET ${path}`);
    } catch (error) {
      return result('error', `GET ${path}: ${error.message}`);
    }
  },
};

export const resource = {
  async callResource(request) {
    const json = (status, body) =>
      send({ status, headers: [['content-type', ['application/json']]], body: encoder.encode(JSON.stringify(body)) });
    if (request.method !== 'GET' || !request.path.startsWith('api/')) {
      json(404, { error: `no route ${request.method} ${request.path}` });
      return;
    }
    const path = request.url.slice('api'.length);
    try {
      const response = await get(datasource(request.pluginContext), path);
      send({
        status: response.status,
        headers: [['content-type', [response.headers.get('content-type') ?? 'application/json']]],
        body: new Uint8Array(await response.arrayBuffer()),
      });
    } catch (error) {
      json(502, { error: `GET ${path}: ${error.message}` });
    }
  },
};
