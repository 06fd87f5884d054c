/**
 * Dynamic batching, one queue per model and task (the way Triton and infinity batch): work
 * items from concurrent requests wait at most `maxWaitMs` for company, then run together,
 * at most `maxBatchSize` at a time and one batch at a time. The queue is bounded: a request
 * whose items do not fit is refused at once (429 with a Retry-After estimate), never queued
 * without limit. An item whose request is aborted (client gone, timeout) leaves the queue
 * without running; a batch all of whose items were aborted is aborted too.
 *
 * Written here rather than taken from a library: the queue has to know about abort signals,
 * per-item failures and keys (items that cannot share a batch), and report to the metrics.
 */
import { MmrtError, ServeError } from '../errors.js';

export interface BatchingOptions {
  /** Items per batch at most. 1 turns batching off (each item runs alone, in order). */
  readonly maxBatchSize: number;
  /** How long the oldest waiting item may wait for a fuller batch. 0: run what is there. */
  readonly maxWaitMs: number;
  /** Items waiting at most; a request that would overflow it is refused (SERVER_OVERLOADED). */
  readonly maxQueue: number;
}

/** What a batch run gives back per item: its output, or the error that is that item's alone. */
export type ItemOutcome<O> =
  | { readonly ok: true; readonly value: O }
  | { readonly ok: false; readonly error: unknown };

export interface BatchObserver {
  /** Items waiting now (after every change). */
  depth?(items: number): void;
  /** A batch started: its size and how long each item waited. */
  batch?(size: number, waitedMs: readonly number[]): void;
  /** A batch ended (ms it ran). */
  ran?(ms: number): void;
  /** A request refused because the queue was full. */
  rejected?(): void;
}

export interface BatcherSpec<I, O> extends BatchingOptions {
  /** Names the queue in messages: "shapes-clip image embeddings". */
  readonly name: string;
  /** Items with different keys never share a batch (generation options, say). */
  readonly key?: (item: I) => string;
  readonly run: (items: readonly I[], signal: AbortSignal) => Promise<ReadonlyArray<ItemOutcome<O>>>;
  readonly observer?: BatchObserver;
}

interface Waiting<I, O> {
  readonly item: I;
  readonly key: string;
  readonly at: number;
  readonly signal: AbortSignal | undefined;
  settled: boolean;
  resolve(value: O): void;
  reject(error: unknown): void;
}

/** The error an aborted signal stands for: its reason when that is ours (a timeout), else ABORTED. */
export function abortError(signal: AbortSignal | undefined, what = 'the request'): MmrtError {
  const reason: unknown = signal?.reason;
  if (reason instanceof MmrtError) return reason;
  return new ServeError('ABORTED', `${what} was cancelled (the client went away)`);
}

export class Batcher<I, O> {
  private readonly queue: Array<Waiting<I, O>> = [];
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Moving average of a batch's run time, for Retry-After. */
  private batchMs = 50;

  constructor(private readonly spec: BatcherSpec<I, O>) {
    const { maxBatchSize, maxWaitMs, maxQueue } = spec;
    if (!(Number.isInteger(maxBatchSize) && maxBatchSize >= 1))
      throw new RangeError(`maxBatchSize must be an integer >= 1, got ${maxBatchSize}`);
    if (!(Number.isFinite(maxWaitMs) && maxWaitMs >= 0))
      throw new RangeError(`maxWaitMs must be >= 0, got ${maxWaitMs}`);
    if (!(Number.isInteger(maxQueue) && maxQueue >= 1))
      throw new RangeError(`maxQueue must be an integer >= 1, got ${maxQueue}`);
  }

  /** Items waiting (not counting the batch that runs). */
  get depth(): number {
    return this.queue.length;
  }

  /** Whether a batch is running or items wait. */
  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  /** Seconds until the queue has likely drained: what a refused client should wait. */
  retryAfterSeconds(): number {
    const batches = Math.ceil(this.queue.length / this.spec.maxBatchSize) + (this.running ? 1 : 0);
    return Math.max(1, Math.ceil((batches * this.batchMs) / 1000));
  }

  /**
   * Queue every item of one request (all or none) and resolve with their outputs in order.
   * Throws SERVER_OVERLOADED when they do not fit (REQUEST_TOO_LARGE when they never could);
   * rejects with the signal's error when aborted, and with the first item's own error when one fails.
   */
  submit(items: readonly I[], signal?: AbortSignal): Promise<O[]> {
    // Refusals throw at once (not a rejected promise), so a streaming handler learns of them
    // before it has sent its headers.
    if (signal?.aborted) throw abortError(signal);
    if (items.length > this.spec.maxQueue) {
      throw new ServeError(
        'REQUEST_TOO_LARGE',
        `${items.length} inputs in one request; ${this.spec.name} takes at most ${this.spec.maxQueue}`,
        { value: items.length, valid: `at most ${this.spec.maxQueue} inputs per request` },
      );
    }
    if (this.queue.length + items.length > this.spec.maxQueue) {
      this.spec.observer?.rejected?.();
      const retryAfter = this.retryAfterSeconds();
      throw new ServeError(
        'SERVER_OVERLOADED',
        `${this.spec.name} is full (${this.queue.length} of ${this.spec.maxQueue} items waiting); retry in ${retryAfter} s`,
        { value: this.queue.length, valid: `<= ${this.spec.maxQueue} waiting items`, retryAfter },
      );
    }
    const now = performance.now();
    const mine: Array<Waiting<I, O>> = [];
    const promises = items.map(
      (item) =>
        new Promise<O>((resolve, reject) => {
          const w: Waiting<I, O> = {
            item,
            key: this.spec.key?.(item) ?? '',
            at: now,
            signal,
            settled: false,
            resolve: (v) => {
              if (w.settled) return;
              w.settled = true;
              resolve(v);
            },
            reject: (e) => {
              if (w.settled) return;
              w.settled = true;
              reject(e);
            },
          };
          mine.push(w);
          this.queue.push(w);
        }),
    );
    if (signal) {
      const onAbort = () => {
        const error = abortError(signal);
        for (const w of mine) {
          const i = this.queue.indexOf(w);
          if (i >= 0) this.queue.splice(i, 1);
          w.reject(error);
        }
        this.spec.observer?.depth?.(this.queue.length);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const all = Promise.allSettled(promises);
      void all.then(() => signal.removeEventListener('abort', onAbort));
    }
    this.spec.observer?.depth?.(this.queue.length);
    this.schedule();
    const result = Promise.all(promises);
    // Only the first failure is reported; the others must not count as unhandled.
    for (const p of promises) p.catch(() => undefined);
    return result;
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const first = this.queue[0]!;
    let same = 0;
    for (const w of this.queue) if (w.key === first.key && ++same >= this.spec.maxBatchSize) break;
    const age = performance.now() - first.at;
    if (same >= this.spec.maxBatchSize || age >= this.spec.maxWaitMs) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      void this.runBatch();
    } else if (!this.timer) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.schedule();
        },
        Math.max(0, this.spec.maxWaitMs - age),
      );
    }
  }

  private async runBatch(): Promise<void> {
    this.running = true;
    const key = this.queue[0]!.key;
    const batch: Array<Waiting<I, O>> = [];
    for (let i = 0; i < this.queue.length && batch.length < this.spec.maxBatchSize; ) {
      if (this.queue[i]!.key === key) batch.push(...this.queue.splice(i, 1));
      else i++;
    }
    const started = performance.now();
    this.spec.observer?.depth?.(this.queue.length);
    this.spec.observer?.batch?.(
      batch.length,
      batch.map((w) => started - w.at),
    );
    // The batch is aborted only when nobody is left waiting for it.
    const controller = new AbortController();
    const signals = batch.map((w) => w.signal).filter((s): s is AbortSignal => !!s);
    const onAbort = () => {
      if (batch.every((w) => w.settled || w.signal?.aborted)) controller.abort();
    };
    if (signals.length === batch.length) for (const s of signals) s.addEventListener('abort', onAbort);
    try {
      const outcomes = await this.spec.run(
        batch.map((w) => w.item),
        controller.signal,
      );
      batch.forEach((w, i) => {
        const o = outcomes[i];
        if (!o) w.reject(new RangeError(`${this.spec.name}: the batch gave no result for item ${i}`));
        else if (o.ok) w.resolve(o.value);
        else w.reject(o.error);
      });
    } catch (e) {
      for (const w of batch) w.reject(w.signal?.aborted ? abortError(w.signal) : e);
    } finally {
      for (const s of signals) s.removeEventListener('abort', onAbort);
      const ms = performance.now() - started;
      this.batchMs = this.batchMs * 0.8 + ms * 0.2;
      this.spec.observer?.ran?.(ms);
      this.running = false;
      this.schedule();
    }
  }
}
