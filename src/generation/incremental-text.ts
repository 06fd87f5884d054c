/**
 * Token ids -> text deltas for streaming, such that the deltas never split a character and
 * never show text that a later token would change:
 * - the whole sequence is re-decoded each step (a decoder's output for n tokens is not always
 *   the output for n-1 tokens plus something: byte-level BPE yields U+FFFD for half of a
 *   multi-byte character, WordPiece cleanup deletes the space before punctuation);
 * - only the common prefix of the last two decodes is released (one token of look-behind),
 *   minus a trailing run of U+FFFD (bytes still arriving), minus a tail that could be the start
 *   of a stop string;
 * - a stop string found anywhere in the text ends it there; the stop string itself is dropped.
 * `finish()` releases the held-back rest, so the deltas add up to `text`.
 *
 * Cost: re-decoding everything each step would be quadratic in the answer length, so text more
 * than a few dozen tokens back is frozen, and each step decodes only the recent tokens with a
 * few tokens of context before them (decoders are local: a token's text depends on its
 * neighbours only — byte pieces, `##` joins, cleanup around punctuation).
 */

export type DecodeFn = (ids: readonly number[]) => string;

export interface PushResult {
  /** New text safe to show ('' when everything new is held back). */
  readonly delta: string;
  /** A stop string appeared: generation for this sequence should end. */
  readonly stopped: boolean;
}

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // Never end between the two halves of a surrogate pair.
  if (i > 0 && i < a.length && isHighSurrogate(a.charCodeAt(i - 1))) i--;
  return i;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `stops`. */
export function partialStopLength(text: string, stops: readonly string[]): number {
  let best = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > best; k--) {
      if (text.endsWith(s.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}

/** Earliest index of any stop string in `text`, or -1. */
export function findStop(text: string, stops: readonly string[]): number {
  let at = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/** Tokens of context decoded before the first unfrozen token. */
const CONTEXT = 8;
/** Freeze when this many tokens are unfrozen, keeping the last KEEP unfrozen. */
const FREEZE_AT = 48;
const KEEP = 16;

export class IncrementalText {
  private readonly ids: number[] = [];
  private emitted = '';
  private previous = '';
  private stoppedText: string | undefined;
  /** Tokens [0, frozen) decode to frozenText, for good. */
  private frozen = 0;
  private frozenText = '';

  private readonly decode: DecodeFn;

  /**
   * `context`: ids before the generated ones (a prompt being continued). Each decode includes
   * them, so the new text is spaced as the tokenizer spaces the whole; their own text is cut
   * off, so `text`, the deltas and stop strings cover the generated part only.
   */
  constructor(
    decode: DecodeFn,
    private readonly stops: readonly string[] = [],
    context: readonly number[] = [],
  ) {
    if (stops.some((s) => typeof s !== 'string' || s.length === 0)) {
      throw new TypeError('stop strings must be non-empty strings');
    }
    const before = context.length > 0 ? decode(context) : '';
    this.decode =
      before === ''
        ? context.length > 0
          ? (ids) => decode([...context, ...ids])
          : decode
        : (ids) => {
            const all = decode([...context, ...ids]);
            return all.startsWith(before) ? all.slice(before.length) : all;
          };
  }

  get stopped(): boolean {
    return this.stoppedText !== undefined;
  }

  /** Text so far including what is held back (trimmed at a stop string). */
  get text(): string {
    return this.stoppedText ?? this.decode(this.ids);
  }

  push(id: number): PushResult {
    if (this.stoppedText !== undefined) return { delta: '', stopped: true };
    this.ids.push(id);
    if (this.ids.length - this.frozen > FREEZE_AT) this.freeze(this.ids.length - KEEP);
    const full = this.frozenText + this.textBetween(this.frozen, this.ids.length);
    const stopAt = findStop(full, this.stops);
    if (stopAt >= 0) {
      this.stoppedText = full.slice(0, stopAt);
      return { delta: this.release(this.stoppedText), stopped: true };
    }
    let stable = full.slice(0, commonPrefixLength(this.previous, full));
    this.previous = full;
    let end = stable.length;
    while (end > 0 && stable.charCodeAt(end - 1) === 0xfffd) end--;
    stable = stable.slice(0, end);
    stable = stable.slice(0, stable.length - partialStopLength(stable, this.stops));
    return { delta: this.release(stable), stopped: false };
  }

  /** Text of tokens [from, to) as it reads after tokens [0, from): decoded with context, then cut. */
  private textBetween(from: number, to: number): string {
    if (from === 0) return this.decode(this.ids.slice(0, to));
    const start = Math.max(0, from - CONTEXT);
    const context = this.decode(this.ids.slice(start, from));
    const withNew = this.decode(this.ids.slice(start, to));
    // A decoder that rewrote the context (rare): take the slow, exact path.
    if (!withNew.startsWith(context)) return this.decode(this.ids.slice(0, to)).slice(this.frozenText.length);
    return withNew.slice(context.length);
  }

  private freeze(upTo: number): void {
    const added = this.textBetween(this.frozen, upTo);
    // Never freeze in the middle of a character whose bytes are still arriving.
    if (added.endsWith('\uFFFD')) return;
    this.frozenText += added;
    this.frozen = upTo;
  }

  /** Everything not yet released. Call once, after the last token. */
  finish(): string {
    return this.release(this.text);
  }

  private release(upTo: string): string {
    // Text already shown cannot be taken back; a decoder that rewrites further back than one
    // token (rare) makes the deltas differ from `text`, which stays authoritative.
    if (upTo.length <= this.emitted.length || !upTo.startsWith(this.emitted)) return '';
    const delta = upTo.slice(this.emitted.length);
    this.emitted = upTo;
    return delta;
  }
}
