/**
 * `data:` URLs (RFC 2397) to bytes, host-free: base64 through `atob` (Node >= 16 and
 * browsers), otherwise percent-decoding byte by byte (not as UTF-8 text: an image payload
 * is binary, and `decodeURIComponent` would reject or mangle non-UTF-8 sequences).
 */
import { InputError } from '../errors.js';

export interface DataUrl {
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

const MAX_SHOWN = 64;
const shown = (url: string) => (url.length > MAX_SHOWN ? `${url.slice(0, MAX_SHOWN)}...` : url);

export function isDataUrl(value: string): boolean {
  return /^data:/i.test(value);
}

export function parseDataUrl(url: string): DataUrl {
  const comma = url.indexOf(',');
  if (!isDataUrl(url) || comma < 0) {
    throw new InputError('INPUT_INVALID', `Malformed data: URL ${shown(url)}`, {
      value: shown(url),
      valid: 'data:[<media type>][;base64],<data>',
    });
  }
  const meta = url.slice(5, comma).split(';');
  const base64 = meta.length > 1 && meta[meta.length - 1]!.toLowerCase() === 'base64';
  const mediaType = (meta[0] || 'text/plain').toLowerCase();
  const payload = url.slice(comma + 1);
  if (base64) {
    // atob ignores nothing: strip whitespace (line-wrapped base64) and percent-escapes first.
    const clean = percentDecodeToString(payload).replace(/\s+/g, '');
    let bin: string;
    try {
      bin = atob(clean);
    } catch (cause) {
      throw new InputError(
        'INPUT_INVALID',
        `The base64 payload of data: URL ${shown(url)} is not valid base64`,
        {
          value: shown(url),
          valid: 'RFC 4648 base64',
        },
        { cause },
      );
    }
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return { mediaType, bytes };
  }
  return { mediaType, bytes: percentDecode(payload) };
}

/** Percent-escapes to bytes; other characters are taken as their UTF-8 encoding. */
function percentDecode(s: string): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch < 0x80) {
      out.push(ch);
    } else {
      const cp = s.codePointAt(i)!;
      for (const b of enc.encode(String.fromCodePoint(cp))) out.push(b);
      if (cp > 0xffff) i++;
    }
  }
  return Uint8Array.from(out);
}

// Chunked: spreading a long array into one call overflows the stack ("Maximum call stack size
// exceeded") for payloads of a few hundred thousand bytes.
function percentDecodeToString(s: string): string {
  if (!s.includes('%')) return s;
  const bytes = percentDecode(s);
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}
