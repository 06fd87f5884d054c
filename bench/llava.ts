/**
 * LLaVA benchmark: mmrt against @huggingface/transformers (the peer) on the same model folder,
 * in one process, at equal intra-op thread counts, plus the peer with its default options.
 *
 *   npx tsx bench/llava.ts --model models-bench/<vlm folder> [--runs 5] [--threads N]
 *                          [--new-tokens 32] [--out bench/results/llava.json]
 *
 * All three contenders are loaded side by side and their runs interleaved (rotating order),
 * so drift on a shared machine hits them alike. Medians over --runs of:
 * - decode tokens/s: a fixed number of new tokens (EOS suppressed on both sides, so random
 *   weights cost what trained ones do), steps after the first token / their time;
 * - turn-1 time to first token: a question about a picture neither side has seen (each run
 *   renders its own), preprocessing + vision encoder + prefill;
 * - turn-2 time to first token: a second question about the same picture. mmrt's
 *   conversation keeps its KV cache (and would reuse the image's features); the peer's
 *   generate gets the whole history with the image again, as an app using it must, so it
 *   re-runs the vision encoder and the full prefill.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadLlava } from '../src/node/index.js';
import { ortVersion } from '../src/node/ort.js';
import { renderShape } from '../tools/shapes/render.js';
import { peerGenerate, peerLibrary, peerOptions, peerUser } from './suite/peer.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: String(availableParallelism()) },
    'new-tokens': { type: 'string', default: '32' },
    out: { type: 'string', default: 'bench/results/llava.json' },
  },
});
if (!values.model) {
  process.stderr.write(
    'usage: npx tsx bench/llava.ts --model models-bench/<vlm folder> [--runs 5] [--threads N]\n',
  );
  process.exit(2);
}
const modelDir = resolve(values.model);
const runs = Number(values.runs);
const threads = Number(values.threads);
const newTokens = Number(values['new-tokens']);
const Q1 = 'What color is the shape?';
const Q2 = 'What shape is this?';

const COLORS = ['blue', 'red', 'green', 'yellow', 'purple', 'orange'] as const;
const SHAPES = ['star', 'circle', 'square', 'triangle'] as const;
/** A different picture for every run (the warm-up uses index `runs`). */
const imageFor = (run: number) =>
  renderShape(100 + run, 224, 224, COLORS[run % 6]!, SHAPES[run % 4]!, 'plain');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const log = (m: string) => process.stderr.write(`${m}\n`);

interface RunFigures {
  decodeTokensPerSecond: number;
  turn1TimeToFirstTokenMs: number;
  turn2TimeToFirstTokenMs: number;
  turn2PromptTokens: number;
  turn2PrefillTokens: number;
}

interface Contender {
  readonly name: string;
  readonly loadMs: number;
  run(index: number): Promise<RunFigures>;
  dispose(): Promise<void>;
}

async function loadMmrt(): Promise<Contender> {
  const t0 = performance.now();
  const model = await loadLlava({ model: modelDir, platform: 'cpu', config: { num_threads: threads } });
  const dispose = () => model.dispose();
  const pixels = (run: number) => {
    const img = imageFor(run);
    return { data: img.rgb, width: img.width, height: img.height, channels: 3 as const };
  };
  await model.ask(pixels(runs), Q1, { maxNewTokens: 2 }).result; // creates the sessions
  return {
    name: 'mmrt',
    loadMs: performance.now() - t0,
    async run(r) {
      const conv = model.conversation();
      const t1 = await conv.send(Q1, {
        images: [pixels(r)],
        maxNewTokens: newTokens,
        minNewTokens: newTokens,
      }).result;
      const t2 = await conv.send(Q2, { maxNewTokens: 1 }).result;
      return {
        decodeTokensPerSecond: t1.timings.decodeTokensPerSecond,
        turn1TimeToFirstTokenMs: t1.timings.timeToFirstTokenMs,
        turn2TimeToFirstTokenMs: t2.timings.timeToFirstTokenMs,
        turn2PromptTokens: t2.usage.promptTokens,
        turn2PrefillTokens: t2.usage.prefillTokens,
      };
    },
    dispose,
  };
}

async function loadPeer(sessionThreads: number | undefined): Promise<Contender> {
  const { tf, id } = await peerLibrary(modelDir);
  const t0 = performance.now();
  const processor = await tf.AutoProcessor.from_pretrained(id);
  const model = await tf.LlavaForConditionalGeneration.from_pretrained(
    id,
    peerOptions(sessionThreads ?? 'default'),
  );
  const gen = peerGenerate(tf, processor, model);
  const rawImage = (run: number) => {
    const img = imageFor(run);
    return new tf.RawImage(new Uint8ClampedArray(img.rgb), img.width, img.height, 3);
  };
  await gen([peerUser(Q1, true)], rawImage(runs), 2);
  return {
    name: sessionThreads ? 'peer' : 'peerDefault',
    loadMs: performance.now() - t0,
    async run(r) {
      const image = rawImage(r);
      const t1 = await gen([peerUser(Q1, true)], image, newTokens, newTokens);
      const t2 = await gen(
        [peerUser(Q1, true), { role: 'assistant', content: t1.answer }, peerUser(Q2, false)],
        image,
        1,
      );
      return {
        decodeTokensPerSecond: t1.rate,
        turn1TimeToFirstTokenMs: t1.ttft,
        turn2TimeToFirstTokenMs: t2.ttft,
        turn2PromptTokens: t2.promptLen,
        turn2PrefillTokens: t2.promptLen,
      };
    },
    async dispose() {
      await model.dispose();
    },
  };
}

log(`bench llava: ${modelDir}, ${threads} intra-op threads, ${runs} runs, ${newTokens} new tokens`);
const contenders = [await loadMmrt(), await loadPeer(threads), await loadPeer(undefined)];
const figures = new Map<string, RunFigures[]>(contenders.map((c) => [c.name, []]));
for (let r = 0; r < runs; r++) {
  // rotate the order each run so no contender always goes first
  for (let k = 0; k < contenders.length; k++) {
    const c = contenders[(r + k) % contenders.length]!;
    const f = await c.run(r);
    figures.get(c.name)!.push(f);
    log(
      `  run ${r + 1} ${c.name.padEnd(11)} ${f.decodeTokensPerSecond.toFixed(1).padStart(6)} tok/s  turn-1 TTFT ${f.turn1TimeToFirstTokenMs.toFixed(0).padStart(5)} ms  turn-2 TTFT ${f.turn2TimeToFirstTokenMs.toFixed(0).padStart(5)} ms (${f.turn2PrefillTokens}/${f.turn2PromptTokens} prompt tokens run)`,
    );
  }
}
for (const c of contenders) await c.dispose();

const summary = (name: string) => {
  const fs = figures.get(name)!;
  const pick = (k: keyof RunFigures) => ({ median: median(fs.map((f) => f[k])), runs: fs.map((f) => f[k]) });
  return {
    loadMs: Math.round(contenders.find((c) => c.name === name)!.loadMs),
    decodeTokensPerSecond: pick('decodeTokensPerSecond'),
    turn1TimeToFirstTokenMs: pick('turn1TimeToFirstTokenMs'),
    turn2TimeToFirstTokenMs: pick('turn2TimeToFirstTokenMs'),
    turn2PromptTokens: fs[0]!.turn2PromptTokens,
    turn2PrefillTokens: fs[0]!.turn2PrefillTokens,
  };
};
const mmrt = summary('mmrt');
const peer = summary('peer');
const peerDefault = summary('peerDefault');
const ratios = (other: typeof peer) => ({
  decodeTokensPerSecond: mmrt.decodeTokensPerSecond.median / other.decodeTokensPerSecond.median,
  turn1TimeToFirstTokenSpeedup: other.turn1TimeToFirstTokenMs.median / mmrt.turn1TimeToFirstTokenMs.median,
  turn2TimeToFirstTokenSpeedup: other.turn2TimeToFirstTokenMs.median / mmrt.turn2TimeToFirstTokenMs.median,
});
const result = {
  benchmark: 'llava',
  command: `npx tsx bench/llava.ts ${process.argv.slice(2).join(' ')}`,
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, onnxruntime: ortVersion() },
  model: modelDir,
  settings: {
    runs,
    intraOpNumThreads: threads,
    newTokens,
    greedy: true,
    questions: [Q1, Q2],
    interleaved: true,
  },
  mmrt,
  peer: { name: '@huggingface/transformers', equalThreads: peer, defaultOptions: peerDefault },
  ratios: { vsPeerEqualThreads: ratios(peer), vsPeerDefault: ratios(peerDefault) },
};
await mkdir(dirname(resolve(values.out!)), { recursive: true });
await writeFile(resolve(values.out!), `${JSON.stringify(result, null, 2)}\n`);
log(JSON.stringify(result.ratios, null, 2));
log(`written to ${values.out}`);
