/**
 * The dynamic batcher on its own: batches form up to maxBatchSize within maxWaitMs, keys keep
 * incompatible items apart, a full queue refuses at once with a Retry-After estimate, an
 * aborted request leaves the queue without running, and one item's failure is its own.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MmrtError, ServeError } from '../../src/errors.js';
import { Batcher, type BatcherSpec } from '../../src/serve/batcher.js';

function recorder<I>(spec: Partial<BatcherSpec<I, I>> = {}) {
  const batches: I[][] = [];
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  const batcher = new Batcher<I, I>({
    name: 'test queue',
    maxBatchSize: 4,
    maxWaitMs: 20,
    maxQueue: 8,
    run: async (items) => {
      batches.push([...items]);
      await gate;
      return items.map((value) => ({ ok: true, value }));
    },
    ...spec,
  });
  return {
    batcher,
    batches,
    hold() {
      gate = new Promise((r) => {
        release = r;
      });
    },
    release: () => release(),
  };
}

describe('Batcher', () => {
  it('gathers items that arrive within maxWaitMs into one batch, at most maxBatchSize', async () => {
    const { batcher, batches } = recorder<number>();
    const out = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => batcher.submit([n]).then(([v]) => v)));
    expect(out).toEqual([1, 2, 3, 4, 5, 6]);
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it('runs alone with batching off (maxBatchSize 1, maxWaitMs 0)', async () => {
    const { batcher, batches } = recorder<number>({ maxBatchSize: 1, maxWaitMs: 0 });
    await Promise.all([1, 2, 3].map((n) => batcher.submit([n])));
    expect(batches).toEqual([[1], [2], [3]]);
  });

  it('never mixes keys in a batch', async () => {
    const { batcher, batches } = recorder<string>({ key: (s) => s[0]! });
    await Promise.all(['a1', 'b1', 'a2', 'b2'].map((s) => batcher.submit([s])));
    expect(batches).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ]);
  });

  it('refuses at once when the queue is full, with a Retry-After estimate', async () => {
    const r = recorder<number>({ maxQueue: 3, maxBatchSize: 1, maxWaitMs: 0 });
    r.hold();
    const running = r.batcher.submit([0]);
    await new Promise((res) => setTimeout(res, 5));
    const queued = r.batcher.submit([1, 2, 3]);
    let refused: unknown;
    try {
      r.batcher.submit([4]);
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(ServeError);
    expect((refused as ServeError).code).toBe('SERVER_OVERLOADED');
    expect((refused as ServeError).details.retryAfter).toBeGreaterThanOrEqual(1);
    expect(() => r.batcher.submit(new Array(9).fill(0))).toThrow(/takes at most 3/);
    r.release();
    r.hold();
    r.release();
    await running;
    expect(await queued).toEqual([1, 2, 3]);
  });

  it('drops the items of an aborted request before they run, with the signal reason', async () => {
    const r = recorder<number>({ maxBatchSize: 1, maxWaitMs: 0 });
    r.hold();
    const first = r.batcher.submit([1]);
    const controller = new AbortController();
    const second = r.batcher.submit([2, 3], controller.signal);
    expect(r.batcher.depth).toBe(2);
    controller.abort(new ServeError('REQUEST_TIMEOUT', 'too slow'));
    await expect(second).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect(r.batcher.depth).toBe(0);
    r.release();
    await first;
    expect(r.batches).toEqual([[1]]);
  });

  it('fails only the item whose outcome is an error', async () => {
    const batcher = new Batcher<number, number>({
      name: 'q',
      maxBatchSize: 8,
      maxWaitMs: 5,
      maxQueue: 8,
      run: async (items) =>
        items.map((n) =>
          n < 0
            ? { ok: false, error: new MmrtError('INPUT_INVALID', `bad ${n}`) }
            : { ok: true, value: n * 2 },
        ),
    });
    const [good, bad] = await Promise.allSettled([batcher.submit([1, 2]), batcher.submit([-1])]);
    expect(good).toEqual({ status: 'fulfilled', value: [2, 4] });
    expect((bad as PromiseRejectedResult).reason.message).toBe('bad -1');
  });
});

describe('layering', () => {
  it('keeps Node out of the server core: node: imports only under src/serve/node', async () => {
    const root = join(import.meta.dirname, '..', '..', 'src', 'serve');
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== 'node') await walk(p);
        } else if (/from\s+['"](node:|sharp|@hono\/node-server)/.test(await readFile(p, 'utf8'))) {
          offenders.push(relative(root, p));
        }
      }
    };
    await walk(root);
    expect(offenders).toEqual([]);
  });
});
