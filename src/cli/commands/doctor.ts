import type { Command } from 'commander';
import { detectNode } from '../../node/detect.js';
import { PLATFORM_TABLE, platformOfProvider } from '../../runtime/providers.js';
import { formatBytes, table } from '../format.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'show what this machine offers: ONNX Runtime, execution providers (probed), CPU, memory, GPUs',
    )
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const caps = await detectNode();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(caps, null, 2)}\n`);
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
