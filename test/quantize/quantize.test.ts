/**
 * `quantizeModel` and `mmrt quantize` on copies of the shipped models: variants beside the
 * originals under the hub's names, a report of what changed and why the rest did not,
 * exclusions, progress, fp16 clamping, external data in and out (transformers.js_config
 * updated), and typed errors — a corrupt file, an op whose types cannot be inferred where they
 * matter, and a variant ONNX Runtime rejects (deleted, never kept).
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { OrtModule } from '../../src/host/host.js';
import { loadClip } from '../../src/node/index.js';
import { ort } from '../../src/node/ort.js';
import { readOnnxFile, writeOnnxFile } from '../../src/node/onnx-files.js';
import { type QuantizeProgress, quantizeModel } from '../../src/node/quantize.js';
import { workingModel } from '../../src/onnx/graph.js';
import { DataType, decodeModel } from '../../src/onnx/proto.js';
import { convertModel } from '../../src/quantize/convert.js';
import { buildModel } from '../loader/onnx-build.js';
import { MODELS } from '../shapes/reference.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** A copy of a shipped package with only its fp32 files. */
async function copyOf(pkg: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mmrt-quantize-'));
  dirs.push(dir);
  await cp(join(MODELS, pkg), dir, {
    recursive: true,
    filter: (src) => !/_(fp16|quantized|q4|q4f16)\.onnx$|quantization\.json$/.test(src),
  });
  return dir;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

describe('quantizeModel', () => {
  it('writes variants beside the originals with a report, progress, and leaves existing ones alone', async () => {
    const dir = await copyOf('shapes-clip');
    const events: QuantizeProgress[] = [];
    const r = await quantizeModel({
      model: dir,
      precisions: ['q4', 'q8'],
      components: ['vision_model'],
      onProgress: (e) => events.push(e),
    });
    expect(r.variants.map((v) => v.file)).toEqual([
      'onnx/vision_model_q4.onnx',
      'onnx/vision_model_quantized.onnx',
    ]);
    const q4 = r.variants[0]!;
    expect(q4.report.converted.filter((c) => c.as.startsWith('MatMulNBits 4-bit, block 32')).length).toBe(19);
    // Attention's MatMuls multiply activations: kept, and the report says why.
    expect(q4.report.kept.every((k) => k.op === 'MatMul' && k.reason.includes('computed'))).toBe(true);
    expect(q4.report.weightBytesAfter).toBeLessThan(q4.report.weightBytesBefore / 2);
    expect(q4.verification.drift.find((d) => d.output === 'image_embeds')!.cosine).toBeGreaterThan(0.99);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.overallPercent).toBeGreaterThanOrEqual(events[i - 1]!.overallPercent);
    expect(events.at(-1)!.overallPercent).toBe(100);
    const json = JSON.parse(await readFile(r.reportFile, 'utf8'));
    expect(Object.keys(json.variants)).toEqual([
      'onnx/vision_model_q4.onnx',
      'onnx/vision_model_quantized.onnx',
    ]);
    expect(
      json.variants['onnx/vision_model_q4.onnx'].converted[
        'MatMul -> MatMulNBits 4-bit, block 32, accuracy_level 4'
      ],
    ).toBe(19);

    const again = await quantizeModel({ model: dir, precisions: ['q4'], components: ['vision_model'] });
    expect(again.variants).toEqual([]);
    expect(again.skipped.map((s) => s.file)).toEqual(['onnx/vision_model_q4.onnx']);
  });

  it('leaves excluded op types and nodes as they were', async () => {
    const dir = await copyOf('shapes-vlm');
    const name = '/lm/layers.0/mlp/down_proj/MatMul';
    const r = await quantizeModel({
      model: dir,
      precisions: ['q8'],
      components: ['decoder_model_merged', 'embed_tokens'],
      exclude: { opTypes: ['Gather'], nodes: [name] },
    });
    const dec = r.variants.find((v) => v.component === 'decoder_model_merged')!;
    expect(dec.report.kept.find((k) => k.node === name)!.reason).toBe('excluded by name');
    expect(dec.report.converted.some((c) => c.node === name)).toBe(false);
    const embed = r.variants.find((v) => v.component === 'embed_tokens')!;
    expect(embed.report.converted).toEqual([]);
    const m = await readOnnxFile(join(dir, embed.file));
    expect([...m.working.initializers.values()].map((t) => t.proto.dataType)).toEqual([DataType.FLOAT]);
    await m.close();
  });

  it('reads external data and writes it for the variants, recording the chunks for transformers.js', async () => {
    const dir = await copyOf('shapes-clip');
    const src = await readOnnxFile(join(dir, 'onnx', 'vision_model.onnx'));
    await writeOnnxFile(join(dir, 'onnx', 'vision_model.onnx'), src.working, {
      externalData: true,
      maxChunkBytes: 300_000,
    });
    await src.close();
    const r = await quantizeModel({
      model: dir,
      precisions: ['fp16', 'q4'],
      components: ['vision_model'],
      maxChunkBytes: 300_000,
    });
    expect(r.variants.map((v) => v.externalData.map((x) => x.file))).toEqual([
      ['onnx/vision_model_fp16.onnx_data', 'onnx/vision_model_fp16.onnx_data_1'],
      ['onnx/vision_model_q4.onnx_data'],
    ]);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(config['transformers.js_config'].use_external_data_format).toEqual({
      'vision_model_fp16.onnx': 2,
      'vision_model_q4.onnx': 1,
    });
    const clip = await loadClip({
      model: dir,
      platform: 'cpu',
      config: { precision: 'fp16', numThreads: 1 },
    });
    const plan = clip.loader.placement!.plan.components.find((c) => c.name === 'vision_model')!;
    expect(plan.externalData).toEqual([
      'onnx/vision_model_fp16.onnx_data',
      'onnx/vision_model_fp16.onnx_data_1',
    ]);
    const [v] = await clip.embedImages([join(MODELS, 'samples', '00_red_star.png')]);
    expect(v!.every(Number.isFinite)).toBe(true);
    await clip.dispose();
  });

  it('gives typed errors: a corrupt file, and a variant ONNX Runtime rejects (which is not kept)', async () => {
    const corrupt = await copyOf('shapes-clip');
    await writeFile(join(corrupt, 'onnx', 'text_model.onnx'), 'not a model');
    expect(await codeOf(quantizeModel({ model: corrupt, components: ['text_model'] }))).toBe('MODEL_CORRUPT');
    expect(await codeOf(quantizeModel({ model: corrupt, components: ['no_such'] }))).toBe(
      'MODEL_COMPONENT_MISSING',
    );

    const dir = await copyOf('shapes-clip');
    // The real ONNX Runtime, made to refuse the q4 file: what an unsupported kernel looks like.
    const picky: OrtModule = {
      ...ort,
      InferenceSession: {
        create: (model, options) =>
          typeof model === 'string' && model.endsWith('_q4.onnx')
            ? Promise.reject(new Error('Could not find an implementation for MatMulNBits(1)'))
            : ort.InferenceSession.create(model, options),
      },
    };
    const err = await codeOf(
      quantizeModel({ model: dir, precisions: ['q4'], components: ['text_model'], ort: picky }),
    );
    expect(err).toBe('VARIANT_INVALID');
    const left = (await readdir(join(dir, 'onnx'))).filter((f) => f.includes('_q4') || f.startsWith('.mmrt'));
    expect(left).toEqual([]);
  });
});

describe('fp16 conversion', () => {
  it('clamps constants beyond ±65504 (mask fills stay finite) and keeps inputs and outputs fp32', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', type: 'float', shape: ['n', 4] }],
      outputs: [{ name: 'y', type: 'float', shape: ['n', 4] }],
      nodes: [
        { op: 'Mul', inputs: ['x', 'big'], outputs: ['xb'] },
        { op: 'Div', inputs: ['xb', 'big'], outputs: ['xd'] },
        { op: 'Greater', inputs: ['x', 'zero'], outputs: ['pos'] },
        { op: 'Where', inputs: ['pos', 'xd', 'fill'], outputs: ['masked'] },
        { op: 'Softmax', inputs: ['masked'], outputs: ['y'], attrs: { axis: 1 } },
      ],
      initializers: [
        { name: 'big', type: 'float', dims: [], data: Float32Array.of(1e6) },
        { name: 'zero', type: 'float', dims: [], data: Float32Array.of(0) },
        { name: 'fill', type: 'float', dims: [], data: Float32Array.of(-3.4028234e38) },
      ],
    });
    const w = workingModel(decodeModel(model, 'clamp'), undefined, 'clamp');
    const { working, report } = convertModel(w, 'fp16');
    const dir = await mkdtemp(join(tmpdir(), 'mmrt-fp16-'));
    dirs.push(dir);
    await writeOnnxFile(join(dir, 'm.onnx'), working);
    expect(report.clampedValues).toBe(2);
    const s = await ort.InferenceSession.create(join(dir, 'm.onnx'));
    expect(s.inputMetadata[0]).toMatchObject({ type: 'float32' });
    const x = Float32Array.of(0.5, -1, 2, 0.25, -1, -2, 1, 3);
    const y = (await s.run({ x: new ort.Tensor('float32', x, [2, 4]) })).y!;
    expect(y.type).toBe('float32');
    const out = [...(y.data as Float32Array)];
    expect(out.every(Number.isFinite)).toBe(true);
    // Masked entries get no weight: the rows still sum to one.
    expect(out[1]).toBeCloseTo(0, 6);
    expect(out.slice(0, 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    await s.release();
  });

  it('refuses an op whose output type cannot be inferred where an fp16 node reads it', () => {
    const model = buildModel({
      inputs: [{ name: 'x', type: 'float', shape: [4] }],
      outputs: [{ name: 'y', type: 'float', shape: [4] }],
      nodes: [
        { op: 'Mystery', inputs: ['x'], outputs: ['m'] },
        { op: 'Add', inputs: ['m', 'x'], outputs: ['y'] },
      ],
    });
    const w = workingModel(decodeModel(model, 'mystery.onnx'), undefined, 'mystery.onnx');
    expect(() => convertModel(w, 'fp16')).toThrow(/cannot be inferred/);
    try {
      convertModel(w, 'fp16');
    } catch (e) {
      expect((e as { code: string }).code).toBe('MODEL_UNSUPPORTED');
    }
  });
});

describe('mmrt quantize', () => {
  const run = promisify(execFile);
  const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mmrt.js');
  const env = { ...process.env, MMRT_FROM_SOURCE: '1' };

  it('writes the variants and prints them as JSON; a bad flag is a usage error (exit code 2)', async () => {
    const dir = await copyOf('shapes-vlm');
    const { stdout } = await run(
      'node',
      [BIN, 'quantize', dir, '--precision', 'q8', '--components', 'embed_tokens', '--json'],
      { env },
    );
    const result = JSON.parse(stdout);
    expect(result.variants.map((v: { file: string }) => v.file)).toEqual([
      'onnx/embed_tokens_quantized.onnx',
    ]);
    const bad = await run('node', [BIN, 'quantize', dir, '--precision', 'q3'], { env }).catch((e) => e);
    // A value the option cannot take is a usage error (exit 2) naming the option.
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /option '--precision <list>' argument 'q3' is invalid\. "q3" is not a precision the quantizer writes \(did you mean "q8"\?\)/,
    );
  });
});
