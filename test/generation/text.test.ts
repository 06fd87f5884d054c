/**
 * Streaming text: deltas never split a character, never show a stop string (or its start),
 * and add up to the final text.
 */
import { describe, expect, it } from 'vitest';
import { findStop, IncrementalText, partialStopLength } from '../../src/generation/incremental-text.js';
import { TextStream } from '../../src/generation/text-stream.js';
import { byteTokenizer } from './byte-tokenizer.js';

const { tokenizer, encodeBytes } = byteTokenizer();
const decode = (ids: readonly number[]) => tokenizer.decode([...ids], { skip_special_tokens: true });

function streamAll(
  ids: number[],
  stops: string[] = [],
): { deltas: string[]; text: string; stoppedAt: number } {
  const t = new IncrementalText(decode, stops);
  const deltas: string[] = [];
  let stoppedAt = -1;
  ids.forEach((id, i) => {
    if (stoppedAt >= 0) return;
    const { delta, stopped } = t.push(id);
    if (delta) deltas.push(delta);
    if (stopped) stoppedAt = i;
  });
  const rest = t.finish();
  if (rest) deltas.push(rest);
  return { deltas, text: t.text, stoppedAt };
}

describe('incremental detokenization', () => {
  it('never splits a multi-byte character across deltas (byte-level BPE, one token per byte)', () => {
    const text = 'naïve café — 日本語 😀👍🏽 done';
    const { deltas, text: out } = streamAll(encodeBytes(text));
    expect(out).toBe(text);
    expect(deltas.join('')).toBe(text);
    expect(deltas.length).toBeGreaterThan(5);
    for (const d of deltas) {
      expect(d).not.toContain('\uFFFD');
      // no lone surrogate at either end
      expect(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(d)).toBe(false);
    }
  });

  it('stays exact on long answers while decoding only recent tokens each step', () => {
    const text = 'Ünïcödé straße — 日本語のテキスト 😀👍🏽, and plain words. '.repeat(12);
    let decodedTokens = 0;
    const counting = (ids: readonly number[]) => {
      decodedTokens += ids.length;
      return decode(ids);
    };
    const ids = encodeBytes(text);
    const t = new IncrementalText(counting);
    const deltas: string[] = [];
    for (const id of ids) {
      const { delta } = t.push(id);
      expect(delta).not.toContain('\uFFFD');
      if (delta) deltas.push(delta);
    }
    deltas.push(t.finish());
    expect(deltas.join('')).toBe(text);
    expect(t.text).toBe(text);
    // linear, not quadratic: a bounded number of tokens decoded per step
    expect(decodedTokens).toBeLessThan(ids.length * 200);
    expect(ids.length).toBeGreaterThan(800);
  });

  it('emits text as it becomes stable, one token behind at most', () => {
    const t = new IncrementalText(decode);
    const got = encodeBytes('abc').map((id) => t.push(id).delta);
    expect(got).toEqual(['', 'a', 'b']);
    expect(t.finish()).toBe('c');
  });

  it('releases a genuinely invalid byte at the end as U+FFFD rather than dropping it', () => {
    const { text, deltas } = streamAll([...encodeBytes('ok'), 0xff]);
    expect(text).toBe('ok\uFFFD');
    expect(deltas.join('')).toBe(text);
  });

  it('ends at a stop string, trims it, and never streams its beginning', () => {
    const { deltas, text, stoppedAt } = streamAll(encodeBytes('The answer is red.\nUser: more'), ['\nUser:']);
    expect(text).toBe('The answer is red.');
    expect(deltas.join('')).toBe('The answer is red.');
    expect(stoppedAt).toBe('The answer is red.\nUser:'.length - 1);
  });

  it('holds back a possible stop-string start, then releases it when it does not complete', () => {
    const t = new IncrementalText(decode, ['STOP']);
    let shown = '';
    for (const id of encodeBytes('a ST')) shown += t.push(id).delta;
    expect(shown).toBe('a '); // "ST" could be the start of "STOP"
    for (const id of encodeBytes('Xy')) shown += t.push(id).delta;
    shown += t.finish();
    expect(shown).toBe('a STXy');
  });

  it('finds the earliest of several stop strings and measures partial suffixes', () => {
    expect(findStop('abc</s>def###', ['###', '</s>'])).toBe(3);
    expect(findStop('abc', ['x'])).toBe(-1);
    expect(partialStopLength('hello <', ['<end>'])).toBe(1);
    expect(partialStopLength('hello <en', ['<end>', 'nope'])).toBe(3);
    expect(partialStopLength('hello', ['<end>'])).toBe(0);
  });
});

describe('TextStream', () => {
  it('yields deltas in order and resolves the result; awaiting result alone also works', async () => {
    const mk = () =>
      new TextStream(async (emit) => {
        for (const d of ['a', 'b', '', 'c']) {
          await new Promise((r) => setTimeout(r, 1));
          emit(d);
        }
        return { text: 'abc' };
      });
    const seen: string[] = [];
    const s = mk();
    for await (const d of s) seen.push(d);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect((await s.result).text).toBe('abc');
    expect(await mk().text()).toBe('abc');
  });

  it('throws the generation error from the iterator and from result', async () => {
    const s = new TextStream<{ text: string }>(async (emit) => {
      emit('x');
      throw new Error('boom');
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const d of s) seen.push(d);
      })(),
    ).rejects.toThrow('boom');
    expect(seen).toEqual(['x']);
    await expect(s.result).rejects.toThrow('boom');
  });
});
