/**
 * Reading and writing ONNX in TypeScript: a model read and written back runs in ONNX Runtime
 * with identical outputs; external data is written in chunks (`X.onnx_data`, `X.onnx_data_1`,
 * ...) that ONNX Runtime and the reader both follow; a model over protobuf's 2 GiB limit is laid
 * out with external data (without allocating it); bad files give typed errors.
 */
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ort } from '../../src/node/ort.js';
import { readOnnxFile, writeOnnxFile } from '../../src/node/onnx-files.js';
import { tensorProto } from '../../src/onnx/graph.js';
import { DataType } from '../../src/onnx/proto.js';
import { modelBytes, planWrite } from '../../src/onnx/write.js';
import { MODELS } from '../shapes/reference.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-onnx-io-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const VISION = join(MODELS, 'shapes-clip', 'onnx', 'vision_model.onnx');

async function run(model: string | Uint8Array) {
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const pixels = Float32Array.from({ length: 2 * 3 * 64 * 64 }, (_, i) => Math.sin(i) * 1.5);
  const out = await s.run({ pixel_values: new ort.Tensor('float32', pixels, [2, 3, 64, 64]) });
  await s.release();
  return [...(out.image_embeds!.data as Float32Array)];
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

describe('ONNX read and write', () => {
  it('writes back a model that ONNX Runtime runs with identical outputs, and reads its own output the same way', async () => {
    const src = await readOnnxFile(VISION);
    const once = await modelBytes(src.working.model, [...src.working.initializers.values()]);
    await src.close();
    expect(await run(once)).toEqual(await run(VISION));
    const path = join(dir, 'again.onnx');
    await writeFile(path, once);
    const again = await readOnnxFile(path);
    const twice = await modelBytes(again.working.model, [...again.working.initializers.values()]);
    await again.close();
    expect(Buffer.compare(twice, once)).toBe(0);
  });

  it('writes external data in chunks of at most maxChunkBytes, which ONNX Runtime and the reader follow', async () => {
    const src = await readOnnxFile(VISION);
    const path = join(dir, 'chunked.onnx');
    const written = await writeOnnxFile(path, src.working, { externalData: true, maxChunkBytes: 200_000 });
    await src.close();
    // 0.84 MiB of weights in chunks of 200 kB: the hub's names, in order.
    expect(written.externalData.map((c) => c.file)).toEqual(
      ['', '_1', '_2', '_3', '_4'].map((s) => `chunked.onnx_data${s}`),
    );
    for (const c of written.externalData) expect(c.bytes).toBeLessThanOrEqual(200_000);
    // The graph keeps its nodes and the tensors under 1 KiB: a tenth of the weights here.
    expect(written.bytes).toBeLessThan(100_000);
    expect(await run(path)).toEqual(await run(VISION));
    // Read back through the chunks and written inline: the same file as the original's rewrite.
    const back = await readOnnxFile(path);
    expect(back.externalFiles).toEqual(written.externalData.map((c) => c.file));
    const inline = await modelBytes(back.working.model, [...back.working.initializers.values()]);
    await back.close();
    const orig = await readOnnxFile(VISION);
    const direct = await modelBytes(orig.working.model, [...orig.working.initializers.values()]);
    await orig.close();
    expect(Buffer.compare(inline, direct)).toBe(0);
    // A later, smaller write of the same name leaves no stale chunk behind.
    const again = await readOnnxFile(VISION);
    await writeOnnxFile(path, again.working, { externalData: false });
    await again.close();
    expect((await readdir(dir)).filter((f) => f.startsWith('chunked.onnx_data'))).toEqual([]);
  });

  it('lays out a model over 2 GiB with external data, and refuses to write it inline', () => {
    const graphOnly = async () => {
      const src = await readOnnxFile(join(MODELS, 'shapes-vlm', 'onnx', 'embed_tokens.onnx'));
      await src.close();
      return src.working.model;
    };
    return graphOnly().then((model) => {
      // Three 1 GiB tensors whose bytes are never produced: the plan needs only their sizes.
      const huge = [0, 1, 2].map((i) => ({
        proto: tensorProto(`w${i}`, DataType.FLOAT, [256, 1024, 1024]),
        byteLength: 2 ** 30,
        data: async () => {
          throw new Error('not read while planning');
        },
      }));
      expect(() => planWrite(model, huge)).toThrow(/over protobuf's 2 GiB limit/);
      const plan = planWrite(model, huge, { externalData: { baseName: 'big.onnx_data' } });
      expect(plan.modelBytes).toBeLessThan(10_000);
      // Two 1 GiB tensors would pass the 2 GiB - 1 chunk limit: one per chunk.
      expect(plan.chunks.map((c) => [c.name, c.bytes])).toEqual([
        ['big.onnx_data', 2 ** 30],
        ['big.onnx_data_1', 2 ** 30],
        ['big.onnx_data_2', 2 ** 30],
      ]);
    });
  });

  it('gives typed errors for a file that is not ONNX, cut-short or missing external data, and a location outside the folder', async () => {
    const junk = join(dir, 'junk.onnx');
    await writeFile(junk, 'this is not a protobuf, just text\n');
    expect(await codeOf(readOnnxFile(junk))).toBe('MODEL_CORRUPT');
    expect(await codeOf(readOnnxFile(join(dir, 'nothing.onnx')))).toBe('MODEL_FILE_MISSING');

    const src = await readOnnxFile(VISION);
    const path = join(dir, 'ext.onnx');
    await writeOnnxFile(path, src.working, { externalData: true });
    await src.close();
    const readAll = async () => {
      const m = await readOnnxFile(path);
      try {
        for (const t of m.working.initializers.values()) await t.data();
      } finally {
        await m.close();
      }
    };
    await truncate(`${path}_data`, 1000);
    expect(await codeOf(readAll())).toBe('MODEL_CORRUPT');
    await rm(`${path}_data`);
    expect(await codeOf(readAll())).toBe('MODEL_FILE_MISSING');

    const escaping = (await readFile(path)).toString('latin1').replace('ext.onnx_data', '../ext.onnx_d');
    await writeFile(path, Buffer.from(escaping, 'latin1'));
    expect(await codeOf(readAll())).toBe('MODEL_CORRUPT');
  });
});
