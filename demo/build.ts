/**
 * Builds the demo into one static folder: the page and the worker bundled by esbuild, the
 * onnxruntime-web files the worker loads (`ort/`), the tiny shapes models each with the
 * `mmrt-listing.json` a folder served over HTTP needs, and the sample images.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { ORT_WEB_FILES } from '../src/web/ort-files.js';

export const ROOT = join(import.meta.dirname, '..');
export const DEMO_OUT = join(ROOT, 'dist-demo');
export const DEMO_MODELS = ['shapes-clip', 'shapes-vlm'] as const;
/** Files a browser never needs (reference outputs for the Node parity tests). */
const SKIP = new Set(['reference.json', 'README.md']);

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

/** Copy a model folder and describe it in the hub's listing format, with sizes and SHA-256. */
export async function copyModel(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const siblings: Array<{ rfilename: string; size: number; lfs: { size: number; sha256: string } }> = [];
  for (const file of await filesUnder(from)) {
    const rel = relative(from, file).split('\\').join('/');
    if (SKIP.has(rel)) continue;
    const bytes = await readFile(file);
    await mkdir(join(to, rel, '..'), { recursive: true });
    await writeFile(join(to, rel), bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    siblings.push({ rfilename: rel, size: bytes.length, lfs: { size: bytes.length, sha256 } });
  }
  await writeFile(join(to, 'mmrt-listing.json'), `${JSON.stringify({ sha: 'local', siblings }, null, 1)}\n`);
}

export interface BuildOptions {
  readonly outDir?: string;
  /** Also bundle the test harness page (`test/web/harness.ts` -> `harness.html`). */
  readonly harness?: boolean;
  readonly minify?: boolean;
}

export async function buildDemo(options: BuildOptions = {}): Promise<string> {
  const out = options.outDir ?? DEMO_OUT;
  await rm(out, { recursive: true, force: true });
  await mkdir(join(out, 'ort'), { recursive: true });
  const entryPoints: Record<string, string> = {
    main: join(ROOT, 'demo/main.ts'),
    'mmrt-worker': join(ROOT, 'src/web/worker.ts'),
  };
  if (options.harness) entryPoints.harness = join(ROOT, 'test/web/harness.ts');
  await build({
    entryPoints,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: out,
    sourcemap: true,
    minify: options.minify ?? false,
    // onnxruntime-web's build that imports its .mjs/.wasm from `ortPath` instead of embedding them.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    logLevel: 'warning',
  });
  const ortDist = join(ROOT, 'node_modules/onnxruntime-web/dist');
  for (const f of Object.values(ORT_WEB_FILES)) await cp(join(ortDist, f), join(out, 'ort', f));
  await cp(join(ROOT, 'demo/index.html'), join(out, 'index.html'));
  await cp(join(ROOT, 'demo/style.css'), join(out, 'style.css'));
  if (options.harness) await cp(join(ROOT, 'test/web/harness.html'), join(out, 'harness.html'));
  for (const m of DEMO_MODELS) await copyModel(join(ROOT, 'models', m), join(out, 'models', m));
  await cp(join(ROOT, 'models/samples'), join(out, 'samples'), { recursive: true });
  await stat(join(out, 'main.js'));
  return out;
}
