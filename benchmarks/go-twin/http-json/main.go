// Command http-json is the http-json datasource (example-plugins/http-json)
// written as a Go plugin author writes it, with grafana-plugin-sdk-go:
// datasource.Manage, an instance per datasource holding the SDK's HTTP
// client built from the datasource's settings (basic auth, custom headers,
// TLS, timeout). It answers as the sandboxed example does:
//
//   - QueryData: the query {"path": "/metrics"} GETs that path under the
//     datasource's URL; the answer must be a JSON array of objects; each key
//     becomes a field, in key order (numbers as float64, booleans, anything
//     else as text), missing values as nulls. The frame is named after the
//     query's refId.
//   - CheckHealth: GETs jsonData.healthPath (default "/"); OK on a 2xx answer.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// HTTPJSON is one datasource instance.
type HTTPJSON struct {
	url        string
	healthPath string
	client     *http.Client
}

var (
	_ backend.QueryDataHandler      = (*HTTPJSON)(nil)
	_ backend.CheckHealthHandler    = (*HTTPJSON)(nil)
	_ instancemgmt.InstanceDisposer = (*HTTPJSON)(nil)
)

// NewHTTPJSON is the instance factory: the HTTP client and settings of one
// datasource.
func NewHTTPJSON(ctx context.Context, settings backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	var jsonData struct {
		HealthPath *string `json:"healthPath"`
	}
	if len(settings.JSONData) > 0 {
		if err := json.Unmarshal(settings.JSONData, &jsonData); err != nil {
			return nil, backend.PluginError(fmt.Errorf("invalid jsonData: %w", err))
		}
	}
	opts, err := settings.HTTPClientOptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("http client options: %w", err)
	}
	client, err := httpclient.New(opts)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	healthPath := "/"
	if jsonData.HealthPath != nil {
		healthPath = *jsonData.HealthPath
	}
	return &HTTPJSON{url: settings.URL, healthPath: healthPath, client: client}, nil
}

// Dispose closes idle connections when the settings change.
func (d *HTTPJSON) Dispose() { d.client.CloseIdleConnections() }

// get GETs path under the datasource's URL.
func (d *HTTPJSON) get(ctx context.Context, path string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(d.url, "/")+path, nil)
	if err != nil {
		return nil, nil, backend.PluginError(err)
	}
	res, err := d.client.Do(req)
	if err != nil {
		return nil, nil, backend.DownstreamError(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, backend.DownstreamError(err)
	}
	return res, body, nil
}

func (d *HTTPJSON) query(ctx context.Context, q backend.DataQuery) (*data.Frame, error) {
	var model struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(q.JSON, &model); err != nil {
		return nil, backend.PluginError(fmt.Errorf("invalid query JSON: %w", err))
	}
	res, body, err := d.get(ctx, model.Path)
	if err != nil {
		return nil, err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, backend.DownstreamErrorf("GET %s: status %d", model.Path, res.StatusCode)
	}
	var rows []map[string]any
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, backend.DownstreamErrorf("the response body is not the JSON expected: %v", err)
	}
	return frameOf(q.RefID, rows), nil
}

// frameOf has one field per key of rows, in key order.
func frameOf(name string, rows []map[string]any) *data.Frame {
	var keys []string
	for _, row := range rows {
		for key := range row {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	frame := data.NewFrame(name)
	for _, key := range slices.Compact(keys) {
		frame.Fields = append(frame.Fields, fieldOf(key, rows))
	}
	return frame
}

// fieldOf types a column by its present values.
func fieldOf(key string, rows []map[string]any) *data.Field {
	all := func(is func(any) bool) bool {
		for _, row := range rows {
			if v, ok := row[key]; ok && !is(v) {
				return false
			}
		}
		return true
	}
	switch {
	case all(func(v any) bool { _, ok := v.(float64); return ok }):
		return data.NewField(key, nil, column(key, rows, func(v any) float64 { return v.(float64) }))
	case all(func(v any) bool { _, ok := v.(bool); return ok }):
		return data.NewField(key, nil, column(key, rows, func(v any) bool { return v.(bool) }))
	default:
		return data.NewField(key, nil, column(key, rows, text))
	}
}

// column is key's values, converted, nil where a row lacks it.
func column[T any](key string, rows []map[string]any, convert func(any) T) []*T {
	out := make([]*T, len(rows))
	for i, row := range rows {
		if v, ok := row[key]; ok {
			c := convert(v)
			out[i] = &c
		}
	}
	return out
}

// text is a string as is, anything else as its JSON.
func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v) // values decoded from JSON always encode
	return string(b)
}

// QueryData answers every query with its path's rows.
func (d *HTTPJSON) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	response := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		frame, err := d.query(ctx, q)
		if err != nil {
			response.Responses[q.RefID] = backend.ErrorResponseWithErrorSource(err)
			continue
		}
		response.Responses[q.RefID] = backend.DataResponse{Frames: data.Frames{frame}}
	}
	return response, nil
}

// CheckHealth GETs the health path.
func (d *HTTPJSON) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	res, _, err := d.get(ctx, d.healthPath)
	switch {
	case err != nil:
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: err.Error()}, nil
	case res.StatusCode < 200 || res.StatusCode > 299:
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: fmt.Sprintf("%s answered %d to GET %s", d.url, res.StatusCode, d.healthPath)}, nil
	default:
		return &backend.CheckHealthResult{Status: backend.HealthStatusOk, Message: fmt.Sprintf("%s answered %d", d.url, res.StatusCode)}, nil
	}
}

func main() {
	if err := datasource.Manage("http-json", NewHTTPJSON, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error(err.Error())
		os.Exit(1)
	}
}
