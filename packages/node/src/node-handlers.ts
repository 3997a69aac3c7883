// The handler table of a PeerNode: one message handler (with its priority) and one stream handler
// per topic, bounded by MAX_HANDLERS.

import { ConfigError } from '@peer/discovery-core'
import { describeValue } from '@peer/discovery-core/internal'
import { MAX_TOPIC_LENGTH } from './envelope.js'
import { HandlerExistsError, InvalidTopicError, NodeError } from './errors.js'
import { type Priority, priorityClass } from './lanes.js'
import type { StreamHandler } from './stream-registry.js'
import type { HandleOptions, Handler } from './types.js'

/** Most topics with a handler at once. */
export const MAX_HANDLERS = 10_000

/** The handlers, priorities and stream handlers by topic (see PeerNode.handle). @internal */
export class HandlerTable {
  readonly #handlers = new Map<string, Handler>()
  readonly #priorities = new Map<string, Priority>()
  readonly #streamHandlers = new Map<string, StreamHandler>()

  /** See PeerNode.handle; `unhandle` is what the returned function calls. */
  handle(
    topic: string,
    handler: Handler,
    options: HandleOptions,
    unhandle: (topic: string) => void,
  ): () => void {
    checkTopic(topic)
    checkHandler(handler)
    if (options.priority !== undefined) priorityClass(options.priority)
    if (this.#handlers.has(topic)) throw new HandlerExistsError(topic)
    if (this.#handlers.size >= MAX_HANDLERS)
      throw new NodeError(`at most ${MAX_HANDLERS} topics can have handlers`)
    this.#handlers.set(topic, handler)
    if (options.priority !== undefined) this.#priorities.set(topic, options.priority)
    return () => {
      if (this.#handlers.get(topic) === handler) unhandle(topic)
    }
  }

  /** Removes the handler of `topic` (and its priority). Returns whether there was one. */
  unhandle(topic: string): boolean {
    this.#priorities.delete(topic)
    return this.#handlers.delete(topic)
  }

  /** See PeerNode.handleStream. */
  handleStream(topic: string, handler: StreamHandler): () => void {
    checkTopic(topic)
    checkHandler(handler)
    if (this.#streamHandlers.has(topic)) throw new HandlerExistsError(topic)
    if (this.#streamHandlers.size >= MAX_HANDLERS)
      throw new NodeError(`at most ${MAX_HANDLERS} topics can have stream handlers`)
    this.#streamHandlers.set(topic, handler)
    return () => {
      if (this.#streamHandlers.get(topic) === handler) this.#streamHandlers.delete(topic)
    }
  }

  handler(topic: string): Handler | undefined {
    return this.#handlers.get(topic)
  }

  streamHandler(topic: string): StreamHandler | undefined {
    return this.#streamHandlers.get(topic)
  }

  priority(topic: string): Priority | undefined {
    return this.#priorities.get(topic)
  }
}

/** A handler must be a function: else `ConfigError` (option `handler`). */
function checkHandler(handler: unknown): void {
  if (typeof handler !== 'function')
    throw new ConfigError(`handler must be a function, got ${describeValue(handler)}`, { option: 'handler' })
}

/** Throws `InvalidTopicError` unless `topic` is a string of 1 to MAX_TOPIC_LENGTH characters. @internal */
export function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new InvalidTopicError(`a topic must be a string of 1 to ${MAX_TOPIC_LENGTH} characters`)
  }
}
