/**
 * A batch where one bad image costs only itself (what `mmrt classify` and the server's image
 * batches rely on): the bad one gets its own typed error, the others their usual results.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_MODEL, MODELS_DIR } from '../../src/cli/paths.js';
import type { ClipModel } from '../../src/kinds/dual-encoder/model.js';
import { settleImages } from '../../src/kinds/dual-encoder/settle.js';
import { loadClip } from '../../src/node/index.js';

let clip: ClipModel;
let good: Uint8Array[];
const junk = new TextEncoder().encode('not an image');

beforeAll(async () => {
  clip = await loadClip({ model: DEFAULT_CLIP_MODEL, platform: 'cpu' });
  good = await Promise.all(
    ['00_red_star.png', '03_red_circle.jpg'].map((f) => readFile(join(MODELS_DIR, 'samples', f))),
  );
});
afterAll(() => clip?.dispose());

describe('settleImages', () => {
  it('gives bad images their own error and the others the results they get alone', async () => {
    const outcomes = await settleImages([junk, good[0]!, junk, good[1]!], (batch) => clip.embedImages(batch));
    expect(outcomes.map((o) => o.ok)).toEqual([false, true, false, true]);
    const alone = await clip.embedImages(good);
    expect(outcomes[1]!.ok && [...outcomes[1]!.value]).toEqual([...alone[0]!]);
    expect(outcomes[3]!.ok && [...outcomes[3]!.value]).toEqual([...alone[1]!]);
    for (const o of [outcomes[0]!, outcomes[2]!]) {
      expect(o.ok ? undefined : o.error.code).toBe('IMAGE_DECODE_FAILED');
    }
  });

  it('throws errors that name no image as they are', async () => {
    await expect(settleImages([good[0]!], () => Promise.reject(new Error('session gone')))).rejects.toThrow(
      'session gone',
    );
  });
});
