/**
 * Loading benchmark: how long until a multi-component model is initialized, and until its
 * first result, under each loading strategy the MultimodalLoader offers — measured, so the
 * brief's "parallel loading: 30-45% faster initialization" can be read against what this
 * machine and ONNX Runtime allow.
 *
 *   npm run bench -- load --model models-bench/clip-vit-b32 --model models-bench/smolvlm [--runs 5]
 *       [--image-tokens 64] [--threads N] [--precision fp32] [--configs seq-cold,seq-warm,...]
 *
 * Without --model it takes every folder in models-bench/, else models/shapes-clip and
 * models/shapes-vlm. --image-tokens caps the image-feature rows fed to the VLM's first decoder
 * step (64 = SmolVLM's pixel-shuffled tile).
 *
 * Every measurement runs in a fresh child process (no session, ORT state or cache survives
 * between runs); configurations are interleaved run by run so machine noise spreads evenly.
 * Reported: medians, the saving against the sequential baseline, and beside it the ceiling
 * computed from per-component create times. Writes bench/results/load.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Tensor } from 'onnxruntime-common';
import { dummyFeeds, warmupHints } from '../src/loader/warmup.js';
import type { ComponentTiming } from '../src/loader/types.js';
import { describePackage } from '../src/families/registry.js';
import { MultimodalLoader } from '../src/loader/loader.js';
import { loaderSpecFromPackage } from '../src/loader/spec.js';
import { LocalModelFiles } from '../src/node/files.js';
import { nodeHost } from '../src/node/host.js';
import { ort, ortVersion } from '../src/node/ort.js';
import type { ModelPackage } from '../src/package/describe.js';
import type { Precision } from '../src/package/precision.js';
import type { Feeds, Session } from '../src/runtime/session.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(SELF, '..', '..');

const { values } = parseArgs({
  options: {
    model: { type: 'string', multiple: true },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string' },
    precision: { type: 'string', default: 'fp32' },
    configs: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'load.json') },
    child: { type: 'string' },
    'image-tokens': { type: 'string' },
  },
});

type Kind = 'clip' | 'vlm';

interface Job {
  readonly model: string;
  readonly kind: Kind;
  readonly parallel: boolean;
  readonly threads: 'main' | 'worker';
  /** 'off': no graph cache; 'on': use `cacheDir` (warm if primed, cold-store if empty). */
  readonly graphCache: 'off' | 'on';
  readonly cacheDir?: string;
  readonly lazy: readonly string[];
  readonly task: 'init' | 'first';
  readonly precision: Precision;
  readonly intraOp: number;
  readonly optLevel: 'all' | 'disabled';
  /** VLM first token: use at most this many image-feature rows (e.g. 64: SmolVLM's pixel shuffle per tile). */
  readonly imageTokens?: number;
}

interface ChildResult {
  /** Package description + loading, until load() resolved. */
  readonly initMs: number;
  readonly openMs: number;
  /** CPU time of the whole process (all threads) from start to the end of loading. */
  readonly cpuMs: number;
  /** Peak resident memory of the process (MB): weights parsed and copied, or memory-mapped. */
  readonly maxRssMB: number;
  /** CLIP: first image embedding; VLM: first image features. */
  readonly firstMs?: number;
  /** VLM: first generated token (one decoder step on image features + a short prompt). */
  readonly tokenMs?: number;
  /** Compute only (no waiting for sessions): the vision run, the embedder run, the decoder step. */
  readonly visionRunMs?: number;
  readonly embedRunMs?: number;
  readonly stepMs?: number;
  readonly token?: number;
  readonly components: readonly ComponentTiming[];
  readonly warnings: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Child: one measurement

function concat(a: Tensor, b: Tensor, hidden: number, maxRows?: number): Tensor | undefined {
  if (a.type !== b.type) return undefined;
  const all = a.data as Float32Array;
  const A = maxRows !== undefined ? all.subarray(0, Math.min(all.length, maxRows * hidden)) : all;
  const B = b.data as Float32Array;
  if (A.length % hidden !== 0) return undefined;
  const out = new (A.constructor as Float32ArrayConstructor)(A.length + B.length);
  out.set(A, 0);
  out.set(B, A.length);
  return new ort.Tensor(a.type as 'float32', out, [1, out.length / hidden, hidden]);
}

function argmaxLast(logits: Tensor): number {
  const dims = logits.dims;
  const vocab = dims[dims.length - 1]!;
  const data = logits.data as Float32Array;
  let best = 0;
  for (let i = 1, o = data.length - vocab; i < vocab; i++) if (data[o + i]! > data[o + best]!) best = i;
  return best;
}

/** One decoder step on [image features; prompt embeddings] with an empty KV cache. */
async function firstToken(
  pkg: ModelPackage,
  features: Tensor,
  embed: Session,
  decoder: Session,
  imageTokens?: number,
): Promise<{ token: number; embedRunMs: number; stepMs: number }> {
  const prompt = 16;
  const t0 = performance.now();
  const ids = BigInt64Array.from({ length: prompt }, (_, i) => BigInt(1 + i));
  const idTensor = new ort.Tensor('int64', ids, [1, prompt]);
  const embeds = Object.values(await embed.run({ input_ids: idTensor }))[0]!;
  const embedRunMs = performance.now() - t0;
  const hidden = embeds.dims[embeds.dims.length - 1]!;
  // Image features first, then the prompt: what a LLaVA-style merge yields for an image-first prompt.
  const inputs = concat(features, embeds, hidden, imageTokens) ?? embeds;
  const length = inputs.dims[1]!;
  const feeds: Feeds = dummyFeeds(ort, decoder.inputs, warmupHints(pkg));
  if (decoder.hasInput('inputs_embeds')) feeds.inputs_embeds = inputs;
  else feeds.input_ids = idTensor;
  const total = decoder.hasInput('inputs_embeds') ? length : prompt;
  feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]);
  // Only the last position's logits are needed for the next token.
  if (decoder.hasInput('num_logits_to_keep'))
    feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.from([1n]), []);
  if (decoder.hasInput('position_ids')) {
    feeds.position_ids = new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: total }, (_, i) => BigInt(i)),
      [1, total],
    );
  }
  const t1 = performance.now();
  const out = await decoder.run(feeds);
  const stepMs = performance.now() - t1;
  return { token: argmaxLast(out.logits ?? Object.values(out)[0]!), embedRunMs, stepMs };
}

async function child(job: Job): Promise<ChildResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let cpuMs = 0;
  const cpuNow = () => {
    const c = process.cpuUsage(cpu0);
    return (c.user + c.system) / 1000;
  };
  const pkg = await describePackage(await LocalModelFiles.open(job.model));
  const openMs = performance.now() - t0;
  const loader = new MultimodalLoader({
    package: pkg,
    plan: loaderSpecFromPackage(pkg, {
      precision: job.precision,
      parallel: job.parallel,
      lazy: job.lazy,
      graphCache: job.graphCache === 'on',
      session: { intraOpNumThreads: job.intraOp, interOpNumThreads: 1, graphOptimizationLevel: job.optLevel },
    }),
    host: nodeHost({ sessionThreads: job.threads, ...(job.cacheDir && { cacheDir: job.cacheDir }) }),
  });
  const hints = warmupHints(pkg);
  let firstMs: number | undefined;
  let tokenMs: number | undefined;
  let token: number | undefined;
  const compute: { visionRunMs?: number; embedRunMs?: number; stepMs?: number } = {};
  const loading = loader.load();
  let initMs: number;
  if (job.task === 'init') {
    await loading;
    initMs = performance.now() - t0;
    cpuMs = cpuNow();
  } else {
    let loadedAt: number | undefined;
    void loading.then(() => {
      loadedAt = performance.now();
      cpuMs = cpuNow();
    });
    const visionName = job.kind === 'clip' ? 'vision_model' : 'vision_encoder';
    const vision = await loader.session(visionName);
    const tv = performance.now();
    const vout = await vision.run(dummyFeeds(ort, vision.inputs, hints));
    firstMs = performance.now() - t0;
    compute.visionRunMs = performance.now() - tv;
    if (job.kind === 'vlm') {
      const features = vout.image_features ?? Object.values(vout)[0]!;
      const embed = await loader.session('embed_tokens');
      const decoder = await loader.session('decoder_model_merged');
      const step = await firstToken(pkg, features, embed, decoder, job.imageTokens);
      token = step.token;
      compute.embedRunMs = step.embedRunMs;
      compute.stepMs = step.stepMs;
      tokenMs = performance.now() - t0;
    }
    await loading;
    initMs = (loadedAt ?? performance.now()) - t0;
  }
  const components = loader.timings();
  const warnings = [...loader.warnings];
  await loader.dispose();
  return {
    initMs,
    openMs,
    cpuMs,
    maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(firstMs !== undefined && { firstMs }),
    ...(tokenMs !== undefined && { tokenMs }),
    ...(token !== undefined && { token }),
    ...compute,
    components,
    warnings,
  };
}

if (values.child) {
  const result = await child(JSON.parse(values.child) as Job);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Parent: configurations, runs, aggregation

function runChild(job: Job): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', SELF, '--child', JSON.stringify(job)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) {
        reject(new Error(`child failed (exit ${code}) for ${JSON.stringify(job)}:\n${err.slice(-2000)}`));
        return;
      }
      resolvePromise(JSON.parse(line.slice('RESULT '.length)) as ChildResult);
    });
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Config {
  readonly id: string;
  readonly about: string;
  readonly job: Omit<Job, 'model' | 'kind' | 'precision' | 'intraOp'>;
  /** A fresh, empty graph cache for every run. */
  readonly freshCache?: boolean;
}

function configsFor(kind: Kind, warmDir: string): Config[] {
  const lazyName = kind === 'clip' ? 'text_model' : 'decoder_model_merged';
  const base = { lazy: [], task: 'init', graphCache: 'off', optLevel: 'all' } as const;
  return [
    {
      id: 'seq-cold',
      about: 'sequential, no graph cache (baseline)',
      job: { ...base, parallel: false, threads: 'main' },
    },
    {
      id: 'par-main-cold',
      about: 'parallel, sessions on the main thread',
      job: { ...base, parallel: true, threads: 'main' },
    },
    {
      id: 'par-worker-cold',
      about: 'parallel, one worker thread per session',
      job: { ...base, parallel: true, threads: 'worker' },
    },
    {
      id: 'seq-warm',
      about: 'sequential, graph cache hit',
      job: { ...base, parallel: false, threads: 'main', graphCache: 'on', cacheDir: warmDir },
    },
    {
      id: 'par-worker-warm',
      about: 'parallel in workers, graph cache hit',
      job: { ...base, parallel: true, threads: 'worker', graphCache: 'on', cacheDir: warmDir },
    },
    {
      id: 'seq-store',
      about: 'sequential, graph cache on but empty (first start: writes it)',
      job: { ...base, parallel: false, threads: 'main', graphCache: 'on' },
      freshCache: true,
    },
    {
      id: 'seq-noopt',
      about: 'sequential, graph optimization off (floor for what a cache saves)',
      job: { ...base, parallel: false, threads: 'main', optLevel: 'disabled' },
    },
    {
      id: 'first-eager-seq',
      about: 'first result, all eager, sequential by priority (baseline)',
      job: { ...base, task: 'first', parallel: false, threads: 'main' },
    },
    {
      id: 'first-eager-seq-warm',
      about: 'first result, all eager, sequential by priority, graph cache hit',
      job: { ...base, task: 'first', parallel: false, threads: 'main', graphCache: 'on', cacheDir: warmDir },
    },
    {
      id: 'first-eager-par-main',
      about: 'first result, all eager, parallel on the main thread',
      job: { ...base, task: 'first', parallel: true, threads: 'main' },
    },
    {
      id: 'first-eager-par-worker',
      about: 'first result, all eager, parallel in workers',
      job: { ...base, task: 'first', parallel: true, threads: 'worker' },
    },
    {
      id: 'first-lazy-main',
      about: `first result, ${lazyName} lazy, the rest sequential by priority, main thread`,
      job: { ...base, task: 'first', parallel: false, threads: 'main', lazy: [lazyName] },
    },
    {
      id: 'first-lazy-worker',
      about: `first result, ${lazyName} lazy, the rest parallel in workers`,
      job: { ...base, task: 'first', parallel: true, threads: 'worker', lazy: [lazyName] },
    },
  ];
}

function defaultModels(): string[] {
  const bench = join(ROOT, 'models-bench');
  if (existsSync(bench)) {
    const dirs = readdirSync(bench)
      .sort()
      .map((d) => join(bench, d))
      .filter((d) => existsSync(join(d, 'config.json')));
    if (dirs.length > 0) return dirs;
  }
  return ['shapes-clip', 'shapes-vlm']
    .map((m) => join(ROOT, 'models', m))
    .filter((d) => existsSync(join(d, 'config.json')));
}

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    logicalCores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.arch()} ${os.release()}`,
    node: process.version,
    onnxruntime: ortVersion(),
    onnxruntimeNode: JSON.parse(
      readFileSync(join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8'),
    ).version as string,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : `${Math.round(x)}`);

async function main(): Promise<void> {
  const runs = Math.max(1, Number(values.runs));
  const intraOp = Number(values.threads ?? os.availableParallelism());
  const precision = values.precision as Precision;
  const imageTokens = values['image-tokens'] !== undefined ? Number(values['image-tokens']) : undefined;
  const models = values.model?.map((m) => resolve(m)) ?? defaultModels();
  if (models.length === 0) {
    console.error('no models: pass --model <folder> (CLIP or LLaVA-layout VLM)');
    process.exit(1);
  }
  const only = values.configs?.split(',').map((s) => s.trim());
  const info = machine();
  console.log(
    `load benchmark: ${runs} runs per configuration, each in a fresh process; ${info.logicalCores} cores (${info.cpuModel}), onnxruntime-node ${info.onnxruntimeNode}, intraOpNumThreads ${intraOp}, load average ${info.loadAverageAtStart.join(' ')}`,
  );
  const results: unknown[] = [];
  for (const model of models) {
    const pkg = await describePackage(await LocalModelFiles.open(model));
    const kind: Kind = pkg.family === 'clip' || pkg.family === 'siglip' ? 'clip' : 'vlm';
    const bytes = Object.fromEntries(
      pkg.layout.map((c) => [c, pkg.components[c]!.variants[precision]?.totalBytes ?? Number.NaN]),
    );
    const scratch = await mkdtemp(join(os.tmpdir(), 'mmrt-bench-load-cache-'));
    const warmDir = join(scratch, 'warm');
    const configs = configsFor(kind, warmDir).filter((c) => !only || only.includes(c.id));
    const jobOf = (c: Config, cacheDir?: string): Job => ({
      ...c.job,
      ...(cacheDir && { cacheDir }),
      model,
      kind,
      precision,
      intraOp,
      ...(imageTokens !== undefined && { imageTokens }),
    });
    console.log(
      `\n${model} (${pkg.family}: ${pkg.layout.map((c) => `${c} ${(bytes[c]! / 1e6).toFixed(1)} MB`).join(', ')})`,
    );
    // Priming, not measured: reads every file once (the OS page cache is warm for all measured
    // runs) and writes the optimized graphs the *-warm configurations load.
    process.stdout.write('  priming (page cache, graph cache)... ');
    await runChild(jobOf(configs.find((c) => c.id === 'seq-cold') ?? configsFor(kind, warmDir)[0]!));
    for (const id of ['seq-warm']) {
      await runChild(jobOf(configsFor(kind, warmDir).find((c) => c.id === id)!));
    }
    console.log('done');
    const samples = new Map<string, Array<ChildResult & { loadAverage: number }>>(
      configs.map((c) => [c.id, []]),
    );
    for (let r = 0; r < runs; r++) {
      for (const c of configs) {
        let cacheDir = c.job.cacheDir;
        if (c.freshCache) cacheDir = await mkdtemp(join(scratch, 'fresh-'));
        const load1 = os.loadavg()[0]!;
        const res = { ...(await runChild(jobOf(c, cacheDir))), loadAverage: load1 };
        if (c.freshCache && cacheDir) await rm(cacheDir, { recursive: true, force: true });
        samples.get(c.id)!.push(res);
        process.stdout.write(`\r  run ${r + 1}/${runs}: ${c.id.padEnd(24)}`);
      }
    }
    process.stdout.write('\n');
    await rm(scratch, { recursive: true, force: true });

    type Key =
      | 'initMs'
      | 'openMs'
      | 'cpuMs'
      | 'maxRssMB'
      | 'firstMs'
      | 'tokenMs'
      | 'visionRunMs'
      | 'embedRunMs'
      | 'stepMs'
      | 'loadAverage';
    const stat = (id: string, key: Key) => median((samples.get(id) ?? []).map((s) => s[key] ?? Number.NaN));
    const createMedian = (id: string, component: string) =>
      median(
        (samples.get(id) ?? []).map(
          (s) => s.components.find((t) => t.component === component)?.createMs ?? Number.NaN,
        ),
      );
    const perComponent = Object.fromEntries(
      configs.map((c) => [
        c.id,
        Object.fromEntries(pkg.layout.map((comp) => [comp, createMedian(c.id, comp)])),
      ]),
    );
    // Pure per-component create times: sequential, nothing else on the thread.
    const createRef = samples.has('seq-cold') ? 'seq-cold' : 'first-eager-seq';
    const creates = pkg.layout.map((c) => createMedian(createRef, c));
    const sum = creates.reduce((a, b) => a + b, 0);
    const max = Math.max(...creates);
    const parallelCeiling = (sum - max) / sum;
    const seqCold = stat('seq-cold', 'initMs');
    // A cache cannot save more than the time spent creating sessions.
    const createShare = sum / seqCold;
    const saving = (id: string, key: Key, baseline: number) => 1 - stat(id, key) / baseline;
    const createOf = (c: string) => creates[pkg.layout.indexOf(c)]!;
    const visionName = kind === 'clip' ? 'vision_model' : 'vision_encoder';
    const firstBase = stat('first-eager-seq', 'firstMs');
    const tokenBase = stat('first-eager-seq', 'tokenMs');
    // The fastest any loading strategy could give the first result: open the package, create
    // only what the result needs, all of it at once on unlimited cores, then compute.
    const open = stat('first-eager-seq', 'openMs');
    const visionRun = stat('first-eager-seq', 'visionRunMs');
    const floorFirst = open + createOf(visionName) + visionRun;
    const floorToken =
      kind === 'vlm'
        ? open +
          Math.max(
            createOf(visionName) + visionRun,
            createOf('embed_tokens'),
            createOf('decoder_model_merged'),
          ) +
          stat('first-eager-seq', 'embedRunMs') +
          stat('first-eager-seq', 'stepMs')
        : Number.NaN;
    const ceilingFrom = (floor: number, baseline: number) => Math.max(0, 1 - floor / baseline);
    const comparisons = [
      {
        what: 'parallel (main thread) vs sequential: init',
        saving: saving('par-main-cold', 'initMs', seqCold),
        ceiling: parallelCeiling,
      },
      {
        what: 'parallel (workers) vs sequential: init',
        saving: saving('par-worker-cold', 'initMs', seqCold),
        ceiling: parallelCeiling,
      },
      {
        what: 'graph cache warm vs cold (sequential): init',
        saving: saving('seq-warm', 'initMs', seqCold),
        ceiling: createShare,
      },
      {
        what: 'graph optimization off vs on (what optimizing costs): init',
        saving: saving('seq-noopt', 'initMs', seqCold),
        ceiling: createShare,
      },
      {
        what: 'parallel (workers) + warm cache vs sequential cold: init',
        saving: saving('par-worker-warm', 'initMs', seqCold),
        ceiling: createShare,
      },
      {
        what: 'graph cache first start (writes it) vs off: init',
        saving: saving('seq-store', 'initMs', seqCold),
        ceiling: 0,
      },
      ...(
        [
          'first-eager-seq-warm',
          'first-eager-par-main',
          'first-eager-par-worker',
          'first-lazy-main',
          'first-lazy-worker',
        ] as const
      ).flatMap((id) => [
        {
          what: `${id.replace('first-', '')} vs eager-seq: first ${kind === 'clip' ? 'image embedding' : 'image features'}`,
          saving: saving(id, 'firstMs', firstBase),
          // A cache removes creation time; a loading strategy removes waiting for what is not needed.
          ceiling: id.endsWith('-warm')
            ? createOf(visionName) / firstBase
            : ceilingFrom(floorFirst, firstBase),
        },
        ...(kind === 'vlm'
          ? [
              {
                what: `${id.replace('first-', '')} vs eager-seq: first token`,
                saving: saving(id, 'tokenMs', tokenBase),
                ceiling: id.endsWith('-warm') ? sum / tokenBase : ceilingFrom(floorToken, tokenBase),
              },
            ]
          : []),
      ]),
    ].filter((c) => !Number.isNaN(c.saving));

    console.log(
      '\n  configuration               init ms   cpu ms  peak MB   first ms   token ms   per-component create ms (median)',
    );
    for (const c of configs) {
      const pc = pkg.layout.map((comp) => `${comp}=${ms(perComponent[c.id]![comp])}`).join(' ');
      console.log(
        `  ${c.id.padEnd(26)} ${ms(stat(c.id, 'initMs')).padStart(7)} ${ms(stat(c.id, 'cpuMs')).padStart(8)} ${ms(stat(c.id, 'maxRssMB')).padStart(8)} ${ms(stat(c.id, 'firstMs')).padStart(10)} ${ms(stat(c.id, 'tokenMs')).padStart(10)}   ${pc}`,
      );
    }
    const loads = configs.flatMap((c) => samples.get(c.id)!.map((x) => x.loadAverage));
    console.log(
      `\n  1-minute load average during the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)} (${info.logicalCores} cores; above ~1 means other work competed with the benchmark)`,
    );
    console.log('\n  comparison                                                     saving   ceiling');
    for (const c of comparisons)
      console.log(`  ${c.what.padEnd(62)} ${pct(c.saving).padStart(7)} ${pct(c.ceiling).padStart(9)}`);

    results.push({
      model,
      family: pkg.family,
      kind,
      precision,
      componentBytes: bytes,
      configurations: configs.map((c) => ({
        id: c.id,
        about: c.about,
        job: {
          ...c.job,
          cacheDir: c.job.cacheDir ? '<warm cache>' : c.freshCache ? '<fresh empty cache>' : undefined,
        },
        medianInitMs: stat(c.id, 'initMs'),
        medianFirstMs: stat(c.id, 'firstMs'),
        medianTokenMs: stat(c.id, 'tokenMs'),
        medianCpuMs: stat(c.id, 'cpuMs'),
        medianPeakRssMB: stat(c.id, 'maxRssMB'),
        medianCreateMs: perComponent[c.id],
        samples: samples.get(c.id)!.map((s) => ({
          initMs: s.initMs,
          openMs: s.openMs,
          cpuMs: s.cpuMs,
          maxRssMB: s.maxRssMB,
          loadAverage1m: s.loadAverage,
          firstMs: s.firstMs,
          tokenMs: s.tokenMs,
          visionRunMs: s.visionRunMs,
          embedRunMs: s.embedRunMs,
          stepMs: s.stepMs,
          token: s.token,
          create: Object.fromEntries(s.components.map((t) => [t.component, t.createMs])),
          cache: Object.fromEntries(s.components.map((t) => [t.component, t.cache])),
          warnings: s.warnings,
        })),
      })),
      ceilings: {
        parallel: {
          value: parallelCeiling,
          formula: '(sum - max) / sum of per-component create medians, sequential cold',
          sum,
          max,
        },
        graphCache: {
          value: createShare,
          formula:
            'sum of per-component create medians / init, sequential cold (a cache cannot save more than creation)',
        },
        firstResult: {
          formula:
            '1 - floor / baseline; floor = open + create of what the result needs, all at once (max, unlimited cores) + compute (vision run; VLM: + embedder run + decoder step)',
          floorFirstMs: floorFirst,
          floorTokenMs: floorToken,
        },
      },
      comparisons,
    });
  }
  const out = {
    benchmark: 'load',
    date: new Date().toISOString(),
    machine: { ...info, loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    settings: {
      runs,
      intraOpNumThreads: intraOp,
      interOpNumThreads: 1,
      precision,
      imageTokens: imageTokens ?? 'all',
    },
    notes: [
      'Each sample is a fresh child process: no session, ORT state or in-process cache survives between samples; configurations are interleaved run by run.',
      'OS page cache: a discarded priming run read every model file first, so all measured runs read files from memory. A cold-disk first start is not measured here and would add the read time of the model bytes.',
      "'cold' = no optimized-graph cache (ORT optimizes the graph); 'warm' = graph cache hit (primed by a discarded run); 'store' = cache on but empty, i.e. the first start that writes it.",
      'onnxruntime-node creates a session synchronously on the calling JS thread: parallel loading on the main thread cannot overlap creations; the worker configurations create each session in its own thread.',
      "Time to first result runs the vision component on dummy inputs of the model's input size (preprocessing excluded: it is the same in every configuration); the VLM first token is one decoder step on [image features; 16 prompt embeddings] with an empty KV cache, using the sessions directly.",
      'saving = 1 - median(config) / median(baseline); ceiling = the most that strategy could save given the measured per-component create times (formulas in ceilings).',
      'The machine may be shared: the 1-minute load average before each sample is recorded; cpuMs (all threads of the process) next to initMs shows how many cores a configuration really got. Read ratios, not absolute times.',
      "The graph cache (createSessionWithWeightCache in src/node/weight-cache.ts) stores the optimized graph with its weights in a side file plus this CPU's pre-packed copies, memory-mapped on a hit; an entry takes about twice the weights' size on disk. (An earlier 'inline' format, weights inside the optimized graph, saved 4.8% against this one's 71% and was removed.)",
      "Per-component create times in parallel or first-result configurations include waiting for the JS thread (another session's synchronous creation, or an inference run); the ceilings use the sequential 'seq-cold' times.",
    ],
    models: results,
  };
  await mkdir(join(values.out!, '..'), { recursive: true });
  await writeFile(values.out!, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote ${values.out}`);
}

await main();
