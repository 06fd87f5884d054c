/**
 * `mmrt ask <image> "question"`: one answer about one image with a LLaVA-family model,
 * streamed to stdout as it is generated (or one JSON object with --json).
 */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import type { GenerationOptions } from '../../generation/options.js';
import { loadLlava } from '../../node/index.js';
import type { ConfigInput } from '../../platform/config-keys.js';
import { REQUESTABLE_PRECISIONS, type RequestedPrecision } from '../../platform/precision-map.js';
import { DEFAULT_VLM_MODEL } from '../paths.js';
import {
  type PlatformCliOptions,
  addPlatformOptions,
  checkPrecisionOption,
  readPlatformOptions,
} from '../platform-options.js';

export interface VlmCliOptions extends PlatformCliOptions {
  model: string;
  precision?: string;
  maxNewTokens?: string;
  temperature?: string;
  topK?: string;
  topP?: string;
  seed?: string;
  stop?: string[];
  threads?: string;
}

function num(flag: string, v: string | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new InputError(
      'INPUT_INVALID',
      `${flag} must be ${integer ? 'an integer' : 'a number'}, got "${v}"`,
      { value: v },
    );
  }
  return n;
}

/** Shared by ask and chat: CLI flags -> generation options. */
export function generationFlags(opts: VlmCliOptions): GenerationOptions {
  const maxNewTokens = num('--max-new-tokens', opts.maxNewTokens, true);
  const temperature = num('--temperature', opts.temperature, false);
  const topK = num('--top-k', opts.topK, true);
  const topP = num('--top-p', opts.topP, false);
  const seed = num('--seed', opts.seed, true);
  const sample = temperature !== undefined || topK !== undefined || topP !== undefined || seed !== undefined;
  return {
    ...(maxNewTokens !== undefined ? { maxNewTokens } : {}),
    ...(opts.stop?.length ? { stopStrings: opts.stop } : {}),
    ...(sample
      ? {
          sampling: {
            ...(temperature !== undefined ? { temperature } : {}),
            ...(topK !== undefined ? { topK } : {}),
            ...(topP !== undefined ? { topP } : {}),
            ...(seed !== undefined ? { seed } : {}),
          },
        }
      : {}),
  };
}

/** Plan the model for --platform/--config and load it (the decoder on first use). */
export async function openVlm(opts: VlmCliOptions) {
  checkPrecisionOption(opts.precision);
  const threads = num('--threads', opts.threads, true);
  const { platform, config, candidates } = readPlatformOptions(opts);
  // --precision and --threads are shorthands for the same config keys.
  const merged: ConfigInput = {
    ...config,
    ...(opts.precision ? { precision: opts.precision as RequestedPrecision } : {}),
    ...(threads ? { numThreads: threads } : {}),
  };
  return loadLlava({
    model: opts.model,
    platform,
    config: merged,
    ...(candidates ? { candidates } : {}),
    onWarning: (m) => process.stderr.write(`mmrt: warning: ${m}\n`),
  });
}

export function addVlmOptions(cmd: Command): Command {
  return addPlatformOptions(cmd)
    .option('-m, --model <path|org/name>', 'LLaVA-family model folder or hub id', DEFAULT_VLM_MODEL)
    .option('--precision <p>', `precision of every component (${REQUESTABLE_PRECISIONS.join(', ')})`)
    .option('-n, --max-new-tokens <n>', 'tokens to generate at most')
    .option('--temperature <t>', 'sample with this temperature (default: greedy)')
    .option('--top-k <k>', 'sample from the k most likely tokens')
    .option('--top-p <p>', 'sample from the smallest set of tokens reaching probability p')
    .option('--seed <n>', 'sampling seed, to repeat a run')
    .option('--stop <text>', 'stop when this text appears (repeatable)', (v: string, prev: string[] = []) => [
      ...prev,
      v,
    ])
    .option('--threads <n>', 'intra-op threads per session (default: all cores)');
}

export function registerAsk(program: Command): void {
  addVlmOptions(
    program
      .command('ask')
      .description('answer a question about an image with a LLaVA-family model (streams the answer)')
      .argument('<image>', 'image file or URL')
      .argument('<question>', 'the question')
      .option('--json', 'print one JSON object with the answer, token counts and timings'),
  ).action(async (image: string, question: string, opts: VlmCliOptions & { json?: boolean }) => {
    const generation = generationFlags(opts);
    const model = await openVlm(opts);
    try {
      const stream = model.ask(image, question, generation);
      if (!opts.json) for await (const delta of stream) process.stdout.write(delta);
      const r = await stream.result;
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ image, question, answer: r.text, finishReason: r.finishReason, usage: r.usage, timings: r.timings, ...(r.seed !== undefined ? { seed: r.seed } : {}) })}\n`,
        );
      } else {
        process.stdout.write('\n');
        const t = r.timings;
        process.stderr.write(
          `${r.usage.generatedTokens} tokens, first after ${t.timeToFirstTokenMs.toFixed(0)} ms (vision ${t.visionMs.toFixed(0)} ms, prefill ${t.prefillMs.toFixed(0)} ms), ${t.decodeTokensPerSecond.toFixed(1)} tokens/s\n`,
        );
      }
    } finally {
      await model.dispose();
    }
  });
}
