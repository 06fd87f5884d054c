/**
 * `loadClip`: the planned path. Sessions come from the MultimodalLoader over the platform plan;
 * the learned logit scale is read from the combined graph, which is released afterwards.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_MODEL } from '../../src/cli/paths.js';
import type { LoadProgress } from '../../src/loader/types.js';
import { loadClip } from '../../src/node/clip.js';

const ref = JSON.parse(readFileSync(join(DEFAULT_CLIP_MODEL, 'reference.json'), 'utf8')) as {
  logit_scale: number;
};

describe('loadClip', () => {
  it('uses the learned logit scale of the combined graph, without a warning', async () => {
    const warnings: string[] = [];
    const clip = await loadClip({
      model: DEFAULT_CLIP_MODEL,
      platform: 'cpu',
      onWarning: (m) => warnings.push(m),
    });
    try {
      const { scale } = await clip.logitScale();
      expect(scale).toBeCloseTo(ref.logit_scale, 3);
      expect(warnings).toEqual([]);
    } finally {
      await clip.dispose();
    }
  });

  it('keeps the learned scale on disk, so the next start does not open the combined graph again', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'mmrt-scale-'));
    try {
      const first = await loadClip({ model: DEFAULT_CLIP_MODEL, platform: 'cpu', cacheDir });
      expect((await first.logitScale()).scale).toBeCloseTo(ref.logit_scale, 3);
      await first.dispose();
      const files = await readdir(join(cacheDir, 'logit-scale'));
      expect(files).toHaveLength(1);
      // The next start reads the file: make its value recognisable.
      const path = join(cacheDir, 'logit-scale', files[0]!);
      await writeFile(path, JSON.stringify({ scale: 42, bias: 0 }));
      const second = await loadClip({ model: DEFAULT_CLIP_MODEL, platform: 'cpu', cacheDir });
      expect((await second.logitScale()).scale).toBe(42);
      await second.dispose();
      // An explicit option still wins over the cache.
      const third = await loadClip({ model: DEFAULT_CLIP_MODEL, platform: 'cpu', cacheDir, logitScale: 7 });
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
      preload: true,
      onProgress: (e) => events.push(e),
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
