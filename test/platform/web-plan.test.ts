/**
 * Plans for the browser's three platforms: what the web host is told to do differently from
 * Node (KV cache on the GPU, WebNN's static shapes and device, one run at a time, warm-ups).
 */
import { describe, expect, it } from 'vitest';
import type { HostCapabilities } from '../../src/host/capabilities.js';
import { loaderSpecFromPlan } from '../../src/loader/placement.js';
import { planModel } from '../../src/platform/plan.js';
import { fakePackage, webCaps } from './fixtures.js';

const withDevices = (devices: Array<'cpu' | 'gpu' | 'npu'>): HostCapabilities => {
  const caps = webCaps();
  return { ...caps, web: { ...caps.web!, webnnDevices: devices } };
};

describe('web plans', () => {
  it('keeps the decoder present.* outputs on the GPU under WebGPU, and only there', () => {
    const plan = planModel({ pkg: fakePackage('llava'), capabilities: webCaps(), platform: 'webgpu' });
    const decoder = plan.components.find((c) => c.name === 'decoder_model_merged')!;
    expect(decoder.session.preferredOutputLocation).toEqual(
      Object.fromEntries(
        [0, 1, 2, 3].flatMap((i) => [
          [`present.${i}.key`, 'gpu-buffer'],
          [`present.${i}.value`, 'gpu-buffer'],
        ]),
      ),
    );
    for (const c of plan.components.filter((c) => c.name !== 'decoder_model_merged'))
      expect(c.session.preferredOutputLocation).toBeUndefined();
    const wasm = planModel({ pkg: fakePackage('llava'), capabilities: webCaps(), platform: 'wasm' });
    expect(wasm.components.every((c) => c.session.preferredOutputLocation === undefined)).toBe(true);
  });

  it('pins every free dimension for WebNN: one image, one text padded to the maximum length', () => {
    const plan = planModel({
      pkg: fakePackage('clip'),
      capabilities: withDevices(['cpu']),
      platform: 'webnn',
    });
    const by = Object.fromEntries(plan.components.map((c) => [c.name, c.session.freeDimensionOverrides]));
    expect(by).toEqual({
      text_model: { batch_size: 1, sequence_length: 77 },
      vision_model: { batch_size: 1 },
    });
  });

  it('picks the WebNN device the browser could create (GPU, then NPU, then CPU) unless told', () => {
    const device = (caps: HostCapabilities, config?: unknown) =>
      planModel({ pkg: fakePackage('clip'), capabilities: caps, platform: 'webnn', config }).components[0]!
        .session.providers![0];
    expect(device(withDevices(['cpu', 'gpu']))).toEqual({ name: 'webnn', options: { deviceType: 'gpu' } });
    expect(device(withDevices(['cpu', 'npu']))).toEqual({ name: 'webnn', options: { deviceType: 'npu' } });
    expect(device(withDevices([]))).toEqual({ name: 'webnn', options: { deviceType: 'cpu' } });
    expect(device(withDevices(['gpu']), { webnn_device_type: 'cpu' })).toEqual({
      name: 'webnn',
      options: { deviceType: 'cpu' },
    });
  });

  it('never runs two encoders at once on onnxruntime-web ("Session already started"), and says so when asked', () => {
    for (const platform of ['wasm', 'webgpu', 'webnn'] as const) {
      const plan = planModel({ pkg: fakePackage('clip'), capabilities: webCaps(), platform });
      expect(plan.family.parallelEncoderExecution, platform).toBe(false);
    }
    const asked = planModel({
      pkg: fakePackage('clip'),
      capabilities: webCaps(),
      platform: 'wasm',
      config: { parallel_encoder_execution: true },
    });
    expect(asked.warnings.join('\n')).toMatch(/one session at a time per WebAssembly instance/);
  });

  it('turns shader_precompile into a warm-up at load on every web platform', () => {
    for (const platform of ['wasm', 'webgpu', 'webnn'] as const) {
      const on = planModel({
        pkg: fakePackage('clip'),
        capabilities: webCaps(),
        platform,
        config: { shader_precompile: true },
      });
      expect(
        on.components.every((c) => c.warmup),
        platform,
      ).toBe(true);
      const off = planModel({
        pkg: fakePackage('clip'),
        capabilities: webCaps(),
        platform,
        config: { shader_precompile: false },
      });
      expect(
        off.components.some((c) => c.warmup),
        platform,
      ).toBe(false);
    }
  });

  it("hands the loader the plan's ort.env (WASM threads only when cross-origin isolated)", () => {
    const isolated = planModel({
      pkg: fakePackage('clip'),
      capabilities: webCaps({ cores: 4 }),
      platform: 'wasm',
    });
    expect(loaderSpecFromPlan(isolated).ortEnv).toEqual({ wasm: { numThreads: 4, simd: true } });
    const not = planModel({
      pkg: fakePackage('clip'),
      capabilities: webCaps({ cores: 4, isolated: false }),
      platform: 'wasm',
    });
    expect(loaderSpecFromPlan(not).ortEnv).toEqual({ wasm: { numThreads: 1, simd: true } });
  });
});
