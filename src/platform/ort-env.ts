/**
 * Settings the web host applies to `ort.env` before it creates sessions: WASM threads and SIMD
 * (onnxruntime-web also runs the ops WebGPU and WebNN lack on its WASM kernels, so these matter
 * on all three web platforms) and the WebGPU adapter's power preference.
 */
import type { PlatformName } from '../runtime/providers.js';
import { type HostCapabilities, ortPackageFor } from './capabilities.js';
import type { PlatformConfig } from './config-keys.js';
import type { OrtEnvPlan } from './plan-types.js';

export function ortEnvFor(
  platform: PlatformName,
  s: PlatformConfig,
  caps: HostCapabilities,
  warnings: string[],
): OrtEnvPlan {
  if (ortPackageFor(caps, platform) !== 'onnxruntime-web') return {};
  const isolated = caps.web?.crossOriginIsolated ?? false;
  const threadsOk = isolated && (caps.web?.wasmThreads ?? true);
  if (s.useWasmThreads && !threadsOk) {
    warnings.push(
      'use_wasm_threads: WASM threads need a cross-origin-isolated page (COOP/COEP headers) with SharedArrayBuffer; running single-threaded',
    );
  }
  if (s.useSimd === false) {
    warnings.push(
      'use_simd=false has no effect: onnxruntime-web ships only SIMD builds (ort-wasm-simd-threaded.*)',
    );
  }
  const numThreads = s.useWasmThreads === false || !threadsOk ? 1 : (s.numThreads ?? caps.cpu.logicalCores);
  return {
    wasm: { numThreads, simd: s.useSimd !== false },
    ...(platform === 'webgpu' &&
      s.powerEfficient !== undefined && {
        webgpu: {
          powerPreference: s.powerEfficient ? ('low-power' as const) : ('high-performance' as const),
        },
      }),
  };
}
