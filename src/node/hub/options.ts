/**
 * Hub client settings: each comes from an explicit option first, then the environment (mmrt's
 * own `MMRT_*` first, then Hugging Face's `HF_*`, which Python and transformers.js also read),
 * then a default, so tests and embedders never depend on the process environment by accident.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { DownloadProgress } from './inflight.js';

export interface HubOptions {
  /** Hub base URL. Default `MMRT_HUB_ENDPOINT`, then `HF_ENDPOINT`, then `https://huggingface.co`. */
  endpoint?: string;
  /**
   * The Hugging Face hub cache (`models--org--name/blobs|snapshots|refs`), shared with Python
   * and `@huggingface/hub`. Default `HF_HUB_CACHE`, then `$HF_HOME/hub`, then
   * `~/.cache/huggingface/hub`.
   */
  cacheDir?: string;
  /** Never touch the network. Default `MMRT_OFFLINE=1` or `HF_HUB_OFFLINE=1`. */
  offline?: boolean;
  /**
   * Bearer token for gated/private repos. Default `MMRT_HUB_TOKEN`, then `HF_TOKEN`, then the
   * token file Hugging Face's login writes (`HF_TOKEN_PATH`, else `$HF_HOME/token`).
   */
  token?: string;
  /** Retries after a 5xx or dropped connection, each resuming from the partial. Default 3. */
  retries?: number;
  /** First retry delay in ms, doubled each retry. Default 500. */
  retryDelayMs?: number;
  /** A lock untouched this long belongs to a dead download. Default 10 minutes. */
  staleLockMs?: number;
  /** How often a waiting process looks at another's lock. Default 250 ms. */
  lockPollMs?: number;
  /** Environment to read defaults from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** A request's headers must arrive within this (connect included). Default 30 s. */
  connectTimeoutMs?: number;
  /** A body may pause this long between chunks before the transfer is cut (and retried). Default 60 s. */
  idleTimeoutMs?: number;
  /** fetch implementation. Default the global (undici). */
  fetch?: typeof fetch;
  /** Byte progress of every file this client downloads (the CLI draws a bar per file). */
  onProgress?: (p: FileDownloadProgress) => void;
}

/** One file's download progress, with the repo it comes from. */
export interface FileDownloadProgress extends DownloadProgress {
  readonly repo: string;
  readonly revision: string;
}

export interface ResolvedHubOptions {
  readonly endpoint: string;
  readonly cacheDir: string;
  readonly offline: boolean;
  readonly token: string | undefined;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly staleLockMs: number;
  readonly lockPollMs: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly fetch: typeof fetch;
  readonly onProgress: ((p: FileDownloadProgress) => void) | undefined;
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

/** `~` and `~/x` expand to the home folder; everything else resolves against the cwd. */
export function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return join(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(p);
}

/** `HF_HOME`, else `~/.cache/huggingface` (what Hugging Face's libraries use). */
function hfHome(env: Record<string, string | undefined>): string {
  return expandHome(
    env['HF_HOME'] || join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'huggingface'),
  );
}

/** The Hugging Face hub cache folder for this environment. */
export function hubCacheDir(env: Record<string, string | undefined> = process.env): string {
  const explicit = env['HF_HUB_CACHE'] || env['HUGGINGFACE_HUB_CACHE'];
  return explicit ? expandHome(explicit) : join(hfHome(env), 'hub');
}

/** The token `huggingface-cli login` saved, if any (a small file: read at most 4 KiB of it). */
function savedToken(env: Record<string, string | undefined>): string | undefined {
  const path = env['HF_TOKEN_PATH'] ? expandHome(env['HF_TOKEN_PATH']) : join(hfHome(env), 'token');
  try {
    const text = readFileSync(path, 'utf8').slice(0, 4096).trim();
    return text && !/\s/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ConfigError(
      'CONFIG_INVALID_VALUE',
      `hub.${name} must be a positive number of milliseconds, got ${String(v)}`,
      {
        value: v,
        valid: 'a number > 0',
      },
    );
  }
  return v;
}

export function resolveHubOptions(opts: HubOptions = {}): ResolvedHubOptions {
  const env = opts.env ?? process.env;
  return {
    endpoint: (opts.endpoint ?? (env['MMRT_HUB_ENDPOINT'] || env['HF_ENDPOINT'] || DEFAULT_ENDPOINT)).replace(
      /\/+$/,
      '',
    ),
    cacheDir: opts.cacheDir !== undefined ? expandHome(opts.cacheDir) : hubCacheDir(env),
    offline: opts.offline ?? (truthy(env['MMRT_OFFLINE']) || truthy(env['HF_HUB_OFFLINE'])),
    token:
      opts.token ??
      (env['MMRT_HUB_TOKEN'] ||
        env['HF_TOKEN'] ||
        env['HUGGING_FACE_HUB_TOKEN'] ||
        savedToken(env) ||
        undefined),
    retries: opts.retries ?? 3,
    retryDelayMs: opts.retryDelayMs ?? 500,
    staleLockMs: opts.staleLockMs ?? 10 * 60_000,
    lockPollMs: opts.lockPollMs ?? 250,
    connectTimeoutMs: positive('connectTimeoutMs', opts.connectTimeoutMs, 30_000),
    idleTimeoutMs: positive('idleTimeoutMs', opts.idleTimeoutMs, 60_000),
    fetch: opts.fetch ?? globalThis.fetch,
    onProgress: opts.onProgress,
  };
}

/** mmrt's own cache (optimized graphs, the logit-scale store): `MMRT_CACHE_DIR`, else `~/.cache/mmrt`. */
export function mmrtCacheDir(env: Record<string, string | undefined> = process.env): string {
  return expandHome(env['MMRT_CACHE_DIR'] || join(homedir(), '.cache', 'mmrt'));
}
