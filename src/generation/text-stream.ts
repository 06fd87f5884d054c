/**
 * A running generation as seen by the caller: an async iterable of text deltas plus a
 * `result` promise. Generation starts at once and runs whether or not anyone iterates, so
 * `await stream.result` alone is a non-streaming call. Deltas are queued (they are small), so
 * a slow reader never stalls the model.
 */
export class TextStream<R extends { readonly text: string }> implements AsyncIterable<string> {
  readonly result: Promise<R>;
  private readonly queue: string[] = [];
  private done = false;
  private error: unknown;
  private wake: (() => void) | undefined;

  constructor(run: (emit: (delta: string) => void) => Promise<R>) {
    const emit = (delta: string) => {
      if (delta.length === 0) return;
      this.queue.push(delta);
      this.notify();
    };
    this.result = run(emit).then(
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

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
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

  /** The whole text, for callers that want no streaming (same as `(await result).text`). */
  async text(): Promise<string> {
    return (await this.result).text;
  }
}
