/**
 * Attention masks and position ids for left-padded batches, computed as Hugging Face's
 * generate does: position = (number of real tokens before it), padding positions get 1
 * (their value is irrelevant: they are masked out), and every step appends a 1 to every
 * row's mask, finished rows included.
 */

/** `[batch, past]` and `[batch, new]` masks side by side -> `[batch, past + new]`. */
export function concatMasks(
  past: BigInt64Array,
  pastLen: number,
  next: BigInt64Array,
  nextLen: number,
  batch: number,
): BigInt64Array {
  const total = pastLen + nextLen;
  const out = new BigInt64Array(batch * total);
  for (let b = 0; b < batch; b++) {
    out.set(past.subarray(b * pastLen, (b + 1) * pastLen), b * total);
    out.set(next.subarray(b * nextLen, (b + 1) * nextLen), b * total + pastLen);
  }
  return out;
}

/** The mask with one more column of ones. */
export function appendOnes(mask: BigInt64Array, length: number, batch: number): BigInt64Array {
  return concatMasks(mask, length, new BigInt64Array(batch).fill(1n), 1, batch);
}

/** position_ids for the last `count` columns of `mask` ([batch, total]). */
export function positionIds(mask: BigInt64Array, total: number, count: number, batch: number): BigInt64Array {
  const out = new BigInt64Array(batch * count);
  for (let b = 0; b < batch; b++) {
    let seen = 0n;
    for (let t = 0; t < total; t++) {
      const m = mask[b * total + t]!;
      seen += m;
      const j = t - (total - count);
      if (j >= 0) out[b * count + j] = m === 0n ? 1n : seen - 1n;
    }
  }
  return out;
}
