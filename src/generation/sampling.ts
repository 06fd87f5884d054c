/**
 * Choosing the next token from one row of logits, in Hugging Face's order: repetition penalty
 * (a logits processor, applied for greedy and sampling alike), then for sampling temperature,
 * top-k and top-p (the warpers), softmax, and one draw from the seeded generator.
 */
import type { Rng } from './prng.js';

/** How the next token is chosen. No `sampling` means greedy (argmax). */
export interface SamplingOptions {
  /** > 0. Lower is more deterministic. Default 1. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens; 0 (default) keeps all. */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 (default) keeps all. */
  readonly topP?: number;
  /** Same seed, same prompt, same options -> same tokens. Default: a random seed, reported in the result. */
  readonly seed?: number;
}

/** The validated form: greedy, or sampling with every knob resolved. */
export type TokenChoice =
  | { readonly kind: 'greedy' }
  | {
      readonly kind: 'sample';
      readonly temperature: number;
      readonly topK: number;
      readonly topP: number;
      readonly seed: number;
    };

/**
 * HF's RepetitionPenaltyLogitsProcessor, in place: every token already in the context has its
 * logit divided by `penalty` when positive, multiplied when negative.
 */
export function applyRepetitionPenalty(
  logits: Float32Array,
  seen: ReadonlySet<number>,
  penalty: number,
): void {
  if (penalty === 1) return;
  for (const id of seen) {
    if (id < 0 || id >= logits.length) continue;
    const v = logits[id]!;
    logits[id] = v < 0 ? v * penalty : v / penalty;
  }
}

/** Index of the largest logit; the first one on ties, as torch.argmax. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** The k-th largest value (1-based) of `values`, by quickselect on a copy. */
function kthLargest(values: Float32Array, k: number): number {
  const a = Float32Array.from(values);
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target]!;
}

/**
 * Probabilities after temperature, top-k and top-p, as (token, probability) pairs whose
 * probabilities sum to 1. Exposed for tests; `sampleToken` draws from it.
 */
export function samplingDistribution(
  logits: Float32Array,
  choice: Extract<TokenChoice, { kind: 'sample' }>,
): { ids: Int32Array; probs: Float64Array } {
  const n = logits.length;
  const scaled = new Float32Array(n);
  for (let i = 0; i < n; i++) scaled[i] = logits[i]! / choice.temperature;
  // top-k: HF keeps every token whose score is >= the k-th largest (ties stay in).
  const threshold =
    choice.topK > 0 && choice.topK < n ? kthLargest(scaled, choice.topK) : Number.NEGATIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (scaled[i]! >= threshold && scaled[i]! > max) max = scaled[i]!;
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (scaled[i]! < threshold || scaled[i] === Number.NEGATIVE_INFINITY) continue;
    const e = Math.exp(scaled[i]! - max);
    probs[i] = e;
    sum += e;
  }
  let candidates: number[] = [];
  if (choice.topP < 1) {
    // Only tokens above eps can be in the nucleus: all tokens below it together weigh less than
    // (1 - topP) / 2, so the nucleus is a prefix of the sorted candidates. Saves sorting the
    // whole vocabulary each step.
    const eps = ((1 - choice.topP) / (2 * n)) * sum;
    for (let i = 0; i < n; i++) if (probs[i]! > eps) candidates.push(i);
    candidates.sort((a, b) => probs[b]! - probs[a]! || a - b);
    let acc = 0;
    let keep = 0;
    const target = choice.topP * sum;
    while (keep < candidates.length) {
      acc += probs[candidates[keep]!]!;
      keep++;
      if (acc >= target) break;
    }
    candidates = candidates.slice(0, Math.max(1, keep));
  } else {
    for (let i = 0; i < n; i++) if (probs[i]! > 0) candidates.push(i);
  }
  let total = 0;
  for (const i of candidates) total += probs[i]!;
  const ids = Int32Array.from(candidates);
  const out = new Float64Array(ids.length);
  for (let j = 0; j < ids.length; j++) out[j] = probs[ids[j]!]! / total;
  return { ids, probs: out };
}

/** One draw from the warped distribution. */
export function sampleToken(
  logits: Float32Array,
  choice: Extract<TokenChoice, { kind: 'sample' }>,
  rng: Rng,
): number {
  const { ids, probs } = samplingDistribution(logits, choice);
  let r = rng();
  for (let j = 0; j < ids.length; j++) {
    r -= probs[j]!;
    if (r < 0) return ids[j]!;
  }
  return ids[ids.length - 1]!; // rounding left a sliver: the last candidate takes it
}
