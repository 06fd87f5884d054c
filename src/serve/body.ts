/**
 * The request-body limit. Written here rather than taken from `hono/body-limit`, which reads
 * `request.body` on every request: on Node that turns @hono/node-server's lightweight request
 * into a full web `Request` (a web stream over the socket, an abort signal linked to the
 * client's through a WeakRef). WeakRef targets survive V8's young-generation collections, so
 * every request left that graph to the old generation; in the 10,000-request memory run it was
 * the largest share of what the old generation had to collect, and the resident-memory saw
 * that followed it. A declared length is checked from the header alone, and the body is then
 * read straight from the socket (Node's parser holds it to that length); only a body without
 * one (chunked) is read here, counted as it arrives.
 */
import type { Context, MiddlewareHandler } from 'hono';

export function bodyLimit(maxBytes: number, tooLarge: (c: Context) => Response): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number(declared) > maxBytes ? tooLarge(c) : next();
    }
    const body = c.req.raw.body;
    if (!body) return next();
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return tooLarge(c);
      }
      chunks.push(value);
    }
    const whole = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      whole.set(chunk, at);
      at += chunk.byteLength;
    }
    // A new request around the bytes read (not `new Request(raw, …)`, which a host's own
    // request class need not support); it follows the client's signal.
    const raw = c.req.raw;
    c.req.raw = new Request(raw.url, {
      method: raw.method,
      headers: raw.headers,
      body: whole,
      signal: raw.signal,
    });
    return next();
  };
}
