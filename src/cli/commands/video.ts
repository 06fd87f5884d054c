/**
 * X-CLIP commands: video-classify, video-index, video-search. Results go to stdout (one JSON
 * object per video per line with --json), a progress bar per video and warnings to stderr. A
 * video that cannot be read costs its own line (and exit code 1), not the run.
 */
import { readFile, writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { InputError, isMmrtError } from '../../errors.js';
import type { VideoCallOptions, VideoProgress, XclipModel } from '../../kinds/video-text/model.js';
import { VideoIndex } from '../../kinds/video-text/video-index.js';
import { type FrameCount, type FrameSampling, frameCount } from '../../media/frame-sampling.js';
import { loadXclip } from '../../node/index.js';
import { DEFAULT_XCLIP_MODEL } from '../paths.js';
import { type PlatformCliOptions, addPlatformOptions, readPlatformOptions } from '../platform-options.js';

interface VideoCliOptions extends PlatformCliOptions {
  model: string;
  quiet?: boolean;
  json?: boolean;
  frames?: string;
  sampling?: string;
  segmentSeconds?: string;
  sequential?: boolean;
  timeout?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

/** `uniform`, `keyframes`, `stride:N[:OFFSET]`, `fps:RATE[:OFFSET]`. */
export function parseSampling(value: string): FrameSampling {
  const [name, a, b] = value.trim().split(':');
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  const s: FrameSampling | undefined =
    name === 'uniform' || name === 'keyframes'
      ? { strategy: name }
      : name === 'stride'
        ? { strategy: 'stride', stride: num(a) ?? Number.NaN, ...(b !== undefined && { offset: num(b)! }) }
        : name === 'fps'
          ? { strategy: 'fps', fps: num(a) ?? Number.NaN, ...(b !== undefined && { offset: num(b)! }) }
          : undefined;
  if (!s) {
    throw new InputError('INPUT_INVALID', `--sampling "${value}" is not a strategy`, {
      value,
      valid: ['uniform', 'keyframes', 'stride:N[:OFFSET]', 'fps:RATE[:OFFSET_SECONDS]'],
    });
  }
  return s;
}

function callOptions(opts: VideoCliOptions): VideoCallOptions {
  const frames =
    opts.frames === undefined ? undefined : /^\d+$/.test(opts.frames) ? Number(opts.frames) : opts.frames;
  if (frames !== undefined) frameCount(frames as FrameCount);
  const seconds = opts.segmentSeconds === undefined ? undefined : Number(opts.segmentSeconds);
  if (seconds !== undefined && !(seconds > 0)) {
    throw new InputError(
      'INPUT_INVALID',
      `--segment-seconds must be a positive number, got "${opts.segmentSeconds}"`,
      {
        value: opts.segmentSeconds,
      },
    );
  }
  return {
    ...(frames !== undefined && { frames: frames as FrameCount }),
    ...(opts.sampling && { sampling: parseSampling(opts.sampling) }),
    ...(seconds !== undefined && { segments: { seconds } }),
    ...(opts.sequential && { parallelSegments: false }),
  };
}

async function openXclip(opts: VideoCliOptions): Promise<XclipModel> {
  const { platform, config, candidates } = readPlatformOptions(opts);
  const timeoutMs = opts.timeout === undefined ? undefined : Number(opts.timeout) * 1000;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) {
    throw new InputError(
      'INPUT_INVALID',
      `--timeout must be a positive number of seconds, got "${opts.timeout}"`,
      {
        value: opts.timeout,
      },
    );
  }
  return loadXclip({
    model: opts.model,
    platform,
    ...(config && { config }),
    ...(candidates && { candidates }),
    ...(timeoutMs && { xclip: { video: { timeoutMs } } }),
    onWarning: (m) => {
      if (!opts.quiet) process.stderr.write(`mmrt: warning: ${m}\n`);
    },
  });
}

function addCommon(cmd: Command): Command {
  return addPlatformOptions(cmd)
    .option('-m, --model <path|org/name>', 'X-CLIP model folder or hub id', DEFAULT_XCLIP_MODEL)
    .option('--frames <n>', 'frames per clip: a number or low/medium/high (default: the model plan)')
    .option('--sampling <strategy>', 'uniform (default), keyframes, stride:N[:OFFSET], fps:RATE[:OFFSET]')
    .option('--segment-seconds <s>', 'longest temporal segment of a long video (default 10)')
    .option('--sequential', 'decode and encode one segment at a time (no parallel segments)')
    .option('--timeout <s>', 'time limit of each probe/decode step in seconds (default 120)')
    .option('--quiet', 'no warnings on stderr')
    .option('--json', 'one JSON object per video per line');
}

/** One bar per video on stderr (a terminal only): segments encoded of segments. */
function videoBars(enabled = process.stderr.isTTY === true) {
  if (!enabled) return { track: () => () => {}, stop() {} };
  const multi = new cliProgress.MultiBar(
    {
      format: '{video} [{bar}] {value}/{total} segments | {duration}s of video',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    /** A progress listener for one video; its bar appears once the video is probed. */
    track(name: string) {
      let bar: cliProgress.SingleBar | undefined;
      const label = name.length > 32 ? `…${name.slice(-31)}` : name.padEnd(32);
      return (e: VideoProgress) => {
        bar ??= multi.create(e.segments, 0, { video: label, duration: e.durationSec.toFixed(1) });
        bar.setTotal(e.segments);
        bar.update(e.segmentsDone);
      };
    },
    stop: () => multi.stop(),
  };
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function failure(video: string, e: unknown, json: boolean | undefined): string {
  if (!isMmrtError(e)) throw e;
  return json
    ? JSON.stringify({ video, error: { code: e.code, message: e.message } })
    : `mmrt: ${video}: ${e.message} [${e.code}]`;
}

export function registerVideo(program: Command): void {
  addCommon(
    program
      .command('video-classify')
      .description('zero-shot classify videos against labels (X-CLIP)')
      .argument('<videos...>', 'video files or URLs')
      .requiredOption('-l, --labels <list>', 'comma-separated labels (repeatable)', collect)
      .option('-t, --template <text>', 'prompt template, {} is the label', '{}')
      .option('-k, --top <n>', 'labels to show per video', '3'),
  ).action(
    async (videos: string[], opts: VideoCliOptions & { labels: string[]; template: string; top: string }) => {
      if (opts.labels.length === 0) {
        throw new InputError(
          'INPUT_INVALID',
          '--labels needs at least one non-empty label, e.g. --labels "cooking,running"',
          {
            value: opts.labels,
          },
        );
      }
      const call = callOptions(opts);
      const model = await openXclip(opts);
      const bars = videoBars();
      let failed = 0;
      try {
        for (const video of videos) {
          try {
            const r = await model.rankTexts(video, opts.labels, {
              ...call,
              template: opts.template,
              onProgress: bars.track(video),
            });
            const top = r.labels.slice(0, Number(opts.top) || r.labels.length);
            out(
              opts.json
                ? JSON.stringify({
                    video,
                    durationSec: r.durationSec,
                    labels: r.labels,
                    segments: r.segments,
                  })
                : `${video}: ${top.map((l) => `${l.label} ${(l.score * 100).toFixed(1)}%`).join(', ')}`,
            );
          } catch (e) {
            failed++;
            const line = failure(video, e, opts.json);
            if (opts.json) out(line);
            else process.stderr.write(`${line}\n`);
          }
        }
      } finally {
        bars.stop();
        await model.dispose();
      }
      if (failed > 0) process.exitCode = 1;
    },
  );

  addCommon(
    program
      .command('video-index')
      .description('build a video search index (per video and per temporal segment)')
      .argument('<videos...>', 'video files or URLs')
      .requiredOption('-o, --out <file>', 'index file to write')
      .option('--append', 'add to an existing index file'),
  ).action(async (videos: string[], opts: VideoCliOptions & { out: string; append?: boolean }) => {
    const call = callOptions(opts);
    const index = opts.append
      ? VideoIndex.deserialize(new Uint8Array(await readFile(opts.out)))
      : new VideoIndex(opts.model);
    const model = await openXclip(opts);
    const bars = videoBars();
    let failed = 0;
    try {
      for (const video of videos) {
        try {
          index.add(video, await model.embedVideo(video, { ...call, onProgress: bars.track(video) }));
        } catch (e) {
          failed++;
          process.stderr.write(`${failure(video, e, false)}\n`);
        }
      }
    } finally {
      bars.stop();
      await model.dispose();
    }
    await writeFile(opts.out, index.serialize());
    const segments = index.rows('segment').length;
    process.stderr.write(`index ${opts.out}: ${index.size} videos, ${segments} segments, ${index.dim}-d\n`);
    if (failed > 0) process.exitCode = 1;
  });

  addCommon(
    program
      .command('video-search')
      .description('search an index built by `mmrt video-index` with a text')
      .requiredOption('-i, --index <file>', 'index file')
      .requiredOption('-q, --query <text>', 'text query')
      .option('-k, --top <n>', 'results', '5')
      .option('--level <level>', "'video' (default) or 'segment'", 'video'),
  ).action(async (opts: VideoCliOptions & { index: string; query: string; top: string; level: string }) => {
    const k = Number(opts.top);
    if (!(Number.isInteger(k) && k >= 1)) {
      throw new InputError('INPUT_INVALID', `--top must be a positive integer, got "${opts.top}"`, {
        value: opts.top,
      });
    }
    const index = VideoIndex.deserialize(new Uint8Array(await readFile(opts.index)));
    const model = await openXclip(opts);
    try {
      const hits = await model.searchVideos(index, opts.query, {
        k,
        level: opts.level as 'video' | 'segment',
      });
      for (const h of hits) {
        const span = h.startSec !== undefined ? ` [${h.startSec.toFixed(2)}-${h.endSec!.toFixed(2)} s]` : '';
        out(
          opts.json
            ? JSON.stringify({ video: h.id, score: h.score, startSec: h.startSec, endSec: h.endSec })
            : `${h.score.toFixed(4)}  ${h.id}${span}`,
        );
      }
    } finally {
      await model.dispose();
    }
  });
}
