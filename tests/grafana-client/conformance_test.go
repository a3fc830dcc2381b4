package grafanaclient

// Conformance: grafana-wasm-host launched and called through Grafana's
// client stack, every RPC family on the protocol test guest, answers read
// with the SDK's conversions.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"google.golang.org/grpc/codes"
)

// The run uses the go-plugin it asks for: the go command, with this run's
// GOFLAGS (go.mod, or -modfile naming the module file that pins Grafana's
// version), resolves that version.
func TestTheRunUsesTheRequestedGoPlugin(t *testing.T) {
	want := env(t, "EXPECT_GO_PLUGIN")
	out, err := exec.Command("go", "list", "-m", "-f", "{{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}",
		"github.com/hashicorp/go-plugin").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("built with go-plugin %s, want %s", got, want)
	}
}

func TestGrafanaStartsTheHostOnASocketInItsDirectory(t *testing.T) {
	p := launchHost(t, "PROTOCOL", nil)
	if got := p.Client.Protocol(); got != "grpc" {
		t.Fatalf("protocol %q", got)
	}
	if got := p.Client.NegotiatedVersion(); got != 2 {
		t.Fatalf("negotiated version %d", got)
	}
	addr := p.Client.ReattachConfig().Addr
	if addr.Network() != "unix" || filepath.Dir(addr.String()) != p.SocketDir {
		t.Fatalf("socket %s %s, want one in PLUGIN_UNIX_SOCKET_DIR %s", addr.Network(), addr, p.SocketDir)
	}
	p.Kill()
	if _, err := os.Stat(addr.String()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the socket outlived the plugin: %v", err)
	}
}

func TestDataFamily(t *testing.T) {
	p := launchHost(t, "PROTOCOL", nil)
	now := time.Now()
	for _, format := range []pluginv2.DataFrameFormat{pluginv2.DataFrameFormat_ARROW, pluginv2.DataFrameFormat_JSON} {
		res := queryData(t, p, &pluginv2.QueryDataRequest{
			PluginContext: datasourceContext("ds", "{}"),
			Queries: []*pluginv2.DataQuery{
				query("A", `{}`, now),
				query("B", `{"fail":"downstream"}`, now),
			},
			Format: format,
		})
		a := res.Responses["A"]
		if a.Error != nil || len(a.Frames) != 1 || a.Frames[0].Name != "inspect" {
			t.Fatalf("%v: A answered %+v", format, a)
		}
		custom := a.Frames[0].Meta.Custom.(map[string]any)
		if want := map[pluginv2.DataFrameFormat]string{0: "Arrow", 1: "Json"}[format]; custom["format"] != want {
			t.Fatalf("the guest saw format %v, want %s", custom["format"], want)
		}
		b := res.Responses["B"]
		if b.Error == nil || b.Error.Error() != "upstream answered 503" || b.Status != 503 || b.ErrorSource != backend.ErrorSourceDownstream {
			t.Fatalf("%v: B answered %+v", format, b)
		}
	}

	_, err := p.Data.QueryData(callContext(t), &pluginv2.QueryDataRequest{
		PluginContext: datasourceContext("ds", "{}"),
		Queries:       []*pluginv2.DataQuery{query("A", `{"fail":"handler"}`, now)},
	})
	wantCode(t, err, codes.Unknown)
	if got := errorSource(err); got != "plugin" {
		t.Fatalf("handler error source %q (%v)", got, err)
	}
}

func TestChunkedDataFamily(t *testing.T) {
	p := launchHost(t, "PROTOCOL", nil)
	stream, err := p.Data.QueryChunkedData(callContext(t), &pluginv2.QueryChunkedDataRequest{
		PluginContext: datasourceContext("ds", "{}"),
		Queries:       []*pluginv2.DataQuery{query("A", `{}`, time.Now()), query("E", `{}`, time.Now())},
	})
	if err != nil {
		t.Fatal(err)
	}
	var values []int64
	var failed *pluginv2.QueryChunkedDataResponse
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if chunk.RefId == "E" {
			failed = chunk
			continue
		}
		frame, err := data.UnmarshalArrowFrame(chunk.Frame)
		if err != nil {
			t.Fatalf("decoding a chunk with the SDK: %v", err)
		}
		if chunk.FrameId != "f1" || frame.Name != "chunked" {
			t.Fatalf("chunk %q frame %q", chunk.FrameId, frame.Name)
		}
		for i := range frame.Rows() {
			values = append(values, frame.Fields[0].At(i).(int64))
		}
	}
	if len(values) != 4 || values[3] != 3 {
		t.Fatalf("rows %v", values)
	}
	if failed == nil || failed.Status != 502 || failed.Error != "no data for E" || failed.ErrorSource != "downstream" {
		t.Fatalf("E answered %+v", failed)
	}
}

func TestResourceFamilyStreamsItsBody(t *testing.T) {
	p := launchHost(t, "PROTOCOL", nil)
	answer, err := callResource(t, p, &pluginv2.CallResourceRequest{
		PluginContext: datasourceContext("ds", "{}"), Path: "chunks", Method: "GET", Url: "chunks",
	})
	if err != nil {
		t.Fatal(err)
	}
	if answer.parts != 5 || string(answer.body) != "part-0;part-1;part-2;part-3;part-4;" {
		t.Fatalf("%d parts, body %q", answer.parts, answer.body)
	}
	if answer.first.Status != 200 || answer.first.Headers["X-Chunked"][0] != "yes" {
		t.Fatalf("first part %+v", answer.first)
	}

	answer, err = callResource(t, p, &pluginv2.CallResourceRequest{
		PluginContext: datasourceContext("ds", "{}"), Path: "inspect", Method: "POST", Url: "inspect?x=1",
		Body: []byte(`{"a":1}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	var seen map[string]any
	if err := json.Unmarshal(answer.body, &seen); err != nil || seen["method"] != "POST" || seen["body"] != `{"a":1}` || seen["url"] != "inspect?x=1" {
		t.Fatalf("inspect answered %s (%v)", answer.body, err)
	}

	answer, err = callResource(t, p, &pluginv2.CallResourceRequest{
		PluginContext: datasourceContext("ds", "{}"), Path: "fail-after", Method: "GET",
	})
	if string(answer.body) != "partial" || errorSource(err) != "downstream" {
		t.Fatalf("fail-after: body %q, error %v", answer.body, err)
	}
}

func TestDiagnosticsFamily(t *testing.T) {
	p := launchHost(t, "PROTOCOL", nil)
	res, err := p.Diagnostics.CheckHealth(callContext(t), &pluginv2.CheckHealthRequest{
		PluginContext: datasourceContext("ds", "{}"),
	})
	if err != nil {
		t.Fatal(err)
	}
	health := backend.FromProto().CheckHealthResponse(res)
	if health.Status != backend.HealthStatusError || health.Message != "down" {
		t.Fatalf("health %+v", health)
	}
	_, err = p.Diagnostics.CheckHealth(callContext(t), &pluginv2.CheckHealthRequest{
		PluginContext: datasourceContext("ds", "{}"), Headers: map[string]string{"fail": "1"},
	})
	if errorSource(err) != "downstream" {
		t.Fatalf("failing health check: %v", err)
	}

	metrics, err := p.Diagnostics.CollectMetrics(callContext(t), &pluginv2.CollectMetricsRequest{
		PluginContext: datasourceContext("ds", "{}"),
	})
	if err != nil {
		t.Fatal(err)
	}
	text := string(backend.FromProto().CollectMetricsResponse(metrics).PrometheusMetrics)
	if !strings.Contains(text, `grafana_wasm_calls_total{outcome="ok",rpc="CheckHealth"} 1`) {
		t.Fatalf("metrics without the host's call counter:\n%s", text)
	}
}

func TestStreamFamilyWithCancellation(t *testing.T) {
	p := launchHost(t, "PROTOCOL", nil)
	ctx := datasourceContext("ds", "{}")
	sub, err := p.Stream.SubscribeStream(callContext(t), &pluginv2.SubscribeStreamRequest{PluginContext: ctx, Path: "denied"})
	if err != nil || backend.FromProto().SubscribeStreamResponse(sub).Status != backend.SubscribeStreamStatusPermissionDenied {
		t.Fatalf("denied: %+v %v", sub, err)
	}
	sub, err = p.Stream.SubscribeStream(callContext(t), &pluginv2.SubscribeStreamRequest{PluginContext: ctx, Path: "live", Data: []byte(`{"q":1}`)})
	if err != nil || sub.Status != pluginv2.SubscribeStreamResponse_OK || !json.Valid(sub.Data) {
		t.Fatalf("live: %+v %v", sub, err)
	}
	pub, err := p.Stream.PublishStream(callContext(t), &pluginv2.PublishStreamRequest{PluginContext: ctx, Path: "live", Data: []byte(`{"p":2}`)})
	if err != nil || string(backend.FromProto().PublishStreamResponse(pub).Data) != `{"p":2}` {
		t.Fatalf("publish: %+v %v", pub, err)
	}

	// A stream that waits until Grafana cancels it, as Grafana does when
	// the last subscriber leaves: the cancellation ends it, and the host
	// keeps serving.
	streamCtx, cancel := context.WithCancel(callContext(t))
	run, err := p.Stream.RunStream(streamCtx, &pluginv2.RunStreamRequest{PluginContext: ctx, Path: "live"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = run.Recv()
	wantCode(t, err, codes.Canceled)

	// Packets sent before a trap arrive; the trap ends the stream with an error.
	run, err = p.Stream.RunStream(callContext(t), &pluginv2.RunStreamRequest{PluginContext: ctx, Path: "trap-after"})
	if err != nil {
		t.Fatal(err)
	}
	for seq := range 3 {
		packet, err := run.Recv()
		if err != nil || string(backend.FromProto().StreamPacket(packet).Data) != fmt.Sprintf(`{"seq":%d}`, seq) {
			t.Fatalf("packet %d: %v %v", seq, packet, err)
		}
	}
	_, err = run.Recv()
	wantCode(t, err, codes.Internal)
}

func TestAdmissionAndConversionFamilies(t *testing.T) {
	p := launchHost(t, "PROTOCOL", nil)
	kind := &pluginv2.GroupVersionKind{Group: "example.grafana.app", Version: "v1", Kind: "Thing"}
	validation, err := p.Admission.ValidateAdmission(callContext(t), &pluginv2.AdmissionRequest{
		PluginContext: datasourceContext("ds", "{}"), Operation: pluginv2.AdmissionRequest_CREATE, Kind: kind,
	})
	if err != nil {
		t.Fatal(err)
	}
	v := backend.FromProto().ValidationResponse(validation)
	if v.Allowed || v.Result == nil || v.Result.Code != 422 || v.Result.Message != "empty Thing refused" || v.Warnings[0] != "Create" {
		t.Fatalf("validation %+v %+v", v, v.Result)
	}
	mutation, err := p.Admission.MutateAdmission(callContext(t), &pluginv2.AdmissionRequest{
		PluginContext: datasourceContext("ds", "{}"), Operation: pluginv2.AdmissionRequest_UPDATE, Kind: kind,
		ObjectBytes: []byte(`{"spec":{}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := backend.FromProto().MutationResponse(mutation); !m.Allowed || string(m.ObjectBytes) != `{"mutated":true,"spec":{}}` {
		t.Fatalf("mutation %+v", m)
	}

	conversion, err := p.Conversion.ConvertObjects(callContext(t), &pluginv2.ConversionRequest{
		PluginContext: datasourceContext("ds", "{}"), Uid: "u1",
		Objects:       []*pluginv2.RawObject{{Raw: []byte(`{"apiVersion":"example.grafana.app/v1"}`), ContentType: "application/json"}},
		TargetVersion: &pluginv2.GroupVersion{Group: "example.grafana.app", Version: "v2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := backend.FromProto().ConversionResponse(conversion)
	if c.UID != "u1" || len(c.Objects) != 1 || string(c.Objects[0].Raw) != `{"apiVersion":"example.grafana.app/v2"}` {
		t.Fatalf("conversion %+v", c)
	}
}
