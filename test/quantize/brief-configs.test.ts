/**
 * The brief's LLaVA configurations that name reduced precisions — CUDA's and MPS's
 * `vision_precision: fp16` + `llm_precision: int8`, WebGPU's `vision_precision: int8` +
 * `llm_precision: int4`, and its MultimodalLoader example per component — planned on this CPU
 * against the tiny VLM with its committed variants: every component really is that variant,
 * and the model answers as fp32 does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { presetById } from '../../src/platform/presets.js';
import { disposeModels, tinyVlm } from '../helpers/models.js';
import { MODELS, type SampleLabels, readJson } from '../shapes/reference.js';

afterAll(disposeModels);

const samples = readJson<SampleLabels>('samples', 'labels.json').images.slice(0, 4);
const image = (f: string) => `${MODELS}/samples/${f}`;

async function answers(config: Record<string, unknown>) {
  const vlm = await tinyVlm({ config });
  const out: string[] = [];
  for (const s of samples) out.push((await vlm.ask(image(s.file), 'What color is the shape?').result).text);
  const files = Object.fromEntries(vlm.loader.placement!.plan.components.map((c) => [c.name, c.file]));
  return { out, files, vlm };
}

describe("the brief's LLaVA configurations run on the real variants", () => {
  const cases = [
    {
      id: 'cuda-llava',
      files: {
        vision_encoder: 'onnx/vision_encoder_fp16.onnx',
        embed_tokens: 'onnx/embed_tokens_quantized.onnx',
        decoder_model_merged: 'onnx/decoder_model_merged_quantized.onnx',
      },
    },
    {
      id: 'mps-llava',
      files: {
        vision_encoder: 'onnx/vision_encoder_fp16.onnx',
        embed_tokens: 'onnx/embed_tokens_quantized.onnx',
        decoder_model_merged: 'onnx/decoder_model_merged_quantized.onnx',
      },
    },
    {
      id: 'webgpu-llava',
      files: {
        vision_encoder: 'onnx/vision_encoder_quantized.onnx',
        embed_tokens: 'onnx/embed_tokens_q4.onnx',
        decoder_model_merged: 'onnx/decoder_model_merged_q4.onnx',
      },
    },
    {
      id: 'webgpu-llava-loader',
      files: {
        vision_encoder: 'onnx/vision_encoder_quantized.onnx',
        embed_tokens: 'onnx/embed_tokens_q4.onnx',
        decoder_model_merged: 'onnx/decoder_model_merged_q4.onnx',
      },
    },
  ];

  it.each(cases)("$id: each component is its variant, and the answers are fp32's", async ({ id, files }) => {
    const fp32 = await answers({ precision: 'fp32' });
    expect(fp32.out).toEqual(samples.map((s) => s.color));
    const preset = presetById(id)!;
    // The presets were written for llava-1.5 (4096 positions); the tiny VLM has 256.
    const kv = preset.config.kvCacheMaxLength ? { kvCacheMaxLength: 256 } : {};
    const run = await answers({ ...(preset.config as Record<string, unknown>), ...kv });
    expect(run.files).toEqual(files);
    const plan = run.vlm.loader.placement!.plan;
    // Asked, and found: no substitution.
    for (const c of plan.components) expect(c.precisionChoice.how, c.name).toBe('asked');
    expect(plan.warnings.some((w) => /has no .* variant/.test(w))).toBe(false);
    expect(run.out).toEqual(fp32.out);
  });
});
