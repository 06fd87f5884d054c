/**
 * Reading the learned logit scale: the combined graph is released after use, a failure falls back
 * (split layout, with a warning) or is not remembered (combined-only layout: the next call retries).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIP_MODEL } from '../../src/cli/paths.js';
import { RuntimeError } from '../../src/errors.js';
import { clipFromSource } from '../../src/node/clip.js';
import { openSessionSource } from '../../src/node/session-source.js';
import type { SessionSource } from '../../src/runtime/session-source.js';

/** The real source, with `model` failing the first `failures` times it is asked for. */
async function flakyCombined(failures: number): Promise<SessionSource & { asked: () => number }> {
  const real = await openSessionSource(DEFAULT_CLIP_MODEL, { intraOpNumThreads: 1 });
  let asked = 0;
  return {
    package: real.package,
    session(component, signal) {
      if (component === 'model' && asked++ < failures) {
        return Promise.reject(new RuntimeError('SESSION_CREATE_FAILED', 'no room for the combined graph'));
      }
      return real.session(component, signal);
    },
    dispose: () => real.dispose(),
    asked: () => asked,
  };
}

describe('logit scale', () => {
  it('split layout: releases the combined graph after reading, and after a failure too', async () => {
    const source = await flakyCombined(0);
    let released = 0;
    const clip = clipFromSource(source, { releaseCombined: async () => void released++ });
    expect((await clip.logitScale()).scale).toBeGreaterThan(15);
    expect(released).toBe(1);
    await source.dispose();

    const failing = await flakyCombined(1);
    const warnings: string[] = [];
    let released2 = 0;
    const c2 = clipFromSource(failing, {
      releaseCombined: async () => void released2++,
      onWarning: (m) => warnings.push(m),
    });
    const { scale } = await c2.logitScale();
    expect(scale).toBeCloseTo(Math.exp(2.6592), 3); // the init value, said in a warning
    expect(warnings.join('\n')).toMatch(
      /could not use its combined model\.onnx \(no room for the combined graph\)/,
    );
    expect(released2).toBe(1);
    await failing.dispose();
  });

  it('an onLogitScale callback that throws is a warning, not a lost scale', async () => {
    const source = await flakyCombined(0);
    const warnings: string[] = [];
    const clip = clipFromSource(source, {
      onLogitScale: () => {
        throw new Error('disk full');
      },
      onWarning: (m) => warnings.push(m),
    });
    expect((await clip.logitScale()).scale).toBeGreaterThan(15);
    expect(warnings).toEqual(['onLogitScale failed: disk full']);
    await source.dispose();
  });
});
