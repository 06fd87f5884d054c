import { FAMILIES } from '../../src/families/registry.js';
import { describe, expect, it } from 'vitest';
import { ConfigError, ModelPackageError, PlatformError } from '../../src/errors.js';
import type { HostCapabilities } from '../../src/platform/capabilities.js';
import { explainPlan, explainPlanJson } from '../../src/platform/explain.js';
import type { ModelPlan } from '../../src/platform/plan-types.js';
import { type PlanRequest, planModel } from '../../src/platform/plan.js';
import { MiB, fakePackage, nodeCaps, webCaps } from './fixtures.js';

function plan(req: Partial<PlanRequest> & Pick<PlanRequest, 'pkg'>): ModelPlan {
  return planModel({ capabilities: nodeCaps(), platform: 'cpu', families: FAMILIES, ...req });
}

function thrown(fn: () => unknown): Error & { code: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code: string; details: Record<string, unknown> };
  }
  throw new Error('expected an error');
}

const comp = (p: ModelPlan, name: string) => p.components.find((c) => c.name === name)!;

describe('planModel: family defaults', () => {
  const SPIN_OFF = { session: { intra_op: { allow_spinning: '0' } } };

  it('turns ORT thread spinning off for dual encoders (their sessions alternate), unless the user says', () => {
    const clip = plan({ pkg: fakePackage('clip') });
    expect(clip.settings.threadSpinning).toMatchObject({ value: false, source: 'default:clip' });
    for (const c of clip.components) expect(c.session.extra).toEqual(SPIN_OFF);
    const on = plan({ pkg: fakePackage('clip'), config: { thread_spinning: true } });
    for (const c of on.components) expect(c.session.extra).toBeUndefined();
    const llava = plan({ pkg: fakePackage('llava') });
    for (const c of llava.components) expect(c.session.extra).toBeUndefined();
  });

  it("creates a chat model's language model on first use, and loads components concurrently", () => {
    const p = plan({ pkg: fakePackage('llava') });
    expect(p.loading.lazy).toEqual(['embed_tokens', 'decoder_model_merged']);
    expect(p.loading.parallel).toBe(true);
    expect(comp(p, 'decoder_model_merged').loadSource).toContain('default:llava');
    const blip = plan({ pkg: fakePackage('blip') });
    expect(blip.loading.lazy).toEqual([]);
  });
});

describe('planModel: where settings come from', () => {
  it('layers presets < transformers.js_config < user, recording each source', () => {
    const pkg = fakePackage('llava', {
      transformersJsConfig: { dtype: { decoder_model_merged: 'q4' }, device: 'webgpu' },
    });
    const p = plan({ pkg, platform: 'cuda', capabilities: nodeCaps(['cpu', 'cuda']) });
    expect(comp(p, 'vision_encoder')).toMatchObject({
      precision: 'fp16',
      precisionChoice: { asked: 'fp16', source: 'preset:cuda-llava', key: 'visionPrecision' },
    });
    expect(comp(p, 'embed_tokens').precisionChoice).toMatchObject({
      asked: 'int8',
      source: 'preset:cuda-llava',
    });
    expect(comp(p, 'embed_tokens').precision).toBe('q8');
    expect(comp(p, 'decoder_model_merged')).toMatchObject({
      precision: 'q4',
      precisionChoice: { source: 'model', key: 'transformers.js_config.dtype.decoder_model_merged' },
    });
    expect(p.settings.batchSize).toEqual({
      value: 1,
      source: 'preset:cuda-llava',
      key: 'batchSize',
      applies: true,
    });
    // The preset's 2048 positions are more than this model has: clamped at planning, and said.
    expect(p.settings.kvCacheMaxLength).toMatchObject({ value: 1024, source: 'model' });
    expect(p.settings.kvCacheMaxLength?.key).toMatch(/clamped from 2048, preset:cuda-llava/);

    // The user's general precision beats every lower layer's specific one.
    const u = plan({ pkg, platform: 'cuda', config: { precision: 'fp32', batch_size: 2 } });
    expect(u.components.map((c) => [c.precision, c.precisionChoice.source])).toEqual([
      ['fp32', 'user'],
      ['fp32', 'user'],
      ['fp32', 'user'],
    ]);
    expect(u.settings.batchSize).toMatchObject({ value: 2, source: 'user', key: 'batch_size' });
    // And a specific user key beats the user's general one.
    const v = plan({ pkg, platform: 'cuda', config: { precision: 'fp32', llm_precision: 'int4' } });
    expect(v.components.map((c) => c.precision)).toEqual(['fp32', 'q4', 'q4']);
  });

  it('uses the package max length for the KV cache unless told, and says so', () => {
    const p = plan({ pkg: fakePackage('llava') });
    expect(p.generation).toEqual({ kvCache: true, maxLength: 1024 });
    expect(p.settings.kvCacheMaxLength).toMatchObject({
      source: 'model',
      key: 'text_config.max_position_embeddings',
    });
  });

  it('sets intraOpNumThreads to the machine cores on cpu, or to num_threads', () => {
    const p = plan({ pkg: fakePackage('clip'), capabilities: nodeCaps(['cpu'], 6) });
    expect(p.components.map((c) => c.session.intraOpNumThreads)).toEqual([6, 6]);
    expect(p.settings.intraOpNumThreads).toMatchObject({ value: 6, source: 'detected' });
    const q = plan({ pkg: fakePackage('clip'), config: { num_threads: 1 } });
    expect(q.components[0]!.session).toMatchObject({
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    expect(q.settings.intraOpNumThreads).toMatchObject({ value: 1, source: 'user', key: 'num_threads' });
  });
});

describe('planModel: precision variants', () => {
  it('maps int8 to q8, then int8/uint8; int4 to q4, then q4f16/bnb4', () => {
    const all = plan({ pkg: fakePackage('clip'), config: { precision: 'int8' } });
    expect(all.components.map((c) => c.file)).toEqual([
      'onnx/text_model_quantized.onnx',
      'onnx/vision_model_quantized.onnx',
    ]);
    const noQ8 = plan({
      pkg: fakePackage('clip', { variants: ['fp32', 'uint8', 'int8'] }),
      config: { precision: 'int8' },
    });
    expect(noQ8.components.map((c) => c.precision)).toEqual(['int8', 'int8']);
    expect(noQ8.warnings.join()).not.toMatch(/fallback/);
    const q4 = plan({
      pkg: fakePackage('clip', { variants: ['fp32', 'q4f16', 'bnb4'] }),
      config: { precision: 'int4' },
    });
    expect(q4.components.map((c) => c.precision)).toEqual(['q4f16', 'q4f16']);
  });

  it('falls back along the declared order with a warning when the wanted variant is missing', () => {
    const p = plan({ pkg: fakePackage('clip', { variants: ['fp32', 'q8'] }), config: { precision: 'fp16' } });
    expect(p.components.map((c) => [c.precision, c.precisionChoice.how])).toEqual([
      ['fp32', 'fallback'],
      ['fp32', 'fallback'],
    ]);
    expect(p.warnings).toContain(
      '"vision_model" has no fp16 variant (onnx/vision_model_fp16.onnx); using fp32 (onnx/vision_model.onnx), the declared fallback for fp16 [precision from user]',
    );
  });

  it('errors MODEL_VARIANT_MISSING when a user asks for what the package cannot give', () => {
    const pkg = fakePackage('clip', { variants: ['q8', 'q4'] });
    const e = thrown(() => plan({ pkg, config: { vision_precision: 'fp32' } }));
    expect(e).toBeInstanceOf(ModelPackageError);
    expect(e.code).toBe('MODEL_VARIANT_MISSING');
    expect(e.message).toBe(
      '"vision_model" has no variant acceptable for fp32 (vision_precision from user): wanted fp32, then fp16; the package has q8, q4',
    );
    expect(e.details).toMatchObject({ value: 'fp32', component: 'vision_model', valid: ['q8', 'q4'] });
  });

  it("treats a preset's precision as a recommendation: any variant the platform runs, with a warning", () => {
    const p = plan({ pkg: fakePackage('clip', { variants: ['q8', 'q4'] }), platform: 'cuda' });
    expect(p.components.map((c) => [c.precision, c.precisionChoice.how])).toEqual([
      ['q8', 'default'],
      ['q8', 'default'],
    ]);
    expect(p.warnings.join('\n')).toMatch(
      /"text_model" has no fp16 variant \(preset:cuda-clip recommends it\); using q8/,
    );
  });

  it('runs fp32 instead of fp16 (and q4 instead of q4f16) on WebGPU without shader-f16', () => {
    const caps = webCaps({ shaderF16: false });
    const p = planModel({ pkg: fakePackage('clip'), capabilities: caps, platform: 'webgpu' });
    expect(p.components.map((c) => [c.precision, c.precisionChoice.how])).toEqual([
      ['fp32', 'platform'],
      ['fp32', 'platform'],
    ]);
    expect(p.warnings.join('\n')).toMatch(
      /fp16 needs the WebGPU adapter feature shader-f16, which this adapter lacks; using fp32/,
    );
    const q = planModel({
      pkg: fakePackage('clip'),
      capabilities: caps,
      platform: 'webgpu',
      config: { precision: 'q4f16' },
    });
    expect(q.components.map((c) => c.precision)).toEqual(['q4', 'q4']);
    const ok = planModel({
      pkg: fakePackage('clip'),
      capabilities: webCaps({ shaderF16: true }),
      platform: 'webgpu',
    });
    expect(ok.components.map((c) => c.precision)).toEqual(['fp16', 'fp16']);
  });

  it('runs fp16 on cpu when asked, warning that it is slow there', () => {
    const p = plan({ pkg: fakePackage('clip'), config: { precision: 'fp16' } });
    expect(p.components.map((c) => c.precision)).toEqual(['fp16', 'fp16']);
    expect(p.warnings.join('\n')).toMatch(/runs fp16 on cpu: .*usually slower than fp32/);
  });
});

describe('planModel: platforms the table rules out', () => {
  it('refuses LLaVA on WebNN, naming the platforms that can run it', () => {
    const e = thrown(() =>
      planModel({ pkg: fakePackage('llava'), capabilities: webCaps(), platform: 'webnn' }),
    );
    expect(e).toBeInstanceOf(PlatformError);
    expect(e.code).toBe('PLATFORM_UNSUPPORTED');
    expect(e.message).toMatch(/llava models cannot run on webnn .*"None"\); platforms that can: cuda, mps, /);
    expect(e.details.valid).toContain('webgpu');
    expect(e.details.valid).not.toContain('webnn');
    expect(thrown(() => plan({ pkg: fakePackage('llava_next'), platform: 'qualcomm' })).code).toBe(
      'PLATFORM_UNSUPPORTED',
    );
    expect(thrown(() => plan({ pkg: fakePackage('xclip'), platform: 'webnn' })).code).toBe(
      'PLATFORM_UNSUPPORTED',
    );
  });

  it('plans a platform this machine lacks (for another machine) but warns that sessions will fail', () => {
    const p = plan({ pkg: fakePackage('clip'), platform: 'cuda' });
    expect(p.platform).toBe('cuda');
    expect(p.warnings.join('\n')).toMatch(
      /cuda is not usable on this machine \(cuda: cuda absent in this test.*To get it: onnxruntime-node/,
    );
  });
});

describe('planModel: memory', () => {
  it('estimates weights from file sizes, KV cache and activations by the documented formula', () => {
    const pkg = fakePackage('llava', { variants: ['fp32', 'fp16'] });
    const p = plan({ pkg });
    const weights = Object.values(pkg.components).reduce((s, c) => s + c.variants.fp32!.totalBytes, 0);
    expect(p.memory.weightsBytes).toBe(weights);
    // 2 × 4 layers × 2 kv heads × (256 / 8) head dim × 1024 tokens × batch 1 × 4 bytes
    expect(p.memory.kvCacheBytes).toBe(2 * 4 * 2 * 32 * 1024 * 1 * 4);
    const half = plan({ pkg, config: { llm_precision: 'fp16', kv_cache_max_length: 512, batch_size: 2 } });
    expect(half.memory.kvCacheBytes).toBe(2 * 4 * 2 * 32 * 512 * 2 * 2);
    const off = plan({ pkg, config: { kv_cache_enabled: false } });
    expect(off.memory.kvCacheBytes).toBe(0);
    // ORT's own share: a measured base plus a share per session (three components here).
    expect(p.memory.runtimeBytes).toBe(30 * MiB + 3 * 4 * MiB);
    expect(p.memory.totalBytes).toBe(
      p.memory.weightsBytes + p.memory.kvCacheBytes + p.memory.activationBytes + p.memory.runtimeBytes,
    );
  });

  it('counts both encoders when they run in parallel', () => {
    const pkg = fakePackage('clip');
    // CLIP's family default: batches of 8.
    const vision = 8 * (50 * (3072 + 3 * 768) + 12 * 50 * 50) * 4;
    const text = 8 * (77 * (2048 + 3 * 512) + 8 * 77 * 77) * 4;
    expect(plan({ pkg }).memory.activationBytes).toBe(Math.max(vision, text));
    expect(plan({ pkg, config: { parallel_encoder_execution: true } }).memory.activationBytes).toBe(
      vision + text,
    );
  });

  it('downgrades the largest component first until the budget fits', () => {
    const pkg = fakePackage('llava', {
      params: { vision_encoder: 100_000_000, embed_tokens: 50_000_000, decoder_model_merged: 400_000_000 },
    });
    const free = plan({ pkg });
    expect(free.memory.totalBytes).toBeGreaterThan(2e9);
    const p = plan({ pkg, config: { memory_budget: '1GB' } });
    expect(p.memory.totalBytes).toBeLessThanOrEqual(1e9);
    expect(p.memory.budgetBytes).toBe(1e9);
    // On CPU the step skips variants measured larger and slower than a smaller one
    // (src/platform/measured.ts): for a decoder, fp16 and q8 lose to q4.
    expect(p.warnings[0]).toMatch(
      /^memory budget 953\.7 MiB: "decoder_model_merged" fp32 \(1\.5 GiB\) -> q4 /,
    );
    expect(comp(p, 'decoder_model_merged')).toMatchObject({ precisionChoice: { how: 'budget' } });
    expect(comp(p, 'decoder_model_merged').precision).not.toBe('fp32');
    // The small components keep their precision while the big one can still shrink.
    expect(comp(p, 'embed_tokens').precision).toBe('fp32');
  });

  it('errors MEMORY_BUDGET_EXCEEDED with the numbers when nothing fits', () => {
    const pkg = fakePackage('llava', { params: { decoder_model_merged: 400_000_000 } });
    const e = thrown(() => plan({ pkg, config: { memoryBudget: 10 * MiB } }));
    expect(e).toBeInstanceOf(PlatformError);
    expect(e.code).toBe('MEMORY_BUDGET_EXCEEDED');
    expect(e.message).toMatch(
      /^estimated memory [\d.]+ MiB \(weights [\d.]+ MiB \+ KV cache [\d.]+ MiB \+ activations [\d.]+ MiB \+ runtime [\d.]+ MiB\) exceeds the memory budget of 10\.0 MiB even with the smallest variants \(vision_encoder q4f16, embed_tokens q4f16, decoder_model_merged q4f16\); the plan as asked needed [\d.]+ GiB$/,
    );
    expect(e.details.budgetBytes).toBe(10 * MiB);
    expect(e.details.estimatedBytes as number).toBeGreaterThan(10 * MiB);
  });
});

describe('planModel: keys and their effects', () => {
  it('warns about keys with no effect on the platform or the family, naming them as written', () => {
    const p = plan({
      pkg: fakePackage('clip'),
      config: { use_mps_graph: true, kvCacheMaxLength: 100, hexagon_enabled: true },
    });
    expect(p.warnings).toContain('config key "use_mps_graph" has no effect on cpu (it applies to: mps)');
    expect(p.warnings).toContain(
      'config key "hexagon_enabled" has no effect on cpu (it applies to: qualcomm)',
    );
    expect(p.warnings.join('\n')).toMatch(
      /config key "kvCacheMaxLength" has no effect on clip models \(it applies to: llava, llava_next, blip, blip2\)/,
    );
    expect(p.settings.useMpsGraph).toMatchObject({ value: true, source: 'user', applies: false });
    const quiet = plan({ pkg: fakePackage('clip'), config: { batch_size: 4, precision: 'fp32' } });
    expect(quiet.warnings).toEqual([]);
  });

  it('checks per-component sections against the package', () => {
    const e = thrown(() =>
      plan({ pkg: fakePackage('clip'), config: { components: { vison_model: { precision: 'q8' } } } }),
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.code).toBe('CONFIG_UNKNOWN_KEY');
    expect(e.message).toMatch(
      /config section "vison_model" names no component of this clip package \(did you mean "vision_model"\?\)/,
    );
    const w = plan({
      pkg: fakePackage('clip'),
      config: { language_model: { precision: 'q8' }, text_encoder: { precision: 'q8' } },
    });
    expect(w.warnings).toContain(
      'config section "language_model" has no effect: no clip component is a language_model',
    );
    expect(comp(w, 'text_model').precisionChoice).toMatchObject({
      source: 'user',
      key: 'text_encoder.precision',
    });
  });

  it('maps CUDA levels to ORT options, and says what onnxruntime-node cannot apply', () => {
    const p = plan({ pkg: fakePackage('clip'), platform: 'cuda' });
    const v = comp(p, 'vision_model');
    expect(v.providers).toEqual([
      { name: 'cuda', options: { device_id: 0, cudnn_conv_algo_search: 'EXHAUSTIVE' } },
    ]);
    expect(v.session.providers).toEqual([{ name: 'cuda', options: { deviceId: 0 } }]);
    expect(p.warnings.join('\n')).toMatch(
      /onnxruntime-node cannot apply these provider options, so they have no effect: cuda\.cudnn_conv_algo_search=EXHAUSTIVE/,
    );
    expect(p.warnings.join('\n')).toMatch(/enable_cuda_graph stays off — it needs static input shapes/);
    const basic = plan({
      pkg: fakePackage('clip'),
      platform: 'cuda',
      config: { cuda_optimization_level: 'none' },
    });
    expect(comp(basic, 'vision_model').session.graphOptimizationLevel).toBe('disabled');
    expect(comp(basic, 'vision_model').providers[0]!.options?.cudnn_conv_algo_search).toBe('DEFAULT');
  });

  it('maps MPS and Qualcomm keys to CoreML flags and QNN backends', () => {
    const nn = plan({
      pkg: fakePackage('clip'),
      platform: 'mps',
      config: { use_mps_graph: false, power_efficient: false },
    });
    expect(nn.components[0]!.providers[0]!.options).toEqual({
      ModelFormat: 'NeuralNetwork',
      MLComputeUnits: 'ALL',
    });
    expect(nn.components[0]!.session.providers).toEqual([{ name: 'coreml', options: { coreMlFlags: 0 } }]);
    const ane = plan({ pkg: fakePackage('clip'), platform: 'mps' });
    expect(ane.warnings.join('\n')).toMatch(/coreml\.MLComputeUnits=CPUAndNeuralEngine/);
    const cpuQnn = plan({
      pkg: fakePackage('clip'),
      platform: 'qualcomm',
      config: { hexagon_enabled: false },
    });
    expect(cpuQnn.components[0]!.providers[0]!.options).toEqual({ backend_path: 'libQnnCpu.so' });
    expect(cpuQnn.components[0]!.session.providers).toEqual([
      { name: 'qnn', options: { backendPath: 'libQnnCpu.so' } },
    ]);
    const win = plan({
      pkg: fakePackage('clip'),
      platform: 'qualcomm',
      capabilities: { ...nodeCaps(), os: 'win32 10' },
    });
    expect(win.components[0]!.providers[0]!.options?.backend_path).toBe('QnnHtp.dll');
  });

  it('turns web keys into ort.env and WebGPU plan fields', () => {
    const p = planModel({
      pkg: fakePackage('clip'),
      capabilities: webCaps({ isolated: false }),
      platform: 'webgpu',
      config: { use_wasm_threads: true, use_simd: false, memory_efficient: true, power_efficient: true },
    });
    expect(p.ortEnv).toEqual({
      wasm: { numThreads: 1, simd: false },
      webgpu: { powerPreference: 'low-power' },
    });
    expect(p.warnings.join('\n')).toMatch(/use_wasm_threads: WASM threads need a cross-origin-isolated page/);
    expect(p.warnings.join('\n')).toMatch(/use_simd=false has no effect/);
    expect(p.components[0]!.session).toMatchObject({ enableCpuMemArena: false, enableMemPattern: false });
    expect(p.warnings.join('\n')).toMatch(
      /onnxruntime-web cannot apply .*webgpu\.storageBufferCacheMode=simple/,
    );
    expect(p.components[0]!.session.intraOpNumThreads).toBeUndefined();
    const node = planModel({
      pkg: fakePackage('clip'),
      capabilities: nodeCaps(['cpu', 'webgpu']),
      platform: 'webgpu',
      config: { memory_efficient: true },
    });
    expect(node.ortPackage).toBe('onnxruntime-node');
    // onnxruntime-node's WebGPU EP reads all three (and would throw on an option it does not know).
    expect(node.components[0]!.session.providers).toEqual([
      {
        name: 'webgpu',
        options: { preferredLayout: 'NHWC', validationMode: 'wgpuOnly', storageBufferCacheMode: 'simple' },
      },
    ]);
    expect(node.ortEnv).toEqual({});
  });

  it('reads temporal_resolution as frames for video models', () => {
    expect(plan({ pkg: fakePackage('xclip') }).video).toEqual({ frames: 8 });
    expect(plan({ pkg: fakePackage('xclip'), config: { temporal_resolution: 'high' } }).video).toEqual({
      frames: 16,
    });
    expect(plan({ pkg: fakePackage('xclip'), config: { temporal_resolution: 6 } }).video).toEqual({
      frames: 6,
    });
  });
});

describe("planModel: 'auto'", () => {
  it('ranks available platforms by table rating, accelerators first on ties', () => {
    const caps = nodeCaps(['cpu', 'cuda']);
    const clip = planModel({ pkg: fakePackage('clip'), capabilities: caps });
    expect(clip.requested).toBe('auto');
    expect(clip.platform).toBe('cuda');
    expect(clip.candidates.map((c) => [c.platform, c.rating, c.score])).toEqual([
      ['cuda', 'high', 3],
      ['cpu', 'high', 3],
    ]);
    expect(planModel({ pkg: fakePackage('llava'), capabilities: nodeCaps(['cpu']) }).platform).toBe('cpu');
  });

  it("breaks ties toward the model's transformers.js_config device", () => {
    const web = planModel({ pkg: fakePackage('clip'), capabilities: webCaps() });
    expect(web.candidates.map((c) => c.platform)).toEqual(['webgpu', 'webnn', 'wasm']);
    const pkg = fakePackage('clip', { transformersJsConfig: { device: 'wasm' } });
    expect(planModel({ pkg, capabilities: webCaps() }).candidates.map((c) => c.platform)).toEqual([
      'wasm',
      'webgpu',
      'webnn',
    ]);
    // LLaVA is "None" on WebNN: never a candidate.
    expect(
      planModel({ pkg: fakePackage('llava'), capabilities: webCaps() }).candidates.map((c) => c.platform),
    ).toEqual(['webgpu', 'wasm']);
  });

  it('skips a candidate that cannot be planned and records why', () => {
    const pkg = fakePackage('clip', { variants: ['fp16'] });
    const p = planModel({ pkg, capabilities: webCaps({ shaderF16: false }), config: { precision: 'fp16' } });
    expect(p.candidates[0]).toMatchObject({
      platform: 'webgpu',
      skipped: expect.stringMatching(/MODEL_VARIANT_MISSING/),
    });
    expect(p.platform).toBe('webnn');
  });

  it('errors when nothing here can run the model, and rethrows config errors at once', () => {
    const nothing: HostCapabilities = { ...nodeCaps([]), providers: [] };
    const e = thrown(() => planModel({ pkg: fakePackage('clip'), capabilities: nothing }));
    expect(e.code).toBe('PLATFORM_UNSUPPORTED');
    expect(e.message).toMatch(/no platform available on this machine can run clip models: cuda \(high\): /);
    expect(
      thrown(() => planModel({ pkg: fakePackage('clip'), capabilities: nodeCaps(), config: { bogus: 1 } }))
        .code,
    ).toBe('CONFIG_UNKNOWN_KEY');
  });

  it('takes a forced candidate order, available or not', () => {
    const p = planModel({ pkg: fakePackage('clip'), capabilities: nodeCaps(), candidates: ['cuda', 'cpu'] });
    expect(p.platform).toBe('cuda');
    expect(p.candidates.map((c) => [c.platform, c.available, !!c.plan])).toEqual([
      ['cuda', false, true],
      ['cpu', true, true],
    ]);
  });
});

describe('explainPlan', () => {
  it('says components, files, precisions, providers, threads, memory and sources', () => {
    const pkg = fakePackage('clip', { transformersJsConfig: { dtype: { text_model: 'q8' } } });
    const p = planModel({
      pkg,
      capabilities: nodeCaps(['cpu', 'cuda']),
      platform: 'auto',
      config: { batch_size: 8 },
    });
    const text = explainPlan(p);
    expect(text).toContain('Plan for /fake/clip');
    expect(text).toContain('platform: cuda — table rating high — runs on onnxruntime-node');
    expect(text).toContain(
      'requested: auto; candidates in order: cuda (high, available) > cpu (high, available)',
    );
    expect(text).toMatch(
      /text_model +onnx\/text_model_quantized\.onnx +q8 +q8 \(model: transformers\.js_config\.dtype\.text_model\) +2 +lazy/,
    );
    expect(text).toMatch(
      /vision_model +onnx\/vision_model_fp16\.onnx +fp16 +fp16 \(preset:cuda-clip: precision\)/,
    );
    expect(text).toContain(
      'vision_model: cuda{device_id=0, cudnn_conv_algo_search=EXHAUSTIVE}; graphOptimizationLevel=all',
    );
    expect(text).toMatch(/batchSize +8 +user +batch_size +yes/);
    expect(text).toMatch(/cudaOptimizationLevel +"highest" +preset:cuda-clip/);
    expect(text).toMatch(/intraOpNumThreads +2 +detected/);
    expect(text).toMatch(/Memory \(estimate\): [\d.]+ MiB = weights/);
    expect(text).toContain('Warnings:');
    const json = explainPlanJson(p);
    expect(JSON.parse(JSON.stringify(json))).toMatchObject({
      platform: 'cuda',
      requested: 'auto',
      components: [
        { name: 'text_model', precision: 'q8' },
        { name: 'vision_model', precision: 'fp16' },
      ],
      candidates: [{ platform: 'cuda' }, { platform: 'cpu' }],
    });
    expect((json.candidates as object[])[0]).not.toHaveProperty('plan');
  });
});
