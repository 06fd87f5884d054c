/**
 * The optimized-graph cache with memory-mapped, pre-packed weights (the loader's default graph
 * cache and `Platform.createSession`'s): see `createSessionWithWeightCache`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { OrtModule } from '../host/host.js';
import type { CreatedSession } from '../host/host.js';
import { type SessionSpec, createSession } from '../runtime/session.js';

const WEIGHT_CACHE_DIR = 'graphs-external';
const ENTRY_MODEL = 'model.onnx';
const ENTRY_DATA = 'model.onnx.data';

/** What changes the optimized graph or its pre-packed weights: the files, ORT, the CPU, the options. */
async function weightCacheKey(ortVersion: string, spec: SessionSpec & { model: string }): Promise<string> {
  const dir = dirname(spec.model);
  const base = basename(spec.model);
  // The graph and any external data beside it (`x.onnx_data`, `x.onnx.data`, `x.onnx_data_1`).
  const files = (await readdir(dir)).filter(
    (f) => f === base || f.startsWith(`${base}_data`) || f === `${base}.data`,
  );
  const stats = await Promise.all(
    files.sort().map(async (f) => {
      const st = await stat(join(dir, f));
      return [f, st.size, st.mtimeMs];
    }),
  );
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  return createHash('sha256')
    .update(
      JSON.stringify({
        format: 'external-prepacked-1',
        ortVersion,
        model: spec.model,
        stats,
        cpu,
        arch: os.arch(),
        providers: spec.providers ?? ['cpu'],
        level: spec.graphOptimizationLevel ?? 'all',
        dims: spec.freeDimensionOverrides ?? {},
        extra: spec.extra ?? {},
      }),
    )
    .digest('hex')
    .slice(0, 32);
}

/**
 * The optimized-graph cache, with the weights kept out of the graph: ORT writes the optimized
 * graph and its initializers to a side file (plus the CPU's pre-packed copies of the MatMul
 * weights), and a hit memory-maps them instead of parsing, copying and re-packing hundreds of
 * megabytes. Measured on a 135M decoder here: creation 1.3-1.5 s -> 0.5 s, resident memory
 * ~0.9 GB -> ~0.13 GB (bench/results/load.json). An entry is a folder written under a
 * temporary name and renamed into place, so no reader ever sees half of one; the key includes
 * the CPU model because pre-packed layouts and NCHWc graphs are CPU-specific.
 */
export async function createSessionWithWeightCache(
  ort: OrtModule,
  spec: SessionSpec,
  cacheDir: string,
  ortVersion: string,
): Promise<CreatedSession> {
  if (typeof spec.model !== 'string') {
    return { session: await createSession(ort, spec), cache: 'bypass' };
  }
  const root = join(cacheDir, WEIGHT_CACHE_DIR);
  const key = await weightCacheKey(ortVersion, spec as SessionSpec & { model: string });
  const entry = join(root, `${spec.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${key}`);
  const cached = join(entry, ENTRY_MODEL);
  // The folder is renamed into place whole: its graph present means the entry is complete.
  const present = await stat(cached).then(
    (st) => st.isFile(),
    () => false,
  );
  if (present) {
    try {
      const session = await createSession(ort, {
        ...spec,
        model: cached,
        graphOptimizationLevel: 'disabled',
      });
      return { session, cache: 'hit' };
    } catch (e) {
      if (spec.signal?.aborted) throw e;
      // A damaged entry must never stop a load: drop it and rebuild.
      await rm(entry, { recursive: true, force: true });
    }
  }
  await mkdir(root, { recursive: true });
  const tmp = `${entry}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await mkdir(tmp);
  try {
    const extra = (spec.extra ?? {}) as Record<string, unknown>;
    const session = await createSession(ort, {
      ...spec,
      optimizedModelFilePath: join(tmp, ENTRY_MODEL),
      extra: {
        ...extra,
        session: {
          ...((extra.session as Record<string, unknown> | undefined) ?? {}),
          optimized_model_external_initializers_file_name: ENTRY_DATA,
          optimized_model_external_initializers_min_size_in_bytes: '1024',
          save_external_prepacked_constant_initializers: '1',
        },
      },
    });
    // Another process may have stored the same entry meanwhile: theirs is as good as ours.
    await rename(tmp, entry).catch(() => rm(tmp, { recursive: true, force: true }));
    return { session, cache: 'stored' };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
