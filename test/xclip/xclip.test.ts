/**
 * The tiny shapes X-CLIP through `loadXclip`: parity with PyTorch on the committed references
 * (1e-4, from the full-size frames: Pillow-exact bilinear resize, ImageNet normalisation read
 * from the package, the three graphs, the logits in the core), then fresh clips drawn by ffmpeg
 * (mp4 and webm, several lengths, rates and sizes) classified by colour and direction, long
 * videos in temporal segments (parallel = sequential), video search, the text cache, and bad input.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_XCLIP_MODEL } from '../../src/cli/paths.js';
import type { XclipModel } from '../../src/kinds/video-text/model.js';
import { VideoIndex } from '../../src/kinds/video-text/video-index.js';
import { ImageProcessor } from '../../src/media/processor.js';
import { loadXclip } from '../../src/node/index.js';
import { type B64Tensor, float32, maxAbsDiff, readJson } from '../shapes/reference.js';
import { LABELS, clipSpecs, label, renderClip } from '../video/shape-clips.js';

interface XclipCase {
  name: string;
  clips: Array<{ width: number; height: number; frames: { shape: number[]; base64: string } }>;
  pixel_values: B64Tensor;
  video_embeds: number[][];
  video_features: number[][][];
  text_embeds: number[][];
  conditioned_text_embeds: number[][][];
  logit_scale: number;
  logits_per_video: number[][];
  model_logits_per_video?: number[][];
}
const ref = readJson<{ texts: string[]; cases: XclipCase[] }>('shapes-xclip', 'reference.json');
const u8 = (t: { base64: string }) => new Uint8Array(Buffer.from(t.base64, 'base64'));
const norm = (v: ArrayLike<number>) => {
  const n = Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
  return Array.from(v, (x) => x / n);
};
const softmax = (xs: number[]) => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};
/** The reference clip's full-size frames as decoded-frames input (one frame per frame asked). */
function framesOf(clip: XclipCase['clips'][number]) {
  const [t, h, w] = clip.frames.shape as [number, number, number];
  const all = u8(clip.frames);
  const size = h * w * 3;
  return {
    fps: 10,
    frames: Array.from({ length: t }, (_, i) => ({
      data: all.subarray(i * size, (i + 1) * size),
      width: w,
      height: h,
      channels: 3,
    })),
  };
}

let model: XclipModel;
const warnings: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'mmrt-xclip-'));
beforeAll(async () => {
  model = await loadXclip({
    model: DEFAULT_XCLIP_MODEL,
    platform: 'cpu',
    config: { numThreads: 1 },
    onWarning: (w) => warnings.push(w),
  });
});
afterAll(async () => {
  await model?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('parity with PyTorch (tools/shapes/xclip.py references)', () => {
  it('preprocesses frames bit for bit as Python does (bilinear, ImageNet mean/std from the package)', () => {
    const pre = readJson<Record<string, unknown>>('shapes-xclip', 'preprocessor_config.json');
    const proc = ImageProcessor.fromConfig(pre);
    expect(proc.config.mean).toEqual([0.485, 0.456, 0.406]);
    expect(proc.config.resample).toBe('bilinear');
    for (const c of ref.cases) {
      const want = float32(c.pixel_values);
      const got = c.clips.flatMap((clip) =>
        framesOf(clip).frames.map((f) => Array.from(proc.preprocess(f).data)),
      );
      expect(maxAbsDiff(got.flat(), want)).toBe(0);
    }
  });

  it.each(ref.cases.map((c) => [c.name, c] as const))(
    '%s: embeddings, prompts and logits within 1e-4',
    async (_, c) => {
      const frames = c.clips[0]!.frames.shape[0]!;
      const texts = await model.embedTexts(ref.texts);
      expect(
        maxAbsDiff(
          texts.flatMap((t) => Array.from(t)),
          c.text_embeds.flat(),
        ),
      ).toBeLessThan(1e-4);
      for (const [b, clip] of c.clips.entries()) {
        const v = await model.embedVideo(framesOf(clip), {
          frames,
          segments: { seconds: Number.POSITIVE_INFINITY },
        });
        expect(v.segments).toHaveLength(1);
        expect(maxAbsDiff(v.embedding, norm(c.video_embeds[b]!))).toBeLessThan(1e-4);
        expect(maxAbsDiff(v.features, c.video_features[b]!.flat())).toBeLessThan(1e-4);
        const { embeds, logitScale } = await model.conditionTexts(texts, [v.features]);
        expect(Math.abs(logitScale - c.logit_scale)).toBeLessThan(1e-4);
        expect(
          maxAbsDiff(
            embeds[0]!.flatMap((e) => Array.from(e)),
            c.conditioned_text_embeds[b]!.flat(),
          ),
        ).toBeLessThan(1e-4);
        const ranked = await model.rankTexts(framesOf(clip), ref.texts, {
          frames,
          segments: { seconds: Number.POSITIVE_INFINITY },
        });
        const probs = softmax(c.logits_per_video[b]!);
        for (const s of ranked.labels)
          expect(Math.abs(s.score - probs[ref.texts.indexOf(s.label)]!)).toBeLessThan(1e-4);
        if (c.model_logits_per_video) {
          // The layout chained == XCLIPModel.forward at the trained frame count.
          expect(maxAbsDiff(c.model_logits_per_video[b]!, c.logits_per_video[b]!)).toBeLessThan(1e-4);
        }
      }
    },
  );
});

describe('fresh clips drawn by ffmpeg (never seen in training)', () => {
  const specs = clipSpecs(24, 5);
  let files: string[];
  beforeAll(async () => {
    files = [];
    for (let i = 0; i < specs.length; i += 4) {
      files.push(
        ...(await Promise.all(
          specs.slice(i, i + 4).map((s, j) => renderClip(s, join(dir, `c${i + j}.${s.format}`))),
        )),
      );
    }
  }, 120_000);

  it('names colour and direction in >= 90% of 24 clips (mp4 and webm, 1-6 s, 8-30 fps)', async () => {
    let right = 0;
    const wrong: string[] = [];
    for (const [i, s] of specs.entries()) {
      const r = await model.rankTexts(files[i]!, LABELS);
      if (r.labels[0]!.label === label(s.color, s.direction)) right++;
      else wrong.push(`${files[i]} ${JSON.stringify(s)}: ${r.labels[0]!.label}`);
    }
    expect(new Set(specs.map((s) => s.format))).toEqual(new Set(['mp4', 'webm']));
    expect(new Set(specs.map((s) => s.fps)).size).toBeGreaterThan(2);
    expect(right / specs.length, wrong.join('\n')).toBeGreaterThanOrEqual(0.9);
  }, 120_000);

  it('indexes videos and finds them by text', async () => {
    const index = new VideoIndex('shapes-xclip');
    for (const f of files.slice(0, 6)) index.add(f, await model.embedVideo(f));
    const copy = VideoIndex.deserialize(index.serialize());
    let found = 0;
    for (const [i, s] of specs.slice(0, 6).entries()) {
      const [hit] = await model.searchVideos(copy, label(s.color, s.direction), { k: 1 });
      if (hit!.id === files[i]) found++;
    }
    expect(found).toBeGreaterThanOrEqual(5);
  });

  it('reuses text embeddings across videos (the prompt generator still runs per video)', async () => {
    const before = model.textCacheStats()!;
    const promptMs = model.timings.promptMs;
    await model.rankTexts(files[0]!, LABELS);
    await model.rankTexts(files[1]!, LABELS);
    const after = model.textCacheStats()!;
    expect(after.hits - before.hits).toBe(2 * LABELS.length);
    expect(after.misses).toBe(before.misses);
    expect(model.timings.promptMs).toBeGreaterThan(promptMs);
  });
});

describe('long videos in temporal segments', () => {
  let long: string;
  const parts = clipSpecs(3, 11).map((s) => ({
    ...s,
    seconds: 3,
    fps: 12,
    width: 96,
    height: 72,
    format: 'mp4' as const,
  }));
  beforeAll(async () => {
    const files = await Promise.all(parts.map((s, i) => renderClip(s, join(dir, `part${i}.mp4`))));
    const list = join(dir, 'parts.txt');
    writeFileSync(list, files.map((f) => `file '${f}'`).join('\n'));
    long = join(dir, 'long.mp4');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'concat',
      '-safe',
      '0',
      '-i',
      list,
      '-c',
      'copy',
      long,
    ]);
  }, 60_000);

  it('classifies each segment as the part it covers', async () => {
    const r = await model.rankTexts(long, LABELS, { segments: { seconds: 3 } });
    expect(r.durationSec).toBeCloseTo(9, 1);
    expect(r.segments).toHaveLength(3);
    const right = r.segments.filter(
      (s, i) => s.labels[0]!.label === label(parts[i]!.color, parts[i]!.direction),
    );
    expect(right.length).toBeGreaterThanOrEqual(2);
  });

  it('gives the same embeddings with parallel and with sequential segments', async () => {
    const par = await model.embedVideo(long, { segments: { seconds: 1.5 }, segmentBatch: 3 });
    const seq = await model.embedVideo(long, { segments: { seconds: 1.5 }, parallelSegments: false });
    expect(par.segments).toHaveLength(6);
    expect(maxAbsDiff(par.embedding, seq.embedding)).toBeLessThan(1e-5);
    expect(par.segments.map((s) => s.times)).toEqual(seq.segments.map((s) => s.times));
  });

  it('finds the segment a text describes', async () => {
    const index = new VideoIndex();
    index.add(long, await model.embedVideo(long, { segments: { seconds: 3 } }));
    const p = parts[2]!;
    const [hit] = await model.searchVideos(index, label(p.color, p.direction), { k: 1, level: 'segment' });
    expect(hit).toMatchObject({ id: long });
    expect(hit!.startSec).toBeCloseTo(6, 0);
  });
});

describe('frames per clip and bad input', () => {
  it('takes temporal_resolution from the plan (low = 4 frames) and warns that it differs from training', async () => {
    const w: string[] = [];
    const low = await loadXclip({
      model: DEFAULT_XCLIP_MODEL,
      platform: 'cpu',
      config: { numThreads: 1, temporal_resolution: 'low' },
      onWarning: (m) => w.push(m),
    });
    try {
      const frames = framesOf(ref.cases[0]!.clips[0]!);
      const v = await low.embedVideo(frames);
      expect(v.segments[0]!.times).toHaveLength(4);
      expect(w.join('\n')).toMatch(/trained on 8 frames/);
    } finally {
      await low.dispose();
    }
  });

  it('refuses empty labels, a non-video file and empty frames with typed errors', async () => {
    await expect(model.rankTexts(join(dir, 'x.mp4'), [])).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    const txt = join(dir, 'notes.txt');
    writeFileSync(txt, 'not a video at all\n'.repeat(20));
    await expect(model.rankTexts(txt, LABELS)).rejects.toMatchObject({ code: 'VIDEO_DECODE_FAILED' });
    await expect(model.embedVideo({ frames: [], fps: 10 })).rejects.toMatchObject({ code: 'VIDEO_EMPTY' });
    await expect(model.embedVideo(join(dir, 'missing.webm'))).rejects.toMatchObject({
      code: 'INPUT_NOT_FOUND',
    });
  });
});
