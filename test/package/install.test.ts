/**
 * mmrt as a dependency: `npm pack`, install the tarball into a fresh project (from the npm
 * cache that `npm ci` filled, onnxruntime-node's CUDA download skipped as the README says),
 * typecheck the README's library example there in strict mode without skipLibCheck, run it,
 * and check what it printed. The README cannot drift from the package.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build as esbuild } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The first ```ts block of the README's "## Library" section, exactly as written. */
async function readmeLibraryExample(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Library'));
  const m = section.match(/```ts\n([\s\S]*?)```/);
  if (!m) throw new Error('README has no ```ts block under "## Library"');
  return m[1]!;
}

async function versionOf(pkg: string): Promise<string> {
  return (
    JSON.parse(await readFile(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }
  ).version;
}

describe('the packed package in a fresh project', () => {
  it('installs offline-safe, typechecks strictly and runs the README library example as written', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mmrt-install-'));
    const env = {
      ...process.env,
      ONNXRUNTIME_NODE_INSTALL: 'skip',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    };
    // 1. pack (prepack builds dist/)
    const packed = await run('npm', ['pack', '--pack-destination', dir, '--json'], {
      cwd: ROOT,
      env,
      maxBuffer: 64 << 20,
    });
    const [{ filename, files }] = JSON.parse(packed.stdout) as [
      { filename: string; files: Array<{ path: string }> },
    ];
    const shipped = files.map((f) => f.path);
    expect(shipped).toContain('LICENSE');
    expect(shipped).toContain('dist/node/index.js');
    expect(shipped).toContain('models/shapes-clip/onnx/text_model.onnx');
    expect(shipped.some((p) => p.startsWith('src/') || p.startsWith('test/'))).toBe(false);

    // 2. a fresh project: the tarball, TypeScript and Node's types, from the npm cache
    const app = join(dir, 'app');
    await mkdir(app);
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module' }),
    );
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(dir, filename),
        `typescript@${await versionOf('typescript')}`,
        `@types/node@${await versionOf('@types/node')}`,
      ],
      { cwd: app, env, maxBuffer: 64 << 20 },
    );
    const installed = await readdir(join(app, 'node_modules'));
    for (const buildTool of ['tsx', 'esbuild', 'vitest', '@huggingface/transformers'])
      expect(installed, buildTool).not.toContain(buildTool);
    expect(
      await readdir(join(app, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64')),
    ).not.toContain('libonnxruntime_providers_cuda.so');

    // 3. the README's example, strict, no skipLibCheck
    await writeFile(join(app, 'main.ts'), await readmeLibraryExample());
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          types: ['node'],
          outDir: 'out',
        },
        files: ['main.ts'],
      }),
    );
    await run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: app, env }).catch(
      (e: { stdout?: string }) => {
        throw new Error(`the README example does not typecheck against the package:\n${e.stdout}`);
      },
    );

    // 4. run it where its photos are
    await copyFile(join(ROOT, 'models', 'samples', '03_red_circle.jpg'), join(app, 'photo.jpg'));
    await copyFile(join(ROOT, 'models', 'samples', '01_blue_triangle.png'), join(app, 'other.png'));
    const { stdout } = await run('node', ['out/main.js'], {
      cwd: app,
      env: { ...env, HF_HUB_OFFLINE: '1', MMRT_CACHE_DIR: join(dir, 'cache') },
      maxBuffer: 64 << 20,
    });
    expect(stdout).toMatch(/label: 'red circle'/);
    expect(stdout).toMatch(/^2 64$/m);
    expect(stdout).toMatch(/circle\neos, \d+ tokens/);
    expect(stdout).toMatch(/^red$/m);
    expect(stdout).toMatch(/^circle$/m);
    expect(stdout).toMatch(
      /cpu \[\s*'onnx\/vision_encoder\.onnx',\s*'onnx\/embed_tokens\.onnx',\s*'onnx\/decoder_model_merged\.onnx'\s*\]/,
    );
    expect(stdout).toMatch(/\[\s*\{ score: [\d.e-]+, label: 'red circle' \},/);

    // 5. a browser bundler resolving 'mmrt' gets the web entry (no Node module in the bundle);
    // onnxruntime-web is the app's optional peer, not installed here.
    await writeFile(join(app, 'web.ts'), "export { loadClip, webHost } from 'mmrt';\n");
    const bundled = await esbuild({
      absWorkingDir: app,
      entryPoints: ['web.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      external: ['onnxruntime-web'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(bundled.metafile.inputs);
    expect(inputs).toContain('node_modules/mmrt/dist/web/index.js');
    expect(inputs.filter((f) => /onnxruntime-node|sharp|node_modules\/mmrt\/dist\/node/.test(f))).toEqual([]);
  }, 240_000); // pack (a build: ~30 s of it on 2 busy cores), install ~15 s, typecheck, run
});
