/**
 * The web host in headless Chromium (Debian's, SwiftShader for WebGPU), on the shipped tiny
 * models: what a page pays to load mmrt and how soon it answers.
 *
 *   npm run bench -- web [--runs 3] [--platforms wasm,webgpu]
 *
 * Per platform and run, one fresh browser context (empty Cache API) and four page loads in it:
 *   first   first visit: runtime binaries and model files over the network, parallel creation
 *   cached  second visit, same settings: everything from the Cache API
 *   seq     second visit, sessions created one after another
 *   warm    second visit, parallel, with `shader_precompile` (a warm-up run at load)
 * Each page first starts onnxruntime-web and the provider on a probe graph (timed apart: every
 * page pays it once, whatever it loads), then loads the tiny CLIP (both towers) and the tiny
 * VLM (three components), timing each load and the first inference (one image embedding; one
 * answer). Medians across runs.
 * The machine is shared: read ratios within a run, not absolute times. Writes bench/results/web.json.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDemo, ROOT } from '../demo/build.js';
import { serveStatic } from '../demo/serve.js';
import { WEBGPU_FLAGS, launch } from '../test/web/browser.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    platforms: { type: 'string', default: 'wasm,webgpu' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'web.json') },
  },
});
const runs = Number(values.runs);
const platforms = values.platforms!.split(',');

const VISITS = {
  first: { parallelLoading: true, shaderPrecompile: false },
  cached: { parallelLoading: true, shaderPrecompile: false },
  seq: { parallelLoading: false, shaderPrecompile: false },
  warm: { parallelLoading: true, shaderPrecompile: true },
} as const;
type Visit = keyof typeof VISITS;

interface Sample {
  /** Starting onnxruntime-web and the provider (binary fetched or read, compiled, threads). */
  runtimeMs: number;
  clipLoadMs: number;
  clipFirstMs: number;
  vlmLoadMs: number;
  vlmFirstMs: number;
  clipCreateMs: number[];
  vlmCreateMs: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function report(final: boolean): Promise<void> {
  const summary: Record<string, unknown> = {};
  for (const [platform, byVisit] of Object.entries(samples)) {
    const m = (v: Visit, k: keyof Sample) => median(byVisit[v].map((s) => s[k] as number));
    const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
    const row = {
      runtime: {
        firstVisitMs: m('first', 'runtimeMs'),
        cachedVisitMs: median(
          ['cached', 'seq', 'warm'].flatMap((v) => byVisit[v as Visit].map((s) => s.runtimeMs)),
        ),
      },
      clip: {
        firstVisitLoadMs: m('first', 'clipLoadMs'),
        cachedVisitLoadMs: m('cached', 'clipLoadMs'),
        parallelLoadMs: m('cached', 'clipLoadMs'),
        sequentialLoadMs: m('seq', 'clipLoadMs'),
        sequentialOverParallel: ratio(m('seq', 'clipLoadMs'), m('cached', 'clipLoadMs')),
        firstInferenceMs: {
          withoutPrecompile: m('cached', 'clipFirstMs'),
          withPrecompile: m('warm', 'clipFirstMs'),
        },
        loadWithPrecompileMs: m('warm', 'clipLoadMs'),
      },
      vlm: {
        firstVisitLoadMs: m('first', 'vlmLoadMs'),
        cachedVisitLoadMs: m('cached', 'vlmLoadMs'),
        parallelLoadMs: m('cached', 'vlmLoadMs'),
        sequentialLoadMs: m('seq', 'vlmLoadMs'),
        sequentialOverParallel: ratio(m('seq', 'vlmLoadMs'), m('cached', 'vlmLoadMs')),
        firstAnswerMs: {
          withoutPrecompile: m('cached', 'vlmFirstMs'),
          withPrecompile: m('warm', 'vlmFirstMs'),
        },
        loadWithPrecompileMs: m('warm', 'vlmLoadMs'),
      },
    };
    summary[platform] = row;
    if (final) console.log(`\n${platform}:`, JSON.stringify(row, null, 1));
  }
  await writeFile(
    values.out!,
    `${JSON.stringify(
      {
        benchmark: 'web',
        date: new Date().toISOString(),
        machine: {
          cpus: os.cpus().length,
          model: os.cpus()[0]?.model,
          loadAverageAtStart: load0,
          loadAverageAtEnd: os.loadavg()[0],
        },
        browser: browser.version(),
        runs,
        note: 'medians; first = empty Cache API (runtime binaries and model files over localhost), the other visits read them from the Cache API; the first visit also compiles the 28 MB WebAssembly module cold',
        summary,
        samples,
      },
      null,
      2,
    )}\n`,
  );
}

const out = await mkdtemp(join(os.tmpdir(), 'mmrt-bench-web-'));
await buildDemo({ outDir: out, harness: true });
const server = await serveStatic({ root: out });
const browser = await launch(WEBGPU_FLAGS);
const samples: Record<string, Record<Visit, Sample[]>> = {};
const load0 = os.loadavg()[0]!;
try {
  for (let r = 0; r < runs; r++) {
    for (const platform of platforms) {
      samples[platform] ??= { first: [], cached: [], seq: [], warm: [] };
      const context = await browser.newContext();
      for (const visit of Object.keys(VISITS) as Visit[]) {
        const page = await context.newPage();
        await page.goto(`${server.url}harness.html`);
        await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
        const config = VISITS[visit];
        const s = await page.evaluate(
          async ([platform, config]) => {
            const t = (globalThis as unknown as { mmrtTest: Record<string, (x: unknown) => Promise<any>> })
              .mmrtTest;
            const rt = await t.runtime!({ platform });
            const c = await t.clip!({ platform, config, images: ['/samples/00_red_star.png'] });
            const v = await t.vlm!({
              platform,
              config,
              asks: [{ image: '/samples/00_red_star.png', question: 'Describe the image.' }],
            });
            return { c, v, rt };
          },
          [platform, config] as const,
        );
        const creates = (x: { timings: Array<{ createMs?: number }> }) =>
          x.timings.map((t) => t.createMs ?? 0);
        if (!s.rt.usable) throw new Error(`${platform} does not start here: ${s.rt.reason}`);
        const sample: Sample = {
          runtimeMs: s.rt.ms,
          clipLoadMs: s.c.loadMs,
          clipFirstMs: s.c.firstInferenceMs,
          vlmLoadMs: s.v.loadMs,
          vlmFirstMs: s.v.firstInferenceMs,
          clipCreateMs: creates(s.c),
          vlmCreateMs: creates(s.v),
        };
        samples[platform]![visit].push(sample);
        console.log(
          `run ${r + 1} ${platform} ${visit}: runtime ${Math.round(sample.runtimeMs)} ms, CLIP load ${Math.round(sample.clipLoadMs)} ms, first embedding ${Math.round(sample.clipFirstMs)} ms; VLM load ${Math.round(sample.vlmLoadMs)} ms, first answer ${Math.round(sample.vlmFirstMs)} ms`,
        );
        await page.close();
      }
      await context.close();
    }
    // Written after every run: a long run that is stopped still leaves its numbers.
    await report(false);
  }
} finally {
  await browser.close();
  await server.close();
  await rm(out, { recursive: true, force: true });
}

await report(true);
console.log(`\nwrote ${values.out}`);
