#!/usr/bin/env node
// The `mmrt` command: runs the built CLI (dist/, what the published package ships). Only in a
// source checkout (src/ beside dist/, which the package never ships) and only when asked with
// MMRT_FROM_SOURCE=1 or before the first build, it runs the TypeScript sources through tsx, a
// development dependency: an installed mmrt never needs a build tool at run time.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');
const source = join(root, 'src', 'cli', 'main.ts');
const fromSource = existsSync(source) && (process.env.MMRT_FROM_SOURCE === '1' || !existsSync(built));

if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  process.stderr.write(`mmrt: ${built} is missing: this copy of mmrt was never built (npm run build)\n`);
  process.exitCode = 1;
}
