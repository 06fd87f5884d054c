/**
 * Runs one ffmpeg or ffprobe process, bounded: a time limit, the caller's AbortSignal, and caps
 * on the bytes it may write to stdout and stderr. The process is killed (SIGKILL) the moment any
 * bound is hit, so nothing it does can hang or flood the caller. A missing binary is a typed error
 * that names the Debian package.
 */
import { spawn } from 'node:child_process';
import { InputError, PlatformError } from '../../errors.js';

export interface ToolRun {
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly code: number | null;
}

export interface ToolLimits {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly maxStdoutBytes: number;
  /** What the run is for, in messages ("probing clip.mp4"). */
  readonly what: string;
}

const MAX_STDERR = 1 << 20;

export function runTool(bin: string, args: readonly string[], limits: ToolLimits): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    if (limits.signal?.aborted) {
      reject(new InputError('ABORTED', `${limits.what} was aborted`, {}, { cause: limits.signal.reason }));
      return;
    }
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let failure: Error | undefined;
    const stop = (e: Error) => {
      failure ??= e;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () =>
        stop(
          new InputError('VIDEO_TIMEOUT', `${limits.what} took longer than ${limits.timeoutMs} ms; stopped`, {
            value: limits.timeoutMs,
            hint: 'Raise the video timeoutMs if this video is expected to take that long.',
          }),
        ),
      limits.timeoutMs,
    );
    const onAbort = () =>
      stop(new InputError('ABORTED', `${limits.what} was aborted`, {}, { cause: limits.signal?.reason }));
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > limits.maxStdoutBytes) {
        stop(
          new InputError(
            'IMAGE_TOO_LARGE',
            `${limits.what} produced over ${limits.maxStdoutBytes} bytes; stopped`,
            {
              value: outBytes,
              valid: `<= ${limits.maxStdoutBytes} bytes`,
              hint: 'Raise maxDecodedBytes (or decode fewer frames per call) if this is expected.',
            },
          ),
        );
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < MAX_STDERR) err += chunk.toString('utf8');
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      if (e.code === 'ENOENT') {
        reject(
          new PlatformError(
            'VIDEO_DECODER_MISSING',
            `${bin} was not found: mmrt decodes videos in Node with the system ffmpeg and ffprobe`,
            {
              value: bin,
              valid: 'ffmpeg and ffprobe on PATH (or the ffmpegPath / ffprobePath host options)',
              hint: 'Install the Debian package ffmpeg: apt-get install ffmpeg (macOS: brew install ffmpeg).',
            },
            { cause: e },
          ),
        );
      } else {
        reject(
          new InputError(
            'VIDEO_DECODE_FAILED',
            `${limits.what}: cannot run ${bin}: ${e.message}`,
            {},
            { cause: e },
          ),
        );
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      if (failure) reject(failure);
      else resolve({ stdout: Buffer.concat(out, outBytes), stderr: err, code });
    });
  });
}

/** The error lines of an ffmpeg/ffprobe stderr, shortened for a message. */
export function errorLines(stderr: string, max = 3): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^\[(error|fatal|warning)\]\s*/, '').trim())
    .filter((l) => l && !/^\[(info|verbose|debug)\]/.test(l) && !l.includes('Parsed_showinfo'));
  return lines.slice(-max).join('; ') || 'no message';
}
