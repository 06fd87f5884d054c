/**
 * `loadClip`: the planned path. Sessions come from the MultimodalLoader over the platform plan;
 * the learned logit scale is read from the combined graph, which is released afterwards.
 */
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_MODEL } from '../../src/cli/paths.js';
import type { LoadProgress } from '../../src/loader/types.js';
import { loadClip } from '../../src/node/index.js';

const ref = JSON.parse(readFileSync(join(DEFAULT_CLIP_MODEL, 'reference.json'), 'utf8')) as {
  logit_scale: number;
};

describe('loadClip', () => {
  it('uses the learned logit scale of the combined graph, without a warning', async () => {
    const warnings: string[] = [];
    const cacheDir = await mkdtemp(join(tmpdir(), 'mmrt-scale-')); // empty: the graph is really read
    const clip = await loadClip({
      model: DEFAULT_CLIP_MODEL,
      platform: 'cpu',
      host: { cacheDir },
      onWarning: (m) => warnings.push(m),
    });
    try {
      const { scale } = await clip.logitScale();
      expect(scale).toBeCloseTo(ref.logit_scale, 4);
      expect(warnings).toEqual([]);
    } finally {
      await clip.dispose();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('a changed model file is calibrated again, not served from the cache', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mmrt-scale-model-'));
    const model = join(root, 'clip');
    const cacheDir = join(root, 'cache');
    await cp(DEFAULT_CLIP_MODEL, model, { recursive: true });
    try {
      await (await loadClip({ model, platform: 'cpu', host: { cacheDir } })).logitScale();
      const [entry] = await readdir(join(cacheDir, 'logit-scale'));
      await writeFile(join(cacheDir, 'logit-scale', entry!), JSON.stringify({ scale: 42, bias: 0 }));
      // Same bytes, new modification time: the key changes and the graph is read again.
      const later = new Date(Date.now() + 5000);
      await utimes(join(model, 'onnx', 'model.onnx'), later, later);
      const clip = await loadClip({ model, platform: 'cpu', host: { cacheDir } });
      expect((await clip.logitScale()).scale).toBeCloseTo(ref.logit_scale, 4);
      await clip.dispose();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('treats options given as undefined as not given, and a later abort of the load signal leaves the model working', async () => {
    const controller = new AbortController();
    const clip = await loadClip({
      model: DEFAULT_CLIP_MODEL,
      platform: 'cpu',
      config: { batchSize: undefined },
      clip: { textCacheBytes: undefined },
      signal: controller.signal,
      loading: { preload: true },
    });
    try {
      controller.abort();
      const [e] = await clip.embedTexts(['a red star']);
      expect(e!.length).toBe(64);
      // The text cache is on (its default), not switched off by the undefined value.
      await clip.embedTexts(['a red star']);
      expect(clip.textCacheStats()?.hits).toBe(1);
    } finally {
      await clip.dispose();
    }
  });

  it('keeps the learned scale on disk, so the next start does not open the combined graph again', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'mmrt-scale-'));
    try {
      const first = await loadClip({ model: DEFAULT_CLIP_MODEL, platform: 'cpu', host: { cacheDir } });
      expect((await first.logitScale()).scale).toBeCloseTo(ref.logit_scale, 3);
      await first.dispose();
      const files = await readdir(join(cacheDir, 'logit-scale'));
      expect(files).toHaveLength(1);
      // The next start reads the file: make its value recognisable.
      const path = join(cacheDir, 'logit-scale', files[0]!);
      await writeFile(path, JSON.stringify({ scale: 42, bias: 0 }));
      const second = await loadClip({ model: DEFAULT_CLIP_MODEL, platform: 'cpu', host: { cacheDir } });
      expect((await second.logitScale()).scale).toBe(42);
      await second.dispose();
      // An explicit option still wins over the cache.
      const third = await loadClip({
        model: DEFAULT_CLIP_MODEL,
        platform: 'cpu',
        host: { cacheDir },
        clip: { logitScale: 7 },
      });
      expect((await third.logitScale()).scale).toBe(7);
      await third.dispose();
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('preload: resolves with both encoders ready, progress reaching 100%', async () => {
    const events: LoadProgress[] = [];
    const clip = await loadClip({
      model: DEFAULT_CLIP_MODEL,
      platform: 'cpu',
      loading: { preload: true, onProgress: (e) => events.push(e) },
    });
    try {
      const ready = events.filter((e) => e.phase === 'ready').map((e) => e.component);
      expect(ready.sort()).toEqual(['text_model', 'vision_model']);
      expect(events.at(-1)?.percent).toBe(100);
      const [scores] = await clip.zeroShot(
        [join(DEFAULT_CLIP_MODEL, '..', 'samples', '00_red_star.png')],
        ['red star', 'blue circle'],
      );
      expect(scores?.[0]?.label).toBe('red star');
    } finally {
      await clip.dispose();
    }
  });
});
