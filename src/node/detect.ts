/**
 * What this Node machine offers: ORT version, execution providers (probed, not just listed),
 * CPU and SIMD, memory, NVIDIA GPUs via nvidia-smi. Feeds `mmrt doctor` and the planner.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
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

/** Shared libraries a provider loads at session creation (onnxruntime-node installs them only with cuda12). */
const PROVIDER_LIBRARIES: Partial<Record<ExecutionProviderName, string>> = {
  cuda: 'onnxruntime_providers_cuda',
  tensorrt: 'onnxruntime_providers_tensorrt',
};

/** The folder holding onnxruntime-node's native binding and the provider libraries beside it. */
function ortBinaryDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const napi = join(dirname(pkg), 'bin', 'napi-v6', os.platform(), os.arch());
    return existsSync(napi) ? napi : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A provider whose shared library is not on disk cannot load, and trying makes ORT print its
 * own error to stderr on every start: say so without the attempt.
 */
function missingLibrary(name: ExecutionProviderName): string | undefined {
  if (name === 'webgpu') return missingGpuDevice();
  const lib = PROVIDER_LIBRARIES[name];
  const dir = lib ? ortBinaryDir() : undefined;
  if (!lib || !dir) return undefined;
  let present: boolean;
  try {
    present = readdirSync(dir).some((f) => f.includes(lib));
  } catch {
    return undefined; // cannot tell: let the probe decide
  }
  return present ? undefined : `${lib} is not installed in ${dir}`;
}

/**
 * Linux: Dawn (ORT's WebGPU) reaches a GPU through a DRM render node or the NVIDIA device
 * files. With neither, the best it could find is a software Vulkan rasterizer, slower than the
 * CPU provider and never what `auto` should pick; probing only makes Dawn print warnings.
 */
function missingGpuDevice(): string | undefined {
  if (os.platform() !== 'linux') return undefined;
  const has = (dir: string, prefix: string) => {
    try {
      return readdirSync(dir).some((f) => f.startsWith(prefix));
    } catch {
      return false;
    }
  };
  // /dev/dxg: WSL2's path to the Windows GPU driver.
  if (has('/dev/dri', 'renderD') || has('/dev', 'nvidia') || has('/dev', 'dxg')) return undefined;
  return 'no GPU device on this machine (no /dev/dri/renderD*, /dev/nvidia* or /dev/dxg)';
}

export async function probeProviders(): Promise<ProviderStatus[]> {
  const out: ProviderStatus[] = [];
  // One at a time: a GPU provider's first initialisation can be heavy, and order keeps output stable.
  for (const p of listedProviders()) {
    const missing = missingLibrary(p.name);
    out.push(
      missing
        ? { name: p.name, bundled: p.bundled, usable: false, reason: `not probed: ${missing}` }
        : await probeProvider(ort, p.name, p.bundled),
    );
  }
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
