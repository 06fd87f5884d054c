/**
 * `ModelFiles` over a plain local folder. Paths are validated like hub paths (posix,
 * relative, no `..`), so a model config can never make mmrt read outside its folder.
 */
import { open, readFile, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ModelPackageError } from '../errors.js';
import type { ModelFiles } from '../host/host.js';
import { validateRepoFilePath } from '../hub/reference.js';

/** A model package is tens of files; a folder with this many entries is something else. */
const MAX_ENTRIES = 100_000;
const MAX_DEPTH = 32;

function isInsideDir(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

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

  /**
   * Every file below the root, as sorted posix paths relative to it. Bounded: symlinked files
   * are listed wherever they point (a folder of links into a weight store, or a Hugging Face
   * snapshot, is common), but a symlinked folder is entered only when it resolves inside the
   * model folder and is not one of the folders being walked (a cycle); at most MAX_ENTRIES
   * entries, MAX_DEPTH levels deep.
   */
  async list(): Promise<string[]> {
    const out: string[] = [];
    const rootReal = await realpath(this.root);
    let seen = 0;
    const walk = async (
      dir: string,
      prefix: string,
      ancestors: ReadonlySet<string>,
      depth: number,
    ): Promise<void> => {
      if (depth > MAX_DEPTH) return;
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (++seen > MAX_ENTRIES) {
          throw new ModelPackageError(
            'MODEL_CONFIG_INVALID',
            `model folder ${this.root} has over ${MAX_ENTRIES} entries: not a model package`,
            { value: this.root, valid: `at most ${MAX_ENTRIES} files and folders` },
          );
        }
        const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
        const full = join(dir, entry.name);
        const st = entry.isSymbolicLink() ? await stat(full).catch(() => undefined) : entry;
        if (st?.isFile()) out.push(rel);
        else if (st?.isDirectory()) {
          const real = await realpath(full).catch(() => undefined);
          if (!real || ancestors.has(real) || !isInsideDir(rootReal, real)) continue;
          await walk(full, rel, new Set([...ancestors, real]), depth + 1);
        }
      }
    };
    await walk(this.root, '', new Set([rootReal]), 0);
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

  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.read(path, (abs) => readRange(abs, offset, length));
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

/** `length` bytes from `offset` of a file (fewer at its end). */
export async function readRange(abs: string, offset: number, length: number): Promise<Uint8Array> {
  const fh = await open(abs, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return new Uint8Array(buf.buffer, buf.byteOffset, bytesRead);
  } finally {
    await fh.close();
  }
}
