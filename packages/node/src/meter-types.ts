// The part of the OpenTelemetry metrics API (`@opentelemetry/api` 1.x) the node uses, written out
// structurally. `@opentelemetry/api` is an optional peer dependency: these types keep the published
// declarations free of it, so a TypeScript user without it installed compiles too. A real
// `MeterProvider` (from `@opentelemetry/sdk-metrics`, or `metrics.getMeterProvider()`) is
// assignable to `MeterProviderLike` (checked by the tests).

/** Attribute values of a metric series. */
export type MetricAttributesLike = Record<string, string | number | boolean>

/** Options of an instrument (`description`, `unit`, histogram bucket advice). */
export interface InstrumentOptionsLike {
  /** What the instrument measures, in plain words. */
  description?: string
  /** The unit of its values, as a UCUM code (e.g. `s`, `By`, `{message}`). */
  unit?: string
  /** Aggregation hints: for a histogram, the bucket boundaries to use (in the instrument's unit). */
  advice?: { explicitBucketBoundaries?: number[] }
}

/** A synchronous counter. */
export interface CounterLike {
  /** Adds `value` (non-negative) to the series of `attributes`. */
  add(value: number, attributes?: MetricAttributesLike): void
}

/** A synchronous histogram. */
export interface HistogramLike {
  /** Records one measurement `value` in the series of `attributes`. */
  record(value: number, attributes?: MetricAttributesLike): void
}

/** An asynchronous instrument (observable counter, up-down counter or gauge). */
// biome-ignore lint/suspicious/noEmptyInterface: a marker type, as in @opentelemetry/api
export interface ObservableLike {}

/** What a batch observable callback reports into. */
export interface BatchObservableResultLike {
  /** Reports the current `value` of `observable` for the series of `attributes`. */
  observe(observable: ObservableLike, value: number, attributes?: MetricAttributesLike): void
}

/** The part of an OpenTelemetry `Meter` the node uses. */
export interface MeterLike {
  /** Creates a counter named `name`: a sum that only grows, added to as things happen. */
  createCounter(name: string, options?: InstrumentOptionsLike): CounterLike
  /** Creates a histogram named `name`: a distribution of recorded values (e.g. durations). */
  createHistogram(name: string, options?: InstrumentOptionsLike): HistogramLike
  /** Creates an observable counter named `name`: a growing total read from a callback at collection. */
  createObservableCounter(name: string, options?: InstrumentOptionsLike): ObservableLike
  /** Creates an observable up-down counter named `name`: a total that can also fall, read at collection. */
  createObservableUpDownCounter(name: string, options?: InstrumentOptionsLike): ObservableLike
  /** Creates an observable gauge named `name`: a current value (e.g. an RTT) read at collection. */
  createObservableGauge(name: string, options?: InstrumentOptionsLike): ObservableLike
  /**
   * Registers `callback` to report the values of `observables` each time metrics are collected.
   * The node registers one callback for all its observable instruments when metrics start.
   */
  addBatchObservableCallback(
    callback: (result: BatchObservableResultLike) => void,
    observables: ObservableLike[],
  ): void
  /**
   * Unregisters a callback added with `addBatchObservableCallback` (the same `callback` and
   * `observables`); the node does so when it stops.
   */
  removeBatchObservableCallback(
    callback: (result: BatchObservableResultLike) => void,
    observables: ObservableLike[],
  ): void
}

/** An OpenTelemetry `MeterProvider` (structurally). */
export interface MeterProviderLike {
  /**
   * The meter of the instrumentation scope `name` (and `version`), created on first use. The node
   * asks for `METER_NAME` (`@peer/node`).
   */
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
