/**
 * The globals the host-free core may use: those every host has (Node >= 20, browsers, workers),
 * declared narrowly for `tsconfig.core.json`. Anything not here (Buffer, process, document,
 * window, fetch...) is a host's business and fails the core's typecheck.
 */
export {};

declare global {
  interface AbortSignal {
    readonly aborted: boolean;
    readonly reason: unknown;
    addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
    removeEventListener(type: 'abort', listener: () => void): void;
    throwIfAborted(): void;
  }
  var AbortSignal: {
    prototype: AbortSignal;
    timeout(ms: number): AbortSignal;
    any(signals: AbortSignal[]): AbortSignal;
    abort(reason?: unknown): AbortSignal;
  };
  interface AbortController {
    readonly signal: AbortSignal;
    abort(reason?: unknown): void;
  }
  var AbortController: { prototype: AbortController; new (): AbortController };

  var performance: { now(): number };

  interface TextEncoder {
    encode(input?: string): Uint8Array;
  }
  var TextEncoder: { new (): TextEncoder };
  interface TextDecoder {
    decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string;
  }
  var TextDecoder: { new (label?: string, options?: { fatal?: boolean }): TextDecoder };

  interface URL {
    readonly href: string;
    readonly protocol: string;
    readonly host: string;
    readonly hostname: string;
    readonly pathname: string;
    readonly search: string;
    toString(): string;
  }
  var URL: { prototype: URL; new (url: string, base?: string | URL): URL };

  function atob(data: string): string;

  var crypto: {
    readonly subtle: { digest(algorithm: 'SHA-256', data: ArrayBufferView | ArrayBuffer): Promise<ArrayBuffer> };
  };
}
