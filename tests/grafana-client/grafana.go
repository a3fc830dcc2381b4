// Package grafanaclient launches a backend plugin executable the way
// Grafana does, with the code Grafana uses on its side: hashicorp/go-plugin's
// client configured as Grafana's plugin client is, and the pluginv2 clients
// of grafana-plugin-sdk-go's generated package. Answers are meant to be read
// with the SDK's own conversions (backend.FromProto) and data package.
package grafanaclient

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// Handshake is Grafana's handshake config, from the SDK's constants.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  grpcplugin.ProtocolVersion,
	MagicCookieKey:   grpcplugin.MagicCookieKey,
	MagicCookieValue: grpcplugin.MagicCookieValue,
}

// pluginSet is the set Grafana dispenses for protocol version 2.
func pluginSet() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		grpcplugin.ProtocolVersion: {
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
			"resource":    &grpcplugin.ResourceGRPCPlugin{},
			"data":        &grpcplugin.DataGRPCPlugin{},
			"stream":      &grpcplugin.StreamGRPCPlugin{},
			"admission":   &grpcplugin.AdmissionGRPCPlugin{},
			"conversion":  &grpcplugin.ConversionGRPCPlugin{},
		},
	}
}

// grafanaEnv is the environment Grafana 12.4+ computes for a plugin
// process that does not inherit the host's: the plugin's ini keys as
// GF_PLUGIN_<KEY> first, Grafana's own variables, then the permitted host
// variables that are set (here PLUGIN_UNIX_SOCKET_DIR).
func grafanaEnv(ini map[string]string, socketDir string) []string {
	keys := make([]string, 0, len(ini))
	for key := range ini {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys)+8)
	for _, key := range keys {
		env = append(env, "GF_PLUGIN_"+strings.ToUpper(key)+"="+ini[key])
	}
	return append(env,
		"GF_VERSION=12.4.2",
		"GF_EDITION=Open Source",
		"GF_ENTERPRISE_LICENSE_PATH=",
		"GF_ENTERPRISE_APP_URL=",
		"AWS_AUTH_AssumeRoleEnabled=false",
		"AWS_AUTH_AllowedAuthProviders=default,keys,credentials",
		"AWS_AUTH_SESSION_DURATION=15m",
		"AWS_CW_LIST_METRICS_PAGE_LIMIT=500",
		"GFAZPL_AZURE_CLOUD=AzureCloud",
		"PLUGIN_UNIX_SOCKET_DIR="+socketDir,
	)
}

// Plugin is a launched plugin process and its dispensed clients.
type Plugin struct {
	Client      *plugin.Client
	Executable  string
	SocketDir   string
	Diagnostics grpcplugin.DiagnosticsClient
	Resource    grpcplugin.ResourceClient
	Data        grpcplugin.DataClient
	Stream      grpcplugin.StreamClient
	Admission   grpcplugin.AdmissionClient
	Conversion  grpcplugin.ConversionClient
	logs        *syncBuffer
	killOnce    sync.Once
}

// Launch starts executable as Grafana does, with the plugin's ini keys
// (`[plugin.<id>]`), and dispenses every client Grafana dispenses. The
// process is killed (go-plugin's Kill, as Grafana stops a plugin) when the
// test ends.
func Launch(t testing.TB, executable string, ini map[string]string) *Plugin {
	t.Helper()
	socketDir := t.TempDir()
	cmd := exec.Command(executable)
	cmd.Env = grafanaEnv(ini, socketDir)
	logs := &syncBuffer{}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: pluginSet(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Cmd:              cmd,
		// Grafana builds Cmd.Env itself and never lets go-plugin add the
		// host environment. It sets no StartTimeout (go-plugin's default,
		// one minute, applies) and no SyncStdout/SyncStderr (GRPCStdio is
		// consumed into io.Discard).
		SkipHostEnv: true,
		Logger: hclog.New(&hclog.LoggerOptions{
			JSONFormat: true,
			Level:      hclog.Trace,
			Output:     logs,
		}),
	})
	p := &Plugin{Client: client, Executable: executable, SocketDir: socketDir, logs: logs}
	t.Cleanup(p.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("starting %s: %v\nlogs:\n%s", executable, err, logs.String())
	}
	dispense := func(name string) any {
		raw, err := rpc.Dispense(name)
		if err != nil {
			t.Fatalf("dispensing %s: %v", name, err)
		}
		return raw
	}
	p.Diagnostics = dispense("diagnostics").(grpcplugin.DiagnosticsClient)
	p.Resource = dispense("resource").(grpcplugin.ResourceClient)
	p.Data = dispense("data").(grpcplugin.DataClient)
	p.Stream = dispense("stream").(grpcplugin.StreamClient)
	p.Admission = dispense("admission").(grpcplugin.AdmissionClient)
	p.Conversion = dispense("conversion").(grpcplugin.ConversionClient)
	return p
}

// Kill stops the plugin as Grafana does (GRPCController.Shutdown, then at
// most 2 s before SIGKILL); later calls do nothing.
func (p *Plugin) Kill() {
	p.killOnce.Do(p.Client.Kill)
}

// LogEntry is one line go-plugin logged through Grafana's logger.
type LogEntry struct {
	Level   string
	Message string
	Module  string
	Fields  map[string]any
}

// Logs are the lines logged so far: go-plugin's own and the plugin's
// stderr lines it re-logged.
func (p *Plugin) Logs() []LogEntry {
	var entries []LogEntry
	dec := json.NewDecoder(bytes.NewReader(p.logs.Bytes()))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return entries // io.EOF, or a line still being written
		}
		e := LogEntry{Fields: map[string]any{}}
		e.Level, _ = m["@level"].(string)
		e.Message, _ = m["@message"].(string)
		e.Module, _ = m["@module"].(string)
		for k, v := range m {
			if !strings.HasPrefix(k, "@") {
				e.Fields[k] = v
			}
		}
		entries = append(entries, e)
	}
}

// PluginLogs are the plugin's stderr lines as go-plugin re-logged them
// (its sub-logger is named after the executable).
func (p *Plugin) PluginLogs() []LogEntry {
	var out []LogEntry
	for _, e := range p.Logs() {
		if e.Module == filepath.Base(p.Executable) {
			out = append(out, e)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for go-plugin's logging goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(b)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes())
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }
