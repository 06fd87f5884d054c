/**
 * Settings are checked once, when the model is planned: a value the plan accepts is one the
 * model accepts. `config` is typed from the key registry, so a misspelt key does not compile.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createPlacement, detectNode } from '../../src/node/index.js';

const capabilities = await detectNode();

describe('KV-cache length against the model position limit', () => {
  it("refuses the user's value over max_position_embeddings when planning, naming the limit", async () => {
    const err = await createPlacement({
      model: 'mmrt:shapes-vlm',
      platform: 'cpu',
      capabilities,
      config: { kv_cache_max_length: 512 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_INVALID_VALUE');
    expect((err as ConfigError).message).toMatch(/kv_cache_max_length.*512.*limit of 256/);
  });

  it('accepts the limit itself', async () => {
    const p = await createPlacement({
      model: 'mmrt:shapes-vlm',
      platform: 'cpu',
      capabilities,
      config: { kvCacheMaxLength: 256 },
    });
    expect(p.plan.generation?.maxLength).toBe(256);
  });

  it("clamps a preset's value with a warning, and explain() says where the number came from", async () => {
    // The CUDA LLaVA preset asks for 2048 positions; the shipped VLM has 256.
    const p = await createPlacement({ model: 'mmrt:shapes-vlm', platform: 'cuda', capabilities });
    expect(p.plan.generation?.maxLength).toBe(256);
    expect(p.plan.settings.kvCacheMaxLength).toMatchObject({ value: 256, source: 'model' });
    expect(p.plan.settings.kvCacheMaxLength!.key).toMatch(/clamped from 2048, preset:/);
    expect(p.plan.warnings.some((w) => /clamped to 256/.test(w))).toBe(true);
    expect(p.explain()).toMatch(
      /kvCacheMaxLength\s+256\s+model\s+text_config\.max_position_embeddings \(clamped from 2048/,
    );
  });
});

describe('config is typed from the key registry', () => {
  it('refuses misspelt keys and wrong value types at compile time (npm run typecheck checks these lines)', () => {
    const compileOnly = () => [
      // @ts-expect-error "precison" is not a config key
      createPlacement({ model: 'mmrt:shapes-clip', config: { precison: 'fp16' } }),
      // @ts-expect-error batch_size takes a number
      createPlacement({ model: 'mmrt:shapes-clip', config: { batch_size: '8' } }),
      // @ts-expect-error not a precision
      createPlacement({ model: 'mmrt:shapes-clip', config: { vision_encoder: { precision: 'fp64' } } }),
      createPlacement({
        model: 'mmrt:shapes-clip',
        config: {
          precision: 'int8',
          batchSize: 4,
          memory_budget: '2GB',
          components: { text_model: { preload: true } },
        },
      }),
    ];
    expect(typeof compileOnly).toBe('function');
  });
});
