/**
 * The server's settings, grouped by concern, with their defaults. Every bound a client could
 * push against has one: body size, image bytes and pixels, inputs per request, queue length,
 * request time, prefix-cache memory, the shutdown deadline.
 */
import { ConfigError } from '../errors.js';
import type { BatchingOptions } from './batcher.js';
import type { PrefixPoolLimits } from './services/prefix-pool.js';

export interface ServeConfig {
  readonly auth: {
    /** Clients must send `Authorization: Bearer <apiKey>` to /v1/*. Default: no key. */
    readonly apiKey?: string;
  };
  readonly limits: {
    /** Request bodies over this are refused (413). Default 16 MiB. */
    readonly maxBodyBytes: number;
    /** Encoded bytes of one image (inline or fetched). Default 16 MiB. */
    readonly maxImageBytes: number;
    /** Decoded pixels of one image: a decompression bomb is refused from its header. Default 25 MP. */
    readonly maxImagePixels: number;
    /** Images in one request (each is decoded before the model can refuse the prompt). Default 64. */
    readonly maxImagesPerRequest: number;
    /** A request that has not finished by then is cancelled (504). Default 120 s. */
    readonly requestTimeoutMs: number;
  };
  /** Per task: embeddings (and classify), chat, captions. */
  readonly batching: Readonly<Record<'embeddings' | 'chat' | 'captions', BatchingOptions>>;
  readonly chat: {
    /** The KV-prefix pool (conversations kept for their next turn). */
    readonly prefixCache: PrefixPoolLimits;
  };
  readonly shutdown: {
    /** In-flight work gets this long to finish after SIGTERM; what is left is cancelled. Default 30 s. */
    readonly deadlineMs: number;
  };
}

export interface ServeConfigInput {
  readonly auth?: Partial<ServeConfig['auth']>;
  readonly limits?: Partial<ServeConfig['limits']>;
  /** Batching for every task, or per task; `false` turns it off (each item alone, in order). */
  readonly batching?:
    | false
    | (Partial<BatchingOptions> & {
        readonly embeddings?: Partial<BatchingOptions>;
        readonly chat?: Partial<BatchingOptions>;
        readonly captions?: Partial<BatchingOptions>;
      });
  readonly chat?: { readonly prefixCache?: Partial<PrefixPoolLimits> };
  readonly shutdown?: Partial<ServeConfig['shutdown']>;
}

const MiB = 1024 * 1024;

/**
 * maxWaitMs 0 by default: a batch is what waits when the model becomes free (under load the
 * queue fills while a batch runs, so batches fill on their own), and a lone request never waits
 * for company. Measured on the tiny models (bench/results/serve.json), a 5-10 ms window cost
 * more latency at 1 client than it bought throughput at 16. Raise it for bursty traffic.
 */
export const DEFAULT_BATCHING: Readonly<Record<'embeddings' | 'chat' | 'captions', BatchingOptions>> = {
  embeddings: { maxBatchSize: 32, maxWaitMs: 0, maxQueue: 512 },
  // A decode step costs about the same for 1 row or 8 (left-padded batch).
  chat: { maxBatchSize: 8, maxWaitMs: 0, maxQueue: 64 },
  captions: { maxBatchSize: 8, maxWaitMs: 0, maxQueue: 256 },
};

function positive(name: string, v: unknown, integer: boolean, min = integer ? 1 : 0): void {
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= min && (!integer || Number.isInteger(v)))) {
    throw new ConfigError('CONFIG_INVALID_VALUE', `serve option ${name} is ${JSON.stringify(v)}`, {
      value: v,
      valid: `${integer ? 'an integer' : 'a number'} >= ${min}`,
    });
  }
}

function batchingFor(
  task: 'embeddings' | 'chat' | 'captions',
  input: ServeConfigInput['batching'],
): BatchingOptions {
  const base = DEFAULT_BATCHING[task];
  if (input === false) return { maxBatchSize: 1, maxWaitMs: 0, maxQueue: base.maxQueue };
  const { embeddings, chat, captions, ...all } = input ?? {};
  const own = { embeddings, chat, captions }[task];
  const out = { ...base, ...defined(all), ...defined(own ?? {}) };
  positive(`batching.${task}.maxBatchSize`, out.maxBatchSize, true);
  positive(`batching.${task}.maxWaitMs`, out.maxWaitMs, false);
  positive(`batching.${task}.maxQueue`, out.maxQueue, true);
  return out;
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function resolveServeConfig(input: ServeConfigInput = {}): ServeConfig {
  const limits = {
    maxBodyBytes: 16 * MiB,
    maxImageBytes: 16 * MiB,
    maxImagePixels: 25_000_000,
    maxImagesPerRequest: 64,
    requestTimeoutMs: 120_000,
    ...defined(input.limits ?? {}),
  };
  for (const [k, v] of Object.entries(limits)) positive(`limits.${k}`, v, true);
  const prefixCache = { maxEntries: 256, maxBytes: 256 * MiB, ...defined(input.chat?.prefixCache ?? {}) };
  positive('chat.prefixCache.maxEntries', prefixCache.maxEntries, true, 0);
  positive('chat.prefixCache.maxBytes', prefixCache.maxBytes, true, 0);
  const shutdown = { deadlineMs: 30_000, ...defined(input.shutdown ?? {}) };
  positive('shutdown.deadlineMs', shutdown.deadlineMs, true, 0);
  const apiKey = input.auth?.apiKey;
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey.length === 0)) {
    throw new ConfigError('CONFIG_INVALID_VALUE', 'serve option auth.apiKey must be a non-empty string', {
      value: typeof apiKey,
    });
  }
  return {
    auth: apiKey ? { apiKey } : {},
    limits,
    batching: {
      embeddings: batchingFor('embeddings', input.batching),
      chat: batchingFor('chat', input.batching),
      captions: batchingFor('captions', input.batching),
    },
    chat: { prefixCache },
    shutdown,
  };
}
