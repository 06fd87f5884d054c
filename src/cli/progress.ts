/** A progress bar on stderr (never stdout, which carries results), only on a terminal. */
import cliProgress from 'cli-progress';
import { formatBytes } from './format.js';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressBar(label: string, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% | {duration_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.setTotal(total);
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** What the hub client reports for each file it downloads. */
export interface FileBytes {
  readonly repo: string;
  readonly file: string;
  readonly loaded: number;
  readonly total: number | undefined;
}

function mib(n: number | undefined): string {
  return n === undefined ? '?' : formatBytes(n);
}

/**
 * A byte progress bar per downloaded file on stderr (a terminal), or on anything else one line
 * when a file starts and one when it is complete, so nothing large arrives unannounced. Cache
 * hits (the whole file at once, never started) print nothing.
 */
export function downloadProgress(
  enabled = true,
  tty = process.stderr.isTTY === true,
): {
  onProgress: (p: FileBytes) => void;
  stop: () => void;
} {
  if (!enabled) return { onProgress() {}, stop() {} };
  const seen = new Map<string, { bar?: cliProgress.SingleBar; done: boolean }>();
  const multi = tty
    ? new cliProgress.MultiBar(
        {
          format: '{file} [{bar}] {percentage}% {loadedText} of {totalText} | {duration_formatted}',
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  return {
    onProgress(p) {
      const key = `${p.repo}/${p.file}`;
      let state = seen.get(key);
      if (!state) {
        // A report whose first event is already complete is a cache hit: nothing to show.
        if (p.total !== undefined && p.loaded >= p.total) return;
        state = { done: false };
        seen.set(key, state);
        const totalText = mib(p.total);
        if (multi) {
          state.bar = multi.create(p.total ?? 1, p.loaded, {
            file: key,
            loadedText: mib(p.loaded),
            totalText,
          });
        } else {
          process.stderr.write(`mmrt: downloading ${key} (${totalText})\n`);
        }
      }
      if (state.done) return;
      state.bar?.setTotal(p.total ?? Math.max(1, p.loaded));
      state.bar?.update(p.loaded, { loadedText: mib(p.loaded), totalText: mib(p.total) });
      if (p.total !== undefined && p.loaded >= p.total) {
        state.done = true;
        if (!multi) process.stderr.write(`mmrt: downloaded ${key} (${mib(p.total)})\n`);
      }
    },
    stop() {
      multi?.stop();
    },
  };
}
