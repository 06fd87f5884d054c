/** NumPy .npy (version 1.0) for a float32 matrix: what `np.load` reads back unchanged. */
export function encodeNpy(rows: readonly Float32Array[]): Uint8Array {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, ${d}), }`;
  // magic(6) + version(2) + len(2) + header + '\n' must be a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + n * d * 4);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const body = new Float32Array(out.buffer, total, n * d);
  for (const [i, r] of rows.entries()) body.set(r, i * d);
  return out;
}
