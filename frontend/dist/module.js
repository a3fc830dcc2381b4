/* grafana-wasm generic plugin frontend 0.1.0. Built by frontend/build.mjs: do not edit. */
/* An AMD module for Grafana's plugin loader, as @grafana/create-plugin builds it. */
define(["@grafana/data","@grafana/runtime","@grafana/ui","react"], function (__grafanaWasmDep0, __grafanaWasmDep1, __grafanaWasmDep2, __grafanaWasmDep3) {
"use strict";
/* The per-plugin configuration, baked in by the grafana-wasm packager. */
var __GRAFANA_WASM_EDITORS__ = /*grafana-wasm:editors*/{}/*grafana-wasm:end*/;
var __grafanaWasmDeps = {
  "@grafana/data": __grafanaWasmDep0,
  "@grafana/runtime": __grafanaWasmDep1,
  "@grafana/ui": __grafanaWasmDep2,
  "react": __grafanaWasmDep3
};
function require(name) {
  if (Object.prototype.hasOwnProperty.call(__grafanaWasmDeps, name)) {
    return __grafanaWasmDeps[name];
  }
  throw new Error("grafana-wasm module.js: no shared module " + name);
}
var module = { exports: {} };
var exports = module.exports;
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));
var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

// src/module.js
var module_exports = {};
__export(module_exports, {
  plugin: () => plugin
});
module.exports = __toCommonJS(module_exports);
var import_data = require("@grafana/data");

// src/AppRootPage.jsx
var React = __toESM(require("react"), 1);
var import_ui = require("@grafana/ui");
var import_runtime = require("@grafana/runtime");

// src/config.js
var PREFIX = "grafana-wasm frontend config: ";
var FIELD_TYPES = ["string", "number", "boolean"];
var DEFAULT_URL = "http://localhost:8080";
function warn(message) {
  console.warn(PREFIX + message);
}
function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
function optional(source, key, type, path, fallback) {
  if (!(key in source) || source[key] === void 0 || source[key] === null) {
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
  if (list === void 0 || list === null) {
    return [];
  }
  if (!Array.isArray(list)) {
    warn(`${name} must be an array; ignored`);
    return [];
  }
  const out = [];
  const seen = /* @__PURE__ */ new Set();
  list.forEach((item, i) => {
    const path = `${name}[${i}].`;
    if (!isObject(item)) {
      warn(`${name}[${i}] must be an object; ignored`);
      return;
    }
    const key = optional(item, "key", "string", path, "");
    if (key === "") {
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
      label: optional(item, "label", "string", path, key),
      placeholder: optional(item, "placeholder", "string", path, ""),
      description: optional(item, "description", "string", path, ""),
      required: optional(item, "required", "boolean", path, false),
      type: "string"
    };
    if (!secure) {
      const type = optional(item, "type", "string", path, "string");
      if (FIELD_TYPES.indexOf(type) < 0) {
        warn(`${path}type must be one of ${FIELD_TYPES.join(", ")}, got ${JSON.stringify(type)}; using "string"`);
      } else {
        field.type = type;
      }
    }
    out.push(field);
  });
  return out;
}
function readStringList(list, name) {
  if (list === void 0 || list === null) {
    return [];
  }
  if (!Array.isArray(list)) {
    warn(`${name} must be an array of strings; ignored`);
    return [];
  }
  return list.filter((item, i) => {
    if (typeof item !== "string" || item === "") {
      warn(`${name}[${i}] must be a non-empty string; ignored`);
      return false;
    }
    return true;
  });
}
function readConfig(raw) {
  let source = raw;
  if (!isObject(source)) {
    if (source !== void 0 && source !== null) {
      warn(`the configuration must be a JSON object, got ${JSON.stringify(source)}; using defaults`);
    }
    source = {};
  }
  let type = optional(source, "type", "string", "", "datasource");
  if (type !== "datasource" && type !== "app") {
    warn(`type must be "datasource" or "app", got ${JSON.stringify(type)}; using "datasource"`);
    type = "datasource";
  }
  let query = { default: {}, help: "" };
  if (source.query !== void 0 && source.query !== null) {
    if (!isObject(source.query)) {
      warn("query must be an object; ignored");
    } else {
      if (source.query.default !== void 0 && source.query.default !== null) {
        if (isObject(source.query.default)) {
          query.default = source.query.default;
        } else {
          warn("query.default must be a JSON object; ignored");
        }
      }
      query.help = optional(source.query, "help", "string", "query.", "");
    }
  }
  return {
    type,
    http: optional(source, "http", "boolean", "", true),
    defaultUrl: optional(source, "defaultUrl", "string", "", DEFAULT_URL),
    jsonData: readFields(source.jsonData, "jsonData", false),
    secureJsonData: readFields(source.secureJsonData, "secureJsonData", true),
    query,
    resources: readStringList(source.resources, "resources")
  };
}
var cached;
function getConfig() {
  if (!cached) {
    cached = readConfig(typeof __GRAFANA_WASM_EDITORS__ === "undefined" ? void 0 : __GRAFANA_WASM_EDITORS__);
  }
  return cached;
}
function cloneJson(value) {
  return JSON.parse(JSON.stringify(value));
}

// src/AppRootPage.jsx
function AppRootPage(props) {
  const meta = props.meta || {};
  const id = meta.id || "";
  const name = meta.name || id || "This app";
  const resources = getConfig().resources;
  const base = (import_runtime.config.appSubUrl || "") + "/api/plugins/" + encodeURIComponent(id);
  const [health, setHealth] = React.useState({ state: "loading" });
  React.useEffect(() => {
    let live = true;
    if (!id) {
      setHealth({ state: "error", message: "the plugin id is unknown" });
      return void 0;
    }
    Promise.resolve().then(() => (0, import_runtime.getBackendSrv)().get("/api/plugins/" + encodeURIComponent(id) + "/health", void 0, void 0, {
      showErrorAlert: false
    })).then(
      (result) => live && setHealth({ state: "ok", message: result && result.message || "OK" }),
      (err) => {
        const data = err && err.data;
        const message = data && (data.message || data.error) || err && (err.statusText || err.message) || String(err);
        if (live) {
          setHealth({ state: "error", message });
        }
      }
    );
    return () => {
      live = false;
    };
  }, [id]);
  return /* @__PURE__ */ React.createElement("div", { "data-testid": "grafana-wasm-app-root", style: { padding: 16 } }, /* @__PURE__ */ React.createElement("h2", null, name), /* @__PURE__ */ React.createElement("p", null, "This app's backend is running as a sandboxed WebAssembly component."), health.state === "loading" && /* @__PURE__ */ React.createElement("p", { "data-testid": "grafana-wasm-app-health" }, "Checking the backend…"), health.state === "ok" && /* @__PURE__ */ React.createElement(import_ui.Alert, { severity: "success", title: "Backend health", "data-testid": "grafana-wasm-app-health" }, health.message), health.state === "error" && /* @__PURE__ */ React.createElement(import_ui.Alert, { severity: "warning", title: "Backend health check failed", "data-testid": "grafana-wasm-app-health" }, health.message), resources.length > 0 && /* @__PURE__ */ React.createElement("section", { "data-testid": "grafana-wasm-app-resources" }, /* @__PURE__ */ React.createElement("h3", null, "Resources"), /* @__PURE__ */ React.createElement("ul", null, resources.map((path) => /* @__PURE__ */ React.createElement("li", { key: path }, /* @__PURE__ */ React.createElement("a", { href: base + "/resources/" + path.replace(/^\/+/, ""), target: "_blank", rel: "noreferrer" }, path))))));
}

// src/ConfigEditor.jsx
var React2 = __toESM(require("react"), 1);
var import_ui2 = require("@grafana/ui");
var LABEL_WIDTH = 20;
var INPUT_WIDTH = 40;
function ConfigEditor(props) {
  const { options, onOptionsChange } = props;
  const config = getConfig();
  const jsonData = options.jsonData || {};
  const secureJsonData = options.secureJsonData || {};
  const secureJsonFields = options.secureJsonFields || {};
  const setJsonData = (key, value) => {
    const next = { ...jsonData };
    if (value === void 0) {
      delete next[key];
    } else {
      next[key] = value;
    }
    onOptionsChange({ ...options, jsonData: next });
  };
  const setSecret = (key, value) => {
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, [key]: value } });
  };
  const resetSecret = (key) => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, [key]: false },
      secureJsonData: { ...secureJsonData, [key]: "" }
    });
  };
  const httpOptions = options.access ? { ...options, jsonData } : { ...options, jsonData, access: "proxy" };
  const hasOwnFields = config.jsonData.length > 0 || config.secureJsonData.length > 0;
  return /* @__PURE__ */ React2.createElement("div", { "data-testid": "grafana-wasm-config-editor" }, config.http && /* @__PURE__ */ React2.createElement(
    import_ui2.DataSourceHttpSettings,
    {
      defaultUrl: config.defaultUrl,
      dataSourceConfig: httpOptions,
      onChange: onOptionsChange,
      showAccessOptions: false
    }
  ), hasOwnFields && /* @__PURE__ */ React2.createElement("section", { style: { marginTop: config.http ? 32 : 0 } }, /* @__PURE__ */ React2.createElement("h3", { className: "page-heading" }, "Plugin settings"), config.jsonData.map((field) => /* @__PURE__ */ React2.createElement(
    import_ui2.InlineField,
    {
      key: "jsonData." + field.key,
      label: field.label,
      labelWidth: LABEL_WIDTH,
      tooltip: field.description || void 0,
      required: field.required,
      htmlFor: "config-editor-" + field.key
    },
    renderJsonField(field, jsonData[field.key], (value) => setJsonData(field.key, value))
  )), config.secureJsonData.map((field) => /* @__PURE__ */ React2.createElement(
    import_ui2.InlineField,
    {
      key: "secureJsonData." + field.key,
      label: field.label,
      labelWidth: LABEL_WIDTH,
      tooltip: field.description || void 0,
      required: field.required,
      htmlFor: "config-editor-secure-" + field.key
    },
    /* @__PURE__ */ React2.createElement(
      import_ui2.SecretInput,
      {
        id: "config-editor-secure-" + field.key,
        isConfigured: Boolean(secureJsonFields[field.key]),
        value: secureJsonData[field.key] || "",
        placeholder: field.placeholder,
        width: INPUT_WIDTH,
        onReset: () => resetSecret(field.key),
        onChange: (event) => setSecret(field.key, event.currentTarget.value)
      }
    )
  ))));
}
function renderJsonField(field, value, set) {
  const id = "config-editor-" + field.key;
  if (field.type === "boolean") {
    return /* @__PURE__ */ React2.createElement(import_ui2.InlineSwitch, { id, value: value === true, onChange: (event) => set(event.currentTarget.checked) });
  }
  if (field.type === "number") {
    return /* @__PURE__ */ React2.createElement(
      import_ui2.Input,
      {
        id,
        type: "number",
        width: INPUT_WIDTH,
        placeholder: field.placeholder,
        value: typeof value === "number" || typeof value === "string" ? value : "",
        onChange: (event) => {
          const text = event.currentTarget.value;
          const number = Number(text);
          set(text.trim() === "" || !Number.isFinite(number) ? void 0 : number);
        }
      }
    );
  }
  return /* @__PURE__ */ React2.createElement(
    import_ui2.Input,
    {
      id,
      width: INPUT_WIDTH,
      placeholder: field.placeholder,
      value: value === void 0 || value === null ? "" : String(value),
      onChange: (event) => set(event.currentTarget.value)
    }
  );
}

// src/datasource.js
var import_runtime2 = require("@grafana/runtime");
var DataSource = class extends import_runtime2.DataSourceWithBackend {
  getDefaultQuery(_app) {
    return cloneJson(getConfig().query.default);
  }
};

// src/QueryEditor.jsx
var React3 = __toESM(require("react"), 1);
var import_ui3 = require("@grafana/ui");
var KEPT = ["refId", "datasource"];
function editable(query) {
  const out = {};
  Object.keys(query || {}).forEach((key) => {
    if (KEPT.indexOf(key) < 0 && query[key] !== void 0) {
      out[key] = query[key];
    }
  });
  return out;
}
function pretty(value) {
  return JSON.stringify(value, null, 2);
}
function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}
function parseQueryText(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: "Invalid JSON: " + (e && e.message ? e.message : String(e)) };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { error: 'The query must be a JSON object, like {"key": "value"}.' };
  }
  return { value };
}
function QueryEditor(props) {
  const { query, onChange, onRunQuery } = props;
  const config = getConfig();
  const current = editable(query);
  const isNew = Object.keys(current).length === 0;
  const defaults = config.query.default;
  const hasDefaults = Object.keys(defaults).length > 0;
  const shown = isNew && hasDefaults ? defaults : current;
  const [text, setText] = React3.useState(() => pretty(shown));
  const [error, setError] = React3.useState("");
  React3.useEffect(() => {
    if (isNew && hasDefaults) {
      onChange({ ...cloneJson(defaults), refId: query.refId, datasource: query.datasource });
    }
  }, [isNew]);
  React3.useEffect(() => {
    const parsed = parseQueryText(text);
    if (!(parsed.value && sameJson(parsed.value, shown))) {
      setText(pretty(shown));
      setError("");
    }
  }, [JSON.stringify(shown)]);
  const onBlur = () => {
    const parsed = parseQueryText(text);
    if (parsed.error) {
      setError(parsed.error);
      return;
    }
    setError("");
    if (sameJson(parsed.value, current)) {
      return;
    }
    onChange({ ...parsed.value, refId: query.refId, datasource: query.datasource });
    onRunQuery();
  };
  return /* @__PURE__ */ React3.createElement("div", { "data-testid": "grafana-wasm-query-editor" }, config.query.help && /* @__PURE__ */ React3.createElement("p", { "data-testid": "grafana-wasm-query-help", style: { whiteSpace: "pre-wrap" } }, config.query.help), /* @__PURE__ */ React3.createElement(
    import_ui3.TextArea,
    {
      id: "query-editor-json-" + query.refId,
      "aria-label": "Query JSON",
      "data-testid": "grafana-wasm-query-json",
      rows: Math.min(20, Math.max(4, text.split("\n").length + 1)),
      spellCheck: false,
      style: { fontFamily: "monospace" },
      value: text,
      invalid: Boolean(error),
      onChange: (event) => setText(event.currentTarget.value),
      onBlur
    }
  ), error && /* @__PURE__ */ React3.createElement(import_ui3.Alert, { severity: "error", title: "The query was not applied", "data-testid": "grafana-wasm-query-error" }, error));
}

// src/module.js
function createPlugin() {
  if (getConfig().type === "app") {
    return new import_data.AppPlugin().setRootPage(AppRootPage);
  }
  return new import_data.DataSourcePlugin(DataSource).setConfigEditor(ConfigEditor).setQueryEditor(QueryEditor);
}
var plugin = createPlugin();
return module.exports;
});
