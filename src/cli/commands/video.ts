/**
 * X-CLIP commands: video-classify, video-index, video-search. Results go to stdout (one JSON
 * object per video per line with --json), a progress bar per video and warnings to stderr. A
 * video that cannot be read costs its own line (and exit code 1), not the run.
 */
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError } from 'commander';
import { isMmrtError } from '../../errors.js';
import type { VideoCallOptions, VideoProgress, XclipModel } from '../../kinds/video-text/model.js';
import { VideoIndex } from '../../kinds/video-text/video-index.js';
import { type FrameCount, type FrameSampling, frameCount } from '../../media/frame-sampling.js';
import { loadXclip } from '../../node/index.js';
import { readFileInput, writeFileOutput } from '../files.js';
import { DEFAULT_XCLIP_MODEL } from '../paths.js';
import { type PlatformCliOptions, addPlatformOptions, readPlatformOptions } from '../platform-options.js';
import { choiceArg, commaList, intArg, numberArg, usageError } from '../usage.js';

interface VideoCliOptions extends PlatformCliOptions {
  model: string;
  quiet?: boolean;
  json?: boolean;
  frames?: FrameCount;
  sampling?: FrameSampling;
  segmentSeconds?: number;
  sequential?: boolean;
  timeout?: number;
}

/** `--frames`: a count or low/medium/high, checked as the model would check it (usage error: exit 2). */
function framesArg(value: string): FrameCount {
  const frames = (/^\d+$/.test(value) ? Number(value) : value) as FrameCount;
  try {
    frameCount(frames);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
  return frames;
}

/** `--sampling` parsed for commander: a bad strategy is a usage error (exit 2) naming the option. */
function samplingArg(value: string): FrameSampling {
  try {
    return parseSampling(value);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
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
    throw usageError(`--sampling "${value}" is not a strategy`, {
      value,
      valid: ['uniform', 'keyframes', 'stride:N[:OFFSET]', 'fps:RATE[:OFFSET_SECONDS]'],
    });
  }
  return s;
}

function callOptions(opts: VideoCliOptions): VideoCallOptions {
  return {
    ...(opts.frames !== undefined && { frames: opts.frames }),
    ...(opts.sampling && { sampling: opts.sampling }),
    ...(opts.segmentSeconds !== undefined && { segments: { seconds: opts.segmentSeconds } }),
    ...(opts.sequential && { parallelSegments: false }),
  };
}

async function openXclip(opts: VideoCliOptions): Promise<XclipModel> {
  const { platform, config, candidates } = readPlatformOptions(opts);
  const timeoutMs = opts.timeout === undefined ? undefined : opts.timeout * 1000;
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
    .option(
      '--frames <n>',
      'frames per clip: a number or low/medium/high (default: the model plan)',
      framesArg,
    )
    .option(
      '--sampling <strategy>',
      'uniform (default), keyframes, stride:N[:OFFSET], fps:RATE[:OFFSET]',
      samplingArg,
    )
    .option(
      '--segment-seconds <s>',
      'longest temporal segment of a long video, > 0 (default 10)',
      numberArg(0, Number.POSITIVE_INFINITY, true),
    )
    .option('--sequential', 'decode and encode one segment at a time (no parallel segments)')
    .option(
      '--timeout <s>',
      'time limit of each probe/decode step in seconds, > 0 (default 120)',
      numberArg(0, Number.POSITIVE_INFINITY, true),
    )
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
      .option('-l, --labels <list>', 'comma-separated labels (repeatable)', commaList)
      .option('-t, --template <text>', 'prompt template, {} is the label', '{}')
      .option('-k, --top-k <n>', 'labels to show per video (default 3)', intArg(1)),
  ).action(
    async (
      videos: string[],
      opts: VideoCliOptions & { labels?: string[]; template: string; topK?: number },
    ) => {
      // Checked here, not by commander: an unknown option (a misspelt --labels) is named first.
      if (!opts.labels || opts.labels.length === 0) {
        throw usageError(
          'video-classify needs labels: --labels "a red shape moving left,a blue shape moving up"',
          {
            value: opts.labels,
          },
        );
      }
      const labels = opts.labels;
      const call = callOptions(opts);
      const model = await openXclip(opts);
      const bars = videoBars();
      let failed = 0;
      try {
        for (const video of videos) {
          try {
            const r = await model.rankTexts(video, labels, {
              ...call,
              template: opts.template,
              onProgress: bars.track(video),
            });
            const top = r.labels.slice(0, opts.topK ?? 3);
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
      .option('-o, --out <file>', 'index file to write')
      .option('--append', 'add to an existing index file'),
  ).action(async (videos: string[], opts: VideoCliOptions & { out?: string; append?: boolean }) => {
    if (!opts.out) throw usageError('video-index needs --out <file>: the index file to write');
    const outFile = opts.out;
    const call = callOptions(opts);
    const index = opts.append
      ? VideoIndex.deserialize(new Uint8Array(await readFileInput('--out', outFile)))
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
    await writeFileOutput('--out', outFile, index.serialize());
    const segments = index.rows('segment').length;
    process.stderr.write(`index ${outFile}: ${index.size} videos, ${segments} segments, ${index.dim}-d\n`);
    if (failed > 0) process.exitCode = 1;
  });

  addCommon(
    program
      .command('video-search')
      .description('search an index built by `mmrt video-index` with a text')
      .option('-i, --index <file>', 'index file')
      .option('-q, --query <text>', 'text query')
      .option('-k, --top-k <n>', 'results (default 5)', intArg(1))
      .option(
        '--level <level>',
        "'video' (default) or 'segment'",
        choiceArg(['video', 'segment'] as const),
        'video',
      ),
  ).action(
    async (
      opts: VideoCliOptions & { index?: string; query?: string; topK?: number; level: 'video' | 'segment' },
    ) => {
      if (!opts.index)
        throw usageError('video-search needs --index <file>: an index built by `mmrt video-index`');
      if (!opts.query) throw usageError('video-search needs --query <text>');
      const k = opts.topK ?? 5;
      const index = VideoIndex.deserialize(new Uint8Array(await readFileInput('--index', opts.index)));
      const model = await openXclip(opts);
      try {
        const hits = await model.searchVideos(index, opts.query, {
          k,
          level: opts.level,
        });
        for (const h of hits) {
          const span =
            h.startSec !== undefined ? ` [${h.startSec.toFixed(2)}-${h.endSec!.toFixed(2)} s]` : '';
          out(
            opts.json
              ? JSON.stringify({ video: h.id, score: h.score, startSec: h.startSec, endSec: h.endSec })
              : `${h.score.toFixed(4)}  ${h.id}${span}`,
          );
        }
      } finally {
        await model.dispose();
      }
    },
  );
}
