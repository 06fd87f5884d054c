/**
 * Persistent byte stores for the web host: the Cache API (default) or the origin-private file
 * system (OPFS). Both survive reloads, so a second visit reads model files, the ONNX Runtime
 * binaries and small values (the learned logit scale) from here without the network.
 */
import { DownloadError } from '../errors.js';
import type { KeyValueStore } from '../host/host.js';

/** Cache API keys must be http(s) URLs; this origin is never fetched. */
const KEY_ORIGIN = 'https://mmrt.invalid/';

function unavailable(what: string, e: unknown): DownloadError {
  return new DownloadError(
    'DOWNLOAD_FAILED',
    `${what} is not available here: ${e instanceof Error ? e.message : String(e)}`,
    { hint: 'serve the page from https:// or http://localhost, or use the store "memory"' },
    { cause: e },
  );
}

/** A store in one named cache of the Cache API (`caches.open(name)`). */
export function cacheStore(name: string): KeyValueStore {
  let opened: Promise<Cache> | undefined;
  const cache = () => {
    opened ??= (async () => {
      if (typeof caches === 'undefined') throw unavailable('the Cache API', 'caches is undefined');
      return caches.open(name);
    })();
    opened.catch(() => {
      opened = undefined;
    });
    return opened;
  };
  const request = (key: string) => new Request(KEY_ORIGIN + encodeURIComponent(key));
  return {
    async get(key) {
      const hit = await (await cache()).match(request(key));
      return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
    },
    async put(key, value) {
      // Cache.put replaces the entry whole once the body is read: readers see old or new.
      const body = new Blob([value as Uint8Array<ArrayBuffer>]);
      await (await cache()).put(
        request(key),
        new Response(body, { headers: { 'content-length': String(value.byteLength) } }),
      );
    },
    async delete(key) {
      await (await cache()).delete(request(key));
    },
  };
}

async function fileName(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A store in a folder of the origin-private file system (`navigator.storage.getDirectory()`). */
export function opfsStore(folder: string): KeyValueStore {
  let opened: Promise<FileSystemDirectoryHandle> | undefined;
  const dir = () => {
    opened ??= (async () => {
      try {
        const root = await navigator.storage.getDirectory();
        return root.getDirectoryHandle(folder, { create: true });
      } catch (e) {
        throw unavailable('the origin-private file system', e);
      }
    })();
    opened.catch(() => {
      opened = undefined;
    });
    return opened;
  };
  return {
    async get(key) {
      try {
        const handle = await (await dir()).getFileHandle(await fileName(key));
        return new Uint8Array(await (await handle.getFile()).arrayBuffer());
      } catch (e) {
        if ((e as { name?: string }).name === 'NotFoundError') return undefined;
        throw e;
      }
    },
    async put(key, value) {
      const handle = await (await dir()).getFileHandle(await fileName(key), { create: true });
      // A writable stream writes to a swap file and replaces the file on close: atomic.
      const writable = await handle.createWritable();
      await writable.write(value as Uint8Array<ArrayBuffer>);
      await writable.close();
    },
    async delete(key) {
      await (await dir()).removeEntry(await fileName(key)).catch(() => undefined);
    },
  };
}
