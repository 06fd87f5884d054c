/**
 * Errors as OpenAI-compatible clients expect them: `{ error: { message, type, param, code } }`
 * with the HTTP status the SDKs branch on (401, 404, 413, 429 with Retry-After, 5xx). `code` is
 * mmrt's own error code, so a client can tell IMAGE_TOO_LARGE from CONTEXT_OVERFLOW.
 */
import { type ErrorCode, isMmrtError, type MmrtError } from '../errors.js';

export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string;
    /** What would have been valid, when mmrt knows. */
    readonly valid?: unknown;
    readonly hint?: string;
  };
}

export interface HttpError {
  readonly status: number;
  readonly body: OpenAiErrorBody;
  readonly headers: Readonly<Record<string, string>>;
}

/** HTTP status per code; every code not named is a server fault (500). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  INPUT_INVALID: 400,
  INPUT_NOT_FOUND: 400,
  INPUT_FETCH_FAILED: 400,
  INPUT_URL_REFUSED: 400,
  IMAGE_DECODE_FAILED: 400,
  IMAGE_TOKEN_MISMATCH: 400,
  CONTEXT_OVERFLOW: 400,
  CONFIG_INVALID_VALUE: 400,
  TASK_UNSUPPORTED: 400,
  REQUEST_UNAUTHORIZED: 401,
  MODEL_NOT_FOUND: 404,
  IMAGE_TOO_LARGE: 413,
  REQUEST_TOO_LARGE: 413,
  SERVER_OVERLOADED: 429,
  // nginx's "client closed request": nobody reads it, but logs and metrics do.
  ABORTED: 499,
  SERVER_UNAVAILABLE: 503,
  REQUEST_TIMEOUT: 504,
};

function typeOf(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  return status < 500 ? 'invalid_request_error' : 'server_error';
}

export function statusOf(e: unknown): number {
  return isMmrtError(e) ? (STATUS[e.code] ?? 500) : 500;
}

/** Any thrown value as the HTTP answer to send. Unknown errors say little (no stack to clients). */
export function httpError(e: unknown): HttpError {
  const status = statusOf(e);
  const headers: Record<string, string> = {};
  if (!isMmrtError(e)) {
    return {
      status,
      headers,
      body: {
        error: {
          message: `internal error: ${e instanceof Error ? e.message : String(e)}`,
          type: 'server_error',
          param: null,
          code: 'INTERNAL',
        },
      },
    };
  }
  const retryAfter = e.details.retryAfter;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
  const param = typeof e.details.param === 'string' ? e.details.param : null;
  const hint = typeof e.details.hint === 'string' ? e.details.hint : undefined;
  return {
    status,
    headers,
    body: {
      error: {
        message: e.message,
        type: typeOf(status),
        param,
        code: e.code,
        ...(e.details.valid !== undefined && { valid: e.details.valid }),
        ...(hint && { hint }),
      },
    },
  };
}

/** The same error, naming where in the request body it came from (`input[2]`, `messages[1].content[0]`). */
export function at(param: string, e: unknown): unknown {
  if (!isMmrtError(e) || e.details.param !== undefined) return e;
  return new (e.constructor as typeof MmrtError)(
    e.code,
    `${param}: ${e.message}`,
    { ...e.details, param },
    { cause: e },
  );
}
