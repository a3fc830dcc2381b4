package grafanaclient

// Differential: the same requests to the Go SDK twin of random-walk
// (benchmarks/go-twin, a plugin written as Go plugin authors write them)
// and to grafana-wasm-host serving the random-walk component. Answers,
// decoded with the SDK, must be equal; the intentional differences (README,
// "Differences from a Go SDK plugin") are asserted as such.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// twinBuild is one Go twin, built once per test binary.
type twinBuild struct {
	once sync.Once
	path string
	err  error
}

var twins sync.Map // command name → *twinBuild

// goTwin builds the command name of benchmarks/go-twin (once).
func goTwin(t *testing.T, name string) string {
	t.Helper()
	entry, _ := twins.LoadOrStore(name, &twinBuild{})
	b := entry.(*twinBuild)
	b.once.Do(func() {
		// In the binary's scratch directory: the twin outlives one test.
		b.path = filepath.Join(scratchDir, "gpx_"+name)
		build := exec.Command("go", "build", "-o", b.path, "./"+name)
		build.Dir = "../../benchmarks/go-twin"
		// That module has its own go.mod: no -modfile of this run.
		build.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
		if output, err := build.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building the Go twin %s: %v: %s", name, err, output)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// pair is the Go twin and our host with the random-walk component.
type pair struct{ twin, ours *Plugin }

func launchPair(t *testing.T) pair {
	return pair{twin: Launch(t, goTwin(t, "random-walk"), nil), ours: launchHost(t, "RANDOM_WALK", nil)}
}

// settings the corpus runs under: Grafana sends them with every call.
var corpusContexts = []*pluginv2.PluginContext{
	datasourceContext("walk-a", `{}`),
	datasourceContext("walk-b", `{"defaultPoints":7,"nested":{"x":[1,2]}}`),
}

// queryCorpus: valid, empty, large and failing queries, alone and together.
var queryCorpus = map[string][]*pluginv2.DataQuery{
	"default points":   {query("A", `{}`, time.Unix(1_700_000_000, 0))},
	"zero points":      {query("A", `{"points":0}`, time.Unix(1_700_000_000, 0))},
	"three points":     {query("A", `{"points":3}`, time.Unix(1_700_000_000, 123_000_000))},
	"large":            {query("A", `{"points":100000}`, time.Unix(1_700_000_000, 0))},
	"too many points":  {query("A", `{"points":10000001}`, time.Unix(1_700_000_000, 0))},
	"negative points":  {query("A", `{"points":-1}`, time.Unix(1_700_000_000, 0))},
	"grafana's keys":   {query("A", `{"refId":"A","datasource":{"uid":"walk-a","type":"random-walk"},"points":5,"hide":false}`, time.Unix(1_700_000_000, 0))},
	"no queries":       {},
	"several, one bad": {query("A", `{"points":2}`, time.Unix(1_700_000_000, 0)), query("B", `{"points":20000000}`, time.Unix(1_700_000_000, 0)), query("C", `{}`, time.Unix(1_600_000_000, 0))},
}

func TestDifferentialQueryData(t *testing.T) {
	p := launchPair(t)
	for name, queries := range queryCorpus {
		for _, format := range []pluginv2.DataFrameFormat{pluginv2.DataFrameFormat_ARROW, pluginv2.DataFrameFormat_JSON} {
			for _, ctx := range corpusContexts {
				req := &pluginv2.QueryDataRequest{PluginContext: ctx, Queries: queries, Format: format}
				wantEqualAnswers(t, name+" "+format.String()+" "+ctx.DataSourceInstanceSettings.Uid, rawQuery(t, p.twin, req), rawQuery(t, p.ours, req))
			}
		}
	}
}

// A query model that is not JSON fails that query with status 400 on both
// sides; the message ends with the JSON parser's own words, Go's
// encoding/json's in a Go plugin, serde_json's in ours.
func TestDifferentialInvalidQueryModel(t *testing.T) {
	p := launchPair(t)
	req := &pluginv2.QueryDataRequest{PluginContext: corpusContexts[0], Queries: []*pluginv2.DataQuery{query("A", `not json`, time.Now())}}
	twin, ours := decode(t, rawQuery(t, p.twin, req)), decode(t, rawQuery(t, p.ours, req))
	for _, r := range []backend.DataResponse{twin.Responses["A"], ours.Responses["A"]} {
		if r.Status != 400 || r.ErrorSource != backend.ErrorSourcePlugin || r.Error == nil || !strings.HasPrefix(r.Error.Error(), "invalid query JSON: ") {
			t.Fatalf("answer %+v", r)
		}
	}
}

func rawQuery(t *testing.T, p *Plugin, req *pluginv2.QueryDataRequest) *pluginv2.QueryDataResponse {
	t.Helper()
	res, err := p.Data.QueryData(callContext(t), req)
	if err != nil {
		t.Fatalf("QueryData to %s: %v", p.Executable, err)
	}
	return res
}

func decode(t *testing.T, res *pluginv2.QueryDataResponse) *backend.QueryDataResponse {
	t.Helper()
	converted, err := backend.FromProto().QueryDataResponse(res)
	if err != nil {
		t.Fatalf("decoding with the SDK: %v", err)
	}
	return converted
}

// wantEqualAnswers compares two QueryData answers as Grafana reads them:
// per query the wire format and status, the error and its source, and the
// frames with the SDK's frame comparison.
func wantEqualAnswers(t *testing.T, name string, twinRaw, oursRaw *pluginv2.QueryDataResponse) {
	t.Helper()
	twin, ours := decode(t, twinRaw), decode(t, oursRaw)
	if len(twin.Responses) != len(ours.Responses) {
		t.Fatalf("%s: %d answers from the Go twin, %d from ours", name, len(twin.Responses), len(ours.Responses))
	}
	for refID, want := range twin.Responses {
		got, ok := ours.Responses[refID]
		if !ok {
			t.Fatalf("%s: no answer for %s", name, refID)
		}
		if w, g := twinRaw.Responses[refID], oursRaw.Responses[refID]; w.Format != g.Format || w.Status != g.Status {
			t.Errorf("%s/%s: format %v status %d from the twin, %v %d from ours", name, refID, w.Format, w.Status, g.Format, g.Status)
		}
		if errText(want.Error) != errText(got.Error) || want.ErrorSource != got.ErrorSource || want.Status != got.Status {
			t.Errorf("%s/%s: error %q (%s, %d) from the twin, %q (%s, %d) from ours", name, refID,
				errText(want.Error), want.ErrorSource, want.Status, errText(got.Error), got.ErrorSource, got.Status)
		}
		if diff := cmp.Diff(want.Frames, got.Frames, data.FrameTestCompareOptions()...); diff != "" {
			t.Errorf("%s/%s: frames differ (-twin +ours):\n%s", name, refID, diff)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestDifferentialCallResource(t *testing.T) {
	p := launchPair(t)
	large := bytes.Repeat([]byte(`{"k":"0123456789"},`), 60_000)
	for _, req := range []*pluginv2.CallResourceRequest{
		{Path: "echo", Method: "POST", Url: "echo", Body: []byte(`{"a":1}`)},
		{Path: "echo", Method: "POST", Url: "echo?x=1", Body: large, Headers: map[string]*pluginv2.StringList{"Content-Type": {Values: []string{"application/json"}}}},
		{Path: "echo", Method: "GET", Url: "echo"},
		{Path: "nothing/here", Method: "GET", Url: "nothing/here"},
		{Path: "", Method: "GET", Url: ""},
	} {
		for _, ctx := range corpusContexts {
			req.PluginContext = ctx
			twin, twinErr := callResource(t, p.twin, req)
			ours, oursErr := callResource(t, p.ours, req)
			if twinErr != nil || oursErr != nil {
				t.Fatalf("%s: errors %v / %v", req.Path, twinErr, oursErr)
			}
			if twin.first.Status != ours.first.Status || !bytes.Equal(twin.body, ours.body) {
				t.Errorf("%q: status %d body %.80q from the twin, %d %.80q from ours", req.Path, twin.first.Status, twin.body, ours.first.Status, ours.body)
			}
			if diff := cmp.Diff(canonical(twin.first.Headers), canonical(ours.first.Headers)); diff != "" {
				t.Errorf("%q: headers differ (-twin +ours):\n%s", req.Path, diff)
			}
		}
	}
}

// canonical is headers as Grafana writes them into its HTTP answer
// (http.Header.Add canonicalizes the names).
func canonical(headers map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range headers {
		key := textproto.CanonicalMIMEHeaderKey(k)
		out[key] = append(out[key], v...)
	}
	return out
}

// CheckHealth answers alike; our host adds its own JSON details (which
// component it serves), a Go SDK plugin sends none.
func TestDifferentialCheckHealth(t *testing.T) {
	p := launchPair(t)
	for _, ctx := range corpusContexts {
		req := &pluginv2.CheckHealthRequest{PluginContext: ctx}
		twinRaw, err := p.twin.Diagnostics.CheckHealth(callContext(t), req)
		if err != nil {
			t.Fatal(err)
		}
		oursRaw, err := p.ours.Diagnostics.CheckHealth(callContext(t), req)
		if err != nil {
			t.Fatal(err)
		}
		twin, ours := backend.FromProto().CheckHealthResponse(twinRaw), backend.FromProto().CheckHealthResponse(oursRaw)
		if twin.Status != ours.Status || twin.Message != ours.Message {
			t.Fatalf("health %+v from the twin, %+v from ours", twin, ours)
		}
		var details struct {
			GrafanaWasm struct {
				Component map[string]any `json:"component"`
			} `json:"grafanaWasm"`
		}
		if len(twin.JSONDetails) != 0 || json.Unmarshal(ours.JSONDetails, &details) != nil || details.GrafanaWasm.Component["sha256"] == nil {
			t.Fatalf("details %q from the twin, %q from ours", twin.JSONDetails, ours.JSONDetails)
		}
	}
}

// Both expose the plugin's counters; beside them the twin exposes the Go
// runtime's families, ours the host's (grafana_wasm_*, process_*).
func TestDifferentialCollectMetrics(t *testing.T) {
	p := launchPair(t)
	for _, side := range []*Plugin{p.twin, p.ours} {
		res, err := side.Diagnostics.CollectMetrics(callContext(t), &pluginv2.CollectMetricsRequest{PluginContext: corpusContexts[0]})
		if err != nil {
			t.Fatal(err)
		}
		text := string(backend.FromProto().CollectMetricsResponse(res).PrometheusMetrics)
		for _, name := range []string{"randomwalk_queries_total", "randomwalk_points_total", "randomwalk_resource_calls_total", "randomwalk_stream_packets_total"} {
			if !strings.Contains(text, "# TYPE "+name+" counter\n") {
				t.Errorf("%s: no counter %s in\n%s", side.Executable, name, text)
			}
		}
		own := map[*Plugin]string{p.twin: "go_goroutines", p.ours: "grafana_wasm_calls_total"}[side]
		if !strings.Contains(text, own) {
			t.Errorf("%s: no %s", side.Executable, own)
		}
	}
}

func TestDifferentialSubscribeAndPublish(t *testing.T) {
	p := launchPair(t)
	for _, path := range []string{"walk", "other", ""} {
		for _, ctx := range corpusContexts {
			sub := &pluginv2.SubscribeStreamRequest{PluginContext: ctx, Path: path, Data: []byte(`{"x":1}`)}
			twinSub, err1 := p.twin.Stream.SubscribeStream(callContext(t), sub)
			oursSub, err2 := p.ours.Stream.SubscribeStream(callContext(t), sub)
			if err1 != nil || err2 != nil {
				t.Fatalf("subscribe %q: %v / %v", path, err1, err2)
			}
			if diff := cmp.Diff(subscription(twinSub), subscription(oursSub)); diff != "" {
				t.Errorf("subscribe %q (-twin +ours):\n%s", path, diff)
			}
			pub := &pluginv2.PublishStreamRequest{PluginContext: ctx, Path: path, Data: []byte(`{"published":[1,2]}`)}
			twinPub, err1 := p.twin.Stream.PublishStream(callContext(t), pub)
			oursPub, err2 := p.ours.Stream.PublishStream(callContext(t), pub)
			if err1 != nil || err2 != nil {
				t.Fatalf("publish %q: %v / %v", path, err1, err2)
			}
			if diff := cmp.Diff(backend.FromProto().PublishStreamResponse(twinPub), backend.FromProto().PublishStreamResponse(oursPub)); diff != "" {
				t.Errorf("publish %q (-twin +ours):\n%s", path, diff)
			}
		}
	}
}

// subscription is a SubscribeStream answer as the SDK reads it.
func subscription(res *pluginv2.SubscribeStreamResponse) [2]any {
	converted := backend.FromProto().SubscribeStreamResponse(res)
	var initial []byte
	if converted.InitialData != nil {
		initial = converted.InitialData.Data()
	}
	return [2]any{converted.Status, string(initial)}
}

// walkPacket is a RunStream packet without its clock reading.
type walkPacket struct {
	Seq   int     `json:"seq"`
	Value float64 `json:"value"`
	Time  *int64  `json:"time"`
}

// RunStream sends the same packets (their `time` is each side's clock),
// then idles until Grafana cancels; both end on the cancellation and log it.
func TestDifferentialRunStreamWithCancellation(t *testing.T) {
	p := launchPair(t)
	var streams [2][]walkPacket
	for i, side := range []*Plugin{p.twin, p.ours} {
		ctx, cancel := context.WithCancel(callContext(t))
		run, err := side.Stream.RunStream(ctx, &pluginv2.RunStreamRequest{PluginContext: corpusContexts[0], Path: "walk"})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			msg, err := run.Recv()
			if err != nil {
				t.Fatalf("%s: %v", side.Executable, err)
			}
			var packet walkPacket
			if err := json.Unmarshal(backend.FromProto().StreamPacket(msg).Data, &packet); err != nil || packet.Time == nil {
				t.Fatalf("%s: packet %s (%v)", side.Executable, msg.Data, err)
			}
			packet.Time = nil
			streams[i] = append(streams[i], packet)
		}
		cancel()
		_, err = run.Recv()
		wantCode(t, err, codes.Canceled)
		eventually(t, "the stream's end in "+side.Executable+"'s log", func() bool {
			return logged(side.PluginLogs(), "info", "stream cancelled", nil)
		})
	}
	if diff := cmp.Diff(streams[0], streams[1]); diff != "" {
		t.Fatalf("packets differ (-twin +ours):\n%s", diff)
	}
}

// Neither implements QueryChunkedData. datasource.Manage's instance
// manager answers Unimplemented; our host answers what the SDK's adapter
// answers for a plugin without the handler: one chunk with status 501.
// Grafana treats both as "not implemented".
func TestDifferentialQueryChunkedData(t *testing.T) {
	p := launchPair(t)
	req := &pluginv2.QueryChunkedDataRequest{PluginContext: corpusContexts[0], Queries: []*pluginv2.DataQuery{query("A", `{}`, time.Now())}}
	stream, err := p.twin.Data.QueryChunkedData(callContext(t), req)
	if err == nil {
		_, err = stream.Recv()
	}
	wantCode(t, err, codes.Unimplemented)

	stream, err = p.ours.Data.QueryChunkedData(callContext(t), req)
	if err != nil {
		t.Fatal(err)
	}
	chunk, err := stream.Recv()
	if err != nil || chunk.Status != 501 {
		t.Fatalf("our first chunk %+v (%v)", chunk, err)
	}
}

// Neither implements admission or conversion: both answer Unimplemented.
func TestDifferentialAdmissionAndConversion(t *testing.T) {
	p := launchPair(t)
	admission := &pluginv2.AdmissionRequest{PluginContext: corpusContexts[0], Kind: &pluginv2.GroupVersionKind{Kind: "Thing"}}
	conversion := &pluginv2.ConversionRequest{PluginContext: corpusContexts[0], TargetVersion: &pluginv2.GroupVersion{Version: "v2"}}
	for _, side := range []*Plugin{p.twin, p.ours} {
		_, err := side.Admission.ValidateAdmission(callContext(t), admission)
		wantCode(t, err, codes.Unimplemented)
		_, err = side.Admission.MutateAdmission(callContext(t), admission)
		wantCode(t, err, codes.Unimplemented)
		_, err = side.Conversion.ConvertObjects(callContext(t), conversion)
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("%s: ConvertObjects %v", side.Executable, err)
		}
	}
}
