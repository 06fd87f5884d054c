/**
 * `ModelFiles` over a plain local folder. Paths are validated like hub paths (posix,
 * relative, no `..`), so a model config can never make mmrt read outside its folder.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelPackageError } from '../errors.js';
import type { ModelFiles } from '../host/host.js';
import { validateRepoFilePath } from '../hub/reference.js';

export class LocalModelFiles implements ModelFiles {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = this.root;
  }

  /** Open a folder, failing with MODEL_NOT_FOUND when it is not a directory. */
  static async open(root: string): Promise<LocalModelFiles> {
    const files = new LocalModelFiles(root);
    const st = await stat(files.root).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new ModelPackageError(
        'MODEL_NOT_FOUND',
        `Model folder "${files.root}" does not exist or is not a folder`,
        {
          value: root,
          valid: 'an existing folder holding config.json and onnx/*.onnx, or a hub id "org/name"',
          hint: 'Check the path; hub ids are written "org/name".',
        },
      );
    }
    return files;
  }

  private abs(path: string): string {
    validateRepoFilePath(path);
    return join(this.root, ...path.split('/'));
  }

  private missing(path: string, cause?: unknown): ModelPackageError {
    return new ModelPackageError(
      'MODEL_FILE_MISSING',
      `File "${path}" is missing from model folder ${this.root}`,
      {
        value: path,
        folder: this.root,
        hint: 'Check the model folder is complete (re-export or re-copy it).',
      },
      { cause },
    );
  }

  private async read<T>(path: string, fn: (abs: string) => Promise<T>): Promise<T> {
    const abs = this.abs(path);
    try {
      return await fn(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') throw this.missing(path, e);
      throw e;
    }
  }

  /** Every file below the root, as sorted posix paths relative to it. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
        const full = join(dir, entry.name);
        // Follow symlinks (a folder of links into a shared weight store is common).
        const st = entry.isSymbolicLink() ? await stat(full).catch(() => undefined) : entry;
        if (st?.isDirectory()) await walk(full, rel);
        else if (st?.isFile()) out.push(rel);
      }
    };
    await walk(this.root, '');
    return out.sort();
  }

  async exists(path: string): Promise<boolean> {
    const st = await stat(this.abs(path)).catch(() => undefined);
    return st?.isFile() ?? false;
  }

  readText(path: string, signal?: AbortSignal): Promise<string> {
    return this.read(path, (abs) => readFile(abs, { encoding: 'utf8', ...(signal ? { signal } : {}) }));
  }

  async readBytes(path: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.read(path, (abs) => readFile(abs, signal ? { signal } : {}));
  }

  size(path: string): Promise<number> {
    return this.read(path, async (abs) => (await statFile(abs)).size);
  }

  /** Size and modification time: a copy or an edit changes it. */
  fingerprint(path: string): Promise<string> {
    return this.read(path, async (abs) => {
      const st = await statFile(abs);
      return `${st.size}:${st.mtimeMs}`;
    });
  }

  localPath(path: string): Promise<string> {
    return this.read(path, async (abs) => {
      await statFile(abs);
      return abs;
    });
  }
}

/** stat that treats a folder where a file should be like a missing file. */
async function statFile(abs: string) {
  const st = await stat(abs);
  if (!st.isFile()) throw Object.assign(new Error(`${abs} is not a file`), { code: 'EISDIR' });
  return st;
}
