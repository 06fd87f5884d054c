/**
 * `pipeline()` and `env` for Node, as transformers.js has them: a model id is a folder under
 * `env.localModelPath` when one exists there (by default the models mmrt ships, so
 * `pipeline('zero-shot-image-classification', 'shapes-clip')` runs offline), else a hub id
 * downloaded into the Hugging Face cache (unless `env.allowRemoteModels` is false or
 * `local_files_only` is set: then the cache only).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadModelOptions } from '../load/load-model.js';
import type { PipelineOptions } from '../pipeline/index.js';
import { createPipeline } from '../pipeline/index.js';
import type { NodeHostOptions } from './host.js';
import { DEFAULT_ENDPOINT } from './hub/options.js';
import { MODELS_DIR } from './shipped.js';

export interface PipelineEnv {
  /** Look for model ids as folders under `localModelPath` first. Default true. */
  allowLocalModels: boolean;
  /** Download from the hub when not found locally. Default true. */
  allowRemoteModels: boolean;
  /** Where local model folders are looked for. Default: mmrt's shipped models. */
  localModelPath: string;
  /** The hub. Default `HF_ENDPOINT`, else https://huggingface.co. */
  remoteHost: string;
  /** The Hugging Face hub cache. Default `HF_HUB_CACHE` (see the README's environment table). */
  cacheDir: string | undefined;
}

export const env: PipelineEnv = {
  allowLocalModels: true,
  allowRemoteModels: true,
  localModelPath: MODELS_DIR,
  remoteHost: process.env.MMRT_HUB_ENDPOINT || process.env.HF_ENDPOINT || DEFAULT_ENDPOINT,
  cacheDir: undefined,
};

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function resolve(id: string, o: PipelineOptions): LoadModelOptions & { host?: NodeHostOptions } {
  const isPath = id.startsWith('/') || id.startsWith('.') || id.startsWith('~') || id.startsWith('mmrt:');
  if (isPath) return { model: id };
  if (env.allowLocalModels && isDirectory(join(env.localModelPath, id))) {
    return { model: join(env.localModelPath, id) };
  }
  const remote = env.allowRemoteModels && !o.local_files_only;
  const cacheDir = o.cache_dir ?? env.cacheDir;
  const endpoint = env.remoteHost.replace(/\/+$/, '');
  return {
    model: o.revision && o.revision !== 'main' && !id.includes('@') ? `${id}@${o.revision}` : id,
    host: {
      hub: {
        ...(cacheDir !== undefined && { cacheDir }),
        ...(endpoint !== DEFAULT_ENDPOINT && { endpoint }),
        ...(!remote && { offline: true }),
      },
    },
  };
}

export function nodePipeline(
  loadModel: (o: LoadModelOptions & { host?: NodeHostOptions }) => Promise<never>,
) {
  return createPipeline({ loadModel: loadModel as never, resolve: resolve as never });
}
