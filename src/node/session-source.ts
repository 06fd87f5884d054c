/**
 * The simplest `SessionSource` for Node: one precision for every component, on given
 * providers, with explicit thread counts (ORT's default uses one core of two here).
 * The platform plan (`createPlatform`) is the full-featured source; this one serves tests
 * and callers that want no planning.
 */
import os from 'node:os';
import type { Precision } from '../package/precision.js';
import { componentVariant, describePackage } from '../package/describe.js';
import { memoizedSource, type SessionSource } from '../runtime/session-source.js';
import { createSession, type ProviderSpec } from '../runtime/session.js';
import type { ExecutionProviderName } from '../runtime/providers.js';
import { openModelFiles, type OpenModelFilesOptions } from './hub/index.js';
import { ort } from './ort.js';

export interface SimpleSourceOptions extends OpenModelFilesOptions {
  precision?: Precision;
  providers?: ReadonlyArray<ExecutionProviderName | ProviderSpec>;
  intraOpNumThreads?: number;
}

export async function openSessionSource(
  model: string,
  opts: SimpleSourceOptions = {},
): Promise<SessionSource> {
  const files = await openModelFiles(model, opts);
  const pkg = await describePackage(files);
  const threads = opts.intraOpNumThreads ?? os.availableParallelism();
  return memoizedSource(pkg, async (component, signal) => {
    const variant = componentVariant(pkg, component, opts.precision ?? 'fp32');
    // A path lets ORT find external-data files beside the graph; bytes are the fallback.
    const model =
      (await files.localPath?.(variant.file, signal)) ?? (await files.readBytes(variant.file, signal));
    return createSession(ort, {
      name: component,
      model,
      providers: opts.providers ?? ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      ...(signal ? { signal } : {}),
    });
  });
}
