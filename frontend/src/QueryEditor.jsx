import * as React from 'react';
import { Alert, TextArea } from '@grafana/ui';

import { cloneJson, getConfig } from './config';

// refId and datasource belong to Grafana: they are not shown and are always
// taken from the incoming query.
const KEPT = ['refId', 'datasource'];

function editable(query) {
  const out = {};
  Object.keys(query || {}).forEach((key) => {
    if (KEPT.indexOf(key) < 0 && query[key] !== undefined) {
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

/** Reads the text area; returns { value } or { error }. */
export function parseQueryText(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: 'Invalid JSON: ' + (e && e.message ? e.message : String(e)) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { error: 'The query must be a JSON object, like {"key": "value"}.' };
  }
  return { value };
}

/** The query editor: the query as JSON, applied and run when the text area loses focus. */
export function QueryEditor(props) {
  const { query, onChange, onRunQuery } = props;
  const config = getConfig();
  const current = editable(query);
  // A query that carries nothing but Grafana's own keys is new: start it from
  // the configured default (Grafana normally does that itself through
  // DataSource.getDefaultQuery; this covers the places that do not).
  const isNew = Object.keys(current).length === 0;
  const defaults = config.query.default;
  const hasDefaults = Object.keys(defaults).length > 0;
  const shown = isNew && hasDefaults ? defaults : current;

  const [text, setText] = React.useState(() => pretty(shown));
  const [error, setError] = React.useState('');

  React.useEffect(() => {
    if (isNew && hasDefaults) {
      onChange({ ...cloneJson(defaults), refId: query.refId, datasource: query.datasource });
    }
    // Only when the query arrives empty.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [isNew]);

  // Follow changes made outside the editor, unless they match what is typed.
  React.useEffect(() => {
    const parsed = parseQueryText(text);
    if (!(parsed.value && sameJson(parsed.value, shown))) {
      setText(pretty(shown));
      setError('');
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(shown)]);

  const onBlur = () => {
    const parsed = parseQueryText(text);
    if (parsed.error) {
      setError(parsed.error);
      return;
    }
    setError('');
    if (sameJson(parsed.value, current)) {
      return;
    }
    onChange({ ...parsed.value, refId: query.refId, datasource: query.datasource });
    onRunQuery();
  };

  return (
    <div data-testid="grafana-wasm-query-editor">
      {config.query.help && (
        <p data-testid="grafana-wasm-query-help" style={{ whiteSpace: 'pre-wrap' }}>
          {config.query.help}
        </p>
      )}
      <TextArea
        id={'query-editor-json-' + query.refId}
        aria-label="Query JSON"
        data-testid="grafana-wasm-query-json"
        rows={Math.min(20, Math.max(4, text.split('\n').length + 1))}
        spellCheck={false}
        style={{ fontFamily: 'monospace' }}
        value={text}
        invalid={Boolean(error)}
        onChange={(event) => setText(event.currentTarget.value)}
        onBlur={onBlur}
      />
      {error && (
        <Alert severity="error" title="The query was not applied" data-testid="grafana-wasm-query-error">
          {error}
        </Alert>
      )}
    </div>
  );
}
