/**
 * Files named on the command line, read and written with typed errors that name the option
 * and the path (never an ENOENT stack trace), and reads bounded in bytes.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InputError } from '../errors.js';

function why(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'it does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'ENOTDIR') return 'a part of the path is not a folder';
  return (e as Error).message;
}

/** Read a file given as `flag`, at most `maxBytes` (default 1 GiB). */
export async function readFileInput(flag: string, path: string, maxBytes = 1024 ** 3): Promise<Buffer> {
  const st = await stat(path).catch((e: unknown) => {
    throw new InputError('INPUT_NOT_FOUND', `${flag} ${path}: cannot read it: ${why(e)}`, { value: path });
  });
  if (!st.isFile()) {
    throw new InputError('INPUT_INVALID', `${flag} ${path}: not a file`, { value: path, valid: 'a file' });
  }
  if (st.size > maxBytes) {
    throw new InputError(
      'INPUT_INVALID',
      `${flag} ${path} is ${st.size} bytes, over the ${maxBytes}-byte limit`,
      {
        value: path,
        valid: `at most ${maxBytes} bytes`,
      },
    );
  }
  return readFile(path).catch((e: unknown) => {
    throw new InputError('INPUT_NOT_FOUND', `${flag} ${path}: cannot read it: ${why(e)}`, { value: path });
  });
}

/** Write a file given as `flag`; a missing folder or no permission is a typed error. */
export async function writeFileOutput(flag: string, path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? `the folder ${dirname(path)} does not exist` : why(e);
    throw new InputError('INPUT_INVALID', `${flag} ${path}: cannot write it: ${reason}`, {
      value: path,
      valid: 'a path in an existing, writable folder',
    });
  }
}
