/**
 * What a browser (or worker) offers, from objects passed in rather than read from globals, so
 * the core stays host-free and tests can hand in plain objects. The web adapter calls it with
 * `navigator`, `WebAssembly` and `crossOriginIsolated`.
 *
 * - WebGPU: an adapter from `navigator.gpu.requestAdapter()`; its vendor, the `shader-f16`
 *   feature (fp16 shaders) and the `maxBufferSize` / `maxStorageBufferBindingSize` limits
 *   (the largest weight tensor a single buffer can hold).
 * - WebNN: `navigator.ml` present and an MLContext created for at least one device type
 *   (Chromium exposes `navigator.ml` behind its flag even where no backend exists, and
 *   `createContext` then fails with "WebNN is not supported on this platform").
 * - WASM: SIMD and threads proven by validating two tiny modules that use them (the same
 *   probes as the wasm-feature-detect library); threads are only usable when the page is
 *   `crossOriginIsolated` (SharedArrayBuffer). onnxruntime-web ships only SIMD builds, so the
 *   wasm provider counts as usable only with SIMD.
 */
import type { GpuInfo, HostCapabilities, ProviderStatus } from './capabilities.js';

export interface GpuAdapterLike {
  readonly features?: { has(name: string): boolean };
  readonly limits?: { readonly maxBufferSize?: number; readonly maxStorageBufferBindingSize?: number };
  /** Chrome 114+: `adapter.info`. */
  readonly info?: {
    readonly vendor?: string;
    readonly architecture?: string;
    readonly device?: string;
    readonly description?: string;
  };
  /** Older Chrome: a method instead of the property. */
  requestAdapterInfo?(): Promise<{
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
  }>;
}

export interface NavigatorLike {
  readonly gpu?: { requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null> };
  readonly ml?: { createContext?(options?: { deviceType?: string }): Promise<unknown> } | null;
  readonly hardwareConcurrency?: number;
  /** GiB, rounded by the browser (Chrome caps it at 8). */
  readonly deviceMemory?: number;
  readonly userAgent?: string;
  readonly platform?: string;
  readonly userAgentData?: { readonly platform?: string };
}

export interface WebDetectInput {
  readonly navigator: NavigatorLike;
  readonly webAssembly?: { validate(bytes: Uint8Array<ArrayBuffer>): boolean };
  readonly crossOriginIsolated?: boolean;
  /** onnxruntime-web's version, for the report. */
  readonly ortVersion?: string;
}

/** (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)) */
export const WASM_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98,
  11,
]);
/** (module (memory 1 1 shared) (func i32.const 0 i32.atomic.load drop)) */
export const WASM_THREADS_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254,
  16, 2, 0, 26, 11,
]);

function validates(wasm: WebDetectInput['webAssembly'], bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return !!wasm?.validate(bytes);
  } catch {
    return false;
  }
}

async function detectGpu(nav: NavigatorLike): Promise<{ gpu?: GpuInfo; reason?: string }> {
  if (!nav.gpu) return { reason: 'navigator.gpu is absent (no WebGPU in this browser or context)' };
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await nav.gpu.requestAdapter();
  } catch (e) {
    return { reason: `navigator.gpu.requestAdapter() failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!adapter)
    return { reason: 'navigator.gpu.requestAdapter() returned no adapter (GPU blocklisted or absent)' };
  let info = adapter.info;
  if (!info && adapter.requestAdapterInfo) info = await adapter.requestAdapterInfo().catch(() => undefined);
  const name = [info?.architecture, info?.device, info?.description].filter(Boolean).join(' ');
  return {
    gpu: {
      vendor: info?.vendor || 'unknown',
      name: name || 'WebGPU adapter',
      shaderF16: adapter.features?.has('shader-f16') ?? false,
      ...(adapter.limits?.maxBufferSize !== undefined && { maxBufferSize: adapter.limits.maxBufferSize }),
      ...(adapter.limits?.maxStorageBufferBindingSize !== undefined && {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      }),
    },
  };
}

const WEBNN_DEVICES = ['cpu', 'gpu', 'npu'] as const;

/** The WebNN device types an MLContext can be created for, or why none can. */
async function detectWebnn(
  nav: NavigatorLike,
): Promise<{ devices: ('cpu' | 'gpu' | 'npu')[]; reason?: string }> {
  const ml = nav.ml;
  if (ml === undefined || ml === null) {
    return { devices: [], reason: 'navigator.ml is absent (WebNN not enabled in this browser)' };
  }
  if (typeof ml.createContext !== 'function')
    return { devices: [], reason: 'navigator.ml has no createContext' };
  const devices: ('cpu' | 'gpu' | 'npu')[] = [];
  const errors: string[] = [];
  for (const deviceType of WEBNN_DEVICES) {
    try {
      const context = (await ml.createContext({ deviceType })) as { destroy?: () => void } | undefined;
      context?.destroy?.();
      devices.push(deviceType);
    } catch (e) {
      errors.push(`${deviceType}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return devices.length > 0
    ? { devices }
    : { devices, reason: `navigator.ml.createContext failed for every device type (${errors.join('; ')})` };
}

export async function detectWeb(input: WebDetectInput): Promise<HostCapabilities> {
  const nav = input.navigator;
  const wasmSimd = validates(input.webAssembly, WASM_SIMD_PROBE);
  const wasmThreads = validates(input.webAssembly, WASM_THREADS_PROBE);
  const crossOriginIsolated = input.crossOriginIsolated === true;
  const { gpu, reason: gpuReason } = await detectGpu(nav);
  const nn = await detectWebnn(nav);
  const webnn = nn.devices.length > 0;
  const providers: ProviderStatus[] = [
    { name: 'webgpu', bundled: true, usable: !!gpu, ...(gpuReason && { reason: gpuReason }) },
    {
      name: 'webnn',
      bundled: true,
      usable: webnn,
      ...(nn.reason && { reason: nn.reason }),
    },
    {
      name: 'wasm',
      bundled: true,
      usable: wasmSimd,
      ...(!wasmSimd && {
        reason: 'WebAssembly SIMD is unavailable, and onnxruntime-web ships only SIMD builds',
      }),
    },
  ];
  return {
    host: 'web',
    os: nav.userAgentData?.platform || nav.platform || 'unknown',
    arch: 'unknown',
    runtime: nav.userAgent ?? 'unknown browser',
    ort: { package: 'onnxruntime-web', version: input.ortVersion ?? 'unknown' },
    cpu: {
      model: 'unknown',
      logicalCores: nav.hardwareConcurrency && nav.hardwareConcurrency > 0 ? nav.hardwareConcurrency : 1,
      simd: wasmSimd ? ['wasm-simd128'] : [],
    },
    // 0 = unknown: browsers without navigator.deviceMemory do not say.
    memory: { totalBytes: nav.deviceMemory ? nav.deviceMemory * 1024 ** 3 : 0 },
    gpus: gpu ? [gpu] : [],
    providers,
    web: { webgpu: !!gpu, webnn, wasmSimd, wasmThreads, crossOriginIsolated, webnnDevices: nn.devices },
  };
}
