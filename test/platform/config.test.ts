import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseByteSize } from '../../src/platform/bytes.js';
import { CONFIG_KEYS, CONFIG_KEY_NAMES } from '../../src/platform/config-keys.js';
import { normalizeConfig } from '../../src/platform/config.js';
import { RECOMMENDED_CONFIGS, presetById } from '../../src/platform/presets.js';

/** The brief's configurations, copied as the brief writes them (Python dicts, snake_case). */
const BRIEF_SNAKE: Record<string, Record<string, unknown>> = {
  'cuda-clip': {
    precision: 'fp16',
    batch_size: 32,
    cuda_optimization_level: 'highest',
    parallel_encoder_execution: true,
  },
  'cuda-llava': {
    precision: 'int8',
    batch_size: 1,
    cuda_optimization_level: 'highest',
    vision_precision: 'fp16',
    llm_precision: 'int8',
    kv_cache_enabled: true,
    kv_cache_max_length: 2048,
  },
  'cuda-blip2': {
    precision: 'fp16',
    batch_size: 4,
    cuda_optimization_level: 'highest',
    vision_precision: 'fp16',
    text_precision: 'fp16',
    parallel_encoder_execution: true,
  },
  'rocm-clip': {
    precision: 'fp16',
    batch_size: 16,
    rocm_optimization_level: 'high',
    parallel_encoder_execution: true,
  },
  'rocm-blip': {
    precision: 'fp16',
    batch_size: 4,
    rocm_optimization_level: 'high',
    parallel_encoder_execution: true,
  },
  'mps-clip': {
    precision: 'fp16',
    batch_size: 8,
    use_mps_graph: true,
    parallel_encoder_execution: true,
    power_efficient: true,
  },
  'mps-llava': {
    precision: 'int8',
    batch_size: 1,
    use_mps_graph: true,
    vision_precision: 'fp16',
    llm_precision: 'int8',
    kv_cache_enabled: true,
    kv_cache_max_length: 512,
  },
  'qualcomm-clip': {
    precision: 'int8',
    batch_size: 1,
    power_mode: 'efficient',
    hexagon_enabled: true,
    vision_feature_level: 'high',
  },
  'qualcomm-blip': {
    precision: 'int8',
    batch_size: 1,
    power_mode: 'efficient',
    hexagon_enabled: true,
    vision_feature_level: 'high',
    text_precision: 'int8',
  },
  'webnn-clip': {
    precision: 'fp16',
    batch_size: 1,
    use_wasm_threads: true,
    use_simd: true,
    parallel_encoder_execution: true,
  },
  'webnn-blip': {
    precision: 'fp16',
    batch_size: 1,
    use_wasm_threads: true,
    use_simd: true,
    progressive_loading: true,
  },
  'webgpu-clip': {
    precision: 'fp16',
    batch_size: 1,
    shader_precompile: true,
    optimize_for_browser: 'auto',
    parallel_loading: true,
    compute_shader_optimizations: true,
  },
  'webgpu-llava': {
    precision: 'int8',
    batch_size: 1,
    shader_precompile: true,
    optimize_for_browser: 'auto',
    parallel_loading: true,
    vision_precision: 'int8',
    llm_precision: 'int4',
    kv_cache_enabled: true,
    memory_efficient: true,
  },
  'webgpu-xclip': {
    precision: 'fp16',
    batch_size: 1,
    shader_precompile: true,
    optimize_for_browser: 'auto',
    parallel_loading: true,
    temporal_resolution: 'low',
  },
  'webgpu-llava-loader': {
    vision_encoder: { precision: 'int8', preload: true },
    language_model: { precision: 'int4', load_strategy: 'lazy' },
  },
};

function caught(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config keys', () => {
  it('covers every key the brief uses, each with its snake_case spelling', () => {
    const briefKeys = new Set(
      Object.values(BRIEF_SNAKE).flatMap((c) =>
        Object.keys(c).filter((k) => k !== 'vision_encoder' && k !== 'language_model'),
      ),
    );
    const snakes = new Set(CONFIG_KEY_NAMES.map((k) => CONFIG_KEYS[k].snake));
    for (const k of briefKeys) expect(snakes, k).toContain(k);
    expect(briefKeys.size).toBe(24);
  });

  it('normalises each brief configuration, as the brief writes it, to exactly its typed preset', () => {
    expect(Object.keys(BRIEF_SNAKE).sort()).toEqual(RECOMMENDED_CONFIGS.map((p) => p.id).sort());
    for (const [id, snake] of Object.entries(BRIEF_SNAKE)) {
      expect(normalizeConfig(snake).config, id).toEqual(presetById(id)!.config);
    }
  });

  it('gives the same config for snake_case and camelCase, and remembers the spelling', () => {
    const snake = normalizeConfig({ batch_size: 4, kv_cache_max_length: 512, use_mps_graph: true });
    const camel = normalizeConfig({ batchSize: 4, kvCacheMaxLength: 512, useMpsGraph: true });
    expect(snake.config).toEqual(camel.config);
    expect(snake.spelling.batchSize).toBe('batch_size');
    expect(camel.spelling.batchSize).toBe('batchSize');
  });

  it('refuses an unknown key with a did-you-mean and the list of valid keys', () => {
    const e = caught(() => normalizeConfig({ bach_size: 4 }));
    expect(e.code).toBe('CONFIG_UNKNOWN_KEY');
    expect(e.message).toMatch(/unknown config key "bach_size" \(did you mean "batch_size"\?\)/);
    expect(e.message).toMatch(/valid keys: precision, batchSize, /);
    expect(e.details.suggestion).toBe('batch_size');
    const camel = caught(() => normalizeConfig({ kvCacheMaxLenght: 4 }));
    expect(camel.message).toContain('did you mean "kvCacheMaxLength"');
    const far = caught(() => normalizeConfig({ turbo: true }));
    expect(far.message).not.toContain('did you mean');
  });

  it('refuses wrong types and values, naming the key, the value and what is valid', () => {
    const e1 = caught(() => normalizeConfig({ batch_size: '32' }));
    expect(e1.code).toBe('CONFIG_INVALID_VALUE');
    expect(e1.message).toBe('config key "batch_size" must be an integer >= 1 and <= 4096; got "32"');
    const e2 = caught(() => normalizeConfig({ precision: 'int3' }));
    expect(e2.message).toMatch(
      /"precision" must be fp32 \| fp16 \| int8 \| int4 \| uint8 \| q8 \| q4 \| q4f16 \| bnb4; got "int3"/,
    );
    const e3 = caught(() => normalizeConfig({ cuda_optimization_level: 'max' }));
    expect(e3.details).toMatchObject({ value: 'max', key: 'cuda_optimization_level' });
    expect(caught(() => normalizeConfig({ kv_cache_enabled: 'yes' })).message).toContain('true or false');
    expect(caught(() => normalizeConfig({ batch_size: 0 })).code).toBe('CONFIG_INVALID_VALUE');
    expect(caught(() => normalizeConfig({ temporal_resolution: 'ultra' })).message).toMatch(
      /"low" \| "medium" \| "high" or an integer/,
    );
    expect(caught(() => normalizeConfig([1, 2])).code).toBe('CONFIG_INVALID_VALUE');
  });

  it('refuses a key given twice with different values', () => {
    const e = caught(() => normalizeConfig({ batch_size: 4, batchSize: 8 }));
    expect(e.message).toMatch(/given twice/);
    expect(normalizeConfig({ batch_size: 4, batchSize: 4 }).config.batchSize).toBe(4);
  });

  it('reads per-component sections: preload is load_strategy eager, and they must agree', () => {
    const c = normalizeConfig({
      visionEncoder: { preload: false },
      components: { decoder_model_merged: { precision: 'q4' } },
    });
    expect(c.config.components).toEqual({
      vision_encoder: { loadStrategy: 'lazy' },
      decoder_model_merged: { precision: 'q4' },
    });
    expect(
      caught(() => normalizeConfig({ vision_encoder: { preload: true, load_strategy: 'lazy' } })).message,
    ).toMatch(/preload.*consistent with load_strategy "lazy"/);
    const e = caught(() => normalizeConfig({ language_model: { precison: 'int4' } }));
    expect(e.code).toBe('CONFIG_UNKNOWN_KEY');
    expect(e.message).toContain('did you mean "precision"');
    expect(caught(() => normalizeConfig({ language_model: 'int4' })).code).toBe('CONFIG_INVALID_VALUE');
  });

  it('reads memory budgets in decimal and binary units', () => {
    expect(parseByteSize('2GB')).toBe(2e9);
    expect(parseByteSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('512 mb')).toBe(512e6);
    expect(parseByteSize(1000)).toBe(1000);
    expect(parseByteSize('2 gigs')).toBeUndefined();
    expect(normalizeConfig({ memory_budget: '512MiB' }).config.memoryBudget).toBe(512 * 1024 ** 2);
    expect(caught(() => normalizeConfig({ memory_budget: '-1GB' })).message).toMatch(
      /memory_budget.*size string/,
    );
  });
});
