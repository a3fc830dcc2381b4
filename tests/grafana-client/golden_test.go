package grafanaclient

// Frame goldens from the SDK itself: frames of every field type built with
// grafana-plugin-sdk-go, described to the frame-echo test guest, which
// builds them with our SDK; the host's Arrow and frame JSON must decode,
// with the SDK, to equal frames.

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// specTypes names each non-nullable field type as frame-echo's spec does.
var specTypes = map[data.FieldType]string{
	data.FieldTypeInt8: "int8", data.FieldTypeInt16: "int16", data.FieldTypeInt32: "int32", data.FieldTypeInt64: "int64",
	data.FieldTypeUint8: "uint8", data.FieldTypeUint16: "uint16", data.FieldTypeUint32: "uint32", data.FieldTypeUint64: "uint64",
	data.FieldTypeFloat32: "float32", data.FieldTypeFloat64: "float64", data.FieldTypeBool: "bool", data.FieldTypeString: "string",
	data.FieldTypeTime: "time", data.FieldTypeJSON: "json", data.FieldTypeEnum: "enum",
}

func ptr[T any](v T) *T { return &v }

// everyType is one field per type, plain and nullable (a null in the
// middle), with labels and field config on some of them.
func everyType() []*data.Field {
	at := func(ns int64) time.Time { return time.Unix(0, ns).UTC() }
	fields := []*data.Field{
		data.NewField("int8", nil, []int8{-128, 0, 127}),
		data.NewField("int8?", nil, []*int8{ptr[int8](-1), nil, ptr[int8](1)}),
		data.NewField("int16", nil, []int16{-32768, 0, 32767}),
		data.NewField("int16?", nil, []*int16{ptr[int16](-2), nil, ptr[int16](2)}),
		data.NewField("int32", nil, []int32{-2147483648, 0, 2147483647}),
		data.NewField("int32?", nil, []*int32{ptr[int32](-3), nil, ptr[int32](3)}),
		data.NewField("int64", data.Labels{"host": "a", "dc": "eu-1"}, []int64{-9223372036854775808, 0, 9223372036854775807}),
		data.NewField("int64?", nil, []*int64{ptr[int64](-4), nil, ptr[int64](4)}),
		data.NewField("uint8", nil, []uint8{0, 1, 255}),
		data.NewField("uint8?", nil, []*uint8{ptr[uint8](5), nil, ptr[uint8](6)}),
		data.NewField("uint16", nil, []uint16{0, 1, 65535}),
		data.NewField("uint16?", nil, []*uint16{ptr[uint16](7), nil, ptr[uint16](8)}),
		data.NewField("uint32", nil, []uint32{0, 1, 4294967295}),
		data.NewField("uint32?", nil, []*uint32{ptr[uint32](9), nil, ptr[uint32](10)}),
		data.NewField("uint64", nil, []uint64{0, 1, 18446744073709551615}),
		data.NewField("uint64?", nil, []*uint64{ptr[uint64](11), nil, ptr[uint64](12)}),
		data.NewField("float32", nil, []float32{-1.5, 0, 3.25}),
		data.NewField("float32?", nil, []*float32{ptr[float32](0.5), nil, ptr[float32](-0.25)}),
		data.NewField("float64", data.Labels{"unit": "s"}, []float64{-1e300, 0.1, 2.5}),
		data.NewField("float64?", nil, []*float64{ptr(1.25), nil, ptr(-7.0)}),
		data.NewField("bool", nil, []bool{true, false, true}),
		data.NewField("bool?", nil, []*bool{ptr(false), nil, ptr(true)}),
		data.NewField("string", nil, []string{"", "plain", "ünïcödé \"quoted\"\n"}),
		data.NewField("string?", nil, []*string{ptr("a"), nil, ptr("")}),
		data.NewField("time", nil, []time.Time{at(1_700_000_000_000_000_000), at(1_700_000_001_000_000_000), at(0)}),
		data.NewField("time ns", nil, []time.Time{at(1_700_000_000_123_456_789), at(1), at(1_700_000_002_000_000_001)}),
		data.NewField("time?", nil, []*time.Time{ptr(at(1_700_000_000_000_000_000)), nil, ptr(at(1_700_000_000_000_000_007))}),
		data.NewField("json", nil, []json.RawMessage{json.RawMessage(`{"a":[1,2]}`), json.RawMessage(`"s"`), json.RawMessage(`null`)}),
		data.NewField("json?", nil, []*json.RawMessage{ptr(json.RawMessage(`[true]`)), nil, ptr(json.RawMessage(`3`))}),
		data.NewField("enum", nil, []data.EnumItemIndex{0, 2, 1}),
		data.NewField("enum?", nil, []*data.EnumItemIndex{ptr(data.EnumItemIndex(1)), nil, ptr(data.EnumItemIndex(0))}),
	}
	fields[19].Config = &data.FieldConfig{
		DisplayNameFromDS: "Requests", Description: "requests per second", Unit: "reqps",
		Decimals: ptr[uint16](2), Min: ptr(data.ConfFloat64(0)), Max: ptr(data.ConfFloat64(100)),
		Filterable: ptr(true), NoValue: "n/a", Interval: 1000,
		Custom: map[string]any{"drawStyle": "line"},
	}
	enumConfig := &data.FieldConfig{TypeConfig: &data.FieldTypeConfig{Enum: &data.EnumFieldConfig{Text: []string{"ok", "degraded", "down"}}}}
	fields[29].Config, fields[30].Config = enumConfig, enumConfig
	return fields
}

// goldenFrames are the frames of the golden test: every type with meta,
// the same fields without rows, and a frame without fields.
func goldenFrames() map[string]*data.Frame {
	full := data.NewFrame("every type", everyType()...).SetMeta(&data.FrameMeta{
		Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1},
		ExecutedQueryString: "SELECT *", PreferredVisualization: data.VisTypeTable, Custom: map[string]any{"rows": float64(3)},
		Notices: []data.Notice{{Severity: data.NoticeSeverityWarning, Text: "sampled"}},
		Stats:   []data.QueryStat{{FieldConfig: data.FieldConfig{DisplayName: "Rows scanned"}, Value: 1200}},
	})
	empty := data.NewFrame("no rows")
	for _, f := range everyType() {
		empty.Fields = append(empty.Fields, data.NewFieldFromFieldType(f.Type(), 0))
		last := empty.Fields[len(empty.Fields)-1]
		last.Name, last.Labels, last.Config = f.Name, f.Labels, f.Config
	}
	return map[string]*data.Frame{"A": full, "B": empty, "C": data.NewFrame("no fields")}
}

// spec describes frame as frame-echo reads it.
func spec(t *testing.T, frame *data.Frame) map[string]any {
	t.Helper()
	fields := make([]map[string]any, 0, len(frame.Fields))
	for _, f := range frame.Fields {
		values := make([]any, f.Len())
		for i := range values {
			v, ok := f.ConcreteAt(i)
			if !ok {
				continue // null
			}
			switch v := v.(type) {
			case time.Time:
				values[i] = v.UnixNano()
			default:
				values[i] = v
			}
		}
		fields = append(fields, map[string]any{
			"name": f.Name, "type": specTypes[f.Type().NonNullableType()], "nullable": f.Nullable(),
			"values": values, "labels": f.Labels, "config": f.Config,
		})
	}
	return map[string]any{"name": frame.Name, "meta": frame.Meta, "fields": fields}
}

func TestFramesBuiltByTheSDKDecodeEqual(t *testing.T) {
	p := launchHost(t, "FRAME_ECHO", nil)
	golden := goldenFrames()
	var queries []*pluginv2.DataQuery
	for refID, frame := range golden {
		model, err := json.Marshal(map[string]any{"spec": spec(t, frame)})
		if err != nil {
			t.Fatal(err)
		}
		queries = append(queries, query(refID, string(model), time.Now()))
		frame.RefID = refID // the SDK sets it on the way out, and so does the host
	}
	for _, format := range []pluginv2.DataFrameFormat{pluginv2.DataFrameFormat_ARROW, pluginv2.DataFrameFormat_JSON} {
		res := queryData(t, p, &pluginv2.QueryDataRequest{PluginContext: datasourceContext("ds", "{}"), Queries: queries, Format: format})
		for refID, want := range golden {
			got := res.Responses[refID]
			if got.Error != nil {
				t.Fatalf("%v %s: %v", format, refID, got.Error)
			}
			if diff := cmp.Diff(data.Frames{want}, got.Frames, data.FrameTestCompareOptions()...); diff != "" {
				t.Errorf("%v %s (%s): the SDK decodes another frame (-SDK +ours):\n%s", format, refID, want.Name, diff)
			}
		}
	}
}
