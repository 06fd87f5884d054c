/**
 * The README's performance section and one SVG chart per workload, generated from
 * bench/results/latest.json (never typed by hand). `npm run bench` calls it at the end;
 * `npm run bench -- report` (bench/report.ts) regenerates both from the results alone.
 *
 * The section sits between `<!-- bench:start -->` and `<!-- bench:end -->` in README.md; the
 * charts go to bench/results/charts/<workload>.svg.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { barChart, type Panel } from '../lib/svg.js';
import { median, type Summary } from './stats.js';
import type { Metric, Side } from './types.js';

interface RoundRecord {
  round: number;
  error?: string;
  samples?: Record<string, number[]>;
  details?: Record<string, unknown>;
  peakRssMB?: number;
}
interface ContenderResult {
  label: string;
  side: Side;
  summary: Record<string, Summary>;
  peakRssMB?: number;
  rounds: RoundRecord[];
}
interface RatioResult extends Partial<Summary> {
  mmrt: string;
  other: string;
  metric: string;
  label: string;
  perRound: number[];
}
interface WorkloadResult {
  title: string;
  description: string;
  metrics: Metric[];
  rounds: number;
  warmup: number;
  iterations: number;
  contenders: Record<string, ContenderResult>;
  ratios: RatioResult[];
  elapsedS: number;
  run: string;
  cpu: string;
  logicalCores: number;
}
interface Results {
  date: string;
  machine: { cpu: string; logicalCores: number; memoryGiB: number; os: string };
  versions: Record<string, string | undefined>;
  workloads: Record<string, WorkloadResult>;
  elapsedS: number;
}

/** The issue's targets, checked against the latest results. */
const TARGETS: ReadonlyArray<{ workload: string; ratio: string; target: number; what: string }> = [
  {
    workload: 'embed-32',
    ratio: 'vs transformers.js at equal threads',
    target: 1.5,
    what: 'image embeddings, batch 32, equal threads',
  },
  {
    workload: 'embed-1',
    ratio: 'vs transformers.js at equal threads',
    target: 1.2,
    what: 'image embeddings, batch 1, equal threads',
  },
  {
    workload: 'zero-shot-1',
    ratio: 'vs transformers.js defaults',
    target: 4,
    what: 'zero-shot, 1 image per call, vs defaults',
  },
  {
    workload: 'zero-shot-64',
    ratio: 'vs transformers.js at equal threads',
    target: 1.5,
    what: 'zero-shot, 64 per call, equal threads',
  },
  {
    workload: 'preprocess-12mp',
    ratio: 'exact vs Pillow (target >= 0.77)',
    target: 1 / 1.3,
    what: '12 MP exact decode + resize vs Pillow (within 1.3x)',
  },
];

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

const f = (v: number | undefined, digits?: number) =>
  v === undefined || !Number.isFinite(v)
    ? '-'
    : v.toFixed(digits ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2));
const day = (iso: string) => iso.slice(0, 10);

function chart(name: string, w: WorkloadResult): string {
  const panels: Panel[] = w.metrics.map((m) => ({
    title: m.label,
    unit: m.unit,
    better: m.better,
    bars: Object.values(w.contenders)
      .filter((c) => c.summary[m.key])
      .map((c) => ({ label: c.label, side: c.side, ...c.summary[m.key]! })),
  }));
  const subtitle = `${day(w.run)} · ${w.cpu}, ${w.logicalCores} logical cores · ${w.rounds} rounds × ${w.iterations} iterations, fresh process each · median [min–max]`;
  return barChart(
    `${w.title} (${name})`,
    subtitle,
    panels.filter((p) => p.bars.length > 0),
  );
}

/** Median over rounds of a number in each round's details. */
function detail(c: ContenderResult | undefined, key: string): number | undefined {
  const xs = (c?.rounds ?? [])
    .map((r) => r.details?.[key])
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return xs.length ? median(xs) : undefined;
}

function workloadTable(name: string, w: WorkloadResult): string[] {
  const metrics = w.metrics;
  const head = ['contender', ...metrics.map((m) => `${m.label} (${m.unit})`), 'peak RSS (MB)'];
  const rows = Object.values(w.contenders).map((c) => [
    c.label,
    ...metrics.map((m) => {
      const s = c.summary[m.key];
      return s
        ? `**${f(s.median)}** [${f(s.min)}–${f(s.max)}]`
        : c.rounds.some((r) => r.error)
          ? 'failed'
          : '-';
    }),
    f(c.peakRssMB, 0),
  ]);
  const lines = [
    `#### ${w.title} (\`${name}\`)`,
    '',
    `${w.description} ${w.rounds} rounds × ${w.iterations} iterations, ${day(w.run)}.`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  const ratios = w.ratios.filter((r) => r.perRound.length);
  if (ratios.length) {
    lines.push(
      '',
      ratios
        .map(
          (r) => `mmrt ${r.label}: **${f(r.median)}x** (per round ${r.perRound.map((x) => f(x)).join(', ')})`,
        )
        .join('; ') + '.',
    );
  }
  lines.push('', `![${name}](bench/results/charts/${name}.svg)`, '');
  return lines;
}

function roofLines(results: Results): string[] {
  const roof = results.workloads.roof?.contenders.ort?.summary;
  if (!roof?.all) return [];
  const lines = [
    `Roof (ONNX Runtime MatMul 2048³, fp32): **${f(roof.one?.median)} GFLOP/s** at 1 thread, **${f(roof.all.median)} GFLOP/s** at ${results.workloads.roof!.logicalCores} threads. ` +
      'Encoders against it (FLOPs = 2 × multiply-adds of the vision tower, time = session run only; the roof beside each is measured in that contender’s own process right after its timed runs):',
    '',
    '| workload | contender | encoder ms / image | GFLOP/s | roof in its process (GFLOP/s) | of that roof |',
    '|---|---|---|---|---|---|',
  ];
  for (const name of ['embed-1', 'embed-32', 'embed-12mp']) {
    const w = results.workloads[name];
    if (!w) continue;
    for (const c of Object.values(w.contenders)) {
      const ms = detail(c, 'encoderMsPerImage');
      const flops = detail(c, 'flopsPerImage');
      if (ms === undefined || flops === undefined) continue;
      const g = flops / ms / 1e6;
      // The roof measured in the same child right after the encoder ran, else the roof workload's.
      const here = detail(c, 'roofGflops') ?? roof.all.median;
      lines.push(`| ${name} | ${c.label} | ${f(ms)} | ${f(g)} | ${f(here)} | ${f((100 * g) / here, 0)}% |`);
    }
  }
  return [...lines, ''];
}

function profileLines(results: Results): string[] {
  const p = results.workloads.profile?.contenders.mmrt?.rounds.find((r) => !r.error)?.details as
    | {
        stages: Record<string, Record<string, { msPerImage: number; cores: number }>>;
        ops: Record<
          string,
          { encoderGflops: number; operators?: Record<string, { ms: number; share: number }> }
        >;
      }
    | undefined;
  if (!p) return [];
  const batches = Object.keys(p.stages);
  const stages = Object.keys(p.stages[batches[0]!]!);
  const lines = [
    `#### Where the time goes (\`profile\`, mmrt, ${day(results.workloads.profile!.run)})`,
    '',
    'ms per image (cores busy) for 640x480 PNGs; each stage timed alone, then 64 images end to end at that batch size.',
    '',
    `| stage | ${batches.map((b) => `batch ${b.slice(1)}`).join(' | ')} |`,
    `|---|${batches.map(() => '---').join('|')}|`,
    ...stages.map(
      (s) =>
        `| ${s} | ${batches
          .map((b) => {
            const v = p.stages[b]![s];
            return v ? `${f(v.msPerImage)}${Number.isFinite(v.cores) ? ` (${f(v.cores)})` : ''}` : '-';
          })
          .join(' | ')} |`,
    ),
    `| encoder GFLOP/s | ${batches.map((b) => f(p.ops[b]?.encoderGflops)).join(' | ')} |`,
  ];
  for (const b of batches) {
    const ops = p.ops[b]?.operators;
    if (!ops) continue;
    const top = Object.entries(ops)
      .slice(0, 6)
      .map(([op, v]) => `${op} ${f(100 * v.share, 0)}%`)
      .join(', ');
    lines.push('', `ONNX Runtime profile at batch ${b.slice(1)}: ${top}.`);
  }
  return [...lines, ''];
}

function targetLines(results: Results): string[] {
  const rows = TARGETS.flatMap((t) => {
    const r = results.workloads[t.workload]?.ratios.find((x) => x.label === t.ratio);
    if (!r?.perRound.length) return [];
    const m = median(r.perRound);
    return [`| ${t.what} | ${f(t.target)}x | **${f(m)}x** | ${m >= t.target ? 'met' : 'missed'} |`];
  });
  if (!rows.length) return [];
  return ['| target | wanted | measured (median of rounds) | |', '|---|---|---|---|', ...rows, ''];
}

export function renderSection(results: Results): string {
  const names = Object.keys(results.workloads);
  const v = results.versions;
  const lines = [
    START,
    `_Generated by \`bench/report.ts\` from \`bench/results/latest.json\` — do not edit by hand. Latest run ${day(results.date)} on ${results.machine.cpu}, ${results.machine.logicalCores} logical cores, ${results.machine.memoryGiB} GiB (${results.machine.os}); Node ${v.node}, onnxruntime-node ${v['onnxruntime-node']}, @huggingface/transformers ${v['@huggingface/transformers']}, Pillow ${v.pillow ?? '-'}. Ratios above 1 mean mmrt is ahead._`,
    '',
    ...targetLines(results),
    ...roofLines(results),
    ...profileLines(results),
    ...names.filter((n) => n !== 'profile').flatMap((n) => workloadTable(n, results.workloads[n]!)),
    END,
  ];
  return lines.join('\n');
}

export async function writeReport(root: string): Promise<void> {
  const latest = join(root, 'bench', 'results', 'latest.json');
  if (!existsSync(latest)) throw new Error('no bench/results/latest.json yet: run `npm run bench` first');
  const results = JSON.parse(await readFile(latest, 'utf8')) as Results;
  const charts = join(root, 'bench', 'results', 'charts');
  await mkdir(charts, { recursive: true });
  for (const [name, w] of Object.entries(results.workloads)) {
    await writeFile(join(charts, `${name}.svg`), chart(name, w));
  }
  const readmePath = join(root, 'README.md');
  const readme = await readFile(readmePath, 'utf8');
  const section = renderSection(results);
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  const next =
    a >= 0 && b > a
      ? readme.slice(0, a) + section + readme.slice(b + END.length)
      : `${readme.trimEnd()}\n\n## Performance\n\n${section}\n`;
  await writeFile(readmePath, next);
  process.stderr.write(
    `README performance section and ${Object.keys(results.workloads).length} charts regenerated\n`,
  );
}
