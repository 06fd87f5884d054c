/**
 * The Node host of the loader: downloads from a (local, fake) hub with byte progress and a
 * clean abort, sessions in worker threads, and the platform plan driving the loader.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MultimodalLoader } from '../../src/loader/loader.js';
import { loaderSpecFromPackage } from '../../src/loader/spec.js';
import type { LoadProgress } from '../../src/loader/types.js';
import { HubClient, HubModelFiles } from '../../src/node/hub/index.js';
import { describePackage } from '../../src/families/registry.js';
import type { OrtModule } from '../../src/host/host.js';
import { createLoader, createPlacement, nodeHost } from '../../src/node/index.js';
import { ort } from '../../src/node/ort.js';
import { workerOrt } from '../../src/node/worker-ort.js';
import { startFakeHub } from '../hub/fake-hub.js';
import { cleanupTmp, openPackage, tmpDir, trackedHost, vlmFiles, writePackage } from './fixtures.js';
import { visionModel } from './onnx-build.js';

afterAll(cleanupTmp);

const REPO = 'mmrt-test/tiny-vlm';

async function hubPackage(files: Record<string, Uint8Array | string>) {
  const hub = await startFakeHub({
    repo: REPO,
    files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)])),
  });
  const cacheDir = await tmpDir('mmrt-loader-hub-');
  const client = new HubClient({ endpoint: hub.endpoint, cacheDir, env: {}, retries: 0 });
  const hubFiles = new HubModelFiles(client, REPO, 'main');
  const pkg = await describePackage(hubFiles);
  const layout = client.layout(REPO, 'main');
  return { hub, cacheDir, pkg, revisionDir: layout.snapshotDir(hub.commit), stateDir: layout.stateDir };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

// A vision encoder of ~1.6 MB: 26 chunks of 64 KiB, so a slow hub takes a while to send it.
const bigVlm = () => vlmFiles({ visionHidden: 512, visionLayers: 2 });

describe('downloads from the hub', () => {
  it('reports download bytes per component, overlaps downloads in parallel mode, then loads', async () => {
    const files = bigVlm();
    const { hub, pkg } = await hubPackage(files);
    try {
      hub.faults.chunkDelayMs = 2;
      const host = trackedHost();
      const events: LoadProgress[] = [];
      const l = new MultimodalLoader({
        package: pkg,
        plan: loaderSpecFromPackage(pkg),
        host,
        onProgress: (e) => events.push(e),
      });
      await l.load();
      const vision = events.filter((e) => e.component === 'vision_encoder' && e.phase === 'download');
      const size = (files['onnx/vision_encoder.onnx'] as Uint8Array).byteLength;
      expect(vision.length).toBeGreaterThan(5);
      expect(vision.at(-1)!.loaded).toBe(size);
      expect(vision.at(-1)!.total).toBe(size);
      for (let i = 1; i < vision.length; i++)
        expect(vision[i]!.loaded).toBeGreaterThanOrEqual(vision[i - 1]!.loaded);
      // The small files finish downloading while the big one is still coming.
      const lastVisionDownload = vision.at(-1)!.elapsedMs;
      const decoderStart = events.find((e) => e.component === 'decoder_model_merged')!.elapsedMs;
      expect(decoderStart).toBeLessThan(lastVisionDownload);
      expect(events.at(-1)!.overallPercent).toBe(100);
      await l.dispose();
      expect(host.alive()).toEqual([]);
    } finally {
      await hub.close();
    }
  });

  it('an abort mid-download stops it, creates nothing, and leaves no partial file at a final path', async () => {
    const files = bigVlm();
    const { hub, pkg, revisionDir, stateDir } = await hubPackage(files);
    try {
      hub.faults.chunkDelayMs = 5;
      const host = trackedHost();
      const ac = new AbortController();
      const l = new MultimodalLoader({
        package: pkg,
        plan: loaderSpecFromPackage(pkg, { parallel: false }),
        host,
        signal: ac.signal,
        onProgress: (e) => {
          if (e.component === 'vision_encoder' && e.phase === 'download' && e.loaded > 200_000) ac.abort();
        },
      });
      await expect(l.load()).rejects.toMatchObject({ code: 'ABORTED' });
      expect(host.count()).toBe(0);
      // Everything at a final path is a complete copy of the hub's file.
      const finals = await walk(revisionDir);
      for (const f of finals) {
        const rel = relative(revisionDir, f).split('\\').join('/');
        expect(rel in files, rel).toBe(true);
        expect((await stat(f)).size, rel).toBe(Buffer.from(files[rel]!).length);
      }
      expect(finals.map((f) => relative(revisionDir, f))).not.toContain('onnx/vision_encoder.onnx');
      // The partial waits in the bookkeeping tree for a resume.
      const partials = (await walk(stateDir)).filter((f) => f.endsWith('.incomplete'));
      expect(partials.length).toBe(1);
      expect((await stat(partials[0]!)).size).toBeLessThan(
        Buffer.from(files['onnx/vision_encoder.onnx']!).length,
      );
    } finally {
      await hub.close();
    }
  });
});

describe('sessions in worker threads', () => {
  it('give the same outputs as sessions on this thread, and release their workers', async () => {
    const pkg = await openPackage(await writePackage(vlmFiles()));
    const main = new MultimodalLoader({ package: pkg, plan: loaderSpecFromPackage(pkg), host: nodeHost() });
    const host = trackedHost({ sessionThreads: 'worker' });
    const inWorkers = new MultimodalLoader({ package: pkg, plan: loaderSpecFromPackage(pkg), host });
    await Promise.all([main.load(), inWorkers.load()]);
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 192 }, (_, i) => (i % 7) / 7),
      [1, 3, 8, 8],
    );
    const a = await (await main.session('vision_encoder')).run({ pixel_values: x });
    const b = await (await inWorkers.session('vision_encoder')).run({ pixel_values: x });
    expect(b.image_embeds!.dims).toEqual(a.image_embeds!.dims);
    expect([...(b.image_embeds!.data as Float32Array)]).toEqual([...(a.image_embeds!.data as Float32Array)]);
    // The caller's input is copied, not moved.
    expect(x.data.length).toBe(192);
    const ids = new ort.Tensor('int64', BigInt64Array.from([3n, 4n]), [1, 2]);
    const e = await (await inWorkers.session('embed_tokens')).run({ input_ids: ids });
    expect(e.inputs_embeds!.dims).toEqual([1, 2, 8]);
    await Promise.all([main.dispose(), inWorkers.dispose()]);
    expect(host.alive()).toEqual([]);
  });

  it('let a vision encoder answer while the decoder is still being created', async () => {
    // A decoder-sized graph (many nodes) takes a while to create; the vision encoder is tiny.
    const pkg = await openPackage(
      await writePackage(
        vlmFiles({ override: { decoder_model_merged: visionModel({ layers: 800, hidden: 64 }) } }),
      ),
    );
    const marks: string[] = [];
    // The decoder's creation (in a worker) is held open until the vision encoder has answered,
    // so the test does not depend on which of two creations finishes first: a loader that made
    // the vision encoder wait for the decoder would never answer, and the test times out.
    const inWorkers = workerOrt();
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let held = false;
    const gated: OrtModule = {
      ...inWorkers,
      InferenceSession: {
        async create(model, options) {
          const session = await inWorkers.InferenceSession.create(model, options);
          if (typeof model === 'string' && model.includes('decoder_model_merged')) {
            held = true;
            await gate;
          }
          return session;
        },
      },
    };
    const l = new MultimodalLoader({
      package: pkg,
      plan: loaderSpecFromPackage(pkg),
      host: trackedHost({ sessionThreads: 'worker', ort: gated }),
      onProgress: (e) => {
        if (e.phase === 'ready') marks.push(`${e.component} ready`);
      },
    });
    const loading = l.load();
    const vision = await l.session('vision_encoder');
    const out = await vision.run({
      pixel_values: new ort.Tensor('float32', new Float32Array(192), [1, 3, 8, 8]),
    });
    marks.push('vision result');
    expect(out.image_embeds!.dims).toEqual([1, 8]);
    openGate();
    await loading;
    expect(held).toBe(true);
    expect(marks.indexOf('vision result')).toBeLessThan(marks.indexOf('decoder_model_merged ready'));
    await l.dispose();
  });
});

describe('the platform plan drives the loader', () => {
  it('takes parallel_loading, per-component load_strategy and graph_cache from the config', async () => {
    const dir = await writePackage(vlmFiles());
    const cacheDir = await tmpDir();
    const l = await createLoader({
      model: dir,
      platform: 'cpu',
      host: { cacheDir },
      config: { parallel_loading: true, graph_cache: true, language_model: { load_strategy: 'lazy' } },
    });
    expect(l.parallel).toBe(true);
    expect(l.spec.graphCache).toBe(true);
    const summary = await l.load();
    expect(summary.ready).toEqual(['vision_encoder']);
    expect([...summary.lazy].sort()).toEqual(['decoder_model_merged', 'embed_tokens']);
    expect(summary.components.map((c) => c.cache)).toEqual(['stored']);
    const decoder = await l.session('decoder_model_merged');
    expect(decoder.inputNames).toContain('past_key_values.0.key');
    expect(l.timings().find((t) => t.component === 'decoder_model_merged')!.lazy).toBe(true);
    await l.dispose();
    expect((await readdir(join(cacheDir, 'graphs-external'))).length).toBe(2);
  });

  it("under 'auto', a provider that fails hands the component to the platform's fallback", async () => {
    const dir = await writePackage(vlmFiles());
    const l = await createLoader({
      model: dir,
      platform: 'auto',
      candidates: ['rocm', 'cpu'],
      host: { cacheDir: await tmpDir() },
      config: { language_model: { load_strategy: 'lazy' } },
    });
    // No published onnxruntime-node carries ROCm: its sessions fail on every machine.
    expect(l.placement!.plan.platform).toBe('rocm');
    const summary = await l.load();
    expect(summary.ready).toEqual(['vision_encoder']);
    expect(l.placement!.fallbacks.map((f) => [f.from, f.to])).toEqual([['rocm', 'cpu']]);
    expect(l.placement!.plan.platform).toBe('cpu');
    // Later components follow the platform now in use.
    expect((await l.session('decoder_model_merged')).providers).toEqual(['cpu']);
    await l.dispose();
  });

  it("under 'auto', a first run (the warm-up) that returns NaN moves the component to the next platform", async () => {
    const dir = await writePackage(vlmFiles());
    // A provider that creates and runs but computes garbage: sessions asked for CUDA run on
    // the CPU here and hand back NaN.
    const nanOnCuda: OrtModule = {
      ...ort,
      InferenceSession: {
        async create(model, options) {
          const eps = (options?.executionProviders ?? []).map((p) => (typeof p === 'string' ? p : p.name));
          const session = await ort.InferenceSession.create(model, {
            ...options,
            executionProviders: ['cpu'],
          });
          if (!eps.includes('cuda')) return session;
          return new Proxy(session, {
            get(target, key) {
              if (key === 'run')
                return async (...args: Parameters<typeof target.run>) => {
                  const out = await target.run(...args);
                  return Object.fromEntries(
                    Object.entries(out).map(([k, t]) => [
                      k,
                      t.type === 'float32'
                        ? new ort.Tensor('float32', new Float32Array(t.size).fill(Number.NaN), t.dims)
                        : t,
                    ]),
                  );
                };
              const v = Reflect.get(target, key, target);
              return typeof v === 'function' ? v.bind(target) : v;
            },
          });
        },
      },
    };
    const hostOptions = { cacheDir: await tmpDir(), ort: nanOnCuda };
    const placement = await createPlacement({
      model: dir,
      platform: 'auto',
      candidates: ['cuda', 'cpu'],
      host: hostOptions,
    });
    const l = new MultimodalLoader({
      package: placement.package,
      plan: placement,
      host: nodeHost(hostOptions),
      warmup: true,
    });
    await l.load();
    expect(placement.fallbacks.map((f) => [f.from, f.to, f.component, f.code])).toEqual([
      ['cuda', 'cpu', 'vision_encoder', 'SESSION_OUTPUT_INVALID'],
    ]);
    expect((await l.session('vision_encoder')).providers).toEqual(['cpu']);
    await l.dispose();
  });

  it("under 'auto', a first run that throws moves the component; on a named platform it stays a warning", async () => {
    const dir = await writePackage(vlmFiles());
    const throwsOnCuda: OrtModule = {
      ...ort,
      InferenceSession: {
        async create(model, options) {
          const eps = (options?.executionProviders ?? []).map((p) => (typeof p === 'string' ? p : p.name));
          const session = await ort.InferenceSession.create(model, {
            ...options,
            executionProviders: ['cpu'],
          });
          if (!eps.includes('cuda')) return session;
          return new Proxy(session, {
            get(target, key) {
              if (key === 'run')
                return async () => {
                  throw new Error('kernel launch failed');
                };
              const v = Reflect.get(target, key, target);
              return typeof v === 'function' ? v.bind(target) : v;
            },
          });
        },
      },
    };
    const hostOptions = { cacheDir: await tmpDir(), ort: throwsOnCuda };
    const auto = await createPlacement({
      model: dir,
      platform: 'auto',
      candidates: ['cuda', 'cpu'],
      host: hostOptions,
    });
    const l = new MultimodalLoader({
      package: auto.package,
      plan: auto,
      host: nodeHost(hostOptions),
      warmup: true,
    });
    await l.load();
    expect(auto.fallbacks.map((f) => [f.from, f.to, f.code])).toEqual([
      ['cuda', 'cpu', 'SESSION_RUN_FAILED'],
    ]);
    await l.dispose();

    const named = await createPlacement({ model: dir, platform: 'cuda', host: hostOptions });
    const warnings: string[] = [];
    const m = new MultimodalLoader({
      package: named.package,
      plan: named,
      host: nodeHost(hostOptions),
      warmup: true,
      onWarning: (w) => warnings.push(w),
    });
    await m.load();
    expect(named.fallbacks).toEqual([]);
    expect(warnings.join('\n')).toMatch(/warm-up of "vision_encoder" failed .*kernel launch failed/);
    await m.dispose();
  });
});
