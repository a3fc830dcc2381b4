// Browser test of the generic frontend: the committed dist/module.js, loaded
// the way Grafana loads plugins, against the real @grafana/* packages and
// React, in headless Chromium, driven by real typing and clicking.
//
//   npm ci && node test/run.mjs
//
// Environment:
//   CHROMIUM         the browser binary (default /usr/bin/chromium)
//   EDITOR_OUTPUT    write {"settings": {...}, "query": {...}} there: what the
//                    editors produced, as Grafana would save and send it
//   EDITOR_URL       the URL typed into the HTTP settings (default http://127.0.0.1:8080)
//   EDITOR_QUERY     the query JSON typed into the query editor (default {"path": "/metrics"})
//   EDITOR_SCREENSHOTS  a directory: save a PNG of each page there
//   DEBUG_CONSOLE    print where each unexpected console.error came from
//
// Prints one line per check and ends with "N passed, M failed"; the exit code
// is 0 only when every check passed.

import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';

import { buildModule, PLACEHOLDER } from '../build.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TYPED_URL = process.env.EDITOR_URL || 'http://127.0.0.1:8080';
const TYPED_QUERY = process.env.EDITOR_QUERY || '{"path": "/metrics"}';
const SCREENSHOTS = process.env.EDITOR_SCREENSHOTS || '';
const STARTED = Date.now();

// ---------------------------------------------------------------- checks

let passed = 0;
let failed = 0;

function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail === undefined ? '' : ': ' + (typeof detail === 'string' ? detail : JSON.stringify(detail))}`);
  }
  return ok;
}

function finish(extra) {
  if (extra) {
    console.log(extra);
  }
  console.log(`${passed} passed, ${failed} failed (${((Date.now() - STARTED) / 1000).toFixed(1)}s)`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

// ------------------------------------------------------- configurations

const PLUGIN_ID = 'grafana-wasm-test-datasource';

// The datasource configuration the packager would bake in: one field of each
// kind. The keys match example-plugins/http-json (healthPath, query "path"),
// so that the Rust test can feed the recorded output to that backend.
const DS_CONFIG = {
  type: 'datasource',
  http: true,
  defaultUrl: 'http://localhost:9999',
  jsonData: [
    { key: 'healthPath', label: 'Health path', type: 'string', placeholder: '/', description: 'Path that CheckHealth GETs', required: true },
    { key: 'maxRows', label: 'Max rows', type: 'number', placeholder: '1000' },
    { key: 'verbose', label: 'Verbose', type: 'boolean', description: 'Log every request' },
  ],
  secureJsonData: [{ key: 'apiKey', label: 'API key', description: 'Sent to the API', placeholder: 'key' }],
  query: { default: { path: '/items', limit: 10 }, help: 'The query is a JSON object: {"path": "/under/the/url"}.' },
};

const APP_CONFIG = { type: 'app', resources: ['greeting', 'settings'] };

// Wrong types everywhere: must warn, never crash.
const BAD_CONFIG = {
  type: 5,
  http: 'yes',
  defaultUrl: ['x'],
  jsonData: [{ key: 3 }, { key: 'ok', type: 'date', label: 'Fallback field' }, 'x', { label: 'no key' }],
  secureJsonData: { apiKey: true },
  query: { default: [1, 2], help: 7 },
  somethingNew: { ignored: true },
};

const CONFIGS = { ds: DS_CONFIG, app: APP_CONFIG, bad: BAD_CONFIG };

// Exactly what the Rust packager does: replace the {} between the markers.
function bake(moduleText, config) {
  const start = '/*grafana-wasm:editors*/';
  const end = '/*grafana-wasm:end*/';
  const i = moduleText.indexOf(PLACEHOLDER);
  if (i < 0) {
    throw new Error('dist/module.js has no placeholder');
  }
  return moduleText.slice(0, i) + start + JSON.stringify(config) + end + moduleText.slice(i + PLACEHOLDER.length);
}

// ------------------------------------------------------------ the server

const MIME = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.svg': 'image/svg+xml', '.map': 'application/json' };

function startServer(harnessDir, moduleText) {
  // Grafana's index.html sets grafanaBootData before any of its code runs.
  const bootData = {
    assets: { dark: '', light: '' },
    settings: {
      appUrl: 'http://127.0.0.1/',
      appSubUrl: '',
      buildInfo: { version: '13.2.3', commit: 'test', env: 'production' },
      featureToggles: {},
      datasources: {},
      panels: {},
      apps: {},
    },
    user: { id: 1, login: 'admin', name: 'admin', orgId: 1, orgRole: 'Admin', isSignedIn: true, theme: 'dark', timezone: 'utc', locale: 'en-US', language: 'en-US' },
    navTree: [],
  };
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>grafana-wasm frontend test</title>
<script>window.grafanaBootData = ${JSON.stringify(bootData)};</script></head>
<body class="theme-dark"><div id="root"></div><script type="module" src="/harness/harness.js"></script></body></html>`;
  // Grafana serves @grafana/ui's icons under public/build/img/.
  const icons = join(ROOT, 'node_modules', '@grafana', 'ui', 'dist', 'public', 'img');
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (url.pathname === '/' || url.pathname === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(html);
        return;
      }
      if (url.pathname === '/module.js') {
        const cfg = url.searchParams.get('cfg') || '';
        const body = cfg === 'none' ? moduleText : bake(moduleText, CONFIGS[cfg]);
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(body);
        return;
      }
      const served = [
        ['/harness/', harnessDir],
        ['/public/build/img/', icons],
      ].find(([prefix]) => url.pathname.startsWith(prefix));
      if (served) {
        const [prefix, dir] = served;
        const file = normalize(join(dir, decodeURIComponent(url.pathname.slice(prefix.length))));
        if (!file.startsWith(dir)) {
          throw new Error('outside');
        }
        const data = readFileSync(file);
        res.writeHead(200, { 'content-type': MIME[extname(file)] || 'application/octet-stream' });
        res.end(data);
        return;
      }
      res.writeHead(404);
      res.end('not found');
    } catch (err) {
      res.writeHead(404);
      res.end(String(err));
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ------------------------------------------------------------ page helpers

// Console errors that are not failures of the code under test. Each entry
// says why; anything else printed with console.error fails the run.
const HARMLESS_CONSOLE_ERRORS = [
  // The harness serves no favicon.
  /Failed to load resource: the server responded with a status of 404 \(Not Found\)/,
];

async function openPage(browser, origin, label) {
  const page = await browser.newPage();
  const problems = [];
  const warnings = [];
  // Console errors expected from Grafana's own components at a given step
  // (React development-build warnings); see allowConsoleError().
  const allowed = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err && err.stack ? err.stack : err}`));
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' && !HARMLESS_CONSOLE_ERRORS.some((re) => re.test(text))) {
      const expected = allowed.find((a) => !a.seen && a.re.test(text));
      if (expected) {
        expected.seen = true;
        console.log(`# allowed console.error: ${text.slice(0, 90)}... (${expected.why})`);
        return;
      }
      problems.push(`console.error: ${text}`);
      if (process.env.DEBUG_CONSOLE) console.log('# console.error', text.slice(0, 80), JSON.stringify(msg.stackTrace().slice(0, 14).map((f) => (f.url || '').split('/').pop() + ':' + f.lineNumber)));
    } else if (msg.type() === 'warn' || msg.type() === 'warning') {
      warnings.push(text);
    }
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure() && req.failure().errorText}`));
  await page.setViewport({ width: 1280, height: 1800 });
  await page.goto(origin + '/', { waitUntil: 'load' });
  await page.waitForFunction(() => window.__harnessReady === true, { timeout: 30000 });
  return {
    page,
    label,
    problems,
    warnings,
    h: (fn, ...args) => page.evaluate(fn, ...args),
    // Lets one console.error matching re through, during the next step only.
    allowConsoleError(re, why) {
      const entry = { re, why, seen: false };
      allowed.push(entry);
      return () => allowed.splice(allowed.indexOf(entry), 1);
    },
    state: () => page.evaluate(() => window.__h.state()),
    async shot(name) {
      if (SCREENSHOTS) {
        mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
      }
    },
  };
}

function checkClean(p, what) {
  return p.state().then((s) => {
    const all = [...p.problems, ...s.errors];
    return check(`${what}: no page errors, console errors or error boundaries`, all.length === 0, all.slice(0, 5).join(' | '));
  });
}

// Waits until the harness state satisfies pred; returns the state.
async function until(p, pred, ms = 5000) {
  const deadline = Date.now() + ms;
  let s;
  for (;;) {
    s = await p.state();
    try {
      if (pred(s)) {
        return s;
      }
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) {
      return s;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function exists(page, selector, ms = 5000) {
  try {
    await page.waitForSelector(selector, { timeout: ms });
    return true;
  } catch {
    return false;
  }
}

async function clearAndType(page, selector, text) {
  await page.click(selector, { clickCount: 3 });
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  await page.type(selector, text);
}

// Clicks the visible label of a Grafana Switch/InlineSwitch (its input is hidden under it).
async function clickSwitch(page, id) {
  await page.click(`label[for="${id}"]`);
}

const URL_INPUT = '[data-testid="data-testid Datasource HTTP settings url"]';

// --------------------------------------------------------------- scenarios

async function datasourceScenario(browser, origin, output) {
  const p = await openPage(browser, origin, 'datasource');
  const { page } = p;

  const info = await p.h(() => window.__h.load('ds'));
  check('module.js is an AMD module over Grafana shared modules only', info.deps.length > 0 && info.deps.every((d) => ['react', '@grafana/data', '@grafana/ui', '@grafana/runtime'].includes(d)), info.deps);
  check('module.js exports plugin', info.exports.includes('plugin'), info.exports);
  check('plugin is a DataSourcePlugin', info.isDataSourcePlugin);
  check('its DataSource extends DataSourceWithBackend', info.dataSourceExtendsWithBackend);
  check('it has a ConfigEditor and a QueryEditor', info.hasConfigEditor && info.hasQueryEditor, info);

  // ----- settings page, as for a datasource just added in Grafana
  const initial = {
    id: 7,
    uid: 'test-ds-uid',
    orgId: 1,
    name: 'Test datasource',
    type: PLUGIN_ID,
    typeName: 'Test datasource',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    jsonData: {},
    secureJsonFields: {},
    readOnly: false,
    withCredentials: false,
    version: 1,
  };
  await p.h((o) => window.__h.mountSettings(o), initial);
  check('ConfigEditor renders the HTTP URL input', await exists(page, URL_INPUT));
  const placeholder = await page.$eval(URL_INPUT, (el) => el.getAttribute('placeholder')).catch(() => null);
  check('URL input suggests defaultUrl', placeholder === DS_CONFIG.defaultUrl, placeholder);
  check('ConfigEditor renders basic auth, TLS and header settings', (await exists(page, '#http-settings-basic-auth')) && (await exists(page, '#http-settings-skip-tls-verify')) && (await exists(page, 'xpath/.//button[contains(., "Add header")]')));
  const fieldsShown =
    (await exists(page, '#config-editor-healthPath')) &&
    (await exists(page, '#config-editor-maxRows[type="number"]')) &&
    (await exists(page, '#config-editor-verbose[type="checkbox"]')) &&
    (await exists(page, '#config-editor-secure-apiKey[type="password"]'));
  check('ConfigEditor renders the plugin fields (string, number, boolean, secret)', fieldsShown);
  const labels = await page.$$eval('label', (ls) => ls.map((l) => l.textContent.trim()));
  check('plugin fields carry their labels', ['Health path', 'Max rows', 'Verbose', 'API key'].every((l) => labels.some((t) => t.startsWith(l))), labels);
  const ph = await page.$eval('#config-editor-healthPath', (el) => el.getAttribute('placeholder')).catch(() => null);
  check('plugin field placeholder', ph === '/', ph);

  await page.type(URL_INPUT, TYPED_URL);
  let s = await until(p, (st) => st.options.url === TYPED_URL);
  check('typing a URL yields options.url', s.options && s.options.url === TYPED_URL, s.options && s.options.url);

  await clickSwitch(page, 'http-settings-basic-auth');
  s = await until(p, (st) => st.options.basicAuth === true);
  check('enabling basic auth yields basicAuth: true', s.options.basicAuth === true, s.options.basicAuth);
  const userSel = 'input[placeholder="user"]';
  const passSel = 'input[placeholder="Password"]';
  check('basic auth user and password inputs appear', (await exists(page, userSel)) && (await exists(page, passSel)));
  await page.type(userSel, 'alice');
  await page.type(passSel, 's3cret-pw');
  s = await until(p, (st) => st.options.basicAuthUser === 'alice' && st.options.secureJsonData.basicAuthPassword === 's3cret-pw');
  check('typing user/password yields basicAuthUser and secureJsonData.basicAuthPassword', s.options.basicAuthUser === 'alice' && s.options.secureJsonData && s.options.secureJsonData.basicAuthPassword === 's3cret-pw', { basicAuthUser: s.options.basicAuthUser, secureJsonData: s.options.secureJsonData });

  await clickSwitch(page, 'http-settings-skip-tls-verify');
  s = await until(p, (st) => st.options.jsonData.tlsSkipVerify === true);
  const skipOn = s.options.jsonData.tlsSkipVerify === true;
  await clickSwitch(page, 'http-settings-skip-tls-verify');
  s = await until(p, (st) => st.options.jsonData.tlsSkipVerify === false);
  check('Skip TLS Verify toggles jsonData.tlsSkipVerify', skipOn && s.options.jsonData.tlsSkipVerify === false, s.options.jsonData);

  await clickSwitch(page, 'http-settings-tls-client-auth');
  const tlsShown = (await exists(page, 'textarea[placeholder^="Begins with"]')) || (await exists(page, 'xpath/.//label[contains(., "Client Cert")]'));
  s = await until(p, (st) => st.options.jsonData.tlsAuth === true);
  check('TLS Client Auth yields jsonData.tlsAuth and shows the certificate fields', s.options.jsonData.tlsAuth === true && tlsShown, s.options.jsonData);
  await clickSwitch(page, 'http-settings-tls-client-auth');
  s = await until(p, (st) => st.options.jsonData.tlsAuth === false);

  const timeoutSel = 'input[placeholder="Timeout in seconds"]';
  if (check('the timeout input is shown', await exists(page, timeoutSel))) {
    // Grafana's DataSourceHttpSettings renders its timeout <Input> with
    // value={jsonData.timeout}, undefined until set, so React's development
    // build warns once when the first digit is typed. That is @grafana/ui's
    // code (Grafana runs React's production build, which does not warn).
    const done = p.allowConsoleError(/changing an uncontrolled input to be controlled/, "@grafana/ui's timeout input starts uncontrolled");
    await page.type(timeoutSel, '30');
    s = await until(p, (st) => st.options.jsonData.timeout === 30);
    done();
    check('typing a timeout yields jsonData.timeout as a number', s.options.jsonData.timeout === 30, s.options.jsonData.timeout);
  }

  const [addHeader] = await page.$$('xpath/.//button[contains(., "Add header")]');
  if (check('the Add header button is shown', !!addHeader)) {
    await addHeader.click();
    const nameSel = 'input[placeholder="X-Custom-Header"]';
    const valueSel = 'input[placeholder="Header Value"]';
    if (check('a custom header row appears', (await exists(page, nameSel)) && (await exists(page, valueSel)))) {
      await page.type(nameSel, 'X-Test-Header');
      await page.keyboard.press('Tab');
      await page.type(valueSel, 'header-value-1');
      await page.keyboard.press('Tab');
      s = await until(p, (st) => st.options.jsonData.httpHeaderName1 === 'X-Test-Header' && st.options.secureJsonData.httpHeaderValue1 === 'header-value-1');
      check('a custom header yields jsonData.httpHeaderName1 and secureJsonData.httpHeaderValue1', s.options.jsonData.httpHeaderName1 === 'X-Test-Header' && s.options.secureJsonData.httpHeaderValue1 === 'header-value-1', { jsonData: s.options.jsonData, secureJsonData: s.options.secureJsonData });
    }
  }

  await page.type('#config-editor-healthPath', '/health');
  s = await until(p, (st) => st.options.jsonData.healthPath === '/health');
  check('typing the string field yields jsonData.healthPath as a string', s.options.jsonData.healthPath === '/health', s.options.jsonData.healthPath);

  await page.type('#config-editor-maxRows', '250');
  s = await until(p, (st) => st.options.jsonData.maxRows === 250);
  check('typing the number field yields jsonData.maxRows as a number', s.options.jsonData.maxRows === 250 && typeof s.options.jsonData.maxRows === 'number', s.options.jsonData.maxRows);
  await clearAndType(page, '#config-editor-maxRows', '');
  s = await until(p, (st) => !('maxRows' in st.options.jsonData));
  check('clearing the number field removes jsonData.maxRows', !('maxRows' in s.options.jsonData), s.options.jsonData.maxRows);
  await page.type('#config-editor-maxRows', '-12.5');
  s = await until(p, (st) => st.options.jsonData.maxRows === -12.5);
  check('negative decimals are typed into the number field', s.options.jsonData.maxRows === -12.5, s.options.jsonData.maxRows);
  await clearAndType(page, '#config-editor-maxRows', '250');
  s = await until(p, (st) => st.options.jsonData.maxRows === 250);

  await clickSwitch(page, 'config-editor-verbose');
  s = await until(p, (st) => st.options.jsonData.verbose === true);
  check('switching the boolean field yields jsonData.verbose: true', s.options.jsonData.verbose === true, s.options.jsonData.verbose);
  await clickSwitch(page, 'config-editor-verbose');
  s = await until(p, (st) => st.options.jsonData.verbose === false);
  const off = s.options.jsonData.verbose === false;
  await clickSwitch(page, 'config-editor-verbose');
  s = await until(p, (st) => st.options.jsonData.verbose === true);
  check('switching it again yields false, then true', off && s.options.jsonData.verbose === true);

  await page.type('#config-editor-secure-apiKey', 'key-123');
  s = await until(p, (st) => st.options.secureJsonData.apiKey === 'key-123');
  check('typing the secret yields secureJsonData.apiKey', s.options.secureJsonData.apiKey === 'key-123', s.options.secureJsonData);

  const o = s.options;
  const kept =
    o.id === initial.id && o.uid === initial.uid && o.name === initial.name && o.type === initial.type &&
    o.url === TYPED_URL && o.basicAuth === true && o.basicAuthUser === 'alice' && o.access === 'proxy' &&
    o.secureJsonData.basicAuthPassword === 's3cret-pw' && o.secureJsonData.httpHeaderValue1 === 'header-value-1' &&
    o.jsonData.httpHeaderName1 === 'X-Test-Header' && o.jsonData.timeout === 30 && o.jsonData.healthPath === '/health';
  check('every change keeps all the other settings', kept, o);
  check('the settings page never shows a validation error for valid input', !(await page.$('[data-testid="data-testid Alert error"]')));
  await p.shot('datasource-settings');
  await checkClean(p, 'datasource settings page');

  output.settings = {
    url: o.url,
    access: o.access,
    basicAuth: o.basicAuth,
    basicAuthUser: o.basicAuthUser,
    jsonData: o.jsonData,
    secureJsonData: o.secureJsonData,
  };

  // ----- a datasource whose secret is already stored
  await p.h((o2) => window.__h.mountSettings(o2), {
    ...initial,
    url: TYPED_URL,
    jsonData: { healthPath: '/saved' },
    secureJsonFields: { apiKey: true },
  });
  const secretSel = '#config-editor-secure-apiKey';
  await exists(page, secretSel);
  const shown = await page.$eval(secretSel, (el) => ({ value: el.value, disabled: el.disabled, type: el.type })).catch(() => null);
  check('a stored secret shows as configured', !!shown && shown.value === 'configured' && shown.disabled, shown);
  const saved = await page.$eval('#config-editor-healthPath', (el) => el.value).catch(() => null);
  check('stored jsonData values are shown', saved === '/saved', saved);
  const reset = await page.evaluateHandle((sel) => {
    let el = document.querySelector(sel);
    for (let i = 0; el && i < 6; i++, el = el.parentElement) {
      const button = [...el.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Reset');
      if (button) {
        return button;
      }
    }
    return null;
  }, secretSel);
  const resetButton = reset.asElement();
  if (check('the stored secret has a Reset button', !!resetButton)) {
    await resetButton.click();
    s = await until(p, (st) => st.options.secureJsonFields.apiKey === false);
    check('Reset yields secureJsonFields.apiKey: false and secureJsonData.apiKey: ""', s.options.secureJsonFields.apiKey === false && s.options.secureJsonData.apiKey === '', { secureJsonFields: s.options.secureJsonFields, secureJsonData: s.options.secureJsonData });
    check('after Reset the secret can be typed again', await exists(page, secretSel + '[type="password"]:not([disabled])'));
    await page.type(secretSel, 'new-key');
    s = await until(p, (st) => st.options.secureJsonData.apiKey === 'new-key');
    check('typing the new secret yields secureJsonData.apiKey', s.options.secureJsonData.apiKey === 'new-key' && s.options.jsonData.healthPath === '/saved', s.options);
  }
  await checkClean(p, 'stored-secret settings page');

  // ----- query editor
  const def = await p.h(() => window.__h.defaultQuery());
  check('DataSource.getDefaultQuery returns the configured default', isDeepStrictEqual(def, DS_CONFIG.query.default), def);

  const dsRef = { type: PLUGIN_ID, uid: 'test-ds-uid' };
  const textSel = '[data-testid="grafana-wasm-query-json"]';
  const readText = () => page.$eval(textSel, (el) => el.value);

  // A new query as Grafana makes it: refId, datasource and getDefaultQuery().
  await p.h((q) => window.__h.mountQuery(q), { refId: 'A', datasource: dsRef, ...def });
  await exists(page, textSel);
  let text = await readText();
  check('QueryEditor starts from the default query (without refId and datasource)', isDeepStrictEqual(JSON.parse(text), DS_CONFIG.query.default), text);
  const help = await page.$eval('[data-testid="grafana-wasm-query-help"]', (el) => el.textContent).catch(() => null);
  check('QueryEditor shows the query help', help === DS_CONFIG.query.help, help);
  s = await p.state();
  check('an untouched query is not changed or run', s.queryCalls === 0 && s.runs === 0, s);

  // Valid JSON typed in.
  await clearAndType(page, textSel, TYPED_QUERY);
  await page.click('[data-testid="grafana-wasm-query-help"]'); // blur
  s = await until(p, (st) => st.queryCalls === 1 && st.runs === 1);
  const expected = { ...JSON.parse(TYPED_QUERY), refId: 'A', datasource: dsRef };
  check('valid JSON: onChange gets it with refId and datasource kept', s.queryCalls === 1 && isDeepStrictEqual(s.query, expected), s.query);
  check('valid JSON: onRunQuery is called', s.runs === 1, s.runs);
  check('valid JSON: no error shown', !(await page.$('[data-testid="grafana-wasm-query-error"]')));
  output.query = s.query;

  // A refId or datasource typed in is ignored.
  await clearAndType(page, textSel, '{"path": "/other", "refId": "Z", "datasource": {"uid": "x"}}');
  await page.click('[data-testid="grafana-wasm-query-help"]');
  s = await until(p, (st) => st.queryCalls === 2);
  check('refId and datasource typed in are replaced by the incoming ones', isDeepStrictEqual(s.query, { path: '/other', refId: 'A', datasource: dsRef }), s.query);

  // Invalid JSON: error, no onChange.
  const validBorder = await page.$eval(textSel, (el) => getComputedStyle(el).borderColor).catch(() => '');
  const before = await p.state();
  await clearAndType(page, textSel, '{"path": ');
  await page.click('[data-testid="grafana-wasm-query-help"]');
  const errShown = await exists(page, '[data-testid="grafana-wasm-query-error"]', 3000);
  const errText = errShown ? await page.$eval('[data-testid="grafana-wasm-query-error"]', (el) => el.textContent) : '';
  await new Promise((r) => setTimeout(r, 150));
  s = await p.state();
  check('invalid JSON shows an error', errShown && /Invalid JSON/.test(errText), errText);
  check('invalid JSON does not call onChange or onRunQuery', s.queryCalls === before.queryCalls && s.runs === before.runs, { before: before.queryCalls, after: s.queryCalls });
  const invalidBorder = await page.$eval(textSel, (el) => getComputedStyle(el).borderColor).catch(() => '');
  await p.shot('datasource-query-invalid');
  await clearAndType(page, textSel, '[1, 2]');
  await page.click('[data-testid="grafana-wasm-query-help"]');
  await new Promise((r) => setTimeout(r, 150));
  const errText2 = await page.$eval('[data-testid="grafana-wasm-query-error"]', (el) => el.textContent).catch(() => '');
  s = await p.state();
  check('JSON that is not an object shows an error and does not call onChange', /must be a JSON object/.test(errText2) && s.queryCalls === before.queryCalls, errText2);
  // Fixing it clears the error and applies.
  await clearAndType(page, textSel, TYPED_QUERY);
  await page.click('[data-testid="grafana-wasm-query-help"]');
  s = await until(p, (st) => st.queryCalls === before.queryCalls + 1);
  const cleared = !(await page.$('[data-testid="grafana-wasm-query-error"]'));
  check('fixing the JSON clears the error and applies it', cleared && isDeepStrictEqual(s.query, expected) && s.runs === before.runs + 1, { cleared, query: s.query });
  output.query = s.query;
  check('the text area is marked invalid while the error shows', validBorder !== '' && invalidBorder !== '' && invalidBorder !== validBorder, { validBorder, invalidBorder });
  await p.shot('datasource-query');

  // A query with nothing but Grafana's keys (e.g. from an older Grafana): the default is applied.
  await p.h((q) => window.__h.mountQuery(q), { refId: 'B', datasource: dsRef });
  await exists(page, textSel);
  s = await until(p, (st) => st.queryCalls >= 1);
  text = await readText();
  check('an empty query starts from the default, applied through onChange', isDeepStrictEqual(JSON.parse(text), DS_CONFIG.query.default) && isDeepStrictEqual(s.query, { ...DS_CONFIG.query.default, refId: 'B', datasource: dsRef }), { text, query: s.query });
  await checkClean(p, 'query editor');

  // ----- the DataSource as Grafana's query runner and "Save & test" use it
  const run = await p.h((q) => window.__h.runQuery(q), output.query);
  const post = run.requests.find((r) => r.method === 'POST' && /^\/api\/ds\/query/.test(r.url));
  const sent = post && post.data && post.data.queries && post.data.queries[0];
  check('DataSource.query POSTs the edited query to /api/ds/query', !!sent && Object.entries(JSON.parse(TYPED_QUERY)).every(([k, v]) => isDeepStrictEqual(sent[k], v)) && sent.refId === 'A' && sent.datasource && sent.datasource.uid === 'test-ds-uid', run);
  const health = await p.h(() => window.__h.testDatasource());
  check('testDatasource calls /api/datasources/uid/<uid>/health', health.requests.some((r) => r.url === '/api/datasources/uid/test-ds-uid/health') && health.result && health.result.status === 'success', health);
  await checkClean(p, 'datasource API');
  await page.close();
}

async function appScenario(browser, origin) {
  const p = await openPage(browser, origin, 'app');
  const { page } = p;
  const info = await p.h(() => window.__h.load('app'));
  check('app: plugin is an AppPlugin with a root page', info.isAppPlugin && info.hasRootPage, info);
  const meta = { id: 'grafana-wasm-test-app', name: 'Test app', type: 'app', enabled: true, jsonData: {}, info: { logos: {} } };
  await p.h((m) => window.__h.mountApp(m), meta);
  const rootShown = await exists(page, '[data-testid="grafana-wasm-app-root"]');
  const rootText = rootShown ? await page.$eval('[data-testid="grafana-wasm-app-root"]', (el) => el.textContent) : '';
  check('app: the root page renders and says the backend is running', rootShown && rootText.includes('Test app') && /backend is running/.test(rootText), rootText);
  await page.waitForFunction(() => /passed/.test((document.querySelector('[data-testid="grafana-wasm-app-health"]') || {}).textContent || ''), { timeout: 5000 }).catch(() => {});
  const s = await p.state();
  const healthText = await page.$eval('[data-testid="grafana-wasm-app-health"]', (el) => el.textContent).catch(() => '');
  check('app: the root page shows the backend health check result', s.backend.some((r) => r.url === '/api/plugins/grafana-wasm-test-app/health') && /Plugin health check passed/.test(healthText), healthText);
  const links = await page.$$eval('[data-testid="grafana-wasm-app-resources"] a', (as) => as.map((a) => a.getAttribute('href')));
  check('app: the root page lists the configured resources', isDeepStrictEqual(links, ['/api/plugins/grafana-wasm-test-app/resources/greeting', '/api/plugins/grafana-wasm-test-app/resources/settings']), links);
  await p.shot('app-root');
  await checkClean(p, 'app root page');
  await page.close();
}

async function robustnessScenario(browser, origin) {
  // Wrong types in the configuration: warnings, defaults, no crash.
  let p = await openPage(browser, origin, 'bad');
  let info = await p.h(() => window.__h.load('bad'));
  check('bad configuration: still a DataSourcePlugin', info.isDataSourcePlugin && info.hasConfigEditor, info);
  const warned = p.warnings.filter((w) => w.startsWith('grafana-wasm frontend config:'));
  check('bad configuration: each wrong value is reported with console.warn', warned.length >= 8, warned);
  await p.h(() => window.__h.mountSettings({ id: 1, uid: 'u', name: 'n', type: 't', access: 'proxy', url: '', basicAuth: false, jsonData: {}, secureJsonFields: {} }));
  const ok = (await exists(p.page, URL_INPUT)) && (await exists(p.page, '#config-editor-ok'));
  check('bad configuration: the settings page renders with the valid parts', ok);
  await p.h(() => window.__h.mountQuery({ refId: 'A' }));
  check('bad configuration: the query editor renders', await exists(p.page, '[data-testid="grafana-wasm-query-json"]'));
  await checkClean(p, 'bad configuration');
  await p.page.close();

  // The placeholder left as is ({}): all defaults; no access mode set.
  p = await openPage(browser, origin, 'none');
  info = await p.h(() => window.__h.load('none'));
  check('unconfigured module.js: a DataSourcePlugin', info.isDataSourcePlugin && info.dataSourceExtendsWithBackend, info);
  await p.h(() => window.__h.mountSettings({ id: 1, uid: 'u', name: 'n', type: 't', url: '', jsonData: {}, secureJsonFields: {} }));
  check('unconfigured module.js: HTTP settings with their proxy-mode options', (await exists(p.page, URL_INPUT)) && (await exists(p.page, 'input[placeholder="Timeout in seconds"]')));
  await p.page.type(URL_INPUT, 'http://example.test');
  const s = await until(p, (st) => st.options.url === 'http://example.test');
  check('unconfigured module.js: a change stores access "proxy"', s.options && s.options.access === 'proxy' && s.options.url === 'http://example.test', s.options);
  await checkClean(p, 'unconfigured module.js');
  await p.page.close();
}

// ------------------------------------------------------------------- main

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'grafana-wasm-frontend-test-'));
  let server;
  let browser;
  try {
    // 1. dist/module.js is what build.mjs makes from the sources.
    const committedPath = join(ROOT, 'dist', 'module.js');
    let committed;
    try {
      committed = readFileSync(committedPath);
    } catch {
      check('dist/module.js exists', false, 'missing: run node build.mjs');
      return;
    }
    const rebuiltPath = join(tmp, 'module.js');
    writeFileSync(rebuiltPath, await buildModule());
    const rebuilt = readFileSync(rebuiltPath);
    check('dist/module.js is up to date', rebuilt.equals(committed), 'dist/module.js is stale: run node build.mjs');
    const moduleText = committed.toString('utf8');
    const count = moduleText.split(PLACEHOLDER).length - 1;
    check('dist/module.js contains the placeholder exactly once', count === 1, `found ${count}`);
    check('dist/module.js starts an AMD define()', /^\s*(\/\*[\s\S]*?\*\/\s*)*define\(\[/.test(moduleText));
    check('dist/module.js is well under 100 KB', committed.length < 100 * 1024, `${committed.length} bytes`);
    check('dist/module.js does not import react/jsx-runtime', !moduleText.includes('jsx-runtime'));

    // 2. The test page bundle: the real Grafana packages and React.
    const harnessDir = join(tmp, 'harness');
    const t0 = Date.now();
    await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: { harness: 'test/harness.jsx' },
      outdir: harnessDir,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      jsx: 'transform',
      jsxFactory: 'React.createElement',
      jsxFragment: 'React.Fragment',
      define: { 'process.env.NODE_ENV': '"development"', global: 'globalThis' },
      loader: { '.svg': 'file', '.png': 'file', '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.gif': 'file' },
      logLevel: 'error',
    });
    console.log(`# test page bundled in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

    server = await startServer(harnessDir, moduleText);
    const origin = `http://127.0.0.1:${server.address().port}`;

    if (!check(`Chromium found at ${CHROMIUM}`, existsSync(CHROMIUM), 'install it (apt-get install -y chromium) or set CHROMIUM to its path')) {
      return;
    }
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
      protocolTimeout: 60000,
    });

    const output = {};
    const scenarios = [
      ['datasource', () => datasourceScenario(browser, origin, output)],
      ['app', () => appScenario(browser, origin)],
      ['robustness', () => robustnessScenario(browser, origin)],
    ];
    for (const [name, run] of scenarios) {
      try {
        await run();
      } catch (err) {
        check(`${name} scenario ran to its end`, false, err && err.stack ? err.stack : String(err));
      }
    }

    if (process.env.EDITOR_OUTPUT) {
      const ok = output.settings && output.query;
      if (check('editor output recorded', !!ok, output)) {
        mkdirSync(dirname(process.env.EDITOR_OUTPUT), { recursive: true });
        writeFileSync(process.env.EDITOR_OUTPUT, JSON.stringify(output, null, 2) + '\n');
        console.log(`# wrote ${process.env.EDITOR_OUTPUT}`);
      }
    }
  } catch (err) {
    check('test run completed', false, err && err.stack ? err.stack : String(err));
  } finally {
    if (browser) {
      await browser.close().catch(() => {});
    }
    if (server) {
      server.close();
    }
    rmSync(tmp, { recursive: true, force: true });
    finish();
  }
}

main();
