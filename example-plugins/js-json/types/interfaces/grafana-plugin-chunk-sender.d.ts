/// <reference path="./grafana-plugin-types.d.ts" />
declare module 'grafana:plugin/chunk-sender@0.1.1' {
  export function send(chunk: DataChunk): void;
  export type DataChunk = import('grafana:plugin/types@0.1.1').DataChunk;
  export type SendError = import('grafana:plugin/types@0.1.1').SendError;
}
