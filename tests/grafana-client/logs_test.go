package grafanaclient

// What Grafana's side sees of the process: stderr lines re-logged at their
// level, GRPCStdio consumed, Kill ending in a graceful exit.

import (
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"google.golang.org/grpc/codes"
)

// logged reports whether entries hold message at level with the fields.
func logged(entries []LogEntry, level, message string, fields map[string]any) bool {
	for _, e := range entries {
		if e.Level != level || e.Message != message {
			continue
		}
		match := true
		for k, v := range fields {
			match = match && e.Fields[k] == v
		}
		if match {
			return true
		}
	}
	return false
}

// wantParsed fails when go-plugin could not parse one of the plugin's
// lines: it logs those raw, at debug.
func wantParsed(t *testing.T, p *Plugin) {
	t.Helper()
	for _, e := range p.PluginLogs() {
		if strings.HasPrefix(e.Message, "{") {
			t.Errorf("go-plugin did not parse a stderr line: %s", e.Message)
		}
	}
}

func TestStderrLinesAreReloggedAtTheirLevel(t *testing.T) {
	walk := launchHost(t, "RANDOM_WALK", nil)
	if _, err := walk.Diagnostics.CheckHealth(callContext(t), &pluginv2.CheckHealthRequest{PluginContext: datasourceContext("ds", "{}")}); err != nil {
		t.Fatal(err)
	}
	queryData(t, walk, &pluginv2.QueryDataRequest{
		PluginContext: datasourceContext("ds", "{}"),
		Queries:       []*pluginv2.DataQuery{query("A", `{"points":3}`, time.Now())},
	})

	proto := launchHost(t, "PROTOCOL", nil)
	if answer, err := callResource(t, proto, &pluginv2.CallResourceRequest{PluginContext: datasourceContext("ds", "{}"), Path: "bad-status", Method: "GET"}); err != nil || answer.first.Status != 500 {
		t.Fatalf("a resource answer with status 1000: %+v %v", answer.first, err)
	}
	run, err := proto.Stream.RunStream(callContext(t), &pluginv2.RunStreamRequest{PluginContext: datasourceContext("ds", "{}"), Path: "trap-after"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := run.Recv(); err != nil {
			wantCode(t, err, codes.Internal)
			break
		}
	}

	// Kill waits for go-plugin's stderr reader, so every line is in.
	walk.Kill()
	proto.Kill()
	for _, want := range []struct {
		p       *Plugin
		level   string
		message string
		fields  map[string]any
	}{
		{walk, "info", "plugin host serving", nil},
		{walk, "info", "health check", map[string]any{"pluginId": "random_walk"}},
		{walk, "debug", "queries answered", map[string]any{"pluginId": "random_walk", "count": "1"}},
		{proto, "warn", "invalid resource answer from the plugin", nil},
		{proto, "error", "guest call failed", map[string]any{"rpc": "RunStream"}},
	} {
		if !logged(want.p.PluginLogs(), want.level, want.message, want.fields) {
			t.Errorf("no %s line %q %v among:\n%+v", want.level, want.message, want.fields, want.p.PluginLogs())
		}
	}
	wantParsed(t, walk)
	wantParsed(t, proto)
}

func TestGRPCStdioIsConsumed(t *testing.T) {
	p := launchHost(t, "RANDOM_WALK", nil)
	p.Kill()
	var stdio []LogEntry
	for _, e := range p.Logs() {
		if e.Module == "stdio" {
			stdio = append(stdio, e)
		}
	}
	if !logged(stdio, "trace", "waiting for stdio data", nil) {
		t.Fatalf("go-plugin did not read the stdio stream: %+v", stdio)
	}
	for _, e := range stdio {
		if e.Level == "warn" || e.Level == "error" {
			t.Errorf("stdio stream: %s %s %v", e.Level, e.Message, e.Fields)
		}
	}
}

func TestKillEndsTheHostGracefully(t *testing.T) {
	p := launchHost(t, "RANDOM_WALK", nil)
	p.Kill()
	if !p.Client.Exited() {
		t.Fatal("the process is still running after Kill")
	}
	logs := p.Logs()
	if logged(logs, "warn", "plugin failed to exit gracefully", nil) || !logged(logs, "debug", "plugin exited", nil) {
		t.Fatalf("Kill did not end in a graceful exit (Shutdown): %+v", logs)
	}
}
