/// <reference path="./interfaces/grafana-plugin-chunk-sender.d.ts" />
/// <reference path="./interfaces/grafana-plugin-data.d.ts" />
/// <reference path="./interfaces/grafana-plugin-frames.d.ts" />
/// <reference path="./interfaces/grafana-plugin-health.d.ts" />
/// <reference path="./interfaces/grafana-plugin-log.d.ts" />
/// <reference path="./interfaces/grafana-plugin-resource-sender.d.ts" />
/// <reference path="./interfaces/grafana-plugin-resource.d.ts" />
/// <reference path="./interfaces/grafana-plugin-stream-sender.d.ts" />
/// <reference path="./interfaces/grafana-plugin-types.d.ts" />
/// <reference path="./interfaces/wasi-clocks-monotonic-clock.d.ts" />
/// <reference path="./interfaces/wasi-http-outgoing-handler.d.ts" />
/// <reference path="./interfaces/wasi-http-types.d.ts" />
/// <reference path="./interfaces/wasi-io-error.d.ts" />
/// <reference path="./interfaces/wasi-io-poll.d.ts" />
/// <reference path="./interfaces/wasi-io-streams.d.ts" />
declare module 'grafana:plugin/datasource@0.1.1' {
  export type * as GrafanaPluginChunkSender011 from 'grafana:plugin/chunk-sender@0.1.1'; // import grafana:plugin/chunk-sender@0.1.1
  export type * as GrafanaPluginFrames011 from 'grafana:plugin/frames@0.1.1'; // import grafana:plugin/frames@0.1.1
  export type * as GrafanaPluginLog011 from 'grafana:plugin/log@0.1.1'; // import grafana:plugin/log@0.1.1
  export type * as GrafanaPluginResourceSender011 from 'grafana:plugin/resource-sender@0.1.1'; // import grafana:plugin/resource-sender@0.1.1
  export type * as GrafanaPluginStreamSender011 from 'grafana:plugin/stream-sender@0.1.1'; // import grafana:plugin/stream-sender@0.1.1
  export type * as GrafanaPluginTypes011 from 'grafana:plugin/types@0.1.1'; // import grafana:plugin/types@0.1.1
  export type * as WasiClocksMonotonicClock0212 from 'wasi:clocks/monotonic-clock@0.2.12'; // import wasi:clocks/monotonic-clock@0.2.12
  export type * as WasiHttpOutgoingHandler0212 from 'wasi:http/outgoing-handler@0.2.12'; // import wasi:http/outgoing-handler@0.2.12
  export type * as WasiHttpTypes0212 from 'wasi:http/types@0.2.12'; // import wasi:http/types@0.2.12
  export type * as WasiIoError0212 from 'wasi:io/error@0.2.12'; // import wasi:io/error@0.2.12
  export type * as WasiIoPoll0212 from 'wasi:io/poll@0.2.12'; // import wasi:io/poll@0.2.12
  export type * as WasiIoStreams0212 from 'wasi:io/streams@0.2.12'; // import wasi:io/streams@0.2.12
  export * as data from 'grafana:plugin/data@0.1.1'; // export grafana:plugin/data@0.1.1
  export * as health from 'grafana:plugin/health@0.1.1'; // export grafana:plugin/health@0.1.1
  export * as resource from 'grafana:plugin/resource@0.1.1'; // export grafana:plugin/resource@0.1.1
}
