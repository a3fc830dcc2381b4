import * as React from 'react';
import { DataSourceHttpSettings, InlineField, InlineSwitch, Input, SecretInput } from '@grafana/ui';

import { getConfig } from './config';

const LABEL_WIDTH = 20;
const INPUT_WIDTH = 40;

/** The datasource settings page: Grafana's HTTP settings, then the plugin's own fields. */
export function ConfigEditor(props) {
  const { options, onOptionsChange } = props;
  const config = getConfig();
  const jsonData = options.jsonData || {};
  const secureJsonData = options.secureJsonData || {};
  const secureJsonFields = options.secureJsonFields || {};

  const setJsonData = (key, value) => {
    const next = { ...jsonData };
    if (value === undefined) {
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
      secureJsonData: { ...secureJsonData, [key]: '' },
    });
  };

  // Grafana creates datasources with access "proxy" (the only mode a backend
  // plugin uses); older or provisioned ones may lack it, and the HTTP settings
  // hide the timeout, TLS and header options unless it is set.
  const httpOptions = options.access ? { ...options, jsonData } : { ...options, jsonData, access: 'proxy' };

  const hasOwnFields = config.jsonData.length > 0 || config.secureJsonData.length > 0;

  return (
    <div data-testid="grafana-wasm-config-editor">
      {config.http && (
        <DataSourceHttpSettings
          defaultUrl={config.defaultUrl}
          dataSourceConfig={httpOptions}
          onChange={onOptionsChange}
          showAccessOptions={false}
        />
      )}
      {hasOwnFields && (
        <section style={{ marginTop: config.http ? 32 : 0 }}>
          <h3 className="page-heading">Plugin settings</h3>
          {config.jsonData.map((field) => (
            <InlineField
              key={'jsonData.' + field.key}
              label={field.label}
              labelWidth={LABEL_WIDTH}
              tooltip={field.description || undefined}
              required={field.required}
              htmlFor={'config-editor-' + field.key}
            >
              {renderJsonField(field, jsonData[field.key], (value) => setJsonData(field.key, value))}
            </InlineField>
          ))}
          {config.secureJsonData.map((field) => (
            <InlineField
              key={'secureJsonData.' + field.key}
              label={field.label}
              labelWidth={LABEL_WIDTH}
              tooltip={field.description || undefined}
              required={field.required}
              htmlFor={'config-editor-secure-' + field.key}
            >
              <SecretInput
                id={'config-editor-secure-' + field.key}
                isConfigured={Boolean(secureJsonFields[field.key])}
                value={secureJsonData[field.key] || ''}
                placeholder={field.placeholder}
                width={INPUT_WIDTH}
                onReset={() => resetSecret(field.key)}
                onChange={(event) => setSecret(field.key, event.currentTarget.value)}
              />
            </InlineField>
          ))}
        </section>
      )}
    </div>
  );
}

function renderJsonField(field, value, set) {
  const id = 'config-editor-' + field.key;
  if (field.type === 'boolean') {
    return <InlineSwitch id={id} value={value === true} onChange={(event) => set(event.currentTarget.checked)} />;
  }
  if (field.type === 'number') {
    return (
      <Input
        id={id}
        type="number"
        width={INPUT_WIDTH}
        placeholder={field.placeholder}
        value={typeof value === 'number' || typeof value === 'string' ? value : ''}
        onChange={(event) => {
          const text = event.currentTarget.value;
          const number = Number(text);
          // An empty or half-typed number ("-", "1e") removes the key.
          set(text.trim() === '' || !Number.isFinite(number) ? undefined : number);
        }}
      />
    );
  }
  return (
    <Input
      id={id}
      width={INPUT_WIDTH}
      placeholder={field.placeholder}
      value={value === undefined || value === null ? '' : String(value)}
      onChange={(event) => set(event.currentTarget.value)}
    />
  );
}
