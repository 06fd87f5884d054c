/**
 * One measurement in a fresh process: `node --import tsx bench/suite/child.ts <json>` runs one
 * contender of one workload (set-up, warm-up, timed iterations) and writes a `ChildReport` to the
 * file named in the job. Nothing from an earlier measurement (sessions, arenas, JIT state, caches
 * in memory) survives into it.
 */
import { writeFileSync } from 'node:fs';
import { isPython, type ChildContext, type ChildReport } from './types.js';
import { workload } from '../workloads/index.js';

export interface ChildJob {
  readonly workload: string;
  /** A contender's key, or `__prime` for the workload's untimed preparation. */
  readonly contender: string;
  readonly context: Omit<ChildContext, 'log'>;
  readonly out: string;
}

const job = JSON.parse(process.argv[2]!) as ChildJob;
const w = workload(job.workload);
if (!w) throw new Error(`unknown workload ${job.workload}`);
const ctx: ChildContext = { ...job.context, log: (m) => process.stderr.write(`${m}\n`) };
const c0 = process.cpuUsage();
const t0 = performance.now();
if (job.contender === '__prime') {
  await w.prime?.(ctx);
  writeFileSync(job.out, JSON.stringify({ samples: {}, peakRssMB: 0, wallMs: 0, cores: 0 }));
} else {
  const contender = w.contenders[job.contender];
  if (!contender || isPython(contender))
    throw new Error(`${job.contender} is not a Node contender of ${w.name}`);
  const measured = await contender.measure(ctx);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const report: ChildReport = {
    ...measured,
    // resourceUsage().maxRSS is in KiB: the process's peak, model loading included.
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    wallMs,
    cores: (cpu.user + cpu.system) / 1000 / wallMs,
  };
  writeFileSync(job.out, JSON.stringify(report));
}
// ORT and sharp keep native threads alive; the measurement is written, so leave now.
process.exit(0);
