/// <reference path="./grafana-plugin-types.d.ts" />
declare module 'grafana:plugin/health@0.1.1' {
  /**
   * Checks that the datasource can work, typically by calling its API
   * with the configured settings; `status: error` with a message tells
   * the person configuring it what is wrong.
   */
  export function checkHealth(request: CheckHealthRequest): CheckHealthResult;
  export type CheckHealthRequest = import('grafana:plugin/types@0.1.1').CheckHealthRequest;
  export type CheckHealthResult = import('grafana:plugin/types@0.1.1').CheckHealthResult;
  export type HandlerError = import('grafana:plugin/types@0.1.1').HandlerError;
}
