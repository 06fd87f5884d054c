/**
 * Model packages: a folder in the hub's ONNX layout is described completely, and each kind of
 * broken folder gives a ModelPackageError that names what is missing.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelPackageError } from '../../src/errors.js';
import { LocalModelFiles } from '../../src/node/files.js';
import { describePackage } from '../../src/families/registry.js';
import { componentVariant } from '../../src/package/describe.js';
import { parseComponentFileStem } from '../../src/package/precision.js';

let dir: string;

async function write(files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

const clipFolder = (): Record<string, string | Uint8Array> => ({
  'config.json': JSON.stringify({ model_type: 'clip', projection_dim: 64 }),
  'preprocessor_config.json': JSON.stringify({ image_processor_type: 'CLIPImageProcessor' }),
  'tokenizer.json': JSON.stringify({ model: { type: 'WordPiece', vocab: {} } }),
  'tokenizer_config.json': JSON.stringify({ model_max_length: 16 }),
  'onnx/text_model.onnx': new Uint8Array(100),
  'onnx/text_model_fp16.onnx': new Uint8Array(50),
  'onnx/vision_model.onnx': new Uint8Array(200),
  'onnx/vision_model_q4f16.onnx': new Uint8Array(30),
  'onnx/vision_model_quantized.onnx': new Uint8Array(60),
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-pkg-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function describeDir() {
  return describePackage(await LocalModelFiles.open(dir));
}

describe('precision suffixes', () => {
  it('splits component and precision, longest suffix first', () => {
    expect(parseComponentFileStem('vision_model_q4f16')).toEqual({
      component: 'vision_model',
      precision: 'q4f16',
    });
    expect(parseComponentFileStem('vision_model_q4')).toEqual({ component: 'vision_model', precision: 'q4' });
    expect(parseComponentFileStem('decoder_model_merged_quantized')).toEqual({
      component: 'decoder_model_merged',
      precision: 'q8',
    });
    expect(parseComponentFileStem('model')).toEqual({ component: 'model', precision: 'fp32' });
    expect(parseComponentFileStem('text_model_uint8')).toEqual({
      component: 'text_model',
      precision: 'uint8',
    });
  });
});

describe('describePackage', () => {
  it('describes a CLIP folder: family, configs, components and their variants', async () => {
    await write(clipFolder());
    const pkg = await describeDir();
    expect(pkg.family).toBe('clip');
    expect(pkg.layout).toEqual(['text_model', 'vision_model']);
    expect(Object.keys(pkg.components).sort()).toEqual(['text_model', 'vision_model']);
    expect(Object.keys(pkg.components.vision_model!.variants).sort()).toEqual(['fp32', 'q4f16', 'q8']);
    expect(pkg.components.text_model!.variants.fp16).toMatchObject({
      file: 'onnx/text_model_fp16.onnx',
      bytes: 50,
    });
    expect(pkg.tokenizer?.tokenizerConfig).toEqual({ model_max_length: 16 });
    expect(pkg.preprocessorConfig).toMatchObject({ image_processor_type: 'CLIPImageProcessor' });
  });

  it('counts external-data files with their graph', async () => {
    await write({
      ...clipFolder(),
      'onnx/vision_model.onnx_data': new Uint8Array(1000),
      'onnx/vision_model.onnx_data_1': new Uint8Array(500),
    });
    const v = (await describeDir()).components.vision_model!.variants.fp32!;
    expect(v.externalData.map((e) => e.file)).toEqual([
      'onnx/vision_model.onnx_data',
      'onnx/vision_model.onnx_data_1',
    ]);
    expect(v.totalBytes).toBe(200 + 1000 + 500);
  });

  it('accepts the combined layout when the split one is absent', async () => {
    const files = clipFolder();
    delete files['onnx/text_model.onnx'];
    delete files['onnx/text_model_fp16.onnx'];
    files['onnx/model.onnx'] = new Uint8Array(10);
    await write(files);
    expect((await describeDir()).layout).toEqual(['model']);
  });

  it('reads transformers.js_config from config.json', async () => {
    await write({
      ...clipFolder(),
      'config.json': JSON.stringify({
        model_type: 'clip',
        'transformers.js_config': { dtype: { vision_model: 'q4f16' } },
      }),
    });
    expect((await describeDir()).transformersJsConfig).toEqual({ dtype: { vision_model: 'q4f16' } });
  });

  it('names a missing config.json', async () => {
    const files = clipFolder();
    delete files['config.json'];
    await write(files);
    await expect(describeDir()).rejects.toMatchObject({
      code: 'MODEL_FILE_MISSING',
      details: { value: 'config.json' },
    });
  });

  it('names invalid JSON', async () => {
    await write({ ...clipFolder(), 'preprocessor_config.json': '{ "size": ' });
    const err = await describeDir().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackageError);
    expect(err).toMatchObject({ code: 'MODEL_CONFIG_INVALID' });
    expect((err as Error).message).toMatch(/preprocessor_config\.json is not valid JSON/);
  });

  it('rejects an unknown model_type listing the known ones', async () => {
    await write({ ...clipFolder(), 'config.json': JSON.stringify({ model_type: 'bert' }) });
    const err = await describeDir().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_CONFIG_INVALID', details: { value: 'bert' } });
    expect((err as ModelPackageError).details.valid).toContain('clip');
  });

  it('names the missing components of the family layout', async () => {
    const files = clipFolder();
    delete files['onnx/vision_model.onnx'];
    delete files['onnx/vision_model_q4f16.onnx'];
    delete files['onnx/vision_model_quantized.onnx'];
    await write(files);
    const err = await describeDir().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_COMPONENT_MISSING' });
    expect((err as Error).message).toMatch(
      /onnx\/text_model\.onnx \+ onnx\/vision_model\.onnx or onnx\/model\.onnx/,
    );
  });

  it('requires a tokenizer for families that read text', async () => {
    const files = clipFolder();
    delete files['tokenizer.json'];
    await write(files);
    await expect(describeDir()).rejects.toMatchObject({
      code: 'MODEL_FILE_MISSING',
      details: { value: 'tokenizer.json' },
    });
  });

  it('gives MODEL_NOT_FOUND for a folder that does not exist', async () => {
    await expect(LocalModelFiles.open(join(dir, 'nope'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('describes an LLaVA folder and picks variants by precision', async () => {
    await write({
      'config.json': JSON.stringify({ model_type: 'llava', text_config: { model_type: 'llama' } }),
      'preprocessor_config.json': '{}',
      'tokenizer.json': '{}',
      'onnx/vision_encoder.onnx': new Uint8Array(10),
      'onnx/embed_tokens.onnx': new Uint8Array(10),
      'onnx/decoder_model_merged_q4.onnx': new Uint8Array(10),
    });
    const pkg = await describeDir();
    expect(pkg.family).toBe('llava');
    expect(componentVariant(pkg, 'decoder_model_merged', 'q4').file).toBe(
      'onnx/decoder_model_merged_q4.onnx',
    );
    expect(() => componentVariant(pkg, 'decoder_model_merged', 'fp16')).toThrow(
      /no fp16 variant .* it has: q4/,
    );
    expect(() => componentVariant(pkg, 'qformer', 'fp32')).toThrow(ModelPackageError);
  });
});
