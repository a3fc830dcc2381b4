package grafanaclient

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// scratchDir holds what the tests of this binary share (the Go twin).
var scratchDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "grafana-client")
	if err != nil {
		panic(err)
	}
	scratchDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// callTimeout bounds every call, so that a hang fails the test.
const callTimeout = 30 * time.Second

// env is a variable the cargo test driving this module sets.
func env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run these tests through `cargo test --workspace` (tests/all/go_plugin.rs)", name)
	}
	return v
}

// launchHost launches grafana-wasm-host serving the component whose path
// is in the variable named component, as Grafana launches a plugin whose
// `[plugin.<id>]` section says `wasm_component = <path>`.
func launchHost(t testing.TB, component string, ini map[string]string) *Plugin {
	t.Helper()
	keys := map[string]string{"wasm_component": env(t, component), "log_level": "debug"}
	for k, v := range ini {
		keys[k] = v
	}
	return Launch(t, env(t, "GRAFANA_WASM_HOST"), keys)
}

// callContext is a context for one call, cancelled when the test ends.
func callContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// datasourceContext is the plugin context Grafana sends for a datasource.
func datasourceContext(uid string, jsonData string) *pluginv2.PluginContext {
	return &pluginv2.PluginContext{
		OrgId:    1,
		PluginId: "random-walk",
		User:     &pluginv2.User{Login: "admin", Role: "Admin"},
		DataSourceInstanceSettings: &pluginv2.DataSourceInstanceSettings{
			Id:            7,
			Uid:           uid,
			Name:          "Walk " + uid,
			JsonData:      []byte(jsonData),
			LastUpdatedMS: 1_700_000_000_000,
			ApiVersion:    "v0alpha1",
		},
	}
}

// query is a DataQuery over the hour ending at `to`.
func query(refID, json string, to time.Time) *pluginv2.DataQuery {
	return &pluginv2.DataQuery{
		RefId:         refID,
		MaxDataPoints: 1000,
		IntervalMS:    1000,
		TimeRange:     &pluginv2.TimeRange{FromEpochMS: to.Add(-time.Hour).UnixMilli(), ToEpochMS: to.UnixMilli()},
		Json:          []byte(json),
	}
}

// queryData calls QueryData and converts the answer with the SDK.
func queryData(t testing.TB, p *Plugin, req *pluginv2.QueryDataRequest) *backend.QueryDataResponse {
	t.Helper()
	res, err := p.Data.QueryData(callContext(t), req)
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	converted, err := backend.FromProto().QueryDataResponse(res)
	if err != nil {
		t.Fatalf("decoding the QueryData answer with the SDK: %v", err)
	}
	return converted
}

// resourceAnswer is a CallResource answer as Grafana assembles it: the
// first message's status and headers, every message's body.
type resourceAnswer struct {
	first *backend.CallResourceResponse
	parts int
	body  []byte
}

// callResource calls CallResource and reads the stream to its end; err is
// the stream's error, if it ended with one.
func callResource(t testing.TB, p *Plugin, req *pluginv2.CallResourceRequest) (resourceAnswer, error) {
	t.Helper()
	stream, err := p.Resource.CallResource(callContext(t), req)
	if err != nil {
		return resourceAnswer{}, err
	}
	var answer resourceAnswer
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return answer, nil
		}
		if err != nil {
			return answer, err
		}
		converted := backend.FromProto().CallResourceResponse(msg)
		if answer.first == nil {
			answer.first = converted
		}
		answer.parts++
		answer.body = append(answer.body, converted.Body...)
	}
}

// errorSource is the error source a gRPC error carries as the SDK sends it
// (a google.rpc.ErrorInfo detail), or "" without one.
func errorSource(err error) string {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Metadata["errorSource"]
		}
	}
	return ""
}

// wantCode fails unless err is a gRPC status with code.
func wantCode(t testing.TB, err error, code codes.Code) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("got %v (%v), want code %v", got, err, code)
	}
}

// eventually waits until cond holds, polling; it fails after callTimeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(callTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
