/**
 * A vision-language model (LLaVA, LLaVA-Next) behind the chat endpoint: one generation
 * queue per model. A request that continues a pooled conversation (or streams, or fixes a
 * seed) runs alone, on that conversation, so its KV prefix is reused; fresh non-streaming
 * requests with the same generation settings that arrive within the batching window run as one
 * left-padded batch (`generateBatch`: one decoder step for all rows). The decode loop cannot
 * admit or retire rows mid-way, so this is window batching, not continuous batching.
 */
import type { GenerationOptions } from '../../generation/options.js';
import type { ChatResult } from '../../kinds/vision-language/engine.js';
import type { ChatMessage } from '../../kinds/vision-language/messages.js';
import type { LlavaModel } from '../../kinds/vision-language/model.js';
import { type BatchingOptions, Batcher, type ItemOutcome } from '../batcher.js';
import type { ServeMetrics } from '../metrics.js';
import { PrefixPool, type PrefixPoolLimits } from './prefix-pool.js';

export interface ChatJob {
  /** The whole chat, images as bytes; it ends with a user message. */
  readonly messages: readonly ChatMessage[];
  /** One key per message (role, text, image content hashes): what prefix matching compares. */
  readonly keys: readonly string[];
  /** Generation settings (no signal: the job's own is used). */
  readonly options: GenerationOptions;
  readonly signal: AbortSignal;
  /** Streaming requests get each text delta as it is generated. */
  readonly onDelta?: (delta: string) => void;
}

/** The key an assistant answer adds to a conversation's history. */
export function assistantKey(text: string): string {
  return JSON.stringify(['assistant', text]);
}

export class ChatService {
  readonly queue: Batcher<ChatJob & { readonly batchKey: string }, ChatResult>;
  readonly pool: PrefixPool;
  /** Numbers the keys of items that must run alone. */
  private solo = 0;

  constructor(
    readonly id: string,
    readonly model: LlavaModel,
    batching: BatchingOptions,
    prefixCache: PrefixPoolLimits,
    private readonly metrics: ServeMetrics,
  ) {
    this.pool = new PrefixPool(model, prefixCache);
    this.queue = new Batcher({
      ...batching,
      name: `${id} chat`,
      key: (job) => job.batchKey,
      observer: metrics.observer(id, 'chat'),
      run: (jobs, signal) => (jobs.length === 1 ? this.runOne(jobs[0]!) : this.runBatch(jobs, signal)),
    });
    metrics.addCache(id, 'image_features', () => {
      const s = model.stats().vision.cache;
      return s && { hits: s.hits, queries: s.hits + s.misses };
    });
  }

  /**
   * Queue one chat (throws at once when the queue is full). Batchable: fresh (nothing in the
   * pool to continue), not streamed, no fixed seed (a batch row's sampler depends on its row).
   */
  submit(job: ChatJob): Promise<ChatResult> {
    const sampled = job.options.sampling && job.options.sampling.seed !== undefined;
    const batchable = !job.onDelta && !sampled && this.pool.match(job.keys) === 0;
    const batchKey = batchable ? JSON.stringify(job.options) : `solo:${++this.solo}`;
    return this.queue.submit([{ ...job, batchKey }], job.signal).then(([r]) => r!);
  }

  private async runOne(job: ChatJob): Promise<Array<ItemOutcome<ChatResult>>> {
    const lease = this.pool.checkout(job.keys, job.messages);
    let keys = lease.previous;
    try {
      const stream = lease.conversation.reply(lease.messages, { ...job.options, signal: job.signal });
      for await (const delta of stream) job.onDelta?.(delta);
      const result = await stream.result;
      keys = [...job.keys, assistantKey(result.text)];
      this.count(result);
      return [{ ok: true, value: result }];
    } finally {
      this.pool.checkin(lease.conversation, keys);
    }
  }

  private async runBatch(
    jobs: readonly ChatJob[],
    signal: AbortSignal,
  ): Promise<Array<ItemOutcome<ChatResult>>> {
    const results = await this.model.generateBatch(
      jobs.map((j) => j.messages),
      { ...jobs[0]!.options, signal },
    );
    for (const r of results) this.count(r);
    return results.map((value) => ({ ok: true, value }));
  }

  private count(r: ChatResult): void {
    const labels = { model: this.id };
    this.metrics.promptTokens.inc(labels, r.usage.promptTokens);
    this.metrics.cachedPromptTokens.inc(labels, r.usage.cachedTokens);
    this.metrics.completionTokens.inc(labels, r.usage.generatedTokens);
    if (r.timings.decodeTokensPerSecond > 0)
      this.metrics.decodeTokensPerSecond.observe(labels, r.timings.decodeTokensPerSecond);
    this.metrics.timeToFirstToken.observe(labels, r.timings.timeToFirstTokenMs / 1000);
    this.metrics.countCache(this.id, 'kv_prefix', r.usage.cachedTokens > 0);
  }
}
