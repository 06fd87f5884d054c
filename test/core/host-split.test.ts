/**
 * The core must run in a browser: bundling `src/index.ts` for a browser target must not pull in
 * any Node built-in, and no core module may name a `node:` import or a Node-only global.
 */
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const HOST_DIRS = ['src/node', 'src/web', 'src/cli', 'src/serve'];
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

async function coreFiles(dir = join(root, 'src')): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const rel = relative(root, p);
    if (HOST_DIRS.some((h) => rel === h || rel.startsWith(`${h}/`))) continue;
    if (e.isDirectory()) out.push(...(await coreFiles(p)));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('core / host split', () => {
  it('bundles the core for a browser with no Node built-in reachable', async () => {
    const leaks: string[] = [];
    const detect: Plugin = {
      name: 'detect-node-builtins',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => {
          if (builtins.has(args.path)) {
            leaks.push(`${args.path} imported by ${relative(root, args.importer)}`);
            return { path: args.path, external: true };
          }
          return undefined;
        });
      },
    };
    const result = await build({
      entryPoints: [join(root, 'src/index.ts')],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      metafile: true,
      logLevel: 'silent',
      external: ['onnxruntime-common', 'onnxruntime-web', '@huggingface/*'],
      plugins: [detect],
    });
    expect(leaks).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.includes('src/node/'))).toBe(false);
    expect(inputs.length).toBeGreaterThan(5);
  });

  it('has no core module that mentions node: imports, process, Buffer or require', async () => {
    const offenders: string[] = [];
    for (const f of await coreFiles()) {
      const src = await readFile(f, 'utf8');
      const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      if (/from\s+['"]node:|require\(|\bprocess\.|\bBuffer\.|__dirname/.test(code))
        offenders.push(relative(root, f));
    }
    expect(offenders).toEqual([]);
  });
});

/** Every relative import of a core file, resolved to a path under src/. */
async function importsOf(file: string): Promise<string[]> {
  const src = await readFile(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    out.push(relative(root, join(file, '..', m[1]!)).replace(/\.js$/, '.ts'));
  }
  return out;
}

const layer = (path: string) => path.split('/').slice(1, 2)[0]!;
const folder = (path: string) => path.split('/').slice(0, 3).join('/');

describe('layer rules', () => {
  it('runtime/ imports nothing above it; platform/ imports no loader, load, family or kind', async () => {
    const broken: string[] = [];
    const above: Record<string, readonly string[]> = {
      runtime: ['platform', 'loader', 'load', 'families', 'kinds'],
      platform: ['loader', 'load', 'families', 'kinds'],
      loader: ['load', 'families', 'kinds'],
    };
    for (const f of await coreFiles()) {
      const from = relative(root, f);
      const banned = above[layer(from)] ?? [];
      for (const to of await importsOf(f)) if (banned.includes(layer(to))) broken.push(`${from} -> ${to}`);
    }
    expect(broken).toEqual([]);
  });

  it('no family imports another family, and no model kind another kind', async () => {
    const broken: string[] = [];
    for (const f of await coreFiles()) {
      const from = relative(root, f);
      const l = layer(from);
      if (l !== 'families' && l !== 'kinds') continue;
      for (const to of await importsOf(f)) {
        const crossing = layer(to) === l && folder(to) !== folder(from) && to.split('/').length > 3;
        if (crossing && from.split('/').length > 3) broken.push(`${from} -> ${to}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the core typechecks without Node types: a planted node: import or Node global fails it', async () => {
    const { execFile } = await import('node:child_process');
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const dir = await mkdtemp(join(root, '.scratch-planted-'));
    try {
      await writeFile(
        join(dir, 'planted.ts'),
        "import { readFileSync } from 'node:fs';\nexport const leak = readFileSync(process.argv[1]!);\n",
      );
      await writeFile(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          extends: '../tsconfig.core.json',
          include: ['../types/host-globals.d.ts', 'planted.ts'],
        }),
      );
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const out = await new Promise<string>((resolve) => {
        execFile(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], (_e, stdout) => resolve(stdout));
      });
      expect(out).toMatch(/planted\.ts.*Cannot find module 'node:fs'/);
      expect(out).toMatch(/planted\.ts.*Cannot find name 'process'/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
