/**
 * What this Node machine offers: ORT version, execution providers (probed, not just listed),
 * CPU and SIMD, memory, NVIDIA GPUs via nvidia-smi. Feeds `mmrt doctor` and the planner.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';
import type { GpuInfo, HostCapabilities, ProviderStatus } from '../platform/capabilities.js';
import { probeProvider } from '../runtime/probe.js';
import type { ExecutionProviderName } from '../runtime/providers.js';
import { ort, ortVersion } from './ort.js';

const run = promisify(execFile);

/** SIMD flags ONNX Runtime's CPU kernels care about. */
const SIMD_FLAGS = [
  'sse4_1',
  'sse4_2',
  'avx',
  'avx2',
  'fma',
  'f16c',
  'avx512f',
  'avx512bw',
  'avx512vnni',
  'avx_vnni',
  'amx_tile',
];
const ARM_FLAGS: Record<string, string> = {
  asimd: 'neon',
  asimddp: 'dotprod',
  fphp: 'fp16',
  sve: 'sve',
  i8mm: 'i8mm',
};

export async function detectSimd(): Promise<string[]> {
  try {
    const info = await readFile('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => /^(flags|Features)\s*:/.test(l)) ?? '';
    const flags = new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
    const x86 = SIMD_FLAGS.filter((f) => flags.has(f));
    const arm = Object.entries(ARM_FLAGS)
      .filter(([f]) => flags.has(f))
      .map(([, n]) => n);
    return [...x86, ...arm];
  } catch {
    // macOS/Windows: Apple silicon always has NEON; x64 we cannot tell without native code.
    return os.arch() === 'arm64' ? ['neon'] : [];
  }
}

export async function detectNvidiaGpus(): Promise<GpuInfo[]> {
  try {
    const { stdout } = await run(
      'nvidia-smi',
      ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits'],
      { timeout: 5000 },
    );
    return stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name = '', mem = '', driver = ''] = line.split(',').map((s) => s.trim());
        return { vendor: 'nvidia', name, memoryBytes: Number(mem) * 1024 * 1024, driver };
      });
  } catch {
    return [];
  }
}

/** Providers onnxruntime-node could carry, with whether this build bundles them. */
export function listedProviders(): Array<{ name: ExecutionProviderName; bundled: boolean }> {
  const list = ort.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  return list.map((b) => ({ name: b.name as ExecutionProviderName, bundled: b.bundled }));
}

export async function probeProviders(): Promise<ProviderStatus[]> {
  const out: ProviderStatus[] = [];
  // One at a time: a GPU provider's first initialisation can be heavy, and order keeps output stable.
  for (const p of listedProviders()) out.push(await probeProvider(ort, p.name, p.bundled));
  return out;
}

export async function detectNode(): Promise<HostCapabilities> {
  const [simd, gpus, providers] = await Promise.all([detectSimd(), detectNvidiaGpus(), probeProviders()]);
  const cpus = os.cpus();
  return {
    host: 'node',
    os: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    runtime: `node ${process.versions.node}`,
    ort: { package: 'onnxruntime-node', version: ortVersion() },
    cpu: {
      model: cpus[0]?.model.trim() ?? 'unknown',
      logicalCores: os.availableParallelism?.() ?? cpus.length,
      simd,
    },
    memory: { totalBytes: os.totalmem(), freeBytes: os.freemem() },
    gpus,
    providers,
  };
}
