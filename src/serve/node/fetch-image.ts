/**
 * Remote image URLs for the server, under its policy (server-side request forgery is the risk):
 * - only hosts on the allowlist (`images.example.com`, `*.cdn.example.com`, or an IP literal);
 * - a host name must resolve to public addresses only (no loopback, private, link-local,
 *   CGNAT, multicast or reserved range) unless private networks are allowed; the check runs in
 *   the socket's own DNS lookup, so the address checked is the address connected to (no
 *   rebinding between check and connect); an IP literal is allowed only when listed itself;
 * - redirects are followed by hand, a few at most, each hop checked like the first;
 * - a total timeout and a byte cap (the body is counted as it streams).
 * The library's own URL fetching (src/node/media/source.ts) is left as it is for library users.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { InputError, ServeError } from '../../errors.js';
import type { ImageFetcher } from '../images.js';

export interface ImageUrlPolicy {
  /** Host names (`a.example.com`), wildcards (`*.example.com`) or IP literals; empty: no remote URLs. */
  readonly allowHosts: readonly string[];
  /** Let allowed host names resolve into private ranges (a server inside a private network). */
  readonly allowPrivateNetworks: boolean;
  /** The whole fetch, redirects included. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxRedirects: number;
}

/**
 * Ranges no allowed host name may resolve to (RFC 6890 special-purpose and friends). Two lists:
 * a BlockList checks an IPv4 address against IPv6 rules too (as ::ffff:a.b.c.d).
 */
const SPECIAL_V4 = new BlockList();
const SPECIAL_V6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  SPECIAL_V4.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  // IPv4-mapped in hex form (the dotted form is judged as IPv4 below): refused outright.
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  SPECIAL_V6.addSubnet(net, prefix, 'ipv6');

export function isSpecialAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6) {
    // An IPv4-mapped address is judged as the IPv4 address it maps.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return SPECIAL_V4.check(mapped[1]!, 'ipv4');
    return SPECIAL_V6.check(address, 'ipv6');
  }
  return SPECIAL_V4.check(address, 'ipv4');
}

const bare = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

function hostAllowed(host: string, allow: readonly string[]): boolean {
  const h = bare(host);
  return allow.some((entry) => {
    const e = bare(entry);
    return e.startsWith('*.') ? h.endsWith(e.slice(1)) && h.length > e.length - 1 : h === e;
  });
}

function refused(url: URL, why: string, hint?: string): ServeError {
  return new ServeError('INPUT_URL_REFUSED', `image URL ${url.href.slice(0, 200)} refused: ${why}`, {
    value: url.host,
    ...(hint && { hint }),
  });
}

/** The socket's DNS lookup, refusing special addresses for host names. */
function guardedLookup(url: URL, allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const bad = allowPrivate ? undefined : addresses.find((a) => isSpecialAddress(a.address));
      if (bad) {
        return callback(
          refused(url, `${hostname} resolves to ${bad.address}, a loopback, private or reserved address`),
          '',
          0,
        );
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

function checkUrl(url: URL, policy: ImageUrlPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw refused(url, `${url.protocol} is not http(s)`);
  if (url.username || url.password) throw refused(url, 'URLs with credentials are not fetched');
  if (!hostAllowed(url.hostname, policy.allowHosts)) {
    throw refused(
      url,
      policy.allowHosts.length === 0
        ? 'remote image URLs are not allowed on this server'
        : `${url.hostname} is not on the image host allowlist`,
      'send the image inline as a data: URI, or add the host with --allow-image-host',
    );
  }
  // An IP literal never goes through the lookup: it passes only when listed itself (checked above).
}

function get(url: URL, policy: ImageUrlPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  const options: RequestOptions = {
    method: 'GET',
    signal,
    headers: { accept: 'image/*', 'user-agent': 'mmrt-serve' },
    ...(isIP(bare(url.hostname)) === 0 && { lookup: guardedLookup(url, policy.allowPrivateNetworks) }),
  };
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readBody(res: IncomingMessage, url: URL, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers['content-length']);
  const tooLarge = (n: number) =>
    new ServeError(
      'IMAGE_TOO_LARGE',
      `image URL ${url.href.slice(0, 200)} is ${n} bytes or more, over the ${maxBytes}-byte limit`,
      {
        value: n,
        valid: `<= ${maxBytes} bytes`,
      },
    );
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw tooLarge(declared);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      res.destroy();
      throw tooLarge(total);
    }
    chunks.push(chunk);
  }
  const out = Buffer.concat(chunks, total);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** A fetcher enforcing `policy`; `undefined` when no host is allowed (remote URLs then refused). */
export function policyFetcher(policy: ImageUrlPolicy): ImageFetcher | undefined {
  if (policy.allowHosts.length === 0) return undefined;
  return async (start, requestSignal) => {
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const signal = AbortSignal.any([requestSignal, timeout]);
    let url = start;
    for (let hop = 0; ; hop++) {
      checkUrl(url, policy);
      let res: IncomingMessage;
      try {
        res = await get(url, policy, signal);
      } catch (e) {
        if (e instanceof ServeError) throw e;
        if (requestSignal.aborted) throw requestSignal.reason ?? e;
        const why = timeout.aborted ? `timed out after ${policy.timeoutMs} ms` : (e as Error).message;
        throw new InputError(
          'INPUT_FETCH_FAILED',
          `could not fetch image ${url.href.slice(0, 200)}: ${why}`,
          {
            value: url.host,
          },
        );
      }
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (hop >= policy.maxRedirects) throw refused(url, `more than ${policy.maxRedirects} redirects`);
        url = new URL(res.headers.location, url);
        continue;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        throw new InputError(
          'INPUT_FETCH_FAILED',
          `could not fetch image ${url.href.slice(0, 200)}: HTTP ${status}`,
          {
            value: url.host,
            status,
          },
        );
      }
      try {
        return await readBody(res, url, policy.maxBytes);
      } catch (e) {
        if (e instanceof ServeError) throw e;
        const why = timeout.aborted ? `timed out after ${policy.timeoutMs} ms` : (e as Error).message;
        throw new InputError('INPUT_FETCH_FAILED', `could not read image ${url.href.slice(0, 200)}: ${why}`, {
          value: url.host,
        });
      }
    }
  };
}
