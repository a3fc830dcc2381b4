// The per-plugin configuration of the generic frontend.
//
// The packager bakes a JSON object into dist/module.js (see build.mjs and
// README.md); the AMD wrapper binds it to the free variable
// __GRAFANA_WASM_EDITORS__. This module validates it once: every key is
// optional, unknown keys are ignored, and a value of the wrong type is
// dropped with a console.warn, never an exception.

/* global __GRAFANA_WASM_EDITORS__ */

const PREFIX = 'grafana-wasm frontend config: ';
const FIELD_TYPES = ['string', 'number', 'boolean'];
const DEFAULT_URL = 'http://localhost:8080';

function warn(message) {
  console.warn(PREFIX + message);
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function optional(source, key, type, path, fallback) {
  if (!(key in source) || source[key] === undefined || source[key] === null) {
    return fallback;
  }
  const value = source[key];
  if (typeof value !== type) {
    warn(`${path}${key} must be a ${type}, got ${JSON.stringify(value)}; ignored`);
    return fallback;
  }
  return value;
}

function readFields(list, name, secure) {
  if (list === undefined || list === null) {
    return [];
  }
  if (!Array.isArray(list)) {
    warn(`${name} must be an array; ignored`);
    return [];
  }
  const out = [];
  const seen = new Set();
  list.forEach((item, i) => {
    const path = `${name}[${i}].`;
    if (!isObject(item)) {
      warn(`${name}[${i}] must be an object; ignored`);
      return;
    }
    const key = optional(item, 'key', 'string', path, '');
    if (key === '') {
      warn(`${path}key must be a non-empty string; field ignored`);
      return;
    }
    if (seen.has(key)) {
      warn(`${path}key ${JSON.stringify(key)} is declared twice; second one ignored`);
      return;
    }
    seen.add(key);
    const field = {
      key,
      label: optional(item, 'label', 'string', path, key),
      placeholder: optional(item, 'placeholder', 'string', path, ''),
      description: optional(item, 'description', 'string', path, ''),
      required: optional(item, 'required', 'boolean', path, false),
      type: 'string',
    };
    if (!secure) {
      const type = optional(item, 'type', 'string', path, 'string');
      if (FIELD_TYPES.indexOf(type) < 0) {
        warn(`${path}type must be one of ${FIELD_TYPES.join(', ')}, got ${JSON.stringify(type)}; using "string"`);
      } else {
        field.type = type;
      }
    }
    out.push(field);
  });
  return out;
}

function readStringList(list, name) {
  if (list === undefined || list === null) {
    return [];
  }
  if (!Array.isArray(list)) {
    warn(`${name} must be an array of strings; ignored`);
    return [];
  }
  return list.filter((item, i) => {
    if (typeof item !== 'string' || item === '') {
      warn(`${name}[${i}] must be a non-empty string; ignored`);
      return false;
    }
    return true;
  });
}

/** Validates a raw configuration value; always returns a complete config. */
export function readConfig(raw) {
  let source = raw;
  if (!isObject(source)) {
    if (source !== undefined && source !== null) {
      warn(`the configuration must be a JSON object, got ${JSON.stringify(source)}; using defaults`);
    }
    source = {};
  }
  let type = optional(source, 'type', 'string', '', 'datasource');
  if (type !== 'datasource' && type !== 'app') {
    warn(`type must be "datasource" or "app", got ${JSON.stringify(type)}; using "datasource"`);
    type = 'datasource';
  }
  let query = { default: {}, help: '' };
  if (source.query !== undefined && source.query !== null) {
    if (!isObject(source.query)) {
      warn('query must be an object; ignored');
    } else {
      if (source.query.default !== undefined && source.query.default !== null) {
        if (isObject(source.query.default)) {
          query.default = source.query.default;
        } else {
          warn('query.default must be a JSON object; ignored');
        }
      }
      query.help = optional(source.query, 'help', 'string', 'query.', '');
    }
  }
  return {
    type,
    http: optional(source, 'http', 'boolean', '', true),
    defaultUrl: optional(source, 'defaultUrl', 'string', '', DEFAULT_URL),
    jsonData: readFields(source.jsonData, 'jsonData', false),
    secureJsonData: readFields(source.secureJsonData, 'secureJsonData', true),
    query,
    resources: readStringList(source.resources, 'resources'),
  };
}

let cached;

/** The validated configuration baked into this module.js. */
export function getConfig() {
  if (!cached) {
    cached = readConfig(typeof __GRAFANA_WASM_EDITORS__ === 'undefined' ? undefined : __GRAFANA_WASM_EDITORS__);
  }
  return cached;
}

/** A deep copy of a JSON value, so that callers can never mutate the config. */
export function cloneJson(value) {
  return JSON.parse(JSON.stringify(value));
}
