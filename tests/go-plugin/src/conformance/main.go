// Command conformance launches a Grafana backend plugin executable exactly the
// way Grafana does (through hashicorp/go-plugin's client library), performs one
// real pluginv2 Diagnostics/CheckHealth call over the negotiated gRPC
// connection, shuts the plugin down, and prints a single JSON report on stdout.
//
// It is built in GOPATH mode against Debian's packaged libraries (go-plugin
// 1.0.1, go-hclog 0.11, grpc 1.33, protobuf 1.28):
//
//	GO111MODULE=off GOPATH=/work/main/tests/go-plugin:/usr/share/gocode \
//	    go build -o /tmp/conformance conformance
//
// Usage: conformance -plugin PATH [-timeout 30s]
// The child inherits this program's environment (go-plugin adds os.Environ()).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

// Grafana's handshake for backend plugins (SDK protocol version 2).
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  2,
	MagicCookieKey:   "grafana_plugin_type",
	MagicCookieValue: "datasource",
}

// diagnosticsPlugin is the GRPCPlugin we dispense: it only hands back the raw
// *grpc.ClientConn so that we can invoke methods without generated stubs.
type diagnosticsPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (diagnosticsPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("conformance driver is client-only")
}

func (diagnosticsPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return c, nil
}

// rawCodec passes already-encoded protobuf bytes through gRPC unchanged.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*p = append([]byte(nil), data...)
	return nil
}

// syncBuffer is a goroutine-safe bytes.Buffer: go-plugin logs from several
// goroutines, and on error paths we may read while they are still running.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.buf.Bytes()...)
}

type checkHealth struct {
	Status      uint64 `json:"status"` // 0 UNKNOWN, 1 OK, 2 ERROR
	Message     string `json:"message"`
	JSONDetails string `json:"json_details"`
}

type logEntry struct {
	Level   string                 `json:"level"`
	Message string                 `json:"message"`
	Fields  map[string]interface{} `json:"fields"`
}

type report struct {
	Error             string       `json:"error,omitempty"`
	Protocol          string       `json:"protocol,omitempty"`
	NegotiatedVersion int          `json:"negotiated_version,omitempty"`
	CheckHealth       *checkHealth `json:"check_health,omitempty"`
	Logs              []logEntry   `json:"logs"`
	Exited            bool         `json:"exited"`
	GracefulExit      bool         `json:"graceful_exit"` // go-plugin logged "plugin exited", i.e. no SIGKILL
	KillMs            int64        `json:"kill_ms"`
}

func main() {
	pluginPath := flag.String("plugin", "", "plugin executable to launch")
	timeout := flag.Duration("timeout", 30*time.Second, "bound for start-up, the RPC and Kill each")
	flag.Parse()

	rep := &report{Logs: []logEntry{}}
	if *pluginPath == "" {
		finish(rep, errors.New("-plugin is required"))
	}

	logBuf := &syncBuffer{}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: map[int]plugin.PluginSet{2: {"diagnostics": diagnosticsPlugin{}}},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Cmd:              exec.Command(*pluginPath),
		StartTimeout:     *timeout,
		// No Name: go-plugin's own messages carry no @module, and the stderr
		// sub-logger (Named(filepath.Base(cmd.Path))) gets exactly the base name.
		Logger: hclog.New(&hclog.LoggerOptions{
			JSONFormat: true,
			Level:      hclog.Trace,
			Output:     logBuf,
		}),
	})

	runErr := exercise(client, rep, *timeout)

	// Always Kill, also after a failure: it reaps the child and waits for the
	// stderr reader, so every re-logged line is in logBuf afterwards.
	killStart := time.Now()
	killed := make(chan struct{})
	go func() { client.Kill(); close(killed) }()
	select {
	case <-killed:
	case <-time.After(*timeout):
		// Typically a grandchild still holds the stderr pipe open.
		killErr := fmt.Errorf("client.Kill() did not return within %s", *timeout)
		if runErr != nil {
			killErr = fmt.Errorf("%v; %v", runErr, killErr)
		}
		runErr = killErr
	}
	rep.KillMs = time.Since(killStart).Milliseconds()
	rep.Exited = client.Exited()

	module := filepath.Base(*pluginPath)
	rep.Logs, rep.GracefulExit = parseLogs(logBuf.Bytes(), module)
	finish(rep, runErr)
}

// exercise starts the plugin, dispenses "diagnostics" and calls CheckHealth.
func exercise(client *plugin.Client, rep *report, timeout time.Duration) error {
	rpcClient, err := client.Client()
	if err != nil {
		return fmt.Errorf("starting plugin: %v", err)
	}
	rep.Protocol = string(client.Protocol())
	rep.NegotiatedVersion = client.NegotiatedVersion()

	raw, err := rpcClient.Dispense("diagnostics")
	if err != nil {
		return fmt.Errorf("dispensing diagnostics: %v", err)
	}
	conn := raw.(*grpc.ClientConn)

	// CheckHealthRequest{ pluginContext(1): PluginContext{ orgId(1)=1, pluginId(2)="conformance-ds" } }
	var pctx []byte
	pctx = protowire.AppendTag(pctx, 1, protowire.VarintType)
	pctx = protowire.AppendVarint(pctx, 1)
	pctx = protowire.AppendTag(pctx, 2, protowire.BytesType)
	pctx = protowire.AppendString(pctx, "conformance-ds")
	var req []byte
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	req = protowire.AppendBytes(req, pctx)

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var resp []byte
	if err := conn.Invoke(ctx, "/pluginv2.Diagnostics/CheckHealth", req, &resp,
		grpc.ForceCodec(rawCodec{})); err != nil {
		return fmt.Errorf("CheckHealth: %v", err)
	}
	ch, err := decodeCheckHealth(resp)
	if err != nil {
		return fmt.Errorf("decoding CheckHealthResponse: %v", err)
	}
	rep.CheckHealth = ch
	return nil
}

// decodeCheckHealth parses CheckHealthResponse{status(1) enum, message(2)
// string, jsonDetails(3) bytes}, skipping unknown fields.
func decodeCheckHealth(b []byte) (*checkHealth, error) {
	out := &checkHealth{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			out.Status, n = protowire.ConsumeVarint(b)
		case (num == 2 || num == 3) && typ == protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			if num == 2 {
				out.Message = string(v)
			} else {
				out.JSONDetails = string(v)
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return out, nil
}

// parseLogs reads back the captured hclog JSON lines. It keeps the entries of
// the stderr sub-logger (@module == module) and reports whether go-plugin's
// Kill saw a graceful exit (its root logger says "plugin exited").
func parseLogs(buf []byte, module string) ([]logEntry, bool) {
	logs, graceful := []logEntry{}, false
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	for {
		var m map[string]interface{}
		if err := dec.Decode(&m); err != nil {
			break // io.EOF, or a torn final line
		}
		mod, _ := m["@module"].(string)
		msg, _ := m["@message"].(string)
		if mod == "" && msg == "plugin exited" {
			graceful = true
		}
		if mod != module {
			continue
		}
		e := logEntry{Message: msg, Fields: map[string]interface{}{}}
		e.Level, _ = m["@level"].(string)
		for k, v := range m {
			switch k {
			case "@level", "@message", "@module", "@timestamp":
			default:
				e.Fields[k] = v
			}
		}
		logs = append(logs, e)
	}
	return logs, graceful
}

// finish prints the report (with "error" set if err != nil) and exits.
func finish(rep *report, err error) {
	if err != nil {
		rep.Error = err.Error()
	}
	out, _ := json.Marshal(rep)
	fmt.Println(string(out))
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}
