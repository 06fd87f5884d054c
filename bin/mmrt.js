#!/usr/bin/env node
// The `mmrt` command: runs the built CLI (dist/, what the published package ships). Only in a
// source checkout (src/ beside dist/, which the package never ships) and only when asked with
// MMRT_FROM_SOURCE=1 or before the first build, it runs the TypeScript sources through tsx, a
// development dependency: an installed mmrt never needs a build tool at run time.
//
// A long command line (a shell glob of thousands of photos, thousands of labels) is moved out
// of the process's own command line before anything else runs: onnxruntime-node's native code
// reads /proc/self/cmdline at session creation and crashes (SIGSEGV) on one over ~30 KB. The
// arguments go to a private temporary file and the CLI runs again in a child with a short
// command line that names it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Well under the ~30 KB where onnxruntime-node 1.30 crashes (measured: 20 KB runs, 40 KB does not). */
const MAX_CMDLINE_BYTES = 16 * 1024;
const ARGS_FILE = 'MMRT_ARGS_FILE';

const argsFile = process.env[ARGS_FILE];
if (argsFile) {
  // The re-run child: take the arguments from the file, then forget it.
  delete process.env[ARGS_FILE];
  const args = JSON.parse(readFileSync(argsFile, 'utf8'));
  rmSync(dirname(argsFile), { recursive: true, force: true });
  process.argv = [process.argv[0], process.argv[1], ...args];
} else {
  const length = [process.execPath, ...process.execArgv, ...process.argv.slice(1)].reduce(
    (n, a) => n + Buffer.byteLength(a) + 1,
    0,
  );
  if (length > MAX_CMDLINE_BYTES) {
    const dir = mkdtempSync(join(tmpdir(), 'mmrt-args-'));
    const file = join(dir, 'args.json');
    writeFileSync(file, JSON.stringify(process.argv.slice(2)), { mode: 0o600 });
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]], {
      stdio: 'inherit',
      env: { ...process.env, [ARGS_FILE]: file },
    });
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
    const code = await new Promise((resolve) => {
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 + 15 : 1)));
      child.on('error', () => resolve(1));
    });
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  }
}

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
