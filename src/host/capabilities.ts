/**
 * What a host offers, as its adapter detects it (`Host.detect`: `src/node/detect.ts`, the web
 * host's probe). The planner reads this shape, whoever filled it.
 */
import type { ExecutionProviderName } from '../runtime/providers.js';

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
    /** WebNN device types whose `navigator.ml.createContext` succeeded. */
    readonly webnnDevices?: readonly ('cpu' | 'gpu' | 'npu')[];
  };
}
