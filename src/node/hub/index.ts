/**
 * Node entry point for model references: a local folder or a hub repo, opened as `ModelFiles`.
 */
import { statSync } from 'node:fs';
import type { ModelFiles } from '../../host/host.js';
import { parseModelReference } from '../../hub/reference.js';
import { LocalModelFiles } from '../files.js';
import { HubClient } from './client.js';
import { HubModelFiles } from './model-files.js';
import { type HubOptions, expandHome } from './options.js';
import { shippedModelPath } from '../shipped.js';

export interface OpenModelFilesOptions extends HubOptions {
  /** Hub revision when the reference has no `@rev`. Default `main`. */
  revision?: string;
  /** Reuse a client (and its settings) instead of building one from these options. */
  client?: HubClient;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * `./models/clip` -> the folder (which must exist); `org/name[@rev]` -> the hub repo, whose
 * files are fetched into the cache on first use. An `org/name` that exists as a folder here
 * is that folder (as Hugging Face's libraries do): `models/shapes-clip` typed in the repo root
 * means the folder, not a download.
 */
export async function openModelFiles(ref: string, opts: OpenModelFilesOptions = {}): Promise<ModelFiles> {
  const parsed = parseModelReference(ref, opts.revision !== undefined ? { revision: opts.revision } : {});
  if (parsed.kind === 'hub' && !ref.includes('@') && opts.revision === undefined && isDirectory(ref)) {
    return LocalModelFiles.open(ref);
  }
  if (parsed.kind === 'local') return LocalModelFiles.open(expandHome(parsed.path));
  if (parsed.kind === 'shipped') return LocalModelFiles.open(shippedModelPath(parsed.name));
  return new HubModelFiles(opts.client ?? new HubClient(opts), parsed.repo, parsed.revision);
}

export { HubClient, parseListing, type DownloadOptions, type ListOptions } from './client.js';
export { HubModelFiles } from './model-files.js';
export { LocalModelFiles } from '../files.js';
export type { DownloadProgress } from './inflight.js';
export type { CachedFile, RepoListing } from './meta.js';
export {
  DEFAULT_ENDPOINT,
  type FileDownloadProgress,
  type HubOptions,
  type ResolvedHubOptions,
  hubCacheDir,
  mmrtCacheDir,
  resolveHubOptions,
} from './options.js';
