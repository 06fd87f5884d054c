/**
 * Image inputs as the command line takes them: paths and URLs, a folder (its image files,
 * sorted; subfolders are not entered and symlinks are not followed out of it), and `-` for a
 * list on standard input, one per line. Long lists never need the command line itself.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { usageError } from './usage.js';

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', '.tif', '.tiff', '.avif'];
/** A list read from stdin is bounded too: 64 MiB of paths. */
const MAX_STDIN_BYTES = 64 * 1024 * 1024;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_STDIN_BYTES) throw usageError(`the input list on stdin is over ${MAX_STDIN_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  let stdinUsed = false;
  for (const input of inputs) {
    if (input === '-') {
      if (stdinUsed) throw usageError('"-" (inputs from stdin) can be given once');
      stdinUsed = true;
      for (const line of (await readStdin()).split(/\r?\n/)) if (line.trim()) out.push(line.trim());
      continue;
    }
    const st = /^[a-z][a-z0-9+.-]*:/i.test(input) ? undefined : await stat(input).catch(() => undefined);
    if (st?.isDirectory()) {
      const entries = await readdir(input, { withFileTypes: true });
      const images = entries
        .filter((e) => e.isFile() && IMAGE_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x)))
        .map((e) => join(input, e.name))
        .sort();
      if (images.length === 0)
        throw usageError(`folder ${input} has no image files (${IMAGE_EXTENSIONS.join(' ')})`);
      out.push(...images);
    } else out.push(input);
  }
  if (out.length === 0)
    throw usageError('no inputs: give image files, a folder, or "-" to read a list from stdin');
  return out;
}
