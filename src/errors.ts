/**
 * Every failure mmrt reports is an MmrtError: a stable `code` to branch on, the offending
 * value, and what would have been valid. Subclasses group codes by area so callers can
 * `instanceof` a whole family of failures.
 */
export type ErrorCode =
  // model packages
  | 'MODEL_NOT_FOUND'
  | 'MODEL_FILE_MISSING'
  | 'MODEL_CONFIG_INVALID'
  | 'MODEL_COMPONENT_MISSING'
  | 'MODEL_VARIANT_MISSING'
  | 'MODEL_ID_INVALID'
  | 'MODEL_UNSUPPORTED'
  | 'VARIANT_INVALID'
  // hub downloads
  | 'DOWNLOAD_FAILED'
  | 'DOWNLOAD_INTEGRITY'
  | 'DOWNLOAD_ABORTED'
  | 'DOWNLOAD_UNAUTHORIZED'
  | 'OFFLINE_MISS'
  // runtime
  | 'PROVIDER_UNAVAILABLE'
  | 'PROVIDER_UNKNOWN'
  | 'SESSION_CREATE_FAILED'
  | 'SESSION_RUN_FAILED'
  /** A first run produced NaN or Inf: the provider computes this model wrongly. */
  | 'SESSION_OUTPUT_INVALID'
  | 'MODEL_CORRUPT'
  | 'SESSION_OUTPUT_INVALID'
  // loading
  | 'COMPONENT_LOAD_FAILED'
  // config / platform
  | 'CONFIG_UNKNOWN_KEY'
  | 'CONFIG_INVALID_VALUE'
  | 'PLATFORM_UNSUPPORTED'
  | 'MEMORY_BUDGET_EXCEEDED'
  // inputs
  | 'IMAGE_DECODE_FAILED'
  | 'IMAGE_TOO_LARGE'
  | 'INPUT_INVALID'
  | 'INPUT_FETCH_FAILED'
  | 'INPUT_NOT_FOUND'
  // videos
  | 'VIDEO_DECODE_FAILED'
  | 'VIDEO_NO_STREAM'
  | 'VIDEO_EMPTY'
  | 'VIDEO_TIMEOUT'
  | 'VIDEO_DECODER_MISSING'
  // generation
  | 'CONTEXT_OVERFLOW'
  | 'IMAGE_TOKEN_MISMATCH'
  | 'ABORTED'
  // serving (mmrt serve)
  | 'REQUEST_UNAUTHORIZED'
  | 'REQUEST_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'SERVER_OVERLOADED'
  | 'SERVER_UNAVAILABLE'
  | 'INPUT_URL_REFUSED'
  // a model asked for a task it was not made for (a question to a captioning model)
  | 'TASK_UNSUPPORTED';

export interface ErrorDetails {
  /** The value that was wrong (a path, a key, a provider name). */
  value?: unknown;
  /** What would have been valid. */
  valid?: readonly unknown[] | string;
  /** How to fix it, in one sentence. */
  hint?: string;
  [key: string]: unknown;
}

export class MmrtError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** A model folder or hub repo is missing something or holds something unreadable. */
export class ModelPackageError extends MmrtError {}
/** A hub download failed, was interrupted, or did not match what the server promised. */
export class DownloadError extends MmrtError {}
/** ONNX Runtime could not give us a working session (provider absent, corrupt graph...). */
export class RuntimeError extends MmrtError {}
/** A configuration key or value is not one mmrt knows, or cannot apply. */
export class ConfigError extends MmrtError {}
/** The requested platform cannot run this model, or nothing fits. */
export class PlatformError extends MmrtError {}
/** A user input (image, text, label list) cannot be used. */
export class InputError extends MmrtError {}
/** A generation request exceeds what the model or cache allows. */
export class GenerationError extends MmrtError {}
/** An HTTP request to `mmrt serve` was refused (auth, size, overload, timeout, draining). */
export class ServeError extends MmrtError {}

export function isMmrtError(e: unknown): e is MmrtError {
  return e instanceof MmrtError;
}

/** "did you mean" for config keys, providers and the like: smallest edit distance within 3. */
export function closest(value: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Number.POSITIVE_INFINITY;
  const v = value.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(v, c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return bestDist <= Math.max(2, Math.floor(value.length / 3)) ? best : undefined;
}

/** Optimal-string-alignment distance: typos like "cdua" (a swap) cost 1, as a person would count. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
