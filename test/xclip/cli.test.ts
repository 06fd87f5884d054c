/**
 * The X-CLIP commands end to end in child processes (`node bin/mmrt.js`, from the sources) on
 * the shipped tiny X-CLIP: `video-classify` on fresh clips drawn by ffmpeg, `video-index` +
 * `video-search`, and bad input (a non-video file among good ones, no labels, ffmpeg missing) as
 * typed messages with a non-zero exit code.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, clipSpecs, label, renderClip } from '../video/shape-clips.js';

const execFileP = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mmrt.js');
const env = { ...process.env, MMRT_FROM_SOURCE: '1' };
const THREADS = ['--platform', 'cpu', '--config', '{"numThreads":1}'];

async function mmrt(args: string[], extraEnv: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], {
      env: { ...env, ...extraEnv },
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}
const jsonLines = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

let dir: string;
const specs = clipSpecs(10, 23);
let files: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mmrt-xclip-cli-'));
  files = await Promise.all(specs.map((s, i) => renderClip(s, join(dir, `v${i}.${s.format}`))));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('mmrt video-classify', () => {
  it('names colour and direction of >= 90% of 10 fresh clips, one JSON line per video', async () => {
    const r = await mmrt(['video-classify', ...files, '--labels', LABELS.join(','), '--json', ...THREADS]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.video)).toEqual(files);
    const right = lines.filter((l, i) => {
      const top = (l.labels as Array<{ label: string }>)[0]!.label;
      return top === label(specs[i]!.color, specs[i]!.direction);
    });
    expect(right.length).toBeGreaterThanOrEqual(9);
  }, 120_000);

  it('prints a line per video for people, and a bad video costs only its own line (exit 1)', async () => {
    const bad = join(dir, 'bad.mp4');
    await writeFile(bad, 'definitely not a video\n'.repeat(10));
    const r = await mmrt([
      'video-classify',
      files[0]!,
      bad,
      '--labels',
      LABELS.join(','),
      '-k',
      '2',
      ...THREADS,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(new RegExp(`^${files[0]}: a \\w+ shape moving \\w+ \\d+\\.\\d%, `));
    expect(r.stderr).toMatch(/mmrt: .*bad\.mp4: .*not a video.*\[VIDEO_DECODE_FAILED\]/);
  }, 60_000);

  it('checks its options before loading anything: usage errors exit 2 and name the option', async () => {
    const r = await mmrt(['video-classify', files[0]!, '--labels', ' , ']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/video-classify needs labels.*\[INPUT_INVALID\]/);
    const s = await mmrt(['video-classify', files[0]!, '--labels', 'a,b', '--sampling', 'random']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--sampling.*"random" is not a strategy/);
    // A misspelt option is named, before any complaint about the options it was meant to be.
    const typo = await mmrt(['video-classify', files[0]!, '--labls', 'a,b']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown option '--labls'/);
    for (const bad of [
      ['--top-k', 'abc'],
      ['--top-k', '0'],
      ['--frames', '-3'],
      ['--segment-seconds', '0'],
      ['--timeout', 'soon'],
    ]) {
      const x = await mmrt(['video-classify', files[0]!, '--labels', 'a,b', ...bad]);
      expect(x.code, bad.join(' ')).toBe(2);
      expect(x.stderr, bad.join(' ')).toMatch(new RegExp(`option '[^']*${bad[0]}`));
    }
    const json = await mmrt(['video-classify', files[0]!, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error.code).toBe('INPUT_INVALID');
    const missing = await mmrt(['video-search', '-i', join(dir, 'no-such.idx'), '-q', 'a']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no-such\.idx.*\[INPUT_NOT_FOUND\]/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });

  it('says which Debian package to install when ffmpeg is missing', async () => {
    const r = await mmrt(['video-classify', files[0]!, '--labels', 'a,b', ...THREADS], {
      PATH: '/nonexistent',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ffprobe was not found.*\[VIDEO_DECODER_MISSING\]/);
  }, 60_000);
});

describe('mmrt video-index / video-search', () => {
  it('indexes videos (per video and per segment) and finds one by text', async () => {
    const idx = join(dir, 'videos.idx');
    const built = await mmrt([
      'video-index',
      ...files.slice(0, 6),
      '-o',
      idx,
      '--segment-seconds',
      '2',
      ...THREADS,
    ]);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toMatch(/index .*videos\.idx: 6 videos, \d+ segments, 64-d/);
    const s = specs[3]!;
    const found = await mmrt([
      'video-search',
      '-i',
      idx,
      '-q',
      label(s.color, s.direction),
      '-k',
      '1',
      '--json',
      ...THREADS,
    ]);
    expect(found.code, found.stderr).toBe(0);
    expect(jsonLines(found.stdout)[0]).toMatchObject({ video: files[3] });
    const seg = await mmrt([
      'video-search',
      '-i',
      idx,
      '-q',
      label(s.color, s.direction),
      '--level',
      'segment',
      ...THREADS,
    ]);
    expect(seg.stdout.split('\n')[0]).toMatch(/^\d\.\d{4} {2}.*v3\.\w+ \[\d+\.\d\d-\d+\.\d\d s\]$/);
  }, 120_000);
});
