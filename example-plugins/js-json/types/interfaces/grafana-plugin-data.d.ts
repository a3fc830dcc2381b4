/// <reference path="./grafana-plugin-types.d.ts" />
declare module 'grafana:plugin/data@0.1.1' {
  export function queryData(request: QueryDataRequest): QueryDataResponse;
  export type QueryDataRequest = import('grafana:plugin/types@0.1.1').QueryDataRequest;
  export type QueryDataResponse = import('grafana:plugin/types@0.1.1').QueryDataResponse;
  export type HandlerError = import('grafana:plugin/types@0.1.1').HandlerError;
}
