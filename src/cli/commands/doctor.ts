import type { Command } from 'commander';
import { detectNode } from '../../node/detect.js';
import { type HostCapabilities, platformAvailability } from '../../platform/capabilities.js';
import {
  ARCHITECTURES,
  COMPATIBILITY,
  RATING_SCORE,
  type Rating,
  TABLE_PLATFORMS,
} from '../../platform/compatibility.js';
import { PLATFORM_TABLE, platformOfProvider } from '../../runtime/providers.js';
import { formatBytes, table } from '../format.js';

const RATING_TEXT: Readonly<Record<Rating, string>> = {
  high: 'High',
  medium: 'Medium',
  limited: 'Limited',
  none: 'None',
};

/** The compatibility table (models x platforms) beside what this machine can run. */
export function matrixText(caps: HostCapabilities): string {
  const avail = TABLE_PLATFORMS.map((p) => platformAvailability(caps, p));
  const mark = (i: number) => (avail[i]!.available ? '*' : '');
  const rows: string[][] = [
    ['model', ...TABLE_PLATFORMS.map((p, i) => `${p}${mark(i)}`), 'runs here (best first)'],
  ];
  for (const m of ARCHITECTURES) {
    const here = TABLE_PLATFORMS.filter((p, i) => avail[i]!.available && COMPATIBILITY[m][p] !== 'none')
      .sort((a, b) => RATING_SCORE[COMPATIBILITY[m][b]] - RATING_SCORE[COMPATIBILITY[m][a]])
      .map((p) => `${p} (${RATING_TEXT[COMPATIBILITY[m][p]]})`);
    rows.push([
      m,
      ...TABLE_PLATFORMS.map((p) => RATING_TEXT[COMPATIBILITY[m][p]]),
      here.join(', ') || 'nothing',
    ]);
  }
  rows.push(['usable here', ...avail.map((a) => (a.available ? 'yes' : 'no')), '']);
  const notes = avail.filter((a) => a.available).map((a) => `  ${a.platform}: ${a.detail}`);
  return [
    'How well each model architecture runs on each platform, and what this machine can run (* = usable here):',
    table(rows),
    '',
    'Usable platforms:',
    ...(notes.length ? notes : ['  none']),
  ].join('\n');
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'show what this machine offers: ONNX Runtime, execution providers (probed), CPU, memory, GPUs',
    )
    .option('--json', 'print one JSON object')
    .option(
      '--matrix',
      'print how well each model architecture runs on each platform, beside what this machine can run',
    )
    .action(async (opts: { json?: boolean; matrix?: boolean }) => {
      const caps = await detectNode();
      if (opts.matrix && opts.json) {
        const usable = TABLE_PLATFORMS.filter((p) => platformAvailability(caps, p).available);
        process.stdout.write(`${JSON.stringify({ compatibility: COMPATIBILITY, usable }, null, 2)}\n`);
        return;
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(caps, null, 2)}\n`);
        return;
      }
      if (opts.matrix) {
        process.stdout.write(`${matrixText(caps)}\n`);
        return;
      }
      const out: string[] = [];
      out.push(`mmrt doctor — ${caps.runtime}, ${caps.os} ${caps.arch}`);
      out.push(`ONNX Runtime: ${caps.ort.package} ${caps.ort.version}`);
      out.push(
        `CPU: ${caps.cpu.model}, ${caps.cpu.logicalCores} logical cores, SIMD: ${caps.cpu.simd.join(' ') || 'unknown'}`,
      );
      out.push(
        `Memory: ${formatBytes(caps.memory.totalBytes)} total, ${formatBytes(caps.memory.freeBytes)} free`,
      );
      out.push(
        `GPUs: ${caps.gpus.length ? caps.gpus.map((g) => `${g.name} (${formatBytes(g.memoryBytes)}, driver ${g.driver})`).join('; ') : 'none found (nvidia-smi absent or no NVIDIA GPU)'}`,
      );
      out.push('');
      out.push('Execution providers:');
      const rows: string[][] = [['provider', 'bundled', 'usable', 'note']];
      for (const p of caps.providers) {
        const platform = platformOfProvider(p.name);
        const note = p.usable
          ? `probe session ran in ${p.probeMs?.toFixed(1)} ms`
          : `${p.reason ?? ''}${platform ? ` — to get it: ${PLATFORM_TABLE[platform].howToGet}` : ''}`;
        rows.push([p.name, p.bundled ? 'yes' : 'no', p.usable ? 'yes' : 'no', note]);
      }
      out.push(table(rows));
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
