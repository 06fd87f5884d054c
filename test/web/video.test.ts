/**
 * The browser video decoder (src/web/video.ts) in headless Chromium (Debian's, driven by
 * playwright-core): bundled on the fly, served from a local server with test videos made by
 * ffmpeg. WebCodecs + mediabunny must list ffprobe's frame times and keyframes and decode exactly
 * the frames picked; the video-element fallback must decode the frames shown at the times asked;
 * bad input is a typed error. Skipped where /usr/bin/chromium is absent.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrames, numberedFrames, probeFrames } from '../video/fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'mmrt-web-video-'));
let server: Server;
let base: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  encodeFrames(numberedFrames(20, 32, 24), join(dir, 'vp9.webm'), {
    fps: 8,
    width: 32,
    height: 24,
    format: 'webm',
    gop: 5,
  });
  encodeFrames(numberedFrames(24, 32, 24), join(dir, 'h264.mp4'), {
    fps: 12,
    width: 32,
    height: 24,
    format: 'mp4',
    gop: 6,
  });
  writeFileSync(join(dir, 'notes.txt'), 'not a video\n'.repeat(40));
  const bundle = await build({
    stdin: { contents: "export { openWebVideo } from './src/web/video.ts';", resolveDir: root, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const files: Record<string, { type: string; body: Buffer }> = {
    '/': {
      type: 'text/html',
      body: Buffer.from(
        '<!doctype html><script type="module">import * as v from "/video.js"; window.mmrtVideo = v; window.ready = true;</script>',
      ),
    },
    '/video.js': { type: 'text/javascript', body: Buffer.from(bundle.outputFiles[0]!.contents) },
  };
  for (const f of ['vp9.webm', 'h264.mp4', 'notes.txt'])
    files[`/${f}`] = { type: 'application/octet-stream', body: readFileSync(join(dir, f)) };
  server = createServer((req, res) => {
    const f = files[req.url ?? ''];
    if (f) res.writeHead(200, { 'content-type': f.type }).end(f.body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (!existsSync(CHROMIUM)) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  page = await browser.newPage();
  await page.goto(base);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

interface Probe {
  info: {
    frameTimes?: number[];
    keyframeTimes?: number[];
    width: number;
    height: number;
    durationSec: number;
  };
  frames: number[];
  timestamps: number[];
}
/** Opens `url` in the page, decodes the frames at `times`, returns them by number (grey / 8). */
function inPage(url: string, times: number[] | 'uniform8', decoder: 'auto' | 'element'): Promise<Probe> {
  return page.evaluate(
    async ({ url, times, decoder }) => {
      const { openWebVideo } = (window as unknown as { mmrtVideo: typeof import('../../src/web/video.js') })
        .mmrtVideo;
      const v = await openWebVideo(url, { decoder });
      try {
        const list =
          v.info.frameTimes ?? Array.from({ length: Math.round(v.info.durationSec * 8) }, (_, i) => i / 8);
        const asked =
          times === 'uniform8'
            ? Array.from({ length: 8 }, (_, k) => list[Math.floor(((k + 0.5) * list.length) / 8)]!)
            : times;
        const got = await v.decode(asked);
        const num = (f: { data: Uint8Array }) => {
          let s = 0;
          for (let i = 0; i < f.data.length; i++) s += f.data[i]!;
          return Math.round(s / f.data.length / 8);
        };
        return {
          info: { ...v.info, frameTimes: v.info.frameTimes ? [...v.info.frameTimes] : undefined },
          frames: got.frames.map(num),
          timestamps: [...got.timestamps],
        } as never;
      } finally {
        await v.close();
      }
    },
    { url: `${base}${url}`, times, decoder },
  );
}

describe.skipIf(!existsSync(CHROMIUM))('browser video decoding (headless Chromium)', () => {
  it("WebCodecs + mediabunny: the frame list is ffprobe's, and the frames picked are the ones decoded", async () => {
    const ref = probeFrames(join(dir, 'vp9.webm'));
    const r = await inPage('/vp9.webm', 'uniform8', 'auto');
    expect(r.info.frameTimes!.map((t) => Math.round(t * 1e6) / 1e6)).toEqual(ref.times);
    expect(r.info.keyframeTimes!.map((t) => Math.round(t * 1e6) / 1e6)).toEqual(ref.keyframes);
    const want = Array.from({ length: 8 }, (_, k) => Math.floor(((k + 0.5) * 20) / 8));
    expect(r.frames).toEqual(want);
    expect(r.timestamps.map((t) => Math.round(t * 1e6) / 1e6)).toEqual(want.map((i) => ref.times[i]));
    expect(r.info).toMatchObject({ width: 32, height: 24 });
  }, 60_000);

  it('H.264 mp4 through WebCodecs where the browser decodes it, else a typed error naming the codec', async () => {
    const outcome = await page.evaluate(async (url) => {
      const { openWebVideo } = (window as unknown as { mmrtVideo: typeof import('../../src/web/video.js') })
        .mmrtVideo;
      try {
        const v = await openWebVideo(url);
        const got = await v.decode([v.info.frameTimes![7]!]);
        await v.close();
        return { frames: got.frames.length, mean: got.frames[0]!.data[0] };
      } catch (e) {
        return { code: (e as { code?: string }).code, message: (e as Error).message };
      }
    }, `${base}/h264.mp4`);
    // Which path this Chromium took (its H.264 support depends on how it was built).
    console.log(
      `[web-video] H.264 mp4 via WebCodecs: ${'code' in outcome ? `refused: ${outcome.message}` : 'decoded'}`,
    );
    if ('code' in outcome)
      expect(outcome).toMatchObject({ code: 'VIDEO_DECODE_FAILED', message: /avc|h264/i });
    else expect(Math.round(outcome.mean! / 8)).toBe(7);
  }, 60_000);

  it('the video-element fallback decodes the frames shown at the times asked', async () => {
    const ref = probeFrames(join(dir, 'vp9.webm'));
    const picks = [1, 4, 9, 15, 19];
    const r = await inPage(
      '/vp9.webm',
      picks.map((i) => ref.times[i]!),
      'element',
    );
    expect(r.info.frameTimes).toBeUndefined();
    expect(r.info.durationSec).toBeCloseTo(2.5, 1);
    expect(r.frames).toEqual(picks);
  }, 60_000);

  it('bad input is a typed error', async () => {
    const codes = await page.evaluate(
      async ({ base }) => {
        const { openWebVideo } = (window as unknown as { mmrtVideo: typeof import('../../src/web/video.js') })
          .mmrtVideo;
        const code = (p: Promise<unknown>) =>
          p.then(
            () => 'resolved',
            (e) => (e as { code?: string }).code,
          );
        return {
          text: await code(openWebVideo(`${base}/notes.txt`)),
          empty: await code(openWebVideo(new Uint8Array(0))),
          missing: await code(openWebVideo(`${base}/missing.webm`)),
          tooBig: await code(openWebVideo(`${base}/vp9.webm`, { maxBytes: 10 })),
        };
      },
      { base },
    );
    expect(codes).toEqual({
      text: 'VIDEO_DECODE_FAILED',
      empty: 'VIDEO_EMPTY',
      missing: 'INPUT_FETCH_FAILED',
      tooBig: 'IMAGE_TOO_LARGE',
    });
  }, 60_000);
});
