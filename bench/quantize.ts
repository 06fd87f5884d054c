/**
 * Precision variants on the bench-size models, side by side with fp32 in one run: the
 * quantizer's time, file sizes, resident memory, CLIP images/s, VLM prefill (time to first
 * token) and decode tokens/s, and the drift table.
 *
 *   /usr/bin/python3 tools/shapes/make.py --bench      # models-bench/ (once)
 *   npm run bench -- quantize [--clip models-bench/clip-vit-b32] [--vlm models-bench/vlm-smol]
 *                             [--precisions fp16,q8,q4,q4f16] [--runs 5] [--threads 2]
 *                             [--new-tokens 32] [--batch 8] [--force] [--out bench/results/quantize.json]
 *
 * - Variants are written by `quantizeModel` (CLIP: text_model + vision_model; VLM: all three),
 *   unless they exist (`--force` rewrites them).
 * - Speed: every precision of a model is loaded in this process and their runs interleaved,
 *   rotating the order each round, so a shared machine's noise hits them alike. CLIP: batches of
 *   `--batch` 224 px images through `embedImages` (vision tower). VLM: one question about a fresh
 *   picture, `--new-tokens` generated with EOS suppressed (random weights cost what trained ones
 *   do); decode tokens/s over the steps after the first, and the time to first token.
 * - Memory: one child process per model and precision (load, one run): resident set after
 *   loading and its peak.
 * - Drift (tools/quantize/drift.ts): CLIP embedding cosine and zero-shot top-1 agreement with
 *   fp32 on held-out images; VLM first-step logits max |diff| and greedy-token agreement on the
 *   reference prompts (fixed length, EOS suppressed).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { loadClip, loadLlava } from '../src/node/index.js';
import { ortVersion } from '../src/node/ort.js';
import { quantizeModel } from '../src/node/quantize.js';
import { componentFileName } from '../src/package/precision.js';
import type { Precision } from '../src/package/precision.js';
import { parseQuantizePrecisions } from '../src/quantize/options.js';
import {
  clipDrift,
  heldOutImages,
  pixelsOf,
  recordDrift,
  referencePrompts,
  vlmDrift,
} from '../tools/quantize/drift.js';
import { renderShape } from '../tools/shapes/render.js';

const { values } = parseArgs({
  options: {
    clip: { type: 'string', default: 'models-bench/clip-vit-b32' },
    vlm: { type: 'string', default: 'models-bench/vlm-smol' },
    precisions: { type: 'string', default: 'fp16,q8,q4,q4f16' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    'new-tokens': { type: 'string', default: '32' },
    batch: { type: 'string', default: '8' },
    'drift-images': { type: 'string', default: '48' },
    'drift-prompts': { type: 'string', default: '6' },
    force: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/quantize.json' },
    child: { type: 'string' },
  },
});

const threads = Number(values.threads);
const runs = Number(values.runs);
const newTokens = Number(values['new-tokens']);
const batch = Number(values.batch);
const log = (m: string) => process.stderr.write(`${m}\n`);
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'] as const;
const SHAPES = ['circle', 'square', 'triangle', 'star'] as const;
const picture = (i: number) =>
  pixelsOf(renderShape(500 + i, 224, 224, COLORS[i % 6]!, SHAPES[i % 4]!, 'noise'));
const vlmConfig = (precision: Precision) => ({ precision, numThreads: threads });

/**
 * The process's own peak resident set. Not `resourceUsage().maxRSS`: Linux carries ru_maxrss
 * across exec, so a child spawned by this (large) process would report the parent's size.
 */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** Child mode: load one model at one precision, run once, report memory. */
async function child(spec: string): Promise<void> {
  const [kind, model, precision] = spec.split('|') as ['clip' | 'vlm', string, Precision];
  if (kind === 'clip') {
    const clip = await loadClip({ model, platform: 'cpu', config: { precision, numThreads: threads } });
    const afterLoad = process.memoryUsage().rss;
    await clip.embedImages(Array.from({ length: batch }, (_, i) => picture(i)));
    await clip.embedTexts(['a photo of a red star', 'a blue circle']);
    process.stdout.write(JSON.stringify({ rssAfterLoad: afterLoad, peakRss: peakRss() }));
    await clip.dispose();
  } else {
    const vlm = await loadLlava({ model, platform: 'cpu', config: vlmConfig(precision) });
    const afterLoad = process.memoryUsage().rss;
    await vlm.ask(picture(0), 'What color is the shape?', { maxNewTokens: 8, minNewTokens: 8 }).result;
    process.stdout.write(JSON.stringify({ rssAfterLoad: afterLoad, peakRss: peakRss() }));
    await vlm.dispose();
  }
}

if (values.child) {
  await child(values.child);
  process.exit(0);
}

const precisions = parseQuantizePrecisions(values.precisions!);
const all: Precision[] = ['fp32', ...precisions];
const self = fileURLToPath(import.meta.url);
const execFileP = promisify(execFile);
const loadAverageAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);

async function fileBytes(dir: string, component: string, p: Precision): Promise<number> {
  const f = join(dir, componentFileName(component, p));
  let n = (await stat(f)).size;
  for (let i = 0; ; i++) {
    const st = await stat(`${f}_data${i === 0 ? '' : `_${i}`}`).catch(() => undefined);
    if (!st) break;
    n += st.size;
  }
  return n;
}

async function quantize(dir: string, components: string[]) {
  const t0 = performance.now();
  const r = await quantizeModel({
    model: dir,
    precisions,
    components,
    force: values.force!,
    onProgress: (e) => {
      if (e.phase === 'done') log(`  ${e.component} ${e.precision}: ${e.message}`);
    },
  });
  return {
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    written: r.variants.map((v) => v.file),
    skipped: r.skipped.map((s) => s.file),
  };
}

async function memory(kind: 'clip' | 'vlm', dir: string) {
  const out: Record<string, { rssAfterLoadMiB: number; peakRssMiB: number }> = {};
  for (const p of all) {
    const { stdout } = await execFileP(
      process.execPath,
      [
        '--import',
        'tsx',
        self,
        '--child',
        `${kind}|${dir}|${p}`,
        '--threads',
        String(threads),
        '--batch',
        String(batch),
      ],
      { maxBuffer: 1 << 20 },
    );
    const m = JSON.parse(stdout.trim().split('\n').pop()!);
    out[p] = {
      rssAfterLoadMiB: Math.round(m.rssAfterLoad / 2 ** 20),
      peakRssMiB: Math.round(m.peakRss / 2 ** 20),
    };
    log(`  memory ${kind} ${p}: ${out[p].rssAfterLoadMiB} MiB after load, peak ${out[p].peakRssMiB} MiB`);
  }
  return out;
}

/** Runs every contender once per round, rotating who goes first. */
async function interleaved<T>(
  contenders: ReadonlyArray<{ p: Precision; run: (round: number) => Promise<T> }>,
): Promise<Map<Precision, T[]>> {
  const out = new Map<Precision, T[]>(contenders.map((c) => [c.p, []]));
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length]!;
      out.get(c.p)!.push(await c.run(r));
    }
  }
  return out;
}

async function clipBench(dir: string) {
  const components = ['text_model', 'vision_model'];
  log(`quantize ${dir}`);
  const quantized = await quantize(dir, components);
  const sizes = Object.fromEntries(
    await Promise.all(
      all.map(async (p) => [
        p,
        (await Promise.all(components.map((c) => fileBytes(dir, c, p)))).reduce((a, b) => a + b),
      ]),
    ),
  ) as Record<Precision, number>;
  log('memory, one process per precision');
  const mem = await memory('clip', dir);
  log('speed, interleaved');
  const models = await Promise.all(
    all.map(async (p) => ({
      p,
      m: await loadClip({ model: dir, platform: 'cpu', config: { precision: p, numThreads: threads } }),
    })),
  );
  for (const { m } of models) await m.embedImages([picture(0)]);
  const speed = await interleaved(
    models.map(({ p, m }) => ({
      p,
      run: async (r: number) => {
        const images = Array.from({ length: batch }, (_, i) => picture(r * batch + i));
        const t0 = performance.now();
        await m.embedImages(images);
        return (batch * 1000) / (performance.now() - t0);
      },
    })),
  );
  for (const { m } of models) await m.dispose();
  log('drift');
  const set = heldOutImages(Math.max(1, Math.round(Number(values['drift-images']) / 24)));
  const drift = await clipDrift(
    dir,
    precisions,
    { images: set.images.map((im) => im), labels: set.labels },
    threads,
  );
  // `mmrt explain --model <dir>` shows it from now on.
  await recordDrift(dir, drift);
  const fp32 = median(speed.get('fp32')!);
  return {
    model: dir,
    quantize: quantized,
    precisions: Object.fromEntries(
      all.map((p) => {
        const d = drift.find((x) => x.precision === p);
        const ips = median(speed.get(p)!);
        return [
          p,
          {
            bytes: sizes[p],
            sizeVsFp32: sizes[p] / sizes.fp32,
            memory: mem[p]!,
            imagesPerSecond: { median: ips, runs: speed.get(p)! },
            speedVsFp32: ips / fp32,
            ...(d && {
              drift: {
                images: d.images,
                top1Agreement: d.top1Agreement,
                imageCosine: d.imageCosine,
                textCosine: d.textCosine,
              },
            }),
          },
        ];
      }),
    ),
  };
}

async function vlmBench(dir: string) {
  const components = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'];
  log(`quantize ${dir}`);
  const quantized = await quantize(dir, components);
  const sizes = Object.fromEntries(
    await Promise.all(
      all.map(async (p) => [
        p,
        (await Promise.all(components.map((c) => fileBytes(dir, c, p)))).reduce((a, b) => a + b),
      ]),
    ),
  ) as Record<Precision, number>;
  log('memory, one process per precision');
  const mem = await memory('vlm', dir);
  log('speed, interleaved');
  const models = await Promise.all(
    all.map(async (p) => ({ p, m: await loadLlava({ model: dir, platform: 'cpu', config: vlmConfig(p) }) })),
  );
  for (const { m } of models) await m.ask(picture(0), 'What color?', { maxNewTokens: 2 }).result;
  const speed = await interleaved(
    models.map(({ p, m }) => ({
      p,
      run: async (r: number) => {
        const res = await m.ask(picture(r + 1), 'What color is the shape?', {
          maxNewTokens: newTokens,
          minNewTokens: newTokens,
        }).result;
        return { decode: res.timings.decodeTokensPerSecond, ttft: res.timings.timeToFirstTokenMs };
      },
    })),
  );
  for (const { m } of models) await m.dispose();
  log('drift');
  const prompts = referencePrompts(Math.max(1, Math.round(Number(values['drift-prompts']) / 3)));
  const drift = await vlmDrift(dir, precisions, prompts, { newTokens: 16, threads });
  await recordDrift(dir, drift, { newTokens: 16, eosSuppressed: true });
  const fp32 = median(speed.get('fp32')!.map((s) => s.decode));
  const fp32Ttft = median(speed.get('fp32')!.map((s) => s.ttft));
  return {
    model: dir,
    quantize: quantized,
    precisions: Object.fromEntries(
      all.map((p) => {
        const d = drift.find((x) => x.precision === p);
        const decode = speed.get(p)!.map((s) => s.decode);
        const ttft = speed.get(p)!.map((s) => s.ttft);
        return [
          p,
          {
            bytes: sizes[p],
            sizeVsFp32: sizes[p] / sizes.fp32,
            memory: mem[p]!,
            decodeTokensPerSecond: { median: median(decode), runs: decode },
            decodeVsFp32: median(decode) / fp32,
            timeToFirstTokenMs: { median: median(ttft), runs: ttft },
            prefillSpeedupVsFp32: fp32Ttft / median(ttft),
            ...(d && {
              drift: {
                prompts: d.prompts,
                newTokens: 16,
                firstLogitsMaxAbsDiff: d.firstLogitsMaxAbsDiff,
                answersEqual: d.answersEqual,
                tokenAgreement: d.tokenAgreement,
              },
            }),
          },
        ];
      }),
    ),
  };
}

const clip = values.clip ? await clipBench(resolve(values.clip)) : undefined;
const vlm = values.vlm ? await vlmBench(resolve(values.vlm)) : undefined;
const result = {
  benchmark: 'quantize',
  command: `npm run bench -- quantize ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  machine: {
    cpu: os.cpus()[0]?.model,
    cores: os.availableParallelism(),
    node: process.version,
    onnxruntime: ortVersion(),
    loadAverageAtStart,
    loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
  },
  settings: {
    runs,
    intraOpNumThreads: threads,
    clipBatch: batch,
    newTokens,
    interleaved: true,
    precisions: all,
  },
  notes: [
    'Every component of a model runs at the precision named. Speed figures are medians of interleaved runs in one process; memory comes from one child process per precision.',
    'The machine may be shared: read the ratios against fp32 from the same run, not the absolute figures.',
  ],
  ...(clip && { clip }),
  ...(vlm && { vlm }),
};
await mkdir(dirname(resolve(values.out!)), { recursive: true });
await writeFile(resolve(values.out!), `${JSON.stringify(result, null, 2)}\n`);
const row = (name: string, p: Record<string, unknown>) => `${name}: ${JSON.stringify(p)}`;
if (clip)
  for (const [p, v] of Object.entries(clip.precisions))
    log(
      row(`clip ${p}`, {
        MiB: Math.round(v.bytes / 2 ** 20),
        rss: v.memory.peakRssMiB,
        ips: v.imagesPerSecond.median.toFixed(1),
        x: v.speedVsFp32.toFixed(2),
        top1: v.drift?.top1Agreement,
        cos: v.drift?.imageCosine.mean.toFixed(4),
      }),
    );
if (vlm)
  for (const [p, v] of Object.entries(vlm.precisions))
    log(
      row(`vlm ${p}`, {
        MiB: Math.round(v.bytes / 2 ** 20),
        rss: v.memory.peakRssMiB,
        tps: v.decodeTokensPerSecond.median.toFixed(1),
        x: v.decodeVsFp32.toFixed(2),
        ttftMs: Math.round(v.timeToFirstTokenMs.median),
        logitDiff: v.drift?.firstLogitsMaxAbsDiff.toFixed(3),
        tokens: v.drift?.tokenAgreement,
      }),
    );
log(`written to ${values.out}`);
