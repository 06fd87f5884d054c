/**
 * VLM chat (random-weight SmolLM-135M-shaped decoder with a ViT-B/16 tower, models-bench/vlm-smol):
 * decode tokens/s over a fixed number of new tokens (EOS suppressed on both sides, so random
 * weights cost what trained ones do), turn-1 time to first token (preprocessing + vision tower +
 * prefill of a picture not seen before) and turn-2 time to first token (a second question about
 * the same picture: mmrt's conversation keeps its KV cache; the peer's generate gets the whole
 * history with the image again, as an app using it must).
 */
import { renderShape } from '../../tools/shapes/render.js';
import { type PeerThreads, peerGenerate, peerLibrary, peerOptions, peerUser } from '../suite/peer.js';
import type { ChildContext, Measured, NodeContender, Workload } from '../suite/types.js';
import { PEER_THREADS, peerThreads } from './common.js';

const Q1 = 'What color is the shape?';
const Q2 = 'What shape is this?';
const NEW_TOKENS = 32;
const COLORS = ['blue', 'red', 'green', 'yellow', 'purple', 'orange'] as const;
const SHAPES = ['star', 'circle', 'square', 'triangle'] as const;
/** A different picture for every iteration (warm-up ones included). */
const picture = (i: number) => renderShape(100 + i, 224, 224, COLORS[i % 6]!, SHAPES[i % 4]!, 'plain');

interface Turns {
  decode: number;
  ttft1: number;
  ttft2: number;
}

async function collect(ctx: ChildContext, run: (i: number) => Promise<Turns>): Promise<Measured> {
  for (let w = 0; w < ctx.warmup; w++) await run(1000 + w);
  const s: Record<keyof Turns, number[]> = { decode: [], ttft1: [], ttft2: [] };
  for (let i = 0; i < ctx.iterations; i++) {
    const t = await run(i);
    for (const k of Object.keys(s) as (keyof Turns)[]) s[k].push(t[k]);
  }
  return { samples: s };
}

async function mmrt(ctx: ChildContext): Promise<Measured> {
  const { loadLlava } = await import('../../src/node/index.js');
  const model = await loadLlava({
    model: ctx.fixtures.vlmModel,
    platform: 'cpu',
    loading: { preload: true },
    host: { cacheDir: ctx.cacheDir },
  });
  const pixels = (i: number) => {
    const img = picture(i);
    return { data: img.rgb, width: img.width, height: img.height, channels: 3 as const };
  };
  const out = await collect(ctx, async (i) => {
    const conv = model.conversation();
    const t1 = await conv.send(Q1, {
      images: [pixels(i)],
      maxNewTokens: NEW_TOKENS,
      minNewTokens: NEW_TOKENS,
    }).result;
    const t2 = await conv.send(Q2, { maxNewTokens: 1 }).result;
    return {
      decode: t1.timings.decodeTokensPerSecond,
      ttft1: t1.timings.timeToFirstTokenMs,
      ttft2: t2.timings.timeToFirstTokenMs,
    };
  });
  await model.dispose();
  return out;
}

async function peer(ctx: ChildContext, threads: PeerThreads): Promise<Measured> {
  const { tf, id } = await peerLibrary(ctx.fixtures.vlmModel);
  const processor = await tf.AutoProcessor.from_pretrained(id);
  const model = await tf.LlavaForConditionalGeneration.from_pretrained(id, peerOptions(threads));
  const gen = peerGenerate(tf, processor, model);
  const out = await collect(ctx, async (i) => {
    const img = picture(i);
    const image = new tf.RawImage(new Uint8ClampedArray(img.rgb), img.width, img.height, 3);
    const t1 = await gen([peerUser(Q1, true)], image, NEW_TOKENS, NEW_TOKENS);
    const t2 = await gen(
      [peerUser(Q1, true), { role: 'assistant', content: t1.answer }, peerUser(Q2, false)],
      image,
      1,
    );
    return { decode: t1.rate, ttft1: t1.ttft, ttft2: t2.ttft };
  });
  await model.dispose();
  return out;
}

const contenders: Record<string, NodeContender> = {
  mmrt: { label: 'mmrt', side: 'mmrt', measure: mmrt },
  ...Object.fromEntries(
    Object.entries(PEER_THREADS).map(([key, t]) => [
      key,
      {
        label: t === 'default' ? 'transformers.js (defaults)' : 'transformers.js (equal threads)',
        side: 'peer',
        measure: (ctx: ChildContext) => peer(ctx, peerThreads(ctx, t)),
      } satisfies NodeContender,
    ]),
  ),
};

export const VLM_WORKLOADS: readonly Workload[] = [
  {
    name: 'vlm',
    title: 'VLM chat',
    description: `Greedy, ${NEW_TOKENS} new tokens on turn 1, a second question on turn 2 (same picture).`,
    metrics: [
      { key: 'decode', label: 'decode tokens/s', unit: 'tokens/s', better: 'higher' },
      { key: 'ttft1', label: 'turn-1 time to first token', unit: 'ms', better: 'lower' },
      { key: 'ttft2', label: 'turn-2 time to first token', unit: 'ms', better: 'lower' },
    ],
    contenders,
    comparisons: (['decode', 'ttft1', 'ttft2'] as const).flatMap((metric) => [
      { mmrt: 'mmrt', other: 'peer-default', metric, label: `${metric} vs transformers.js defaults` },
      { mmrt: 'mmrt', other: 'peer-equal', metric, label: `${metric} vs transformers.js at equal threads` },
    ]),
    warmup: 1,
    iterations: 2,
    needs: ['vlm'],
  },
];
