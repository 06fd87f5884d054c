/**
 * A 128-bit content hash of a preprocessed pixel tensor, to key cached vision features.
 * Pure JS so it runs on every host (crypto.subtle is async and absent outside secure browser
 * contexts). Four murmur3-style lanes over the float32 words plus the dims: not cryptographic,
 * but collisions between distinct images are ~2^-64 likely, far below any other error here.
 */
function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function hashTensor(data: Float32Array, dims: readonly number[]): string {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let h1 = 0x9747b28c ^ data.length;
  let h2 = 0x85ebca6b ^ dims.length;
  let h3 = 0xc2b2ae35;
  let h4 = 0x27d4eb2f;
  const c1 = 0x239b961b;
  const c2 = 0xab0e9789;
  const c3 = 0x38b34ae5;
  const c4 = 0xa1e38b93;
  const n = words.length - (words.length % 4);
  for (let i = 0; i < n; i += 4) {
    h1 ^= Math.imul(rotl(Math.imul(words[i]!, c1), 15), c2);
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(words[i + 1]!, c2), 16), c3);
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    h3 ^= Math.imul(rotl(Math.imul(words[i + 2]!, c3), 17), c4);
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    h4 ^= Math.imul(rotl(Math.imul(words[i + 3]!, c4), 18), c1);
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  const tail = [...Array.from(words.subarray(n)), ...dims];
  tail.forEach((w, j) => {
    h1 ^= Math.imul(rotl(Math.imul(w >>> 0, c1 + j), 15), c2);
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
  });
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  return [h1, h2, h3, h4].map((h) => (h >>> 0).toString(16).padStart(8, '0')).join('');
}
