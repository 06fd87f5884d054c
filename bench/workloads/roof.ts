/**
 * The machine's roof: ONNX Runtime's own MatMul (2048 x 2048 x 2048, fp32, the weight a
 * pre-packed initializer as in a model) at one thread and at every logical core. The report
 * divides each encoder's achieved GFLOP/s by it.
 */
import { matmulModel } from '../lib/onnx-matmul.js';
import type { ChildContext, Measured, Workload } from '../suite/types.js';

const N = 2048;

/**
 * The all-thread MatMul roof measured inside an encoder's own child, right after its timed
 * iterations: on a shared machine the encoder's fraction of the roof is then read against the
 * machine as it was at that moment, not minutes earlier. Best of `runs`, GFLOP/s.
 */
export async function roofNow(threads: number, runs = 4): Promise<number> {
  const { ort } = await import('../../src/node/ort.js');
  const s = await ort.InferenceSession.create(matmulModel(N, N), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const feeds = { X: new ort.Tensor('float32', new Float32Array(N * N).fill(0.5), [N, N]) };
  await s.run(feeds);
  let best = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    best = Math.max(best, (2 * N ** 3) / ((performance.now() - t0) * 1e6));
  }
  await s.release();
  return best;
}

async function roof(ctx: ChildContext): Promise<Measured> {
  const { ort } = await import('../../src/node/ort.js');
  const bytes = matmulModel(N, N);
  const x = new Float32Array(N * N);
  for (let i = 0; i < x.length; i++) x[i] = ((i % 97) - 48) / 97;
  const samples: Record<string, number[]> = { one: [], all: [] };
  for (const [key, threads] of [
    ['one', 1],
    ['all', ctx.threads],
  ] as const) {
    const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const feeds = { X: new ort.Tensor('float32', x, [N, N]) };
    for (let w = 0; w < ctx.warmup + 1; w++) await s.run(feeds);
    for (let i = 0; i < ctx.iterations; i++) {
      const t0 = performance.now();
      await s.run(feeds);
      samples[key]!.push((2 * N ** 3) / ((performance.now() - t0) * 1e6));
    }
    await s.release();
  }
  return { samples, details: { shape: [N, N, N] } };
}

export const ROOF_WORKLOADS: readonly Workload[] = [
  {
    name: 'roof',
    title: 'Machine roof: ONNX Runtime MatMul',
    description: `fp32 MatMul ${N}x${N}x${N} in ONNX Runtime (weights pre-packed), GFLOP/s = 2·N³ / time.`,
    metrics: [
      { key: 'one', label: '1 thread', unit: 'GFLOP/s', better: 'higher' },
      { key: 'all', label: 'all threads', unit: 'GFLOP/s', better: 'higher' },
    ],
    contenders: { ort: { label: 'ONNX Runtime MatMul', side: 'anchor', measure: roof } },
    comparisons: [],
    warmup: 1,
    iterations: 5,
  },
];
