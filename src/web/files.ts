/**
 * Model folders for the web host: a hub repo (`org/name[@rev]`, the hub's listing API) or a
 * folder served over HTTP (`/models/clip/`, `https://cdn.example/clip/`) that describes itself
 * with `mmrt-listing.json` in the hub's listing format. Every file read goes through the
 * store, keyed by its URL and its listed size and hash, so a second visit loads offline and a
 * changed file is fetched again. The listing itself is fetched fresh when the network answers
 * and taken from the store when it does not.
 */
import { DownloadError, ModelPackageError } from '../errors.js';
import type { KeyValueStore, ModelFiles } from '../host/host.js';
import { type HubListing, type ListedFile, parseHubListing } from '../hub/listing.js';
import { hubFileUrl, hubListingUrl, parseModelReference } from '../hub/reference.js';
import { fetchBytes } from './fetch.js';

/** The listing a folder served over HTTP carries (the hub's format: `{ siblings: [{ rfilename, size }] }`). */
export const LISTING_FILE = 'mmrt-listing.json';
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

export interface WebFilesOptions {
  /** Where model files are kept between visits. */
  readonly store: KeyValueStore;
  /** Hub for `org/name` references. Default https://huggingface.co. */
  readonly hubEndpoint?: string;
  /** Base for relative folder URLs. Default: the page's (or worker's) location. */
  readonly baseUrl?: string;
  /** Fail a fetch when no byte arrives for this long. Default 30 s. */
  readonly idleTimeoutMs?: number;
}

interface Source {
  readonly location: string;
  readonly listingUrl: string;
  readonly revision: string;
  fileUrl(path: string): string;
}

function isFolderUrl(ref: string): boolean {
  return /^(https?:)?\/\//i.test(ref) || ref.startsWith('/') || ref.startsWith('./') || ref.startsWith('../');
}

function sourceOf(reference: string, o: WebFilesOptions): Source {
  if (isFolderUrl(reference)) {
    const base = o.baseUrl ?? globalThis.location?.href;
    let folder: URL;
    try {
      folder = new URL(reference.endsWith('/') ? reference : `${reference}/`, base);
    } catch {
      throw new ModelPackageError('MODEL_ID_INVALID', `"${reference}" is not a URL this page can fetch`, {
        value: reference,
        valid: 'an http(s) URL, a path like /models/clip/, or a hub id org/name',
      });
    }
    return {
      location: folder.href,
      listingUrl: new URL(LISTING_FILE, folder).href,
      revision: '',
      fileUrl: (path) => new URL(path, folder).href,
    };
  }
  const ref = parseModelReference(reference);
  if (ref.kind !== 'hub') {
    throw new ModelPackageError(
      'MODEL_ID_INVALID',
      `"${reference}" is a local path; a browser has no files`,
      {
        value: reference,
        valid: 'an http(s) URL, a path on this site like /models/clip/, or a hub id org/name',
      },
    );
  }
  const endpoint = o.hubEndpoint ?? DEFAULT_HUB_ENDPOINT;
  return {
    location: `${ref.repo}@${ref.revision}`,
    listingUrl: hubListingUrl(endpoint, ref.repo, ref.revision),
    revision: ref.revision,
    fileUrl: (path) => hubFileUrl(endpoint, ref.repo, ref.revision, path),
  };
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Open a model folder or hub repo: its listing now, files on demand. */
export async function openWebModel(
  reference: string,
  options: WebFilesOptions & { readonly signal?: AbortSignal },
): Promise<WebModelFiles> {
  const source = sourceOf(reference, options);
  const key = `listing:${source.listingUrl}`;
  let body: unknown;
  try {
    const bytes = await fetchBytes(source.listingUrl, {
      ...(options.signal && { signal: options.signal }),
      idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
      maxBytes: 16 * 1024 * 1024,
      cache: 'no-store',
    });
    body = JSON.parse(new TextDecoder().decode(bytes));
    parseHubListing(body, source.location, source.listingUrl);
    await options.store.put(key, bytes).catch(() => undefined);
  } catch (e) {
    if (options.signal?.aborted) throw e;
    // Offline, or the server is gone: the listing from the last visit, if there was one.
    const kept = await options.store.get(key).catch(() => undefined);
    if (!kept) {
      const notFound = e instanceof DownloadError && /HTTP 404/.test(e.message);
      throw new ModelPackageError(
        notFound ? 'MODEL_NOT_FOUND' : 'MODEL_FILE_MISSING',
        `cannot list ${source.location}: ${e instanceof Error ? e.message : String(e)}`,
        {
          value: reference,
          hint: `a folder served over HTTP needs ${LISTING_FILE} (the hub's listing format); \`npm run demo\` writes one per model`,
        },
        { cause: e },
      );
    }
    body = JSON.parse(new TextDecoder().decode(kept));
  }
  const listing = parseHubListing(body, source.location, source.listingUrl);
  return new WebModelFiles(source, listing, options);
}

export class WebModelFiles implements ModelFiles {
  readonly location: string;
  private readonly byPath: ReadonlyMap<string, ListedFile>;
  /** Bytes fetched by `prefetch`, handed once to the `readBytes` that follows it. */
  private readonly fresh = new Map<string, Uint8Array>();
  private readonly inflight = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly source: Source,
    readonly listing: HubListing,
    private readonly options: WebFilesOptions,
  ) {
    this.location = source.location;
    this.byPath = new Map(listing.files.map((f) => [f.path, f]));
  }

  async list(): Promise<string[]> {
    return [...this.byPath.keys()];
  }

  async exists(path: string): Promise<boolean> {
    return this.byPath.has(path);
  }

  async size(path: string): Promise<number> {
    return this.entry(path).size ?? 0;
  }

  async fingerprint(path: string): Promise<string> {
    const f = this.entry(path);
    return [this.listing.sha ?? this.source.revision, f.size ?? '', f.sha256 ?? ''].join(':');
  }

  async readText(path: string, signal?: AbortSignal): Promise<string> {
    return new TextDecoder().decode(await this.readBytes(path, signal));
  }

  async readBytes(path: string, signal?: AbortSignal): Promise<Uint8Array> {
    const fresh = this.fresh.get(path);
    if (fresh) {
      this.fresh.delete(path);
      return fresh;
    }
    return this.fetch(path, signal);
  }

  async prefetch(
    path: string,
    opts: { signal?: AbortSignal; onProgress?: (loaded: number, total: number | undefined) => void } = {},
  ): Promise<void> {
    this.fresh.set(path, await this.fetch(path, opts.signal, opts.onProgress));
  }

  /** Whether `path` is in the store already (a visit that needs no network for it). */
  async isStored(path: string): Promise<boolean> {
    return (await this.options.store.get(await this.storeKey(path)).catch(() => undefined)) !== undefined;
  }

  private entry(path: string): ListedFile {
    const f = this.byPath.get(path);
    if (!f) {
      throw new ModelPackageError('MODEL_FILE_MISSING', `${this.location} has no ${path}`, {
        value: path,
        valid: [...this.byPath.keys()].slice(0, 50),
      });
    }
    return f;
  }

  private async storeKey(path: string): Promise<string> {
    return `file:${this.source.fileUrl(path)}#${await this.fingerprint(path)}`;
  }

  private fetch(
    path: string,
    signal?: AbortSignal,
    onProgress?: (loaded: number, total: number | undefined) => void,
  ): Promise<Uint8Array> {
    const running = this.inflight.get(path);
    if (running && !onProgress) return running;
    const p = this.fetchOnce(path, signal, onProgress).finally(() => this.inflight.delete(path));
    this.inflight.set(path, p);
    return p;
  }

  private async fetchOnce(
    path: string,
    signal?: AbortSignal,
    onProgress?: (loaded: number, total: number | undefined) => void,
  ): Promise<Uint8Array> {
    const f = this.entry(path);
    const key = await this.storeKey(path);
    const kept = await this.options.store.get(key).catch(() => undefined);
    if (kept && (f.size === undefined || kept.byteLength === f.size)) {
      onProgress?.(kept.byteLength, kept.byteLength);
      return kept;
    }
    const url = this.source.fileUrl(path);
    const bytes = await fetchBytes(url, {
      ...(signal && { signal }),
      ...(onProgress && { onProgress }),
      ...(f.size !== undefined && { expectedBytes: f.size, maxBytes: f.size }),
      idleTimeoutMs: this.options.idleTimeoutMs ?? 30_000,
      cache: 'no-store',
    });
    if (f.size !== undefined && bytes.byteLength !== f.size) {
      throw new DownloadError(
        'DOWNLOAD_INTEGRITY',
        `${url} sent ${bytes.byteLength} bytes; the listing says ${f.size}`,
        { value: url },
      );
    }
    if (f.sha256 && (await sha256Hex(bytes)) !== f.sha256) {
      throw new DownloadError('DOWNLOAD_INTEGRITY', `${url} does not match the SHA-256 its listing gives`, {
        value: url,
        valid: f.sha256,
      });
    }
    // Best effort: a full quota costs the next visit a download, not this one its model.
    await this.options.store.put(key, bytes).catch(() => undefined);
    return bytes;
  }
}
