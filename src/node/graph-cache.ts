/**
 * An on-disk cache of ONNX Runtime's optimized graphs: the first start asks ORT to write the
 * graph it optimized, later starts load that file with optimizations off, skipping the
 * graph transformers (DESIGN.md: initialization is dominated by session creation).
 * The key covers everything that changes the optimized graph: source file identity, ORT
 * version, providers, optimization level and pinned dimensions.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OrtModule } from '../host/types.js';
import { type Session, type SessionSpec, createSession } from '../runtime/session.js';

export interface GraphCacheResult {
  readonly session: Session;
  /** 'hit': loaded the cached graph; 'stored': optimized and wrote it; 'bypass': not cacheable. */
  readonly cache: 'hit' | 'stored' | 'bypass';
}

async function cacheKey(ortVersion: string, spec: SessionSpec & { model: string }): Promise<string> {
  const st = await stat(spec.model);
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      ortVersion,
      model: spec.model,
      size: st.size,
      mtime: st.mtimeMs,
      providers: spec.providers ?? ['cpu'],
      level: spec.graphOptimizationLevel ?? 'all',
      dims: spec.freeDimensionOverrides ?? {},
    }),
  );
  return h.digest('hex').slice(0, 32);
}

export async function createSessionWithGraphCache(
  ort: OrtModule,
  spec: SessionSpec,
  cacheDir: string,
  ortVersion: string,
): Promise<GraphCacheResult> {
  // Bytes (no path) have no stable identity; models with external data would need their
  // initializers rewritten too. Both load normally.
  if (typeof spec.model !== 'string' || spec.externalData?.length) {
    return { session: await createSession(ort, spec), cache: 'bypass' };
  }
  const dir = join(cacheDir, 'graphs');
  const key = await cacheKey(ortVersion, spec as SessionSpec & { model: string });
  const cached = join(dir, `${spec.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${key}.onnx`);
  const exists = await stat(cached).then(
    (s) => s.size > 0,
    () => false,
  );
  if (exists) {
    try {
      const session = await createSession(ort, {
        ...spec,
        model: cached,
        graphOptimizationLevel: 'disabled',
      });
      return { session, cache: 'hit' };
    } catch {
      // A stale or damaged cache entry must never stop a load: drop it and rebuild.
      await rm(cached, { force: true });
    }
  }
  await mkdir(dir, { recursive: true });
  const tmp = `${cached}.${process.pid}.${Date.now()}.tmp`;
  try {
    const session = await createSession(ort, { ...spec, optimizedModelFilePath: tmp });
    await rename(tmp, cached).catch(() => rm(tmp, { force: true }));
    return { session, cache: 'stored' };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
