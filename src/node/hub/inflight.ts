/**
 * In-process de-duplication: concurrent requests for one cached file share one download.
 * Each caller keeps its own AbortSignal and progress callback: a caller that aborts stops
 * waiting at once, and the shared download is cancelled only when every caller has aborted.
 * Keyed by the absolute cache path, so separate clients on one cache share too.
 */
import { abortError } from './abort.js';

export interface DownloadProgress {
  /** The repo file path. */
  readonly file: string;
  /** Bytes of the file on disk so far (a resumed download starts above 0). */
  readonly loaded: number;
  /** Full size, when the server said it. */
  readonly total: number | undefined;
}

export type ProgressListener = (p: DownloadProgress) => void;
type Work = (signal: AbortSignal, emit: ProgressListener) => Promise<string>;

interface Flight {
  readonly controller: AbortController;
  readonly listeners: Set<ProgressListener>;
  /** Settles (never rejects) after the flight has left the map. */
  readonly settled: Promise<void>;
  readonly result: Promise<string>;
  waiters: number;
  last?: DownloadProgress;
}

const flights = new Map<string, Flight>();

export interface JoinOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  readonly what: string;
}

export async function joinFlight(key: string, work: Work, opts: JoinOptions): Promise<string> {
  if (opts.signal?.aborted) throw abortError(opts.signal, opts.what);
  let flight = flights.get(key);
  // A flight every caller abandoned is winding down; wait it out rather than inherit its abort.
  while (flight?.controller.signal.aborted) {
    await flight.settled;
    flight = flights.get(key);
  }
  flight ??= startFlight(key, work);
  return wait(flight, opts);
}

function startFlight(key: string, work: Work): Flight {
  const controller = new AbortController();
  const listeners = new Set<ProgressListener>();
  const emit: ProgressListener = (p) => {
    flight.last = p;
    for (const l of listeners) l(p);
  };
  // Deferred a tick so `flight` exists before the work can emit.
  const result = Promise.resolve().then(() => work(controller.signal, emit));
  const ignore = () => undefined;
  // Leave the map as soon as the work settles, so the next request starts fresh (or hits cache).
  const settled = result.then(ignore, ignore).then(() => {
    if (flights.get(key) === flight) flights.delete(key);
  });
  const flight: Flight = { controller, listeners, result, settled, waiters: 0 };
  flights.set(key, flight);
  return flight;
}

function wait(flight: Flight, opts: JoinOptions): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    flight.waiters++;
    const listener = opts.onProgress;
    if (listener) {
      flight.listeners.add(listener);
      if (flight.last) listener(flight.last);
    }
    let done = false;
    const leave = () => {
      done = true;
      if (listener) flight.listeners.delete(listener);
      opts.signal?.removeEventListener('abort', onAbort);
      flight.waiters--;
    };
    const onAbort = () => {
      if (done) return;
      leave();
      const err = abortError(opts.signal, opts.what);
      if (flight.waiters > 0) return reject(err);
      // The last caller out cancels the download and waits for it to wind down (prompt: the
      // fetch is aborted), so on rejection the partial is flushed and the lock released.
      flight.controller.abort(opts.signal?.reason);
      void flight.settled.then(() => reject(err));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    flight.result.then(
      (v) => {
        if (done) return;
        leave();
        resolve(v);
      },
      (e: unknown) => {
        if (done) return;
        leave();
        reject(e);
      },
    );
  });
}
