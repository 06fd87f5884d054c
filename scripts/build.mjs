// Bundles mmrt: the host-free core for browsers, and the Node entry points (library + CLI).
import { build } from 'esbuild';

const external = [
  'onnxruntime-node',
  'onnxruntime-web',
  'onnxruntime-common',
  'sharp',
  '@huggingface/*',
  'commander',
  'cli-progress',
  'hono',
  '@hono/*',
  'prom-client',
];

await Promise.all([
  build({
    entryPoints: { 'core/index': 'src/index.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: 'dist',
    sourcemap: true,
    external,
  }),
  build({
    entryPoints: {
      'node/index': 'src/node/index.ts',
      'node/ort-worker': 'src/node/ort-worker.ts',
      'cli/main': 'src/cli/main.ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: 'dist',
    sourcemap: true,
    splitting: true,
    external,
  }),
  // mmrt/web: the web host entry and the worker script, for the app's bundler (onnxruntime-web
  // stays external: the app serves its .mjs/.wasm, see README "In the browser"). mediabunny is
  // bundled, not a dependency: pure TypeScript, and only its demuxers for browser video are kept.
  build({
    entryPoints: { 'web/index': 'src/web/index.ts', 'web/worker': 'src/web/worker.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: 'dist',
    sourcemap: true,
    splitting: true,
    external,
  }),
]);
