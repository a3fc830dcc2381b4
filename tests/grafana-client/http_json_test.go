package grafanaclient

// Differential, http-json: the Go SDK twin and the host with the http-json
// component read the same local JSON API through their datasource's
// settings (URL, basic auth, a custom header).

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// jsonAPI answers only requests carrying the datasource's credentials.
func jsonAPI(t *testing.T) *httptest.Server {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		if !ok || user != "walker" || password != "s3cret" || r.Header.Get("X-Team") != "data" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/metrics":
			w.Write([]byte(`[{"host":"a","up":true,"load":0.5,"tags":["x"]},{"host":"b","load":1},{"up":false,"tags":null}]`))
		case "/empty":
			w.Write([]byte(`[]`))
		case "/health":
			w.Write([]byte(`{"ok":true}`))
		case "/broken":
			w.Write([]byte(`<html>`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(api.Close)
	return api
}

// apiContext is a datasource of the API with basic auth and a custom
// header; settings version tells each health path's settings apart, as
// Grafana's update time does.
func apiContext(url, healthPath string, version int64) *pluginv2.PluginContext {
	ctx := datasourceContext("api", `{"httpHeaderName1":"X-Team","healthPath":"`+healthPath+`"}`)
	ds := ctx.DataSourceInstanceSettings
	ds.LastUpdatedMS += version
	ds.Url, ds.BasicAuthEnabled, ds.BasicAuthUser = url, true, "walker"
	ds.DecryptedSecureJsonData = map[string]string{"basicAuthPassword": "s3cret", "httpHeaderValue1": "data"}
	return ctx
}

func TestDifferentialHTTPJSON(t *testing.T) {
	api := jsonAPI(t)
	twin := Launch(t, goTwin(t, "http-json"), nil)
	// The API is on loopback, which the sandbox refuses unless granted.
	ours := launchHost(t, "HTTP_JSON", map[string]string{"allow_addresses": "127.0.0.1/32"})
	ctx := apiContext(api.URL, "/health", 0)
	now := time.Now()
	req := &pluginv2.QueryDataRequest{PluginContext: ctx, Queries: []*pluginv2.DataQuery{
		query("A", `{"path":"/metrics"}`, now),
		query("B", `{"path":"/empty"}`, now),
		query("C", `{"path":"/missing"}`, now),
	}}
	for _, format := range []pluginv2.DataFrameFormat{pluginv2.DataFrameFormat_ARROW, pluginv2.DataFrameFormat_JSON} {
		req.Format = format
		wantEqualAnswers(t, "http-json "+format.String(), rawQuery(t, twin, req), rawQuery(t, ours, req))
	}

	// A body that is not JSON is the API's fault on both sides; the
	// message ends with each JSON parser's own words.
	req.Queries = []*pluginv2.DataQuery{query("A", `{"path":"/broken"}`, now)}
	for _, side := range []*Plugin{twin, ours} {
		r := decode(t, rawQuery(t, side, req)).Responses["A"]
		if r.ErrorSource != backend.ErrorSourceDownstream || r.Status != 500 || !strings.HasPrefix(errText(r.Error), "the response body is not the JSON expected: ") {
			t.Errorf("%s: %+v", side.Executable, r)
		}
	}

	for version, healthPath := range []string{"/health", "/missing"} {
		health := &pluginv2.CheckHealthRequest{PluginContext: apiContext(api.URL, healthPath, int64(version))}
		twinRes, err1 := twin.Diagnostics.CheckHealth(callContext(t), health)
		oursRes, err2 := ours.Diagnostics.CheckHealth(callContext(t), health)
		if err1 != nil || err2 != nil {
			t.Fatalf("CheckHealth: %v / %v", err1, err2)
		}
		w, g := backend.FromProto().CheckHealthResponse(twinRes), backend.FromProto().CheckHealthResponse(oursRes)
		if w.Status != g.Status || w.Message != g.Message {
			t.Errorf("%s: %v %q from the twin, %v %q from ours", healthPath, w.Status, w.Message, g.Status, g.Message)
		}
	}
}
