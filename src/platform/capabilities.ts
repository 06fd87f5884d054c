/**
 * What a host offers, as detected by its adapter (`src/node/detect.ts`, `src/web/detect.ts`).
 * Host-free: the planner reads this shape, whoever filled it.
 */
import {
  type ExecutionProviderName,
  type OrtPackage,
  PLATFORM_TABLE,
  type PlatformName,
} from '../runtime/providers.js';

export interface ProviderStatus {
  readonly name: ExecutionProviderName;
  /** Compiled into (or shipped with) the ORT package in use. */
  readonly bundled: boolean;
  /** A probe session was created and ran on it. */
  readonly usable: boolean;
  /** Why it is not usable, when it is not. */
  readonly reason?: string;
  readonly probeMs?: number;
}

export interface GpuInfo {
  readonly vendor: string;
  readonly name: string;
  readonly memoryBytes?: number;
  readonly driver?: string;
  /** WebGPU only. */
  readonly shaderF16?: boolean;
  readonly maxBufferSize?: number;
  readonly maxStorageBufferBindingSize?: number;
}

export interface HostCapabilities {
  readonly host: 'node' | 'web';
  readonly os: string;
  readonly arch: string;
  readonly runtime: string;
  readonly ort: { readonly package: 'onnxruntime-node' | 'onnxruntime-web'; readonly version: string };
  readonly cpu: {
    readonly model: string;
    readonly logicalCores: number;
    readonly simd: readonly string[];
  };
  readonly memory: { readonly totalBytes: number; readonly freeBytes?: number };
  readonly gpus: readonly GpuInfo[];
  readonly providers: readonly ProviderStatus[];
  /** Browser only. */
  readonly web?: {
    readonly webgpu: boolean;
    readonly webnn: boolean;
    readonly wasmSimd: boolean;
    readonly wasmThreads: boolean;
    readonly crossOriginIsolated: boolean;
  };
}

export function usableProviders(caps: HostCapabilities): ExecutionProviderName[] {
  return caps.providers.filter((p) => p.usable).map((p) => p.name);
}

export interface PlatformAvailability {
  readonly platform: PlatformName;
  /** A provider of the platform was probed and ran here. */
  readonly available: boolean;
  /** Which provider would run it, or why none can. */
  readonly detail: string;
}

/** Whether this host can run a platform, from the probed provider list. */
export function platformAvailability(caps: HostCapabilities, platform: PlatformName): PlatformAvailability {
  const info = PLATFORM_TABLE[platform];
  if (!info.hosts.includes(caps.host)) {
    return {
      platform,
      available: false,
      detail: `${platform} does not exist on a ${caps.host} host (${info.howToGet})`,
    };
  }
  const statuses = caps.providers.filter((p) => info.providers.includes(p.name));
  const usable = statuses.find((p) => p.usable);
  if (usable) return { platform, available: true, detail: `${usable.name} provider probed and ran` };
  const why = statuses.map((s) => `${s.name}: ${s.reason ?? 'not usable'}`).join('; ');
  return {
    platform,
    available: false,
    detail: why || `this ${caps.ort.package} build has no ${info.providers.join('/')} provider`,
  };
}

/** The ORT package that runs `platform` on this host. */
export function ortPackageFor(caps: HostCapabilities, platform: PlatformName): OrtPackage {
  if (caps.host === 'web') return 'onnxruntime-web';
  return PLATFORM_TABLE[platform].packages.includes('onnxruntime-node')
    ? 'onnxruntime-node'
    : 'onnxruntime-web';
}
