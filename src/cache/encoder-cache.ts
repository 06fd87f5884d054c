/**
 * Encoder outputs (vision features, image embeddings, Q-Former outputs) cached by the content
 * of their input: the key is the model id plus a content hash of the preprocessed tensor
 * (content-hash.ts), so a second question about the same picture — in this request, another
 * request or another conversation — skips the encoder. Bounded in bytes (ByteLru). Within one
 * call, a picture given twice is encoded once; everything missing is encoded in one call of
 * `encode`, so the caller can batch it.
 */
import { ByteLru, type CacheStats } from './lru.js';

/** An encoder input with its content key (equal content, equal key). */
export interface ContentKeyed {
  readonly key: string;
}

export interface EncoderCacheResult<V> {
  /** One value per input, in order. */
  readonly values: V[];
  /** Per input: whether its value came from the cache (false: encoded now). */
  readonly fromCache: readonly boolean[];
  /** Inputs served from the cache. */
  readonly cached: number;
  /** Distinct inputs the encoder ran for. */
  readonly encoded: number;
}

export class EncoderCache<I extends ContentKeyed, V> {
  private readonly lru: ByteLru<V> | undefined;

  constructor(
    private readonly modelId: string,
    maxBytes: number,
    sizeOf: (value: V) => number,
    /** Encode inputs that are not cached; one value per input, in order. */
    private readonly encode: (inputs: readonly I[]) => Promise<V[]>,
  ) {
    if (!(Number.isFinite(maxBytes) && maxBytes >= 0)) {
      throw new RangeError(`encoder cache size must be >= 0 bytes, got ${maxBytes}`);
    }
    this.lru = maxBytes > 0 ? new ByteLru<V>(maxBytes, sizeOf) : undefined;
  }

  stats(): CacheStats | undefined {
    return this.lru?.stats();
  }

  private cacheKey(input: I): string {
    return `${this.modelId}\u0000${input.key}`;
  }

  async get(inputs: readonly I[]): Promise<EncoderCacheResult<V>> {
    const out: Array<V | undefined> = inputs.map((im) => this.lru?.get(this.cacheKey(im)));
    const fromCache = out.map((v) => v !== undefined);
    const cached = fromCache.filter(Boolean).length;
    const todo = new Map<string, number[]>();
    inputs.forEach((im, i) => {
      if (out[i] !== undefined) return;
      const list = todo.get(im.key) ?? [];
      list.push(i);
      todo.set(im.key, list);
    });
    const firsts = [...todo.values()].map((l) => l[0]!);
    const fresh = firsts.length > 0 ? await this.encode(firsts.map((i) => inputs[i]!)) : [];
    firsts.forEach((i, j) => {
      const v = fresh[j]!;
      this.lru?.set(this.cacheKey(inputs[i]!), v);
      for (const k of todo.get(inputs[i]!.key)!) out[k] = v;
    });
    return { values: out as V[], fromCache, cached, encoded: firsts.length };
  }

  clear(): void {
    this.lru?.clear();
  }
}
