/**
 * A running generation as seen by the caller: an async iterable of text deltas plus a
 * `result` promise. Generation starts at once and runs whether or not anyone iterates, so
 * `await stream.result` alone is a non-streaming call. Deltas are queued (they are small), so
 * a slow reader never stalls the model.
 */
class QueuedStream<T, R> implements AsyncIterable<T> {
  readonly result: Promise<R>;
  private readonly queue: T[] = [];
  private done = false;
  private error: unknown;
  private wake: (() => void) | undefined;

  constructor(run: (push: (item: T) => void) => Promise<R>) {
    const push = (item: T) => {
      this.queue.push(item);
      this.notify();
    };
    this.result = run(push).then(
      (r) => {
        this.done = true;
        this.notify();
        return r;
      },
      (e: unknown) => {
        this.done = true;
        this.error = e ?? new Error('generation failed');
        this.notify();
        throw e;
      },
    );
    // Iterating callers see the error from the iterator; do not also report it as unhandled.
    this.result.catch(() => undefined);
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.queue.length > 0) {
        yield this.queue.shift()!;
        continue;
      }
      if (this.done) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

export class TextStream<R extends { readonly text: string }> extends QueuedStream<string, R> {
  constructor(run: (emit: (delta: string) => void) => Promise<R>) {
    super((push) =>
      run((delta) => {
        if (delta.length > 0) push(delta);
      }),
    );
  }

  /** The whole text, for callers that want no streaming (same as `(await result).text`). */
  async text(): Promise<string> {
    return (await this.result).text;
  }
}

/** A delta of one request of a batch (`index`: its position in the caller's list). */
export interface IndexedDelta {
  readonly index: number;
  readonly delta: string;
}

/** Several generations at once: deltas tagged with their request's index, results in order. */
export class BatchTextStream<R extends { readonly text: string }> extends QueuedStream<
  IndexedDelta,
  readonly R[]
> {
  constructor(run: (emit: (index: number, delta: string) => void) => Promise<readonly R[]>) {
    super((push) =>
      run((index, delta) => {
        if (delta.length > 0) push({ index, delta });
      }),
    );
  }

  /** Every request's whole text, in order. */
  async texts(): Promise<string[]> {
    return (await this.result).map((r) => r.text);
  }
}
