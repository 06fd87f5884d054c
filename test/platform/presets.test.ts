import { describe, expect, it } from 'vitest';
import type { Precision } from '../../src/package/precision.js';
import type { HostCapabilities } from '../../src/platform/capabilities.js';
import { normalizeConfig } from '../../src/platform/config.js';
import type { PlatformPlan } from '../../src/platform/plan-types.js';
import { planForPlatform } from '../../src/platform/plan.js';
import { RECOMMENDED_CONFIGS, presetById } from '../../src/platform/presets.js';
import { fakePackage, type ModelFamily, nodeCaps, webCaps } from './fixtures.js';

interface Expectation {
  readonly family: ModelFamily;
  readonly precisions: Readonly<Record<string, Precision>>;
  readonly check?: (plan: PlatformPlan) => void;
}

const option = (plan: PlatformPlan, component: string, key: string) =>
  plan.components.find((c) => c.name === component)!.providers[0]!.options?.[key];

/** What each brief configuration must turn into on a package that has every variant. */
const EXPECTED: Readonly<Record<string, Expectation>> = {
  'cuda-clip': {
    family: 'clip',
    precisions: { text_model: 'fp16', vision_model: 'fp16' },
    check: (p) => {
      expect(p.family).toEqual({ batchSize: 32, parallelEncoderExecution: true });
      expect(option(p, 'vision_model', 'cudnn_conv_algo_search')).toBe('EXHAUSTIVE');
      expect(p.components[0]!.session.graphOptimizationLevel).toBe('all');
    },
  },
  'cuda-llava': {
    family: 'llava',
    precisions: { vision_encoder: 'fp16', embed_tokens: 'q8', decoder_model_merged: 'q8' },
    // The preset asks for 2048 positions; the test model has 1024, so the plan clamps (and says so).
    check: (p) => {
      expect(p.generation).toEqual({ kvCache: true, maxLength: 1024 });
      expect(p.settings.kvCacheMaxLength?.key).toMatch(/clamped from 2048, preset:cuda-llava/);
    },
  },
  'cuda-blip2': {
    family: 'blip2',
    precisions: { vision_model: 'fp16', qformer: 'fp16', embed_tokens: 'fp16', decoder_model_merged: 'fp16' },
    check: (p) => expect(p.family.batchSize).toBe(4),
  },
  'rocm-clip': {
    family: 'clip',
    precisions: { text_model: 'fp16', vision_model: 'fp16' },
    check: (p) => {
      expect(p.family.batchSize).toBe(16);
      expect(p.components[0]!.providers.map((x) => x.name)).toEqual(['migraphx', 'rocm']);
    },
  },
  'rocm-blip': {
    family: 'blip',
    precisions: { vision_model: 'fp16', text_encoder: 'fp16', text_decoder_model_merged: 'fp16' },
    // BLIP's decoder reads the vision output: the brief's parallel_encoder_execution does nothing there.
    check: (p) => {
      expect(p.family.parallelEncoderExecution).toBe(false);
      expect(p.settings.parallelEncoderExecution).toMatchObject({
        value: true,
        source: 'preset:rocm-blip',
        applies: false,
      });
    },
  },
  'mps-clip': {
    family: 'clip',
    precisions: { text_model: 'fp16', vision_model: 'fp16' },
    check: (p) => {
      expect(p.components[0]!.providers[0]).toEqual({
        name: 'coreml',
        options: { ModelFormat: 'MLProgram', MLComputeUnits: 'CPUAndNeuralEngine' },
      });
      expect(p.components[0]!.session.providers).toEqual([
        { name: 'coreml', options: { coreMlFlags: 0x10 } },
      ]);
    },
  },
  'mps-llava': {
    family: 'llava',
    precisions: { vision_encoder: 'fp16', embed_tokens: 'q8', decoder_model_merged: 'q8' },
    check: (p) => expect(p.generation?.maxLength).toBe(512),
  },
  'qualcomm-clip': {
    family: 'clip',
    precisions: { text_model: 'q8', vision_model: 'q8' },
    check: (p) => {
      expect(p.components.find((c) => c.name === 'vision_model')!.providers[0]!.options).toEqual({
        backend_path: 'libQnnHtp.so',
        htp_performance_mode: 'power_saver',
        htp_graph_finalization_optimization_mode: '3',
      });
      expect(option(p, 'text_model', 'htp_graph_finalization_optimization_mode')).toBeUndefined();
    },
  },
  // The fake BLIP package is the VQA layout (its first): the question encoder follows text_precision too.
  'qualcomm-blip': {
    family: 'blip',
    precisions: { vision_model: 'q8', text_encoder: 'q8', text_decoder_model_merged: 'q8' },
  },
  'webnn-clip': {
    family: 'clip',
    precisions: { text_model: 'fp16', vision_model: 'fp16' },
    check: (p) => {
      expect(p.ortEnv.wasm).toEqual({ numThreads: 8, simd: true });
      expect(p.components[0]!.providers[0]!.options).toEqual({ deviceType: 'cpu' });
    },
  },
  'webnn-blip': {
    family: 'blip',
    precisions: { vision_model: 'fp16', text_encoder: 'fp16', text_decoder_model_merged: 'fp16' },
    check: (p) =>
      expect(p.loading).toMatchObject({
        progressive: true,
        order: ['vision_model', 'text_encoder', 'text_decoder_model_merged'],
      }),
  },
  'webgpu-clip': {
    family: 'clip',
    precisions: { text_model: 'fp16', vision_model: 'fp16' },
    check: (p) => {
      expect(p.loading).toMatchObject({ parallel: true, warmup: true });
      expect(p.components[0]!.session.freeDimensionOverrides).toEqual({ batch_size: 1 });
      expect(p.components[0]!.session.providers).toEqual([
        { name: 'webgpu', options: { preferredLayout: 'NHWC' } },
      ]);
    },
  },
  'webgpu-llava': {
    family: 'llava',
    precisions: { vision_encoder: 'q8', embed_tokens: 'q4', decoder_model_merged: 'q4' },
    check: (p) => {
      expect(p.components[0]!.session.enableCpuMemArena).toBe(false);
      expect(p.loading.lazy).toEqual(['embed_tokens', 'decoder_model_merged']);
    },
  },
  'webgpu-xclip': {
    family: 'xclip',
    precisions: { text_model: 'fp16', vision_model: 'fp16', prompts_generator: 'fp16' },
    check: (p) => expect(p.video).toEqual({ frames: 4 }),
  },
  'webgpu-llava-loader': {
    family: 'llava',
    precisions: { vision_encoder: 'q8', embed_tokens: 'q4', decoder_model_merged: 'q4' },
    check: (p) => {
      expect(p.loading.order).toEqual(['vision_encoder']);
      expect(p.components.find((c) => c.name === 'decoder_model_merged')).toMatchObject({
        loadStrategy: 'lazy',
        loadSource: 'preset:webgpu-llava-loader (language_model.loadStrategy)',
      });
    },
  },
};

function capsFor(platform: string): HostCapabilities {
  return ['webnn', 'webgpu', 'wasm'].includes(platform)
    ? webCaps()
    : nodeCaps(['cpu', 'cuda', 'coreml', 'qnn']);
}

function precisions(plan: PlatformPlan): Record<string, Precision> {
  return Object.fromEntries(plan.components.map((c) => [c.name, c.precision]));
}

describe('the brief configurations as presets', () => {
  it('has an expectation for every preset', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(RECOMMENDED_CONFIGS.map((p) => p.id).sort());
  });

  for (const preset of RECOMMENDED_CONFIGS) {
    it(`${preset.id}: "${preset.title}" resolves to a plan on ${preset.platform}`, () => {
      const exp = EXPECTED[preset.id]!;
      const pkg = fakePackage(exp.family);
      const plan = planForPlatform(pkg, capsFor(preset.platform), preset.platform, normalizeConfig({}));
      expect(plan.presets).toContain(preset.id);
      expect(precisions(plan)).toEqual(exp.precisions);
      exp.check?.(plan);
    });
  }

  it('gives the same precisions when the user passes a preset config themselves, and says the user set them', () => {
    for (const id of ['cuda-llava', 'qualcomm-blip', 'webgpu-xclip']) {
      const preset = presetById(id)!;
      const exp = EXPECTED[id]!;
      // cpu has no brief presets, so only the user's config decides the precisions.
      // Without the preset's KV-cache length: as the user's own value, 2048 positions over this
      // test model's 1024 would be refused at planning (test/platform/plan-time.test.ts).
      const plan = planForPlatform(
        fakePackage(exp.family),
        nodeCaps(),
        'cpu',
        normalizeConfig({ ...preset.config, kvCacheMaxLength: undefined }),
      );
      expect(precisions(plan), id).toEqual(exp.precisions);
      expect(plan.components.every((c) => c.precisionChoice.source === 'user')).toBe(true);
    }
  });
});
