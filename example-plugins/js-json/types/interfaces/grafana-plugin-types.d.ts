/// <reference path="./grafana-plugin-frames.d.ts" />
declare module 'grafana:plugin/types@0.1.1' {
  export type FrameData = import('grafana:plugin/frames@0.1.1').FrameData;
  /**
   * A JSON document as UTF-8 text, in bytes: the one way JSON crosses
   * the boundary (decode with `json.loads(b)` in Python,
   * `JSON.parse(new TextDecoder().decode(b))` in JavaScript). Two fields
   * of 0.1.0 predate it and carry JSON as a `string`: a frame's `meta`
   * and a field's `config` (see `frames`); they stay so within 0.1.
   */
  export type Json = Uint8Array;
  /**
   * A string-to-string map (header names, secure settings, config keys).
   */
  export type StringMap = Array<[string, string]>;
  /**
   * An HTTP header map: one name may carry several values.
   */
  export type HttpHeaders = Array<[string, Array<string>]>;
  /**
   * The Grafana user behind a request. Absent for calls Grafana makes on
   * its own behalf (alerting, metrics scraping).
   */
  export interface User {
    login: string,
    name: string,
    email: string,
    /**
     * Org role: `Admin`, `Editor`, `Viewer`, ...
     */
    role: string,
  }
  /**
   * Settings of an app plugin instance (an app enabled in one org).
   */
  export interface AppInstanceSettings {
    /**
     * The raw `jsonData` object.
     */
    jsonData: Json,
    /**
     * Secrets, already decrypted by Grafana.
     */
    decryptedSecureJsonData: StringMap,
    /**
     * When the settings last changed, milliseconds since the Unix epoch.
     */
    lastUpdatedMs: bigint,
    apiVersion: string,
  }
  /**
   * Settings of one configured datasource.
   */
  export interface DataSourceInstanceSettings {
    id: bigint,
    uid: string,
    name: string,
    url: string,
    user: string,
    database: string,
    basicAuthEnabled: boolean,
    basicAuthUser: string,
    /**
     * The raw `jsonData` object.
     */
    jsonData: Json,
    /**
     * Secrets, already decrypted by Grafana.
     */
    decryptedSecureJsonData: StringMap,
    /**
     * When the settings last changed, milliseconds since the Unix epoch.
     */
    lastUpdatedMs: bigint,
    apiVersion: string,
  }
  /**
   * Who is asking and for which plugin instance; sent with every request.
   */
  export interface PluginContext {
    orgId: bigint,
    pluginId: string,
    pluginVersion: string,
    user?: User,
    /**
     * Set only for requests to an app plugin.
     */
    appInstanceSettings?: AppInstanceSettings,
    /**
     * Set only for requests to a datasource.
     */
    dataSourceInstanceSettings?: DataSourceInstanceSettings,
    /**
     * Per-request Grafana configuration (`GF_*` keys).
     */
    grafanaConfig: StringMap,
    userAgent: string,
    apiVersion: string,
    namespace: string,
  }
  /**
   * Who is to blame for an error, as Grafana classifies failures.
   * # Variants
   * 
   * ## `"plugin"`
   * 
   * The plugin itself failed.
   * ## `"downstream"`
   * 
   * A system the plugin depends on failed (the datasource's API, ...).
   */
  export type ErrorSource = 'plugin' | 'downstream';
  /**
   * An error a handler reports on purpose.
   */
  export interface PluginError {
    message: string,
    source: ErrorSource,
  }
  /**
   * Why a handler produced no result.
   */
  export type HandlerError = HandlerErrorUnimplemented | HandlerErrorFailed;
  /**
   * The plugin does not implement this handler. The host answers as
   * Grafana expects from a plugin without it.
   */
  export interface HandlerErrorUnimplemented {
    tag: 'unimplemented',
  }
  /**
   * The handler failed.
   */
  export interface HandlerErrorFailed {
    tag: 'failed',
    val: PluginError,
  }
  /**
   * Why the host refused something the guest sent.
   */
  export type SendError = SendErrorClosed | SendErrorInvalid;
  /**
   * The receiver is gone (Grafana cancelled the call): stop sending.
   */
  export interface SendErrorClosed {
    tag: 'closed',
  }
  /**
   * The message was invalid; the text says why.
   */
  export interface SendErrorInvalid {
    tag: 'invalid',
    val: string,
  }
  /**
   * ---- data ----
   * A time range in milliseconds since the Unix epoch.
   */
  export interface TimeRange {
    fromMs: bigint,
    toMs: bigint,
  }
  /**
   * One query of a panel, alert rule or Explore tab.
   */
  export interface DataQuery {
    refId: string,
    queryType: string,
    maxDataPoints: bigint,
    intervalMs: bigint,
    timeRange: TimeRange,
    /**
     * The whole query object as the frontend sent it.
     */
    json: Json,
  }
  /**
   * How Grafana wants frames encoded. Guests build frames the same way
   * either way; the host does the encoding.
   * # Variants
   * 
   * ## `"arrow"`
   * 
   * ## `"json"`
   */
  export type FrameFormat = 'arrow' | 'json';
  export interface QueryDataRequest {
    pluginContext: PluginContext,
    headers: StringMap,
    queries: Array<DataQuery>,
    format: FrameFormat,
  }
  /**
   * The result of one query.
   */
  export interface DataResponse {
    frames: Array<FrameData>,
    error?: PluginError,
    /**
     * HTTP status; when absent the host uses 200, or 500 with an error.
     */
    status?: number,
  }
  export interface QueryDataResponse {
    /**
     * Responses keyed by the query's `ref-id`.
     */
    responses: Array<[string, DataResponse]>,
  }
  /**
   * One piece of a chunked query answer.
   */
  export interface DataChunk {
    refId: string,
    /**
     * Identifies the frame this chunk belongs to; the first chunk of a
     * frame carries its schema, later ones only rows.
     */
    frameId: string,
    frame?: FrameData,
    error?: PluginError,
    status?: number,
  }
  /**
   * ---- resource ----
   */
  export interface CallResourceRequest {
    pluginContext: PluginContext,
    /**
     * The path after `/resources/`, without a leading slash.
     */
    path: string,
    method: string,
    /**
     * `path` plus `?query`, relative.
     */
    url: string,
    headers: HttpHeaders,
    body: Uint8Array,
  }
  /**
   * One message of a resource answer: the first one's status and headers
   * become the HTTP response's; every body is appended.
   */
  export interface CallResourceResponse {
    status: number,
    headers: HttpHeaders,
    body: Uint8Array,
  }
  /**
   * ---- diagnostics ----
   */
  export interface CheckHealthRequest {
    pluginContext: PluginContext,
    headers: StringMap,
  }
  /**
   * # Variants
   * 
   * ## `"unknown"`
   * 
   * ## `"ok"`
   * 
   * ## `"error"`
   */
  export type HealthStatus = 'unknown' | 'ok' | 'error';
  export interface CheckHealthResult {
    status: HealthStatus,
    message: string,
    /**
     * Empty, or a JSON object shown as details in Grafana.
     */
    jsonDetails: Json,
  }
  export interface CollectMetricsRequest {
    pluginContext: PluginContext,
  }
  export interface CollectMetricsResult {
    /**
     * Prometheus text exposition format.
     */
    prometheus: Uint8Array,
  }
  /**
   * ---- streams ----
   * # Variants
   * 
   * ## `"ok"`
   * 
   * ## `"not-found"`
   * 
   * ## `"permission-denied"`
   */
  export type StreamStatus = 'ok' | 'not-found' | 'permission-denied';
  /**
   * Subscribe, publish and run requests share this shape.
   */
  export interface StreamRequest {
    pluginContext: PluginContext,
    path: string,
    /**
     * Subscription payload (subscribe, run) or published data.
     */
    data: Json,
    headers: StringMap,
  }
  export interface StreamResponse {
    status: StreamStatus,
    /**
     * Initial data (subscribe) or data to publish (publish).
     */
    data: Json,
  }
  /**
   * ---- admission and conversion (Grafana's app platform) ----
   * # Variants
   * 
   * ## `"create"`
   * 
   * ## `"update"`
   * 
   * ## `"delete"`
   */
  export type AdmissionOperation = 'create' | 'update' | 'delete';
  export interface GroupVersionKind {
    group: string,
    version: string,
    kind: string,
  }
  export interface AdmissionRequest {
    pluginContext: PluginContext,
    operation: AdmissionOperation,
    kind: GroupVersionKind,
    objectBytes: Uint8Array,
    oldObjectBytes: Uint8Array,
  }
  /**
   * A subset of Kubernetes' `metav1.Status`.
   */
  export interface StatusResult {
    status: string,
    message: string,
    reason: string,
    code: number,
  }
  export interface ValidationResponse {
    allowed: boolean,
    result?: StatusResult,
    warnings: Array<string>,
  }
  export interface MutationResponse {
    allowed: boolean,
    result?: StatusResult,
    warnings: Array<string>,
    objectBytes: Uint8Array,
  }
  export interface GroupVersion {
    group: string,
    version: string,
  }
  export interface RawObject {
    raw: Uint8Array,
    contentType: string,
  }
  export interface ConversionRequest {
    pluginContext: PluginContext,
    uid: string,
    objects: Array<RawObject>,
    targetVersion: GroupVersion,
  }
  export interface ConversionResponse {
    uid: string,
    result?: StatusResult,
    objects: Array<RawObject>,
  }
}
