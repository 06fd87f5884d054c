/**
 * Byte sizes as people write them. `KB/MB/GB/TB` are decimal (1000^n) and `KiB/MiB/GiB/TiB`
 * binary (1024^n), as their standards say: '2GB' is 2,000,000,000 bytes. A bare number is bytes.
 */
const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Bytes, or undefined when `v` is not a size. */
export function parseByteSize(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? Math.floor(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  if (!m) return undefined;
  const unit = UNITS[(m[2] || 'b').toLowerCase()];
  const n = Number(m[1]) * (unit ?? Number.NaN);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

/** 1536 -> '1.5 KiB'. Binary units, one decimal. */
export function formatByteSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
