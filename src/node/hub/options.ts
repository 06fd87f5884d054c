/**
 * Hub client settings: each comes from an explicit option first, then the environment, then a
 * default, so tests and embedders never depend on the process environment by accident.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export interface HubOptions {
  /** Hub base URL. Default `MMRT_HUB_ENDPOINT`, then `https://huggingface.co`. */
  endpoint?: string;
  /** Cache root. Default `MMRT_CACHE_DIR`, then `~/.cache/mmrt`. */
  cacheDir?: string;
  /** Never touch the network. Default `MMRT_OFFLINE=1`. */
  offline?: boolean;
  /** Bearer token for gated/private repos. Default `MMRT_HUB_TOKEN`, then `HF_TOKEN`. */
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
  /** fetch implementation. Default the global (undici). */
  fetch?: typeof fetch;
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
  readonly fetch: typeof fetch;
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

export function resolveHubOptions(opts: HubOptions = {}): ResolvedHubOptions {
  const env = opts.env ?? process.env;
  const cacheDir = opts.cacheDir ?? (env['MMRT_CACHE_DIR'] || join(homedir(), '.cache', 'mmrt'));
  return {
    endpoint: (opts.endpoint ?? (env['MMRT_HUB_ENDPOINT'] || DEFAULT_ENDPOINT)).replace(/\/+$/, ''),
    cacheDir: expandHome(cacheDir),
    offline: opts.offline ?? truthy(env['MMRT_OFFLINE']),
    token: opts.token ?? (env['MMRT_HUB_TOKEN'] || env['HF_TOKEN'] || undefined),
    retries: opts.retries ?? 3,
    retryDelayMs: opts.retryDelayMs ?? 500,
    staleLockMs: opts.staleLockMs ?? 10 * 60_000,
    lockPollMs: opts.lockPollMs ?? 250,
    fetch: opts.fetch ?? globalThis.fetch,
  };
}
