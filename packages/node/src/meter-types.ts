// The part of the OpenTelemetry metrics API (`@opentelemetry/api` 1.x) the node uses, written out
// structurally. `@opentelemetry/api` is an optional peer dependency: these types keep the published
// declarations free of it, so a TypeScript user without it installed compiles too. A real
// `MeterProvider` (from `@opentelemetry/sdk-metrics`, or `metrics.getMeterProvider()`) is
// assignable to `MeterProviderLike` (checked by the tests).

/** Attribute values of a metric series. */
export type MetricAttributesLike = Record<string, string | number | boolean>

/** Options of an instrument (`description`, `unit`, histogram bucket advice). */
export interface InstrumentOptionsLike {
  description?: string
  unit?: string
  advice?: { explicitBucketBoundaries?: number[] }
}

/** A synchronous counter. */
export interface CounterLike {
  add(value: number, attributes?: MetricAttributesLike): void
}

/** A synchronous histogram. */
export interface HistogramLike {
  record(value: number, attributes?: MetricAttributesLike): void
}

/** An asynchronous instrument (observable counter, up-down counter or gauge). */
// biome-ignore lint/suspicious/noEmptyInterface: a marker type, as in @opentelemetry/api
export interface ObservableLike {}

/** What a batch observable callback reports into. */
export interface BatchObservableResultLike {
  observe(observable: ObservableLike, value: number, attributes?: MetricAttributesLike): void
}

/** The part of an OpenTelemetry `Meter` the node uses. */
export interface MeterLike {
  createCounter(name: string, options?: InstrumentOptionsLike): CounterLike
  createHistogram(name: string, options?: InstrumentOptionsLike): HistogramLike
  createObservableCounter(name: string, options?: InstrumentOptionsLike): ObservableLike
  createObservableUpDownCounter(name: string, options?: InstrumentOptionsLike): ObservableLike
  createObservableGauge(name: string, options?: InstrumentOptionsLike): ObservableLike
  addBatchObservableCallback(
    callback: (result: BatchObservableResultLike) => void,
    observables: ObservableLike[],
  ): void
  removeBatchObservableCallback(
    callback: (result: BatchObservableResultLike) => void,
    observables: ObservableLike[],
  ): void
}

/** An OpenTelemetry `MeterProvider` (structurally). */
export interface MeterProviderLike {
  getMeter(name: string, version?: string, options?: { schemaUrl?: string }): MeterLike
}

/** The `metrics` option of `createNode`. */
export interface NodeMetricsOptions {
  /**
   * Where the instruments are created. Default: the global provider of `@opentelemetry/api`
   * (`metrics.getMeterProvider()`) when that package resolves; without it, metrics are off.
   */
  meterProvider?: MeterProviderLike
  /**
   * Adds per-peer series (`peer.node.peer.*`) with `peer.id` and `peer.name` attributes. Off by
   * default: one series per peer is unbounded cardinality in a large or churning cluster.
   */
  peerAttributes?: boolean
  /**
   * Attributes added to every series of this node (e.g. `{ 'peer.node.name': 'api' }` to tell
   * several nodes in one process apart). Keep them bounded.
   */
  attributes?: MetricAttributesLike
}
