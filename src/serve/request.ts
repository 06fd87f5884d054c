/**
 * What every model request carries through the server: one abort signal that fires when the
 * client goes away, when the request runs past its timeout, or when a shutdown's deadline
 * passes (the server calls `shutDown`) — with a typed reason, so the answer (and the metrics) say which.
 */
import { InputError, ServeError } from '../errors.js';

export type CancelReason = 'disconnect' | 'timeout' | 'shutdown';

export class RequestScope {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly detach: Array<() => void> = [];
  cancelled: CancelReason | undefined;

  constructor(client: AbortSignal | undefined, timeoutMs: number) {
    this.timer = setTimeout(
      () =>
        this.cancel(
          'timeout',
          new ServeError('REQUEST_TIMEOUT', `the request did not finish within ${timeoutMs} ms`, {
            value: timeoutMs,
            hint: 'ask for less (fewer inputs, a lower max_tokens), or raise --request-timeout',
          }),
        ),
      timeoutMs,
    );
    this.on(client, () =>
      this.cancel('disconnect', new ServeError('ABORTED', 'the client closed the connection')),
    );
  }

  /** A shutdown's deadline passed with this request still running. */
  shutDown(): void {
    this.cancel(
      'shutdown',
      new ServeError('SERVER_UNAVAILABLE', 'the server shut down before the request finished', {
        hint: 'retry on another replica',
      }),
    );
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private on(signal: AbortSignal | undefined, fn: () => void): void {
    if (!signal) return;
    if (signal.aborted) {
      fn();
      return;
    }
    signal.addEventListener('abort', fn, { once: true });
    this.detach.push(() => signal.removeEventListener('abort', fn));
  }

  cancel(reason: CancelReason, error: ServeError): void {
    if (this.controller.signal.aborted) return;
    this.cancelled = reason;
    this.controller.abort(error);
  }

  /** The error to answer with: the cancellation's when there was one (it explains the rest). */
  explain(e: unknown): unknown {
    return this.controller.signal.aborted ? this.controller.signal.reason : e;
  }

  end(): void {
    clearTimeout(this.timer);
    for (const d of this.detach.splice(0)) d();
  }
}

/** Field readers: each names the field and what would be valid. */
export const field = {
  object(body: unknown): Record<string, unknown> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new InputError('INPUT_INVALID', 'the request body must be a JSON object', { value: typeof body });
    }
    return body as Record<string, unknown>;
  },
  int(
    body: Record<string, unknown>,
    name: string,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
  ): number | undefined {
    const v = body[name];
    if (v === undefined || v === null) return undefined;
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) {
      throw new InputError('INPUT_INVALID', `"${name}" must be an integer in [${min}, ${max}]`, {
        param: name,
        value: v,
        valid: `an integer in [${min}, ${max}]`,
      });
    }
    return v;
  },
  number(
    body: Record<string, unknown>,
    name: string,
    min: number,
    max: number,
    openMin = false,
  ): number | undefined {
    const v = body[name];
    if (v === undefined || v === null) return undefined;
    if (!(typeof v === 'number' && Number.isFinite(v) && (openMin ? v > min : v >= min) && v <= max)) {
      throw new InputError(
        'INPUT_INVALID',
        `"${name}" must be a number in ${openMin ? '(' : '['}${min}, ${max}]`,
        {
          param: name,
          value: v,
        },
      );
    }
    return v;
  },
  string(body: Record<string, unknown>, name: string): string | undefined {
    const v = body[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string')
      throw new InputError('INPUT_INVALID', `"${name}" must be a string`, { param: name, value: typeof v });
    return v;
  },
  oneOf<T extends string>(body: Record<string, unknown>, name: string, valid: readonly T[]): T | undefined {
    const v = body[name];
    if (v === undefined || v === null) return undefined;
    if (!valid.includes(v as T)) {
      throw new InputError('INPUT_INVALID', `"${name}" is ${JSON.stringify(v)}`, {
        param: name,
        value: v,
        valid,
      });
    }
    return v as T;
  },
};

/** Float32 vectors as OpenAI's `encoding_format: "base64"`: little-endian float32 bytes. */
export function float32Base64(v: Float32Array): string {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function randomId(prefix: string): string {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}
