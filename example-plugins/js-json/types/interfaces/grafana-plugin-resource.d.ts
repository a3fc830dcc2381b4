/// <reference path="./grafana-plugin-types.d.ts" />
declare module 'grafana:plugin/resource@0.1.1' {
  /**
   * Answers through `resource-sender`, in one or several messages.
   */
  export function callResource(request: CallResourceRequest): void;
  export type CallResourceRequest = import('grafana:plugin/types@0.1.1').CallResourceRequest;
  export type HandlerError = import('grafana:plugin/types@0.1.1').HandlerError;
}
