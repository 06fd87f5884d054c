/**
 * X-CLIP benchmark on a bench-size model (random weights, real architecture:
 * `/usr/bin/python3 tools/shapes/make.py --bench --only xclip`):
 *
 *   npm run bench -- xclip --model models-bench/xclip-base-patch32 [--runs 3] [--threads N]
 *                          [--long-seconds 600] [--out bench/results/xclip.json]
 *
 * - short clips: clips/s of `rankTexts` (10 labels, 8 frames each) over 4-second 320x240 clips,
 *   medians over --runs passes, with the time split into probe + decode, vision, text, prompts;
 * - a long video (10 minutes by default, 320x240 at 30 fps, 2 s GOP) embedded in 10-second
 *   segments (60 clips of 8 frames): sequential segments (decode one, encode it, next; batch 1)
 *   against parallel ones (decodes concurrent and overlapped with encoding, batched 4 per
 *   vision call), and decoding alone, so the share of decoding is measured, not guessed.
 * No peer runs here: transformers.js has no X-CLIP (no x_clip in its registry, issues #495 and
 * #1450), and no other TypeScript runtime decodes video in Node.
 * Test videos are made with ffmpeg once and kept under .cache/bench-videos/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sampleFrames, splitSegments } from '../src/media/frame-sampling.js';
import { loadXclip } from '../src/node/index.js';
import { nodeVideoOpener } from '../src/node/media/video.js';
import { ortVersion } from '../src/node/ort.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(availableParallelism()) },
    clips: { type: 'string', default: '6' },
    'long-seconds': { type: 'string', default: '600' },
    'long-runs': { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results/xclip.json' },
  },
});
if (!values.model) {
  process.stderr.write('usage: npm run bench -- xclip --model models-bench/xclip-base-patch32 [--runs 3]\n');
  process.exit(2);
}
const modelDir = resolve(values.model);
const runs = Number(values.runs);
const threads = Number(values.threads);
const longSeconds = Number(values['long-seconds']);
const log = (m: string) => process.stderr.write(`${m}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

const CACHE = resolve('.cache/bench-videos');
mkdirSync(CACHE, { recursive: true });
function testVideo(name: string, seconds: number, extra: string): string {
  const file = join(CACHE, name);
  if (!existsSync(file)) {
    log(`making ${file} (${seconds} s)`);
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=320x240:rate=30:duration=${seconds}${extra}`,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-g',
      '60',
      '-pix_fmt',
      'yuv420p',
      file,
    ]);
  }
  return file;
}
const clips = Array.from({ length: Number(values.clips) }, (_, i) =>
  testVideo(`clip${i}.mp4`, 4, `,hue=h=${i * 40}`),
);
const long = testVideo(`long${longSeconds}.mp4`, longSeconds, '');
const LABELS = [
  'a person cooking',
  'a dog running',
  'a car driving at night',
  'people dancing',
  'a cat sleeping',
  'someone playing guitar',
  'a football match',
  'waves on a beach',
  'a busy street',
  'a test pattern',
];

const model = await loadXclip({ model: modelDir, platform: 'cpu', config: { num_threads: threads } });
const resetTimings = () =>
  Object.assign(model.timings, { probeMs: 0, decodeMs: 0, visionMs: 0, textMs: 0, promptMs: 0 });
const split = (wallMs: number) => {
  const t = model.timings;
  return {
    wallMs: round(wallMs, 0),
    probePlusDecodeMs: round(t.probeMs + t.decodeMs, 0),
    visionMs: round(t.visionMs, 0),
    textMs: round(t.textMs, 0),
    promptMs: round(t.promptMs, 0),
    decodeShare: round((t.probeMs + t.decodeMs) / wallMs, 3),
  };
};

// ---- short clips
log(`short clips: ${clips.length} x 4 s, rankTexts against ${LABELS.length} labels, ${runs} passes`);
await model.rankTexts(clips[0]!, LABELS); // warm-up (sessions, text cache)
const passes: Array<{ clipsPerSecond: number } & ReturnType<typeof split>> = [];
for (let r = 0; r < runs; r++) {
  resetTimings();
  const t0 = performance.now();
  for (const c of clips) await model.rankTexts(c, LABELS);
  const ms = performance.now() - t0;
  passes.push({ clipsPerSecond: round((clips.length * 1000) / ms, 2), ...split(ms) });
  log(
    `  pass ${r + 1}: ${passes.at(-1)!.clipsPerSecond} clips/s, decode share ${passes.at(-1)!.decodeShare}`,
  );
}
const bestOf = <K extends keyof (typeof passes)[number]>(k: K) => median(passes.map((p) => p[k] as number));

// ---- long video: sequential vs parallel segments, and decoding alone
const longRun = async (mode: 'sequential' | 'parallel') => {
  resetTimings();
  const t0 = performance.now();
  const v = await model.embedVideo(long, {
    segments: { seconds: 10 },
    ...(mode === 'sequential' ? { parallelSegments: false } : { segmentBatch: 4 }),
  });
  const ms = performance.now() - t0;
  const r = {
    segments: v.segments.length,
    clipsPerSecond: round((v.segments.length * 1000) / ms, 2),
    ...split(ms),
  };
  log(
    `  ${mode}: ${r.segments} segments in ${round(ms / 1000, 1)} s (${r.clipsPerSecond} clips/s), decode waited ${r.probePlusDecodeMs} ms`,
  );
  return r;
};
log(`long video: ${longSeconds} s at 30 fps, 10 s segments of 8 frames, sequential and parallel in turn`);
const longRuns = Number(values['long-runs']);
const seqRuns: Array<Awaited<ReturnType<typeof longRun>>> = [];
const parRuns: typeof seqRuns = [];
for (let r = 0; r < longRuns; r++) {
  // Alternate which goes first: the machine's load drifts.
  const order = r % 2 === 0 ? (['sequential', 'parallel'] as const) : (['parallel', 'sequential'] as const);
  for (const mode of order) (mode === 'sequential' ? seqRuns : parRuns).push(await longRun(mode));
}
const medianRun = (rs: typeof seqRuns) => {
  const m = median(rs.map((r) => r.wallMs));
  return {
    ...rs.reduce((a, b) => (Math.abs(b.wallMs - m) < Math.abs(a.wallMs - m) ? b : a)),
    medianWallMs: m,
    runs: rs,
  };
};
const sequential = medianRun(seqRuns);
const parallel = medianRun(parRuns);
const decodeOnly = await (async () => {
  const open = nodeVideoOpener();
  const t0 = performance.now();
  const src = await open(long);
  const probeMs = performance.now() - t0;
  const segs = splitSegments(src.info, { seconds: 10 });
  const t1 = performance.now();
  await Promise.all(
    segs.map((s, i) =>
      src.decode(
        sampleFrames(src.info, s, { strategy: 'uniform' }, 8, i === segs.length - 1).map((p) => p.time),
      ),
    ),
  );
  const decodeMs = performance.now() - t1;
  await src.close();
  log(
    `  decoding alone: probe ${round(probeMs, 0)} ms, ${segs.length * 8} frames in ${round(decodeMs, 0)} ms`,
  );
  return { probeMs: round(probeMs, 0), decodeMs: round(decodeMs, 0), frames: segs.length * 8 };
})();
await model.dispose();

const result = {
  benchmark: 'xclip',
  date: new Date().toISOString(),
  command: `npm run bench -- xclip --model ${values.model} --runs ${runs} --threads ${threads}`,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, onnxruntime: ortVersion() },
  model: basename(modelDir),
  threads,
  peer: 'none: transformers.js has no X-CLIP',
  shortClips: {
    clips: clips.length,
    seconds: 4,
    size: '320x240',
    fps: 30,
    labels: LABELS.length,
    framesPerClip: 8,
    passes,
    medianClipsPerSecond: bestOf('clipsPerSecond'),
    medianDecodeShare: bestOf('decodeShare'),
  },
  longVideo: {
    seconds: longSeconds,
    size: '320x240',
    fps: 30,
    segmentSeconds: 10,
    framesPerSegment: 8,
    sequential,
    parallel,
    speedup: round(sequential.medianWallMs / parallel.medianWallMs, 2),
    decodeOnly,
  },
};
await writeFile(values.out!, `${JSON.stringify(result, null, 2)}\n`);
log(`wrote ${values.out}`);
