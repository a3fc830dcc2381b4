// Command random-walk is the random-walk datasource
// (example-plugins/random-walk) written as a Go plugin author writes it,
// with grafana-plugin-sdk-go: datasource.Manage, an instance per
// datasource, the SDK's default middlewares. It answers exactly as the
// sandboxed example does:
//
//   - CheckHealth: OK, message "ok".
//   - QueryData: per query a frame "random-walk" with "time" (one point per
//     second, the last at the range's end) and "value" (i * 0.5); the point
//     count is the query's "points" (default 100, at most 10,000,000; more,
//     or a query that is not JSON, fails that query with status 400).
//   - CallResource: "echo" returns the request body as JSON; other paths 404.
//   - CollectMetrics: counters of queries, points, resource calls, packets.
//   - Streams: "walk" sends 5 JSON packets 100 ms apart, then idles until
//     cancelled; publishing to "walk" echoes the data.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const (
	defaultPoints = 100
	maxPoints     = 10_000_000
)

// Counters on the SDK's default registry, which CollectMetrics serves.
var (
	queriesTotal       = promauto.NewCounter(prometheus.CounterOpts{Name: "randomwalk_queries_total"})
	pointsTotal        = promauto.NewCounter(prometheus.CounterOpts{Name: "randomwalk_points_total"})
	resourceCallsTotal = promauto.NewCounter(prometheus.CounterOpts{Name: "randomwalk_resource_calls_total"})
	streamPacketsTotal = promauto.NewCounter(prometheus.CounterOpts{Name: "randomwalk_stream_packets_total"})
)

// queryModel is what the frontend sends.
type queryModel struct {
	Points *int64 `json:"points"`
}

// RandomWalk is one datasource instance.
type RandomWalk struct{}

var (
	_ backend.QueryDataHandler    = (*RandomWalk)(nil)
	_ backend.CheckHealthHandler  = (*RandomWalk)(nil)
	_ backend.CallResourceHandler = (*RandomWalk)(nil)
	_ backend.StreamHandler       = (*RandomWalk)(nil)
)

// NewRandomWalk is the instance factory.
func NewRandomWalk(_ context.Context, _ backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	return &RandomWalk{}, nil
}

func badRequest(message string) backend.DataResponse {
	return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourcePlugin, message)
}

func walk(q backend.DataQuery) backend.DataResponse {
	var model queryModel
	if err := json.Unmarshal(q.JSON, &model); err != nil {
		return badRequest("invalid query JSON: " + err.Error())
	}
	points := int64(defaultPoints)
	if model.Points != nil {
		points = *model.Points
	}
	if points < 0 || points > maxPoints {
		return badRequest(fmt.Sprintf("points must be between 0 and %d, got %d", maxPoints, points))
	}
	n := int(points)
	times := make([]time.Time, n)
	values := make([]float64, n)
	for i := range n {
		times[i] = q.TimeRange.To.Add(-time.Duration(n-1-i) * time.Second)
		values[i] = float64(i) * 0.5
	}
	queriesTotal.Inc()
	pointsTotal.Add(float64(n))
	frame := data.NewFrame("random-walk",
		data.NewField("time", nil, times),
		data.NewField("value", nil, values))
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// QueryData answers every query with a walk.
func (d *RandomWalk) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	response := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		response.Responses[q.RefID] = walk(q)
	}
	log.DefaultLogger.FromContext(ctx).Debug("queries answered", "count", len(req.Queries))
	return response, nil
}

// CheckHealth always succeeds.
func (d *RandomWalk) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	log.DefaultLogger.FromContext(ctx).Info("health check")
	return &backend.CheckHealthResult{Status: backend.HealthStatusOk, Message: "ok"}, nil
}

// CallResource serves "echo".
func (d *RandomWalk) CallResource(_ context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	resourceCallsTotal.Inc()
	if req.Path != "echo" {
		body, err := json.Marshal(map[string]string{"error": fmt.Sprintf("no resource %q", req.Path)})
		if err != nil {
			return err
		}
		return sender.Send(&backend.CallResourceResponse{
			Status:  http.StatusNotFound,
			Headers: map[string][]string{"Content-Type": {"application/json"}},
			Body:    body,
		})
	}
	return sender.Send(&backend.CallResourceResponse{
		Status:  http.StatusOK,
		Headers: map[string][]string{"Content-Type": {"application/json"}},
		Body:    req.Body,
	})
}

// SubscribeStream allows "walk" only.
func (d *RandomWalk) SubscribeStream(_ context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	if req.Path != "walk" {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}, nil
}

// PublishStream echoes what is published to "walk".
func (d *RandomWalk) PublishStream(_ context.Context, req *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	if req.Path != "walk" {
		return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusNotFound}, nil
	}
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusOK, Data: req.Data}, nil
}

// packet is one RunStream message.
type packet struct {
	Seq   int     `json:"seq"`
	Time  int64   `json:"time"`
	Value float64 `json:"value"`
}

// RunStream sends 5 packets 100 ms apart, then idles until cancelled.
func (d *RandomWalk) RunStream(ctx context.Context, _ *backend.RunStreamRequest, sender *backend.StreamSender) error {
	logger := log.DefaultLogger.FromContext(ctx)
	for seq := range 5 {
		body, err := json.Marshal(packet{Seq: seq, Time: time.Now().UnixMilli(), Value: float64(seq) * 0.5})
		if err != nil {
			return err
		}
		if err := sender.SendJSON(body); err != nil {
			logger.Info("stream cancelled", "seq", seq)
			return nil
		}
		streamPacketsTotal.Inc()
		select {
		case <-ctx.Done():
			logger.Info("stream cancelled", "seq", seq)
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	<-ctx.Done()
	logger.Info("stream cancelled")
	return nil
}

func main() {
	if err := datasource.Manage("random-walk", NewRandomWalk, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error(err.Error())
		os.Exit(1)
	}
}
