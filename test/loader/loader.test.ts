/**
 * MultimodalLoader on real ONNX Runtime sessions over tiny generated graphs: concurrency and
 * order (read from the progress events' timestamps), lazy loading, priorities, progress,
 * abort and failure leaving nothing alive, warm-up.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MmrtError } from '../../src/errors.js';
import { LoadError } from '../../src/loader/errors.js';
import { MultimodalLoader } from '../../src/loader/loader.js';
import { loaderSpecFromPackage } from '../../src/loader/spec.js';
import type { LoadProgress, LoaderSpec } from '../../src/loader/types.js';
import { dummyFeeds, warmupHints } from '../../src/loader/warmup.js';
import { ort } from '../../src/node/ort.js';
import type { ModelPackage } from '../../src/package/describe.js';
import type { ComponentSessions } from '../../src/runtime/component-sessions.js';
import {
  type TrackedHost,
  cleanupTmp,
  clipFiles,
  openPackage,
  trackedHost,
  vlmFiles,
  writePackage,
} from './fixtures.js';

afterAll(cleanupTmp);

function loader(
  pkg: ModelPackage,
  host: TrackedHost,
  spec: LoaderSpec = loaderSpecFromPackage(pkg),
  extra: Partial<ConstructorParameters<typeof MultimodalLoader>[0]> = {},
) {
  const events: LoadProgress[] = [];
  const l = new MultimodalLoader({
    package: pkg,
    plan: spec,
    host,
    onProgress: (e) => events.push(e),
    ...extra,
  });
  return { l, events };
}

/** [first event, ready event] times of each component. */
function spans(events: readonly LoadProgress[]): Map<string, { start: number; ready: number }> {
  const out = new Map<string, { start: number; ready: number }>();
  for (const e of events) {
    const s = out.get(e.component) ?? { start: e.elapsedMs, ready: Number.NaN };
    if (e.phase === 'ready') s.ready = e.elapsedMs;
    out.set(e.component, s);
  }
  return out;
}

function order(events: readonly LoadProgress[]): string[] {
  return events.filter((e) => e.phase === 'ready').map((e) => e.component);
}

describe('concurrency and order', () => {
  it('parallel mode starts every eager component before any is ready; sequential mode never overlaps', async () => {
    const pkg = await openPackage(await writePackage(vlmFiles()));
    const par = loader(pkg, trackedHost(), loaderSpecFromPackage(pkg, { parallel: true }));
    await par.l.load();
    const p = spans(par.events);
    expect(p.size).toBe(3);
    const firstReady = Math.min(...[...p.values()].map((s) => s.ready));
    // Start = when the loader began the component (its first event can come later: a file read
    // reports once its first chunk is in, and a tiny component may be ready by then).
    for (const t of par.l.timings())
      expect(t.startedAt, `${t.component} starts before the first ready`).toBeLessThan(firstReady);
    await par.l.dispose();

    const seq = loader(pkg, trackedHost(), loaderSpecFromPackage(pkg, { parallel: false }));
    await seq.l.load();
    const s = [...seq.l.timings()].sort((a, b) => a.startedAt - b.startedAt);
    expect(s.length).toBe(3);
    for (let i = 1; i < s.length; i++) {
      expect(
        s[i]!.startedAt,
        `${s[i]!.component} starts after ${s[i - 1]!.component} is ready`,
      ).toBeGreaterThanOrEqual(s[i - 1]!.readyAt!);
    }
    await seq.l.dispose();
  });

  it('honours priorities in sequential mode, and a request moves its component to the front', async () => {
    const pkg = await openPackage(await writePackage(vlmFiles()));
    const base = loaderSpecFromPackage(pkg, { parallel: false });
    const prio: Record<string, number> = { decoder_model_merged: 0, embed_tokens: 1, vision_encoder: 2 };
    const spec = { ...base, components: base.components.map((c) => ({ ...c, priority: prio[c.name]! })) };
    const a = loader(pkg, trackedHost(), spec);
    await a.l.load();
    expect(order(a.events)).toEqual(['decoder_model_merged', 'embed_tokens', 'vision_encoder']);
    await a.l.dispose();

    // Same priorities, but the first request needs the vision encoder: it goes next.
    const b = loader(pkg, trackedHost(), spec);
    const loading = b.l.load();
    const vision = b.l.session('vision_encoder');
    await loading;
    expect(await vision).toBe(await b.l.session('vision_encoder'));
    expect(order(b.events)).toEqual(['decoder_model_merged', 'vision_encoder', 'embed_tokens']);
    await b.l.dispose();
  });

  it('the default spec loads vision first (the first request of every family needs it)', async () => {
    const pkg = await openPackage(await writePackage(clipFiles()));
    const { l, events } = loader(pkg, trackedHost(), loaderSpecFromPackage(pkg, { parallel: false }));
    await l.load();
    expect(order(events)).toEqual(['vision_model', 'text_model']);
    await l.dispose();
  });
});

describe('lazy components', () => {
  it('are not created by load(), are created on first use, and once under concurrent asks', async () => {
    const pkg = await openPackage(await writePackage(vlmFiles()));
    const host = trackedHost();
    const { l, events } = loader(pkg, host, loaderSpecFromPackage(pkg, { lazy: ['decoder_model_merged'] }));
    const summary = await l.load();
    expect([...summary.ready].sort()).toEqual(['embed_tokens', 'vision_encoder']);
    expect(summary.lazy).toEqual(['decoder_model_merged']);
    expect(host.createCalls).not.toContain('decoder_model_merged');
    expect(l.status('decoder_model_merged')).toBe('idle');
    expect(events.some((e) => e.component === 'decoder_model_merged')).toBe(false);
    expect(events.at(-1)!.overallPercent).toBe(100);

    const asks = await Promise.all([1, 2, 3, 4].map(() => l.session('decoder_model_merged')));
    expect(new Set(asks).size).toBe(1);
    expect(host.createCalls.filter((c) => c === 'decoder_model_merged')).toHaveLength(1);
    const lazyEvents = events.filter((e) => e.component === 'decoder_model_merged');
    expect(lazyEvents.every((e) => e.lazy && e.overallPercent === 100)).toBe(true);
    expect(lazyEvents.at(-1)!.phase).toBe('ready');
    await l.dispose();
    expect(host.alive()).toEqual([]);
  });

  it('a lazy component that fails reports its name, leaves the others serving, and can be asked again', async () => {
    const dir = await writePackage(vlmFiles());
    const pkg = await openPackage(dir);
    const host = trackedHost();
    const { l } = loader(pkg, host, loaderSpecFromPackage(pkg, { lazy: ['decoder_model_merged'] }));
    await l.load();
    await writeFile(join(dir, 'onnx/decoder_model_merged.onnx'), new Uint8Array([1, 2, 3, 4, 5]));
    const err = await l.session('decoder_model_merged').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoadError);
    expect((err as LoadError).component).toBe('decoder_model_merged');
    expect((err as LoadError).code).toBe('MODEL_CORRUPT');
    expect(l.status('vision_encoder')).toBe('ready');
    const vision = await l.session('vision_encoder');
    expect(vision.isReleased).toBe(false);
    // Put a good file back: the next ask loads it.
    await writePackage(
      { 'onnx/decoder_model_merged.onnx': vlmFiles()['onnx/decoder_model_merged.onnx']! },
      dir,
    );
    expect((await l.session('decoder_model_merged')).inputNames).toContain('input_ids');
    await l.dispose();
    expect(host.alive()).toEqual([]);
  });

  it('is a ComponentSessions: unknown components are a typed error', async () => {
    const pkg = await openPackage(await writePackage(clipFiles()));
    const { l } = loader(pkg, trackedHost());
    const source: ComponentSessions = l;
    const err = await source.session('nope').catch((e: unknown) => e);
    expect((err as MmrtError).code).toBe('MODEL_COMPONENT_MISSING');
    expect((err as MmrtError).details.valid).toEqual(['text_model', 'vision_model']);
    await source.dispose();
  });
});

describe('progress', () => {
  it('is monotonic per component and overall, ends at exactly 100, and reaches iterators and brief callbacks', async () => {
    const pkg = await openPackage(await writePackage(vlmFiles({ visionHidden: 64, visionLayers: 3 })));
    const brief: Array<[string, number, string]> = [];
    const { l, events } = loader(pkg, trackedHost(), loaderSpecFromPackage(pkg, { warmup: true }), {
      progressCallback: (c, p, m) => brief.push([c, p, m]),
    });
    const iterated: LoadProgress[] = [];
    const consume = (async () => {
      for await (const e of l.progress()) iterated.push(e);
    })();
    await l.load();
    await consume;
    expect(iterated).toEqual(events);
    expect(brief.map((b) => b[1])).toEqual(events.map((e) => e.percent));
    let overall = 0;
    const per = new Map<string, number>();
    for (const e of events) {
      expect(e.overallPercent).toBeGreaterThanOrEqual(overall);
      overall = e.overallPercent;
      expect(e.percent).toBeGreaterThanOrEqual(per.get(e.component) ?? 0);
      per.set(e.component, e.percent);
      expect(e.percent).toBeLessThanOrEqual(100);
      expect(e.timestamp).toBeGreaterThan(1.6e12);
    }
    expect(events.at(-1)!.overallPercent).toBe(100);
    expect(events.filter((e) => e.overallPercent === 100)).toHaveLength(1);
    for (const [name, p] of per) expect(p, name).toBe(100);
    // Weighted by bytes: the biggest component moves the overall most.
    const sizes = pkg.layout.map((n) => pkg.components[n]!.variants.fp32!.totalBytes);
    expect(sizes.every((s) => s > 0)).toBe(true);
    // A late iterator replays everything and ends.
    const again: LoadProgress[] = [];
    for await (const e of l.progress()) again.push(e);
    expect(again.length).toBe(events.length);
    await l.dispose();
  });

  it('reports the warm-up phase when on (dummy inputs, empty KV cache) and none when off', async () => {
    const pkg = await openPackage(await writePackage(vlmFiles()));
    const on = loader(pkg, trackedHost(), loaderSpecFromPackage(pkg, { warmup: true }));
    await on.l.load();
    for (const c of pkg.layout) {
      const phases = on.events.filter((e) => e.component === c).map((e) => e.phase);
      expect(phases, c).toEqual(['create', 'create', 'warmup', 'warmup', 'ready']);
    }
    expect(on.l.warnings).toEqual([]);
    expect(on.l.timings().every((t) => typeof t.warmupMs === 'number')).toBe(true);
    await on.l.dispose();

    const off = loader(pkg, trackedHost(), loaderSpecFromPackage(pkg));
    await off.l.load();
    expect(off.events.some((e) => e.phase === 'warmup')).toBe(false);
    await off.l.dispose();
  });

  it('builds dummy feeds from metadata: symbolic dims 1, image size from configs, ids 0, mask 1, past length 0', async () => {
    const pkg = await openPackage(await writePackage(vlmFiles()));
    const feeds = dummyFeeds(
      ort,
      [
        { name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] },
        { name: 'attention_mask', type: 'int64', shape: ['batch_size', 'total_sequence_length'] },
        { name: 'position_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] },
        {
          name: 'past_key_values.0.key',
          type: 'float32',
          shape: ['batch_size', 2, 'past_sequence_length', 4],
        },
        { name: 'pixel_values', type: 'float32', shape: ['batch_size', 'num_channels', 'height', 'width'] },
        { name: 'pixel_values_fp16', type: 'float16', shape: [1, 3, 2, 2] },
      ],
      warmupHints(pkg),
    );
    expect(feeds.input_ids!.dims).toEqual([1, 1]);
    expect([...(feeds.input_ids!.data as BigInt64Array)]).toEqual([0n]);
    expect([...(feeds.attention_mask!.data as BigInt64Array)]).toEqual([1n]);
    expect(feeds['past_key_values.0.key']!.dims).toEqual([1, 2, 0, 4]);
    expect(feeds.pixel_values!.dims).toEqual([1, 3, 8, 8]);
    expect(feeds.pixel_values_fp16!.type).toBe('float16');
  });

  it("gives a decode step's shapes with pastLength 1, which the tiny VLM's decoder runs", async () => {
    const { createSession } = await import('../../src/runtime/session.js');
    const { DEFAULT_VLM_MODEL } = await import('../../src/cli/paths.js');
    const { join } = await import('node:path');
    const session = await createSession(ort, {
      name: 'decoder_model_merged',
      model: join(DEFAULT_VLM_MODEL, 'onnx', 'decoder_model_merged.onnx'),
      intraOpNumThreads: 1,
    });
    try {
      const feeds = dummyFeeds(ort, session.inputs, { pastLength: 1 });
      expect(feeds['past_key_values.0.key']!.dims).toEqual([1, 2, 1, 16]);
      expect(feeds.attention_mask!.dims).toEqual([1, 2]);
      expect([...(feeds.position_ids!.data as BigInt64Array)]).toEqual([1n]);
      const out = await session.run(feeds);
      expect(out['present.0.key']!.dims).toEqual([1, 2, 2, 16]);
    } finally {
      await session.release();
    }
  });
});

describe('abort and failure', () => {
  it('abort midway rejects after releasing every session, including one created after the abort', async () => {
    const pkg = await openPackage(await writePackage(vlmFiles()));
    const ac = new AbortController();
    let creations = 0;
    // Abort as ORT begins the second creation, which cannot be interrupted half-way.
    const host = trackedHost({ onCreate: () => ++creations === 2 && ac.abort() });
    const { l } = loader(pkg, host, loaderSpecFromPackage(pkg, { parallel: false }), { signal: ac.signal });
    const err = await l.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MmrtError);
    expect((err as MmrtError).code).toBe('ABORTED');
    // Resolved only after cleanup: nothing is alive at this point.
    expect(host.count()).toBe(2);
    expect(host.alive()).toEqual([]);
    expect(host.createCalls).not.toContain('decoder_model_merged');
    await expect(l.session('decoder_model_merged')).rejects.toMatchObject({ code: 'ABORTED' });
    expect(pkg.layout.map((c) => l.status(c))).toEqual(['released', 'released', 'released']);
    // The iterator ends with the error too.
    await expect(
      (async () => {
        for await (const _ of l.progress());
      })(),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    await l.dispose();
  });

  it('a host whose creation ignores the signal still has its late session released', async () => {
    const pkg = await openPackage(await writePackage(clipFiles()));
    const ac = new AbortController();
    const tracked = trackedHost({ onCreate: () => ac.abort() });
    const host = {
      ...tracked,
      createSession: (
        spec: Parameters<NonNullable<typeof tracked.createSession>>[0],
        ctx: Parameters<NonNullable<typeof tracked.createSession>>[1],
      ) => {
        const { signal: _ignored, ...rest } = spec;
        return tracked.createSession!(rest, ctx);
      },
    };
    const { l } = loader(pkg, host as unknown as TrackedHost, loaderSpecFromPackage(pkg), {
      signal: ac.signal,
    });
    await expect(l.load()).rejects.toMatchObject({ code: 'ABORTED' });
    expect(tracked.count()).toBeGreaterThanOrEqual(1);
    expect(tracked.alive()).toEqual([]);
  });

  it('a corrupt component fails the load with its name, and the others are released', async () => {
    const pkg = await openPackage(
      await writePackage(
        clipFiles({ override: { text_model: new TextEncoder().encode('not an onnx graph') } }),
      ),
    );
    const host = trackedHost();
    const { l } = loader(pkg, host, loaderSpecFromPackage(pkg, { parallel: true }));
    const vision = l.session('vision_model');
    const err = await l.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoadError);
    expect((err as LoadError).component).toBe('text_model');
    expect((err as LoadError).phase).toBe('create');
    expect((err as LoadError).code).toBe('MODEL_CORRUPT');
    expect((err as LoadError).message).toContain('text_model');
    expect(host.count()).toBe(1);
    expect(host.alive()).toEqual([]);
    // A waiter on another component got either its session (ready before the failure, released
    // since) or the cause; later asks get the cause.
    expect(
      await vision.then(
        (s) => s.isReleased,
        (e: unknown) => e === err,
      ),
    ).toBe(true);
    await expect(l.session('vision_model')).rejects.toBe(err);
  });

  it('a missing file fails in the read phase with the component named', async () => {
    const files = clipFiles();
    const dir = await writePackage(files);
    const pkg = await openPackage(dir);
    const { rm } = await import('node:fs/promises');
    await rm(join(dir, 'onnx/vision_model.onnx'));
    const host = trackedHost();
    const err = (await loader(pkg, host)
      .l.load()
      .catch((e: unknown) => e)) as LoadError;
    expect(err.component).toBe('vision_model');
    expect(err.phase).toBe('read');
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(host.alive()).toEqual([]);
  });

  it('an abort during creation through the graph cache leaves no cache file, temporary or final', async () => {
    const pkg = await openPackage(await writePackage(clipFiles()));
    const cacheDir = await writePackage({});
    const ac = new AbortController();
    // ORT is asked to write the optimized graph; abort while it does.
    const host = trackedHost({ cacheDir, onCreate: () => ac.abort() });
    const spec = loaderSpecFromPackage(pkg, { parallel: false, graphCache: true });
    const { l } = loader(pkg, host, spec, { signal: ac.signal });
    await expect(l.load()).rejects.toMatchObject({ code: 'ABORTED' });
    expect(host.count()).toBe(1);
    expect(host.alive()).toEqual([]);
    const left = await readdir(join(cacheDir, 'graphs-external')).catch(() => []);
    expect(left).toEqual([]);
  });
});

describe('graph cache', () => {
  it('stores optimized graphs with memory-mapped weights on the first load and loads them on the second', async () => {
    const pkg = await openPackage(await writePackage(clipFiles({ visionHidden: 64 })));
    const cacheDir = await writePackage({});
    const first = loader(pkg, trackedHost({ cacheDir }), loaderSpecFromPackage(pkg, { graphCache: true }));
    const a = await first.l.load();
    expect(a.components.map((c) => c.cache)).toEqual(['stored', 'stored']);
    expect(first.events.find((e) => e.phase === 'ready')!.message).toContain('graph cache stored');
    const x = new ort.Tensor('float32', new Float32Array(3 * 64).fill(0.5), [1, 3, 8, 8]);
    const before = await (await first.l.session('vision_model')).run({ pixel_values: x });
    await first.l.dispose();
    const second = loader(pkg, trackedHost({ cacheDir }), loaderSpecFromPackage(pkg, { graphCache: true }));
    const b = await second.l.load();
    expect(b.components.map((c) => c.cache)).toEqual(['hit', 'hit']);
    const after = await (await second.l.session('vision_model')).run({ pixel_values: x });
    expect([...(after.image_embeds!.data as Float32Array)]).toEqual([
      ...(before.image_embeds!.data as Float32Array),
    ]);
    await second.l.dispose();
    // One folder per component, complete: the graph and its weights side file.
    const entries = await readdir(join(cacheDir, 'graphs-external'));
    expect(entries.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(entries).toHaveLength(2);
    for (const e of entries) {
      expect((await readdir(join(cacheDir, 'graphs-external', e))).sort()).toEqual([
        'model.onnx',
        'model.onnx.data',
      ]);
    }
  });
});
