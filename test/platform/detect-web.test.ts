import { describe, expect, it } from 'vitest';
import { platformAvailability } from '../../src/platform/capabilities.js';
import { WASM_SIMD_PROBE, WASM_THREADS_PROBE, detectWeb } from '../../src/platform/detect-web.js';

function adapter(features: string[], info?: Record<string, string>) {
  return {
    features: new Set(features),
    limits: { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 27 },
    ...(info && { info }),
  };
}

const noWasm = { validate: () => false };

describe('browser detection (host-free, from plain objects)', () => {
  it('the WASM probes are valid modules using SIMD and threads (this Node has both)', () => {
    expect(WebAssembly.validate(WASM_SIMD_PROBE)).toBe(true);
    expect(WebAssembly.validate(WASM_THREADS_PROBE)).toBe(true);
    // The SIMD probe really depends on its SIMD opcodes: break the v128 result type and it fails.
    const broken = WASM_SIMD_PROBE.slice();
    broken[14] = 0x7f; // result i32 instead of v128
    expect(WebAssembly.validate(broken)).toBe(false);
  });

  it('reads the WebGPU adapter: vendor, shader-f16, buffer limits', async () => {
    const caps = await detectWeb({
      navigator: {
        gpu: {
          requestAdapter: async () =>
            adapter(['shader-f16', 'timestamp-query'], { vendor: 'nvidia', architecture: 'ampere' }),
        },
        ml: {
          createContext: async (o?: { deviceType?: string }) => {
            if (o?.deviceType === 'npu') throw new Error('no NPU');
            return {};
          },
        },
        hardwareConcurrency: 12,
        deviceMemory: 8,
        userAgent: 'Chrome/130',
        userAgentData: { platform: 'Windows' },
      },
      webAssembly: WebAssembly,
      crossOriginIsolated: true,
      ortVersion: '1.30.0',
    });
    expect(caps.host).toBe('web');
    expect(caps.gpus).toEqual([
      {
        vendor: 'nvidia',
        name: 'ampere',
        shaderF16: true,
        maxBufferSize: 2 ** 31,
        maxStorageBufferBindingSize: 2 ** 27,
      },
    ]);
    expect(caps.web).toEqual({
      webgpu: true,
      webnn: true,
      wasmSimd: true,
      wasmThreads: true,
      crossOriginIsolated: true,
      webnnDevices: ['cpu', 'gpu'],
    });
    expect(caps.providers.map((p) => [p.name, p.usable])).toEqual([
      ['webgpu', true],
      ['webnn', true],
      ['wasm', true],
    ]);
    expect(caps.cpu.logicalCores).toBe(12);
    expect(caps.memory.totalBytes).toBe(8 * 1024 ** 3);
    expect(caps.os).toBe('Windows');
    expect(platformAvailability(caps, 'webgpu').available).toBe(true);
    expect(platformAvailability(caps, 'cpu').available).toBe(false);
  });

  it('falls back to requestAdapterInfo() and sees a missing shader-f16', async () => {
    const caps = await detectWeb({
      navigator: {
        gpu: {
          requestAdapter: async () => ({
            features: new Set<string>(),
            limits: {},
            requestAdapterInfo: async () => ({ vendor: 'intel', description: 'Iris Xe' }),
          }),
        },
      },
      webAssembly: WebAssembly,
    });
    expect(caps.gpus[0]).toMatchObject({ vendor: 'intel', name: 'Iris Xe', shaderF16: false });
    expect(caps.web?.webnn).toBe(false);
    expect(caps.web?.crossOriginIsolated).toBe(false);
    expect(caps.providers.find((p) => p.name === 'webnn')?.reason).toMatch(/navigator\.ml is absent/);
  });

  it('reports no WebGPU when there is no adapter or navigator.gpu, and no wasm without SIMD', async () => {
    const none = await detectWeb({
      navigator: { gpu: { requestAdapter: async () => null } },
      webAssembly: noWasm,
    });
    expect(none.gpus).toEqual([]);
    expect(none.providers.find((p) => p.name === 'webgpu')).toMatchObject({
      usable: false,
      reason: expect.stringMatching(/no adapter/),
    });
    expect(none.providers.find((p) => p.name === 'wasm')).toMatchObject({
      usable: false,
      reason: expect.stringMatching(/SIMD/),
    });
    expect(none.web).toMatchObject({ wasmSimd: false, wasmThreads: false });
    const throwing = await detectWeb({
      navigator: {
        gpu: {
          requestAdapter: async () => {
            throw new Error('blocked');
          },
        },
      },
    });
    expect(throwing.providers[0]!.reason).toMatch(/requestAdapter\(\) failed: blocked/);
    const absent = await detectWeb({ navigator: {} });
    expect(absent.providers[0]!.reason).toMatch(/navigator\.gpu is absent/);
    expect(absent.cpu.logicalCores).toBe(1);
    expect(absent.memory.totalBytes).toBe(0);
  });

  it('counts WebNN only when an MLContext can be created (Chromium exposes navigator.ml without a backend)', async () => {
    const unsupported = async () => {
      throw new Error("Failed to execute 'createContext' on 'ML': WebNN is not supported on this platform.");
    };
    const caps = await detectWeb({
      navigator: { ml: { createContext: unsupported } },
      webAssembly: WebAssembly,
    });
    const webnn = caps.providers.find((p) => p.name === 'webnn')!;
    expect(webnn.usable).toBe(false);
    expect(webnn.reason).toMatch(
      /createContext failed for every device type .*not supported on this platform/,
    );
    expect(caps.web?.webnnDevices).toEqual([]);
  });
});
