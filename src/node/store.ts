/**
 * The Node host's key-value store: one file per key under a root folder (the cache folder),
 * written to a temporary name and renamed, so a reader sees the old value or the new one.
 * Keys are posix paths of safe segments (`logit-scale/<hash>.json`); anything else is refused.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../errors.js';
import type { KeyValueStore } from '../host/host.js';

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function pathOf(root: string, key: string): string {
  const parts = key.split('/');
  if (!parts.every((p) => SEGMENT.test(p) && p !== '..')) {
    throw new InputError('INPUT_INVALID', `store key ${JSON.stringify(key)} is not a safe relative path`, {
      value: key,
      valid: 'segments of letters, digits, ".", "_" and "-", joined by "/"',
    });
  }
  return join(root, ...parts);
}

export function fileStore(root: string): KeyValueStore {
  return {
    async get(key) {
      try {
        return new Uint8Array(await readFile(pathOf(root, key)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async put(key, value) {
      const path = pathOf(root, key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, value);
      await rename(tmp, path);
    },
    async delete(key) {
      await rm(pathOf(root, key), { force: true });
    },
  };
}
