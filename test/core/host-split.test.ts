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
