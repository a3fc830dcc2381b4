declare module 'grafana:plugin/frames@0.1.1' {
  /**
   * Variable-width values: value `i` is `data[offsets[i]..offsets[i+1]]`,
   * so `offsets` has one entry more than there are rows and starts at 0.
   */
  export interface VarBytes {
    offsets: Uint32Array,
    data: Uint8Array,
  }
  /**
   * The values of one field, one case per Grafana field type. The
   * `%` in `%string`, `%bool` and `%enum` is only WIT's escape of a
   * keyword: the cases are named `string`, `bool` and `enum` in every
   * language.
   */
  export type Values = ValuesInt8 | ValuesInt16 | ValuesInt32 | ValuesInt64 | ValuesUint8 | ValuesUint16 | ValuesUint32 | ValuesUint64 | ValuesFloat32 | ValuesFloat64 | ValuesString | ValuesBool | ValuesTime | ValuesJson | ValuesEnum;
  export interface ValuesInt8 {
    tag: 'int8',
    val: Int8Array,
  }
  export interface ValuesInt16 {
    tag: 'int16',
    val: Int16Array,
  }
  export interface ValuesInt32 {
    tag: 'int32',
    val: Int32Array,
  }
  export interface ValuesInt64 {
    tag: 'int64',
    val: BigInt64Array,
  }
  export interface ValuesUint8 {
    tag: 'uint8',
    val: Uint8Array,
  }
  export interface ValuesUint16 {
    tag: 'uint16',
    val: Uint16Array,
  }
  export interface ValuesUint32 {
    tag: 'uint32',
    val: Uint32Array,
  }
  export interface ValuesUint64 {
    tag: 'uint64',
    val: BigUint64Array,
  }
  export interface ValuesFloat32 {
    tag: 'float32',
    val: Float32Array,
  }
  export interface ValuesFloat64 {
    tag: 'float64',
    val: Float64Array,
  }
  /**
   * UTF-8 strings.
   */
  export interface ValuesString {
    tag: 'string',
    val: VarBytes,
  }
  export interface ValuesBool {
    tag: 'bool',
    val: Array<boolean>,
  }
  /**
   * Nanoseconds since the Unix epoch.
   */
  export interface ValuesTime {
    tag: 'time',
    val: BigInt64Array,
  }
  /**
   * Raw JSON values.
   */
  export interface ValuesJson {
    tag: 'json',
    val: VarBytes,
  }
  /**
   * Indexes into the names in the field config's `type.enum.text`.
   */
  export interface ValuesEnum {
    tag: 'enum',
    val: Uint16Array,
  }
  export interface Field {
    name: string,
    values: Values,
    /**
     * Whether the field may hold nulls (Go's `*T` field types).
     */
    nullable: boolean,
    /**
     * Arrow validity bitmap: bit `i` (least significant bit first) set
     * means row `i` holds a value. Empty means no nulls.
     */
    validity: Uint8Array,
    /**
     * Series labels; absent and empty are distinct, as in Grafana's SDKs.
     */
    labels?: Array<[string, string]>,
    /**
     * Grafana `FieldConfig` as a JSON object (`{"unit": "s"}`), in a
     * string (0.1.0 predates the `types.json` convention).
     */
    config?: string,
  }
  export interface Frame {
    name: string,
    /**
     * Filled in by the host from the response key when empty.
     */
    refId: string,
    /**
     * Grafana `FrameMeta` as a JSON object, in a string (0.1.0
     * predates the `types.json` convention).
     */
    meta?: string,
    fields: Array<Field>,
  }
  /**
   * A frame as a guest hands it over.
   */
  export type FrameData = FrameDataColumnar | FrameDataArrowIpc;
  /**
   * Columnar values the host encodes.
   */
  export interface FrameDataColumnar {
    tag: 'columnar',
    val: Frame,
  }
  /**
   * A complete Arrow IPC file, passed to Grafana untouched.
   */
  export interface FrameDataArrowIpc {
    tag: 'arrow-ipc',
    val: Uint8Array,
  }
  /**
   * Which parts of a frame a JSON encoding carries (the Go SDK's
   * `data.FrameInclude`): a live stream sends the schema once, then data
   * only.
   * # Variants
   * 
   * ## `"all"`
   * 
   * ## `"data-only"`
   * 
   * ## `"schema-only"`
   */
  export type FrameInclude = 'all' | 'data-only' | 'schema-only';
}
