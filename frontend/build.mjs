// Builds dist/module.js: the generic grafana-wasm plugin frontend, as the AMD
// module that Grafana's plugin loader (SystemJS) expects from a
// @grafana/create-plugin build (webpack `output.library.type: 'amd'` with
// Grafana's shared packages as externals).
//
// esbuild has no AMD output, so the sources are bundled as CommonJS with the
// same externals as create-plugin 7.1.7 (.config/bundler/externals.ts), and
// the result is wrapped here in `define([...deps], function (...) {...})`.
// The wrapper also holds the per-plugin configuration placeholder, which the
// Rust packager replaces textually (see README.md).
//
//   node build.mjs                      writes dist/module.js
//   node build.mjs --outfile <path>     writes <path> instead
//
// The output is deterministic: same sources and esbuild version, same bytes.

import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = dirname(fileURLToPath(import.meta.url));

/** The exact placeholder the packager looks for; it appears once in module.js. */
export const PLACEHOLDER = '/*grafana-wasm:editors*/{}/*grafana-wasm:end*/';

// @grafana/create-plugin 7.1.7, templates/common/.config/bundler/externals.ts
// (without bundleGrafanaUI): the modules Grafana shares with plugins at run
// time. Subpaths ("@grafana/ui/...") are external too, as create-plugin's
// /^@grafana\/ui/i patterns make them.
export const CREATE_PLUGIN_EXTERNALS = [
  'lodash',
  'jquery',
  'moment',
  'slate',
  'emotion',
  '@emotion/react',
  '@emotion/css',
  'prismjs',
  'slate-plain-serializer',
  '@grafana/slate-react',
  'react',
  'react/jsx-runtime',
  'react/jsx-dev-runtime',
  'react-dom',
  'react-redux',
  'redux',
  'rxjs',
  'i18next',
  'react-router',
  'd3',
  'angular',
  '@grafana/ui',
  '@grafana/runtime',
  '@grafana/data',
];

// Everything else must come from src/: a bundled npm package would mean a
// second copy of something Grafana already has (and a bigger module.js).
const onlyOwnSources = {
  name: 'only-own-sources',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind === 'entry-point') {
        return undefined;
      }
      const known = CREATE_PLUGIN_EXTERNALS.some((name) => args.path === name || args.path.startsWith(name + '/'));
      if (!known) {
        return { errors: [{ text: `"${args.path}" is not one of Grafana's shared modules; module.js must not bundle npm packages` }] };
      }
      return { path: args.path, external: true };
    });
  },
};

/** Builds module.js and returns its text. */
export async function buildModule() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ['src/module.js'],
    bundle: true,
    write: false,
    metafile: true,
    format: 'cjs',
    platform: 'browser',
    target: 'es2018',
    charset: 'utf8',
    legalComments: 'none',
    // Classic runtime: React.createElement, no react/jsx-runtime import, so
    // the module works with any React that Grafana provides.
    jsx: 'transform',
    jsxFactory: 'React.createElement',
    jsxFragment: 'React.Fragment',
    loader: { '.js': 'jsx', '.jsx': 'jsx' },
    resolveExtensions: ['.jsx', '.js'],
    external: CREATE_PLUGIN_EXTERNALS,
    plugins: [onlyOwnSources],
    logLevel: 'silent',
  });
  if (result.outputFiles.length !== 1) {
    throw new Error(`expected one output file, got ${result.outputFiles.length}`);
  }
  const body = result.outputFiles[0].text;
  if (body.includes('grafana-wasm:editors') || body.includes('grafana-wasm:end')) {
    throw new Error('the bundled sources must not contain the placeholder markers');
  }
  const deps = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) {
      if (imp.external) {
        deps.add(imp.path);
      }
    }
  }
  return wrap([...deps].sort(), body, pkg.version);
}

function wrap(deps, body, version) {
  const params = deps.map((_, i) => `__grafanaWasmDep${i}`);
  const table = deps.map((name, i) => `  ${JSON.stringify(name)}: ${params[i]}`).join(',\n');
  const text = [
    `/* grafana-wasm generic plugin frontend ${version}. Built by frontend/build.mjs: do not edit. */`,
    `/* An AMD module for Grafana's plugin loader, as @grafana/create-plugin builds it. */`,
    `define(${JSON.stringify(deps)}, function (${params.join(', ')}) {`,
    `"use strict";`,
    `/* The per-plugin configuration, baked in by the grafana-wasm packager. */`,
    `var __GRAFANA_WASM_EDITORS__ = ${PLACEHOLDER};`,
    `var __grafanaWasmDeps = {`,
    table,
    `};`,
    `function require(name) {`,
    `  if (Object.prototype.hasOwnProperty.call(__grafanaWasmDeps, name)) {`,
    `    return __grafanaWasmDeps[name];`,
    `  }`,
    `  throw new Error("grafana-wasm module.js: no shared module " + name);`,
    `}`,
    `var module = { exports: {} };`,
    `var exports = module.exports;`,
    body.trimEnd(),
    `return module.exports;`,
    `});`,
    ``,
  ].join('\n');
  const count = text.split(PLACEHOLDER).length - 1;
  if (count !== 1) {
    throw new Error(`module.js must contain the placeholder exactly once, found ${count}`);
  }
  return text;
}

async function main(argv) {
  let outfile = join(ROOT, 'dist', 'module.js');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--outfile' && i + 1 < argv.length) {
      outfile = resolve(argv[++i]);
    } else {
      throw new Error(`usage: node build.mjs [--outfile <path>]`);
    }
  }
  const text = await buildModule();
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, text);
  console.log(`wrote ${outfile} (${Buffer.byteLength(text)} bytes)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err && err.errors ? esbuild.formatMessagesSync(err.errors, { kind: 'error' }).join('\n') : err);
    process.exit(1);
  });
}
