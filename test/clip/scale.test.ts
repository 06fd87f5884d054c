/**
 * Reading the learned logit scale: the combined graph goes through the loader and is released
 * after use; a failure falls back (split layout, with a warning) or is not remembered
 * (combined-only layout: the next call retries).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_MODEL } from '../../src/cli/paths.js';
import { RuntimeError } from '../../src/errors.js';
import type { Host } from '../../src/host/host.js';
import type { ClipModel } from '../../src/kinds/dual-encoder/model.js';
import { loadModel } from '../../src/load/load-model.js';
import { nodeHost } from '../../src/node/host.js';

let cacheDir: string;
beforeAll(async () => {
  // An empty store each time: the graph is really read.
  cacheDir = await mkdtemp(join(tmpdir(), 'mmrt-scale-'));
});
afterAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

/**
 * The Node host, with the combined graph's session failing the first `failures` times it is
 * created; `scan: false` hides the files' piecewise reads, so the graph is opened for its scale.
 */
function flakyCombined(failures: number, scan = false): Host & { asked: () => number } {
  const base = nodeHost({ cacheDir: join(cacheDir, String(Math.random())) });
  let asked = 0;
  return {
    ...base,
    async openModel(reference, options) {
      const files = await base.openModel(reference, options);
      if (scan) return files;
      return Object.assign(Object.create(Object.getPrototypeOf(files)), files, { readRange: undefined });
    },
    async createSession(spec, context) {
      if (spec.name === 'model' && asked++ < failures) {
        throw new RuntimeError('SESSION_CREATE_FAILED', 'no room for the combined graph');
      }
      return base.createSession!(spec, context);
    },
    asked: () => asked,
  };
}

function load(host: Host, warnings: string[] = [], clip = {}): Promise<ClipModel> {
  return loadModel<ClipModel>(
    host,
    { model: DEFAULT_CLIP_MODEL, platform: 'cpu', onWarning: (m) => warnings.push(m) },
    clip,
  );
}

describe('logit scale', () => {
  it('split layout: releases the combined graph after reading, and after a failure too', async () => {
    const host = flakyCombined(0);
    const clip = await load(host);
    expect((await clip.logitScale()).scale).toBeGreaterThan(15);
    expect(host.asked()).toBe(1);
    expect(clip.loader.status('model')).toBe('idle');
    await clip.dispose();

    const failing = flakyCombined(1);
    const warnings: string[] = [];
    const c2 = await load(failing, warnings);
    const { scale } = await c2.logitScale();
    expect(scale).toBeCloseTo(Math.exp(2.6592), 3); // the init value, said in a warning
    expect(warnings.join('\n')).toMatch(
      /could not use its combined model\.onnx \(.*no room for the combined graph\)/,
    );
    expect(failing.asked()).toBe(1);
    expect(c2.loader.status('model')).toBe('idle');
    await c2.dispose();
  });

  it('a combined graph the host can read in pieces is scanned for its scale, never loaded', async () => {
    const host = flakyCombined(0, true);
    const clip = await load(host);
    const scanned = await clip.logitScale();
    expect(host.asked()).toBe(0); // no session for the 1.3 MiB (577 MiB for ViT-B/32) graph
    const graph = await load(flakyCombined(0));
    const run = await graph.logitScale();
    expect(Math.abs(scanned.scale - run.scale)).toBeLessThan(1e-5);
    expect(scanned.bias).toBe(0);
    await clip.dispose();
    await graph.dispose();
  });

  it('an onLogitScale callback that throws is a warning, not a lost scale', async () => {
    const warnings: string[] = [];
    const clip = await load(flakyCombined(0), warnings, {
      onLogitScale: () => {
        throw new Error('disk full');
      },
    });
    expect((await clip.logitScale()).scale).toBeGreaterThan(15);
    expect(warnings).toEqual(['onLogitScale failed: disk full']);
    await clip.dispose();
  });
});
