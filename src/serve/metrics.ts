/**
 * The server's Prometheus metrics (prom-client), on a registry of its own so that several
 * servers in one process (tests, an embedding app) never share counters: queue depth, batch
 * sizes and waits, request latencies, tokens and tokens/s, and cache hits and queries for text
 * embeddings, image features and KV prefixes. The process's default metrics (resident memory,
 * event-loop lag, GC) come with them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchObserver } from './batcher.js';

export type CacheName = 'text_embeddings' | 'image_features' | 'kv_prefix';

/** A cache's running totals, read at scrape time. */
export type CacheTotals = () => { readonly hits: number; readonly queries: number } | undefined;

const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];
const SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'mmrt_requests_total',
    help: 'HTTP requests answered, by endpoint and status',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'mmrt_request_duration_seconds',
    help: 'Time from request to the last byte of the answer',
    labelNames: ['endpoint'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: 'mmrt_requests_in_flight',
    help: 'Model requests being answered now',
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'mmrt_queue_depth',
    help: 'Items waiting for a batch, per model and task',
    labelNames: ['model', 'task'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'mmrt_batch_size',
    help: 'Items per batch run, per model and task',
    labelNames: ['model', 'task'] as const,
    buckets: SIZE_BUCKETS,
    registers: [this.registry],
  });
  readonly queueWaitSeconds = new Histogram({
    name: 'mmrt_queue_wait_seconds',
    help: 'Time an item waited for its batch',
    labelNames: ['model', 'task'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'mmrt_batch_duration_seconds',
    help: 'Time a batch ran',
    labelNames: ['model', 'task'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'mmrt_requests_rejected_total',
    help: 'Requests refused with 429 because the queue was full',
    labelNames: ['model', 'task'] as const,
    registers: [this.registry],
  });
  readonly cancelled = new Counter({
    name: 'mmrt_requests_cancelled_total',
    help: 'Requests whose work was cancelled: client disconnect, timeout or shutdown',
    labelNames: ['endpoint', 'reason'] as const,
    registers: [this.registry],
  });
  readonly promptTokens = new Counter({
    name: 'mmrt_prompt_tokens_total',
    help: 'Prompt tokens of chat requests (cached ones included)',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly cachedPromptTokens = new Counter({
    name: 'mmrt_cached_prompt_tokens_total',
    help: 'Prompt tokens whose KV cache was reused instead of recomputed',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly completionTokens = new Counter({
    name: 'mmrt_completion_tokens_total',
    help: 'Tokens generated',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly decodeTokensPerSecond = new Histogram({
    name: 'mmrt_decode_tokens_per_second',
    help: 'Decode speed per chat request (tokens after the first / decode time)',
    labelNames: ['model'] as const,
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
    registers: [this.registry],
  });
  readonly timeToFirstToken = new Histogram({
    name: 'mmrt_time_to_first_token_seconds',
    help: 'Chat request start (in the model) to its first generated token',
    labelNames: ['model'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly cacheSources: Array<{
    model: string;
    cache: CacheName;
    read: CacheTotals;
    last: { hits: number; queries: number };
  }> = [];
  readonly cacheHits = new Counter({
    name: 'mmrt_cache_hits_total',
    help: 'Cache hits: text embeddings (CLIP labels), image features (LLaVA), KV prefixes (chat turns)',
    labelNames: ['model', 'cache'] as const,
    registers: [this.registry],
    collect: () => this.pullCaches(),
  });
  readonly cacheQueries = new Counter({
    name: 'mmrt_cache_queries_total',
    help: 'Cache lookups, same labels as mmrt_cache_hits_total',
    labelNames: ['model', 'cache'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Metrics for one queue. */
  observer(model: string, task: string): BatchObserver {
    const labels = { model, task };
    this.queueDepth.set(labels, 0);
    return {
      depth: (n) => this.queueDepth.set(labels, n),
      batch: (size, waited) => {
        this.batchSize.observe(labels, size);
        for (const ms of waited) this.queueWaitSeconds.observe(labels, ms / 1000);
      },
      ran: (ms) => this.batchSeconds.observe(labels, ms / 1000),
      rejected: () => this.rejected.inc(labels),
    };
  }

  /** A cache whose totals live in the model (ClipModel's text cache, LLaVA's feature cache). */
  addCache(model: string, cache: CacheName, read: CacheTotals): void {
    this.cacheSources.push({ model, cache, read, last: { hits: 0, queries: 0 } });
  }

  /** A cache the server itself counts (the KV-prefix pool). */
  countCache(model: string, cache: CacheName, hit: boolean): void {
    this.cacheQueries.inc({ model, cache });
    if (hit) this.cacheHits.inc({ model, cache });
    else this.cacheHits.inc({ model, cache }, 0);
  }

  /** Counters only go up: each scrape adds what the model's cache counted since the last one. */
  private pullCaches(): void {
    for (const s of this.cacheSources) {
      const now = s.read();
      if (!now) continue;
      const labels = { model: s.model, cache: s.cache };
      this.cacheHits.inc(labels, Math.max(0, now.hits - s.last.hits));
      this.cacheQueries.inc(labels, Math.max(0, now.queries - s.last.queries));
      s.last = { hits: now.hits, queries: now.queries };
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
