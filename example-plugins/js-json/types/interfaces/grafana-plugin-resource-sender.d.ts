/// <reference path="./grafana-plugin-types.d.ts" />
declare module 'grafana:plugin/resource-sender@0.1.1' {
  /**
   * Sends one message; the first one carries the status and headers.
   */
  export function send(response: CallResourceResponse): void;
  export type CallResourceResponse = import('grafana:plugin/types@0.1.1').CallResourceResponse;
  export type SendError = import('grafana:plugin/types@0.1.1').SendError;
}
