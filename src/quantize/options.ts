/**
 * What the quantizer makes and how it may be steered: the precisions it writes (the hub's
 * file suffixes, `src/package/precision.ts`), per-node exclusions, and the knobs of each
 * conversion, with their defaults in one place.
 */
import { ConfigError, closest } from '../errors.js';
import type { Precision } from '../package/precision.js';

/** Precisions the quantizer writes. `bnb4` is bitsandbytes' format: not made here. */
export const QUANTIZE_PRECISIONS = ['fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16'] as const;
export type QuantizePrecision = (typeof QUANTIZE_PRECISIONS)[number] & Precision;

/** What `mmrt quantize` writes when not told. */
export const DEFAULT_QUANTIZE_PRECISIONS: readonly QuantizePrecision[] = ['fp16', 'q8', 'q4', 'q4f16'];

export interface Exclusions {
  /** Node names left exactly as they are. */
  readonly nodes?: readonly string[];
  /** Op types left exactly as they are (`MatMul`, `Gather`, ...). */
  readonly opTypes?: readonly string[];
}

export interface ConvertOptions {
  readonly exclude?: Exclusions;
  /** q8/int8/uint8: one scale per output channel (default) or one per weight. */
  readonly perChannel?: boolean;
  /** q4/q4f16: weights per 4-bit block along K (default 32; a power of two, 16 to 256). */
  readonly blockSize?: number;
  /**
   * q4/q4f16: MatMulNBits `accuracy_level`, the precision its CPU kernel computes in: 0 unset
   * (fp32), 1 fp32, 2 fp16, 3 bf16, 4 int8 (fastest on CPUs with int8 dot products; measured in
   * `npm run bench -- quantize`). Default 4.
   */
  readonly accuracyLevel?: 0 | 1 | 2 | 3 | 4;
  /**
   * Quantize embedding lookups (Gather on a weight table) to 8 bits with one scale per row, in
   * every quantized precision (default true). A lookup reads one row per token, so 4 bits would
   * cost accuracy and save no time; 8 bits quarters the table.
   */
  readonly gather?: boolean;
  /** Weights with fewer elements stay as they are (default 256). */
  readonly minElements?: number;
  /** fp16: op types kept in fp32 beside the default block list. */
  readonly fp16KeepOps?: readonly string[];
}

export interface ResolvedConvertOptions {
  readonly excludeNodes: ReadonlySet<string>;
  readonly excludeOps: ReadonlySet<string>;
  readonly perChannel: boolean;
  readonly blockSize: number;
  readonly accuracyLevel: 0 | 1 | 2 | 3 | 4;
  readonly gather: boolean;
  readonly minElements: number;
  readonly fp16KeepOps: ReadonlySet<string>;
}

export function resolveConvertOptions(o: ConvertOptions = {}): ResolvedConvertOptions {
  const block = o.blockSize ?? 32;
  if (!Number.isInteger(block) || block < 16 || block > 256 || (block & (block - 1)) !== 0) {
    throw new ConfigError('CONFIG_INVALID_VALUE', `blockSize ${block} is not a power of two from 16 to 256`, {
      value: block,
      valid: [16, 32, 64, 128, 256],
    });
  }
  const level = o.accuracyLevel ?? 4;
  if (![0, 1, 2, 3, 4].includes(level)) {
    throw new ConfigError('CONFIG_INVALID_VALUE', `accuracyLevel ${level} is not 0-4`, {
      value: level,
      valid: [0, 1, 2, 3, 4],
    });
  }
  return {
    excludeNodes: new Set(o.exclude?.nodes ?? []),
    excludeOps: new Set(o.exclude?.opTypes ?? []),
    perChannel: o.perChannel ?? true,
    blockSize: block,
    accuracyLevel: level,
    gather: o.gather ?? true,
    minElements: o.minElements ?? 256,
    fp16KeepOps: new Set(o.fp16KeepOps ?? []),
  };
}

export function isQuantizePrecision(v: unknown): v is QuantizePrecision {
  return typeof v === 'string' && (QUANTIZE_PRECISIONS as readonly string[]).includes(v);
}

/** `fp16,q8,q4` -> the precisions, or a typed error naming the bad one. */
export function parseQuantizePrecisions(list: string): QuantizePrecision[] {
  const out: QuantizePrecision[] = [];
  for (const raw of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!isQuantizePrecision(raw)) {
      const guess = closest(raw, QUANTIZE_PRECISIONS);
      throw new ConfigError(
        'CONFIG_INVALID_VALUE',
        `"${raw}" is not a precision the quantizer writes${guess ? ` (did you mean "${guess}"?)` : ''}; valid: ${QUANTIZE_PRECISIONS.join(', ')}`,
        { value: raw, valid: QUANTIZE_PRECISIONS },
      );
    }
    if (!out.includes(raw)) out.push(raw);
  }
  if (out.length === 0) {
    throw new ConfigError('CONFIG_INVALID_VALUE', 'no precision given', {
      value: list,
      valid: QUANTIZE_PRECISIONS,
    });
  }
  return out;
}
