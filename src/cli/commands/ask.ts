/**
 * `mmrt ask <image> "question"`: one answer about one image, streamed to stdout as it is
 * generated (or one JSON object with --json), by any model that answers questions about
 * images: a LLaVA-family chat model, BLIP VQA or BLIP-2. The model's kind (from the family
 * registry) picks how it is asked.
 */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import type { LoadedModel } from '../../families/family.js';
import { FAMILIES, familyByName } from '../../families/registry.js';
import type { GenerationResult } from '../../generation/generate.js';
import { openAiFinishReason, openAiUsage } from '../../generation/openai.js';
import type { GenerationOptions } from '../../generation/options.js';
import type { TextStream } from '../../generation/text-stream.js';
import type { BlipModel } from '../../kinds/image-to-text/model.js';
import type { LlavaModel } from '../../kinds/vision-language/model.js';
import type { LoadModelOptions } from '../../load/load-model.js';
import { type NodeHostOptions, loadLlava, loadModel } from '../../node/index.js';
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

/** --model, --platform, --config, --precision and --threads as load options. */
export function generativeLoadOptions(
  opts: VlmCliOptions,
  downloads: ReturnType<typeof downloadProgress>,
): LoadModelOptions & { host: NodeHostOptions } {
  checkPrecisionOption(opts.precision);
  const { platform, config, candidates } = readPlatformOptions(opts);
  // --precision and --threads are shorthands for the same config keys.
  const merged: ConfigInput = {
    ...config,
    ...(opts.precision ? { precision: opts.precision as RequestedPrecision } : {}),
    ...(opts.threads ? { numThreads: opts.threads } : {}),
  };
  return {
    model: opts.model,
    platform,
    config: merged,
    ...(candidates ? { candidates } : {}),
    host: { hub: { onProgress: downloads.onProgress } },
    onWarning: (m: string) => {
      if (!opts.quiet) process.stderr.write(`mmrt: warning: ${m}\n`);
    },
  };
}

/**
 * Load with a byte progress bar per downloaded file (also for a lazy decoder's first use); the
 * bar stops when the model is disposed.
 */
export async function loadWithDownloads<M extends LoadedModel>(
  opts: VlmCliOptions,
  load: (options: LoadModelOptions & { host: NodeHostOptions }) => Promise<M>,
): Promise<M> {
  const downloads = downloadProgress(!opts.quiet);
  let model: M;
  try {
    model = await load(generativeLoadOptions(opts, downloads));
  } catch (e) {
    downloads.stop();
    throw e;
  }
  const dispose = model.dispose.bind(model);
  return Object.assign(model, {
    dispose: async () => {
      downloads.stop();
      await dispose();
    },
  });
}

/** Plan the model for --platform/--config and load it (the decoder on first use). */
export async function openVlm(opts: VlmCliOptions) {
  return loadWithDownloads(opts, loadLlava);
}

/** An answer as every kind reports it (LLaVA: visionMs; BLIP: encoderMs). */
type AskResult = GenerationResult & {
  readonly timings: { readonly visionMs?: number; readonly encoderMs?: number };
};
type Asker = (image: string, question: string, options: GenerationOptions) => TextStream<AskResult>;

/** How each model kind is asked a question about an image. */
const ASKERS: Readonly<Record<string, (model: LoadedModel) => Asker>> = {
  'vision-language': (m) => (image, question, o) => (m as LlavaModel).ask(image, question, o),
  'image-to-text': (m) => (image, question, o) => (m as BlipModel).answer(image, question, o),
};

/** Load any model and find how to ask it, or a typed error naming the families that answer. */
async function openAsker(opts: VlmCliOptions): Promise<{ model: LoadedModel; ask: Asker }> {
  const model = await loadWithDownloads(opts, loadModel);
  const kind = familyByName(model.loader.package.family).kind;
  const make = ASKERS[kind];
  if (!make) {
    await model.dispose();
    const valid = FAMILIES.filter((f) => f.kind in ASKERS).map((f) => f.name);
    throw new InputError(
      'INPUT_INVALID',
      `mmrt ask needs a model that answers questions about images (${valid.join(', ')}); ${model.loader.package.location} is a ${model.loader.package.family} model`,
      { value: model.loader.package.family, valid },
    );
  }
  return { model, ask: make(model) };
}

export function addVlmOptions(
  cmd: Command,
  model: { readonly default: string; readonly help: string } = {
    default: DEFAULT_VLM_MODEL,
    help: 'LLaVA-family model folder or hub id',
  },
): Command {
  return addPlatformOptions(cmd)
    .option('-m, --model <path|org/name>', model.help, model.default)
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
      .description('answer a question about an image (LLaVA family, BLIP VQA, BLIP-2; streams the answer)')
      .argument('<image>', 'image file or URL')
      .argument('<question>', 'the question')
      .option('--json', 'print one JSON object with the answer, token counts and timings'),
    { default: DEFAULT_VLM_MODEL, help: 'model folder or hub id: LLaVA family, BLIP VQA or BLIP-2' },
  ).action(async (image: string, question: string, opts: VlmCliOptions & { json?: boolean }) => {
    const generation = generationFlags(opts);
    const { model, ask } = await openAsker(opts);
    try {
      const stream = ask(image, question, generation);
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
        const image =
          t.visionMs !== undefined
            ? `vision ${t.visionMs.toFixed(0)}`
            : `encoders ${(t.encoderMs ?? 0).toFixed(0)}`;
        process.stderr.write(
          `${r.usage.generatedTokens} tokens, first after ${t.timeToFirstTokenMs.toFixed(0)} ms (${image} ms, prefill ${t.prefillMs.toFixed(0)} ms), ${t.decodeTokensPerSecond.toFixed(1)} tokens/s\n`,
        );
      }
    } finally {
      await model.dispose();
    }
  });
}
