/**
 * `npm run bench`: every workload, mmrt against @huggingface/transformers (and Pillow for the
 * exact resize), on the same bench-size models and image folders.
 *
 *   npm run bench                                  # everything (builds models-bench/ if missing)
 *   npm run bench -- zero-shot-1 embed-32          # workloads picked by name
 *   npm run bench -- suite --rounds 1 --iterations 1 --only roof,init   # a quick pass
 *
 * Every measurement runs in a fresh child process (bench/suite/child.ts): set-up, warm-up, then
 * timed iterations. A workload runs `--rounds` rounds, each contender once per round, the order
 * reversed every other round so drift on a shared machine hits all alike. Reported per metric:
 * median, min and max over every sample, and per comparison the ratio of each round's medians.
 * Writes bench/results/runs/<date>.json (machine, CPU, versions, settings, every sample),
 * merges it into bench/results/latest.json, then regenerates the charts and the README's table
 * (bench/report.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ChildJob } from './suite/child.js';
import { ensureFixtures, ensureModels } from './suite/fixtures.js';
import { median, summarize } from './suite/stats.js';
import { type ChildContext, type ChildReport, type Workload, isPython } from './suite/types.js';
import { WORKLOADS } from './workloads/index.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const RESULTS = join(ROOT, 'bench', 'results');
const CHILD = join(ROOT, 'bench', 'suite', 'child.ts');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    only: { type: 'string' },
    skip: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    iterations: { type: 'string' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    'child-timeout-s': { type: 'string', default: '900' },
    python: { type: 'string', default: process.env.MMRT_BENCH_PYTHON ?? '/usr/bin/python3' },
    'no-report': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const log = (m: string) => process.stderr.write(`${m}\n`);

if (values.help || values.list) {
  log('usage: npm run bench [-- <workload>...] [--rounds N] [--iterations N] [--warmup N] [--skip a,b]\n');
  log('workloads:');
  for (const w of WORKLOADS) log(`  ${w.name.padEnd(16)} ${w.title}`);
  process.exit(0);
}

const picked = [...positionals, ...(values.only?.split(',') ?? [])].map((s) => s.trim()).filter(Boolean);
const skipped = new Set(values.skip?.split(',').map((s) => s.trim()) ?? []);
for (const name of [...picked, ...skipped]) {
  if (!WORKLOADS.some((w) => w.name === name)) {
    log(`unknown workload "${name}"; known: ${WORKLOADS.map((w) => w.name).join(', ')}`);
    process.exit(2);
  }
}
const selected = WORKLOADS.filter(
  (w) => (picked.length === 0 || picked.includes(w.name)) && !skipped.has(w.name),
);
const threads = Number(values.threads);

// ---------------------------------------------------------------------------- one child

interface RoundRecord extends Partial<ChildReport> {
  readonly round: number;
  readonly position: number;
  readonly error?: string;
}

function runProcess(
  command: string,
  args: string[],
  timeoutS: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutS * 1000);
    p.on('error', (e) => {
      clearTimeout(timer);
      done({ code: -1, stdout, stderr: `${stderr}\n${e.message}` });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

async function measure(w: Workload, key: string, ctx: Omit<ChildContext, 'log'>): Promise<ChildReport> {
  const contender = key === '__prime' ? undefined : w.contenders[key]!;
  const timeout = Number(values['child-timeout-s']);
  if (contender && isPython(contender)) {
    const r = await runProcess(
      values.python!,
      [contender.python.script, ...contender.python.args(ctx as ChildContext)],
      timeout,
    );
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.code !== 0 || !line.startsWith('{')) throw new Error(`exit ${r.code}: ${r.stderr.slice(-1500)}`);
    const report = JSON.parse(line) as ChildReport;
    return { ...report, wallMs: report.wallMs ?? Number.NaN, cores: report.cores ?? Number.NaN };
  }
  const out = join(ctx.scratch, 'report.json');
  const job: ChildJob = { workload: w.name, contender: key, context: ctx, out };
  const r = await runProcess(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(job)], timeout);
  if (r.code !== 0 || !existsSync(out)) {
    throw new Error(`exit ${r.code ?? 'killed (timeout)'}: ${r.stderr.slice(-1500)}`);
  }
  return JSON.parse(readFileSync(out, 'utf8')) as ChildReport;
}

// ---------------------------------------------------------------------------- one workload

async function runWorkload(w: Workload, fixtures: ChildContext['fixtures'], cacheDir: string) {
  const t0 = performance.now();
  const rounds = Number(values.rounds ?? w.rounds ?? 3);
  const keys = Object.keys(w.contenders);
  const base = {
    fixtures,
    threads,
    cacheDir,
    warmup: Number(values.warmup ?? w.warmup),
    iterations: Number(values.iterations ?? w.iterations),
  };
  const scratchOf = () => mkdtemp(join(os.tmpdir(), `mmrt-bench-${w.name}-`));
  if (w.prime) {
    const scratch = await scratchOf();
    await measure(w, '__prime', { ...base, scratch }).catch((e) => log(`  prime failed: ${e.message}`));
    await rm(scratch, { recursive: true, force: true });
  }
  const records: Record<string, RoundRecord[]> = Object.fromEntries(keys.map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...keys].reverse() : keys;
    for (const [position, key] of order.entries()) {
      const scratch = await scratchOf();
      const started = performance.now();
      try {
        const report = await measure(w, key, { ...base, scratch });
        records[key]!.push({ round, position, ...report });
        const first = w.metrics[0]!;
        const m = median(report.samples[first.key] ?? []);
        log(
          `  ${w.name} round ${round + 1}/${rounds} ${key.padEnd(14)} ${first.label}: ${m.toFixed(1)} ${first.unit}` +
            `  (peak ${report.peakRssMB.toFixed(0)} MB, ${((performance.now() - started) / 1000).toFixed(1)} s)`,
        );
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        records[key]!.push({ round, position, error });
        log(`  ${w.name} round ${round + 1}/${rounds} ${key}: FAILED ${error.split('\n')[0]}`);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    }
  }
  const contenders = Object.fromEntries(
    keys.map((key) => {
      const rs = records[key]!.filter((r) => !r.error);
      const summary = Object.fromEntries(
        w.metrics
          .map((m) => [m.key, rs.flatMap((r) => r.samples?.[m.key] ?? [])] as const)
          .filter(([, xs]) => xs.length > 0)
          .map(([k, xs]) => [k, summarize(xs)]),
      );
      const c = w.contenders[key]!;
      return [
        key,
        {
          label: c.label,
          side: c.side,
          summary,
          peakRssMB: rs.length ? Math.max(...rs.map((r) => r.peakRssMB ?? 0)) : undefined,
          rounds: records[key],
        },
      ];
    }),
  );
  const ratios = w.comparisons.map((c) => {
    const metric = w.metrics.find((m) => m.key === c.metric)!;
    const perRound: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const a = records[c.mmrt]?.find((r) => r.round === round && !r.error)?.samples?.[c.metric];
      const b = records[c.other]?.find((r) => r.round === round && !r.error)?.samples?.[c.metric];
      if (!a?.length || !b?.length) continue;
      const [ma, mb] = [median(a), median(b)];
      perRound.push(metric.better === 'lower' ? mb / ma : ma / mb);
    }
    return { ...c, perRound, ...(perRound.length ? summarize(perRound) : {}) };
  });
  for (const r of ratios) {
    if (r.perRound.length) {
      log(
        `  ${w.name}: mmrt ${r.label}: ${median(r.perRound).toFixed(2)}x (rounds: ${r.perRound.map((x) => x.toFixed(2)).join(', ')})`,
      );
    }
  }
  return {
    title: w.title,
    description: w.description,
    metrics: w.metrics,
    rounds,
    warmup: base.warmup,
    iterations: base.iterations,
    contenders,
    ratios,
    elapsedS: (performance.now() - t0) / 1000,
  };
}

// ---------------------------------------------------------------------------- the run

function packageVersion(name: string): string | undefined {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

async function pillowVersion(): Promise<string | undefined> {
  const r = await runProcess(values.python!, ['-c', 'import PIL; print(PIL.__version__)'], 30);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const needs = new Set<'clip' | 'vlm'>(selected.flatMap((w) => w.needs ?? (['clip'] as const)));
  ensureModels(ROOT, [...needs], log);
  const fixtures = await ensureFixtures(ROOT);
  // mmrt's caches (logit scale, graph cache) for the whole run, so "cold" means a new process,
  // not an empty cache; the first-ever start gets its own empty folder.
  const cacheDir = await mkdtemp(join(os.tmpdir(), 'mmrt-bench-cache-'));
  const cpus = os.cpus();
  const run = {
    suite: 'mmrt-bench',
    format: 1,
    date: started.toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      logicalCores: os.availableParallelism(),
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()}`,
      arch: os.arch(),
      loadAverageAtStart: os.loadavg(),
    },
    versions: {
      mmrt: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string,
      node: process.version,
      'onnxruntime-node': packageVersion('onnxruntime-node'),
      '@huggingface/transformers': packageVersion('@huggingface/transformers'),
      sharp: packageVersion('sharp'),
      pillow: await pillowVersion(),
    },
    settings: {
      threads,
      rounds: values.rounds ? Number(values.rounds) : 'per workload (default 3)',
      fixtures: {
        clipModel: fixtures.clipModel.replace(`${ROOT}/`, ''),
        vlmModel: fixtures.vlmModel.replace(`${ROOT}/`, ''),
        images: 'models-bench/fixtures/ (png-640x480, jpeg-640x480, jpeg-12mp)',
      },
    },
    workloads: {} as Record<
      string,
      Awaited<ReturnType<typeof runWorkload>> & { run: string; cpu: string; logicalCores: number }
    >,
    elapsedS: 0,
  };
  log(`bench: ${selected.length} workloads, ${threads} threads, ${run.machine.cpu}`);
  // mmrt reads CLIP's learned logit scale once per model file (from the combined graph) and
  // keeps it in its cache: fill that cache first, so no workload's first contender pays for it
  // (the first-ever start is measured on its own, with an empty cache).
  const init = WORKLOADS.find((w) => w.name === 'init');
  if (needs.has('clip') && init?.prime) {
    const scratch = await mkdtemp(join(os.tmpdir(), 'mmrt-bench-prime-'));
    const base = { fixtures, threads, cacheDir, warmup: 0, iterations: 0, scratch };
    await measure(init, '__prime', base).catch((e) => log(`prime failed: ${e.message}`));
    await rm(scratch, { recursive: true, force: true });
  }
  for (const [i, w] of selected.entries()) {
    log(`[${i + 1}/${selected.length}] ${w.name}: ${w.title}`);
    run.workloads[w.name] = {
      ...(await runWorkload(w, fixtures, cacheDir)),
      run: run.date,
      cpu: run.machine.cpu,
      logicalCores: run.machine.logicalCores,
    };
  }
  await rm(cacheDir, { recursive: true, force: true });
  run.elapsedS = (performance.now() - t0) / 1000;
  (run.machine as Record<string, unknown>).loadAverageAtEnd = os.loadavg();

  await mkdir(join(RESULTS, 'runs'), { recursive: true });
  const stamp = run.date.replace(/[:.]/g, '-');
  await writeFile(join(RESULTS, 'runs', `${stamp}.json`), `${JSON.stringify(run, null, 1)}\n`);
  // latest.json: the newest result of every workload (a partial run replaces only its own).
  const latestPath = join(RESULTS, 'latest.json');
  const previous = existsSync(latestPath) ? JSON.parse(await readFile(latestPath, 'utf8')) : undefined;
  const latest = { ...run, workloads: { ...(previous?.workloads ?? {}), ...run.workloads } };
  await writeFile(latestPath, `${JSON.stringify(latest, null, 1)}\n`);
  // In the repository's own format, so `npm run lint` stays green after a run (best effort).
  await runProcess(
    join(ROOT, 'node_modules', '.bin', 'biome'),
    ['format', '--write', latestPath, join(RESULTS, 'runs', `${stamp}.json`)],
    120,
  );
  log(
    `written bench/results/runs/${stamp}.json and bench/results/latest.json (${run.elapsedS.toFixed(0)} s)`,
  );
  if (!values['no-report']) {
    const { writeReport } = await import('./suite/report.js');
    await writeReport(ROOT);
  }
}

await main();
