/**
 * `mmrt ask <image> "question"`: one answer about one image with a LLaVA-family model,
 * streamed to stdout as it is generated (or one JSON object with --json).
 */
import type { Command } from 'commander';
import type { GenerationOptions } from '../../generation/options.js';
import { openAiFinishReason, openAiUsage } from '../../generation/openai.js';
import { loadLlava } from '../../node/index.js';
import type { ConfigInput } from '../../platform/config-keys.js';
import { REQUESTABLE_PRECISIONS, type RequestedPrecision } from '../../platform/precision-map.js';
import { DEFAULT_VLM_MODEL } from '../paths.js';
import { downloadProgress } from '../progress.js';
import { intArg, numberArg } from '../usage.js';
import {
  type PlatformCliOptions,
  addPlatformOptions,
  checkPrecisionOption,
  readPlatformOptions,
} from '../platform-options.js';

export interface VlmCliOptions extends PlatformCliOptions {
  model: string;
  precision?: string;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  threads?: number;
  quiet?: boolean;
}

/** Shared by ask and chat: CLI flags (already range-checked by their parsers) -> generation options. */
export function generationFlags(opts: VlmCliOptions): GenerationOptions {
  const { maxNewTokens, temperature, topK, topP, seed } = opts;
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
  const { platform, config, candidates } = readPlatformOptions(opts);
  // --precision and --threads are shorthands for the same config keys.
  const merged: ConfigInput = {
    ...config,
    ...(opts.precision ? { precision: opts.precision as RequestedPrecision } : {}),
    ...(opts.threads ? { numThreads: opts.threads } : {}),
  };
  const downloads = downloadProgress(!opts.quiet);
  const model = await loadLlava({
    model: opts.model,
    platform,
    config: merged,
    ...(candidates ? { candidates } : {}),
    host: { hub: { onProgress: downloads.onProgress } },
    onWarning: (m) => {
      if (!opts.quiet) process.stderr.write(`mmrt: warning: ${m}\n`);
    },
  });
  const dispose = model.dispose.bind(model);
  return Object.assign(model, {
    dispose: async () => {
      downloads.stop();
      await dispose();
    },
  });
}

export function addVlmOptions(cmd: Command): Command {
  return addPlatformOptions(cmd)
    .option('-m, --model <path|org/name>', 'LLaVA-family model folder or hub id', DEFAULT_VLM_MODEL)
    .option('--precision <p>', `precision of every component (${REQUESTABLE_PRECISIONS.join(', ')})`)
    .option('-n, --max-new-tokens <n>', 'tokens to generate at most', intArg(1, 1_048_576))
    .option(
      '--temperature <t>',
      'sample with this temperature, > 0 (default: greedy)',
      numberArg(0, 100, true),
    )
    .option('-k, --top-k <k>', 'sample from the k most likely tokens (0: all)', intArg(0))
    .option(
      '--top-p <p>',
      'sample from the smallest set of tokens reaching probability p, in (0, 1]',
      numberArg(0, 1, true),
    )
    .option('--seed <n>', 'sampling seed, to repeat a run', intArg(Number.MIN_SAFE_INTEGER))
    .option('--stop <text>', 'stop when this text appears (repeatable)', (v: string, prev: string[] = []) => [
      ...prev,
      v,
    ])
    .option('--threads <n>', 'intra-op threads per session, 1-1024 (default: all cores)', intArg(1, 1024))
    .option('--quiet', 'no warnings or download progress on stderr');
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
        // OpenAI's names where the concept is theirs (finish_reason, usage), so servers reuse them.
        process.stdout.write(
          `${JSON.stringify({ image, question, answer: r.text, finish_reason: openAiFinishReason(r.finishReason), usage: openAiUsage(r.usage), timings: r.timings, ...(r.seed !== undefined ? { seed: r.seed } : {}) })}\n`,
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
