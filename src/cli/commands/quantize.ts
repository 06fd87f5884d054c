/**
 * `mmrt quantize <model> --precision fp16,q8,q4,q4f16 [--components a,b]`: precision variants
 * written beside the originals (the hub's file names), each checked in ONNX Runtime before it
 * is kept, with a progress bar on stderr and one line (or one JSON object) per variant.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { type QuantizeProgress, quantizeModel } from '../../node/quantize.js';
import { parseByteSize } from '../../platform/bytes.js';
import { DEFAULT_QUANTIZE_PRECISIONS, parseQuantizePrecisions } from '../../quantize/options.js';
import { summarize } from '../../quantize/report.js';
import { formatBytes } from '../format.js';
import { progressBar } from '../progress.js';
import { choiceArg, intArg } from '../usage.js';

interface QuantizeCliOptions {
  precision: ReturnType<typeof parseQuantizePrecisions>;
  components?: string;
  excludeNodes?: string;
  excludeOps?: string;
  blockSize: number;
  accuracyLevel?: number;
  perTensor?: boolean;
  gather: boolean;
  externalData: 'auto' | 'always' | 'never';
  chunkSize?: number;
  force?: boolean;
  json?: boolean;
}

const list = (v: string | undefined) =>
  v
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A value the quantizer's own parser refuses is a usage error (exit 2) naming the option. */
function parsed<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };
}

function byteSize(v: string): number {
  const n = parseByteSize(v);
  if (n === undefined || !(n > 0)) throw new InvalidArgumentError('must be a size like 500MB or 2GiB');
  return n;
}

const EXTERNAL_DATA = { auto: 'auto', always: true, never: false } as const;

export function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description(
      'write fp16 / 8-bit / 4-bit variants of a model folder beside its ONNX files (the hub names: _fp16, _quantized, _int8, _uint8, _q4, _q4f16), each loaded and run once in ONNX Runtime before it is kept',
    )
    .argument('<model>', 'model folder (config.json + onnx/)')
    .option(
      '--precision <list>',
      'precisions to write: fp16, q8, int8, uint8, q4, q4f16',
      parsed(parseQuantizePrecisions),
      parseQuantizePrecisions(DEFAULT_QUANTIZE_PRECISIONS.join(',')),
    )
    .option('--components <list>', 'components to convert (default: every one with an fp32 file)')
    .option('--exclude-nodes <list>', 'node names to leave as they are')
    .option('--exclude-ops <list>', 'op types to leave as they are (e.g. Gather,Conv)')
    .option('--block-size <n>', 'q4: weights per 4-bit block (16-256, a power of two)', intArg(16, 256), 32)
    .option(
      '--accuracy-level <n>',
      'q4: MatMulNBits accuracy_level (0-4; 4 computes in int8 on CPU)',
      intArg(0, 4),
    )
    .option('--per-tensor', 'q8: one scale per weight instead of one per output channel')
    .option('--no-gather', 'leave embedding lookups (Gather on a weight table) in float')
    .option(
      '--external-data <mode>',
      'auto (over 2 GiB, or when the source has it), always, never',
      choiceArg(['auto', 'always', 'never'] as const),
      'auto',
    )
    .option(
      '--chunk-size <bytes>',
      'largest external data file (e.g. 2GB; later chunks are _data_1, _data_2, ...)',
      byteSize,
    )
    .option('--force', 'replace variants that exist already')
    .option('--json', 'print one JSON object with every variant and its report')
    .action(async (model: string, opts: QuantizeCliOptions) => {
      const precisions = opts.precision;
      const chunk = opts.chunkSize;
      const blockSize = opts.blockSize;
      const accuracyLevel = opts.accuracyLevel;
      const components = list(opts.components);
      const nodes = list(opts.excludeNodes);
      const ops = list(opts.excludeOps);
      const bar = progressBar('quantize');
      try {
        const result = await quantizeModel({
          model,
          precisions,
          ...(components && { components }),
          ...((nodes || ops) && { exclude: { ...(nodes && { nodes }), ...(ops && { opTypes: ops }) } }),
          ...(blockSize !== undefined && { blockSize }),
          ...(accuracyLevel !== undefined && { accuracyLevel: accuracyLevel as 0 }),
          ...(opts.perTensor && { perChannel: false }),
          gather: opts.gather,
          externalData: EXTERNAL_DATA[opts.externalData],
          ...(chunk !== undefined && { maxChunkBytes: chunk }),
          ...(opts.force && { force: true }),
          onProgress: (e: QuantizeProgress) => bar.update(Math.round(e.overallPercent * 10), 1000),
        });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        for (const v of result.variants) {
          const total = v.bytes + v.externalData.reduce((s, x) => s + x.bytes, 0);
          const drift = v.verification.drift
            .slice(0, 3)
            .map((d) => `${d.output} max|Δ| ${d.maxAbsDiff.toPrecision(3)}, cosine ${d.cosine.toFixed(5)}`)
            .join('; ');
          process.stdout.write(
            `${v.file}${v.externalData.length ? ` + ${v.externalData.map((x) => x.file).join(' + ')}` : ''}: ${formatBytes(total)} (fp32 ${formatBytes(v.sourceBytes)})\n` +
              `  ${summarize(v.report)}\n  checked in ONNX Runtime on the reference inputs: ${drift}\n`,
          );
        }
        for (const s of result.skipped)
          process.stdout.write(`${s.file}: exists, left alone (--force replaces it)\n`);
        process.stdout.write(`report: ${result.reportFile}\n`);
      } finally {
        bar.stop();
      }
    });
}
