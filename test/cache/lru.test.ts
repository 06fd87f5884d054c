import { describe, expect, it } from 'vitest';
import { ByteLru, typedArrayBytes } from '../../src/cache/lru.js';

const vec = (n: number) => new Float32Array(n);

describe('ByteLru', () => {
  it('counts hits and misses', () => {
    const c = new ByteLru<Float32Array>(1024, typedArrayBytes);
    expect(c.get('a')).toBeUndefined();
    c.set('a', vec(4));
    expect(c.get('a')).toHaveLength(4);
    expect(c.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1, bytes: 16 });
  });

  it('evicts the least recently used entry when over the byte bound', () => {
    const c = new ByteLru<Float32Array>(48, typedArrayBytes); // room for three 16-byte vectors
    c.set('a', vec(4));
    c.set('b', vec(4));
    c.set('c', vec(4));
    c.get('a'); // a is now most recent; b is the oldest
    c.set('d', vec(4));
    expect(c.has('b')).toBe(false);
    expect(c.has('a') && c.has('c') && c.has('d')).toBe(true);
    expect(c.stats()).toMatchObject({ evictions: 1, bytes: 48 });
  });

  it('never holds more bytes than its bound, and skips values larger than it', () => {
    const c = new ByteLru<Float32Array>(40, typedArrayBytes);
    c.set('big', vec(100));
    expect(c.has('big')).toBe(false);
    for (let i = 0; i < 10; i++) c.set(String(i), vec(3));
    expect(c.stats().bytes).toBeLessThanOrEqual(40);
  });

  it('replaces a value under the same key without double counting', () => {
    const c = new ByteLru<Float32Array>(100, typedArrayBytes);
    c.set('a', vec(4));
    c.set('a', vec(8));
    expect(c.stats()).toMatchObject({ entries: 1, bytes: 32 });
  });
});
