/**
 * `mmrt caption <images...>`: a caption per image with a BLIP captioning model or BLIP-2.
 * One image: the caption streams to stdout as it is generated. Several: one line per image
 * (`file: caption`, or one JSON object per line with --json) in input order, in batches of
 * the plan's batch size, with a progress bar on stderr.
 */
import type { Command } from 'commander';
import { openAiFinishReason, openAiUsage } from '../../generation/openai.js';
import type { BlipModel, CaptionOptions, CaptionResult } from '../../kinds/image-to-text/model.js';
import { loadBlip } from '../../node/index.js';
import { DEFAULT_BLIP_MODEL } from '../paths.js';
import { progressBar } from '../progress.js';
import { intArg } from '../usage.js';
import { addVlmOptions, generationFlags, loadWithDownloads, type VlmCliOptions } from './ask.js';

interface CaptionCliOptions extends VlmCliOptions {
  prompt?: string;
  json?: boolean;
  batchSize?: number;
}

function jsonLine(image: string, r: CaptionResult): string {
  return `${JSON.stringify({
    image,
    caption: r.text,
    ...(r.prompt ? { prompt: r.prompt } : {}),
    // OpenAI's names where the concept is theirs, as `mmrt ask --json` and the server write them.
    finish_reason: openAiFinishReason(r.finishReason),
    usage: openAiUsage(r.usage),
    timings: r.timings,
    imageFromCache: r.image.fromCache,
    ...(r.seed !== undefined ? { seed: r.seed } : {}),
  })}\n`;
}

async function captionOne(model: BlipModel, image: string, options: CaptionOptions, json: boolean) {
  const stream = model.caption(image, options);
  if (!json) for await (const delta of stream) process.stdout.write(delta);
  const r = await stream.result;
  if (json) {
    process.stdout.write(jsonLine(image, r));
    return;
  }
  process.stdout.write('\n');
  const t = r.timings;
  process.stderr.write(
    `${r.usage.generatedTokens} tokens, first after ${t.timeToFirstTokenMs.toFixed(0)} ms (vision ${t.encoderMs.toFixed(0)} ms, decoder prefill ${t.prefillMs.toFixed(0)} ms), ${t.decodeTokensPerSecond.toFixed(1)} tokens/s\n`,
  );
}

export function registerCaption(program: Command): void {
  addVlmOptions(
    program
      .command('caption')
      .description(
        'caption images with BLIP or BLIP-2 (one image: streamed; several: one line each, batched)',
      )
      .argument('<images...>', 'image files or URLs')
      .option('-p, --prompt <text>', 'conditional captioning: continue this text (e.g. "a picture of")')
      .option(
        '-b, --batch-size <n>',
        'images per decoder batch, 1-4096 (default: the plan, 8 for BLIP)',
        intArg(1, 4096),
      )
      .option('--json', 'one JSON object per image with the caption, token counts and timings'),
    { default: DEFAULT_BLIP_MODEL, help: 'BLIP captioning or BLIP-2 model folder or hub id' },
  ).action(async (images: string[], opts: CaptionCliOptions) => {
    const generation: CaptionOptions = {
      ...generationFlags(opts),
      ...(opts.prompt !== undefined ? { prompt: opts.prompt } : {}),
    };
    const batchSize = opts.batchSize;
    const model = await loadWithDownloads(opts, (o) =>
      loadBlip({ ...o, config: { ...o.config, ...(batchSize ? { batchSize } : {}) } }),
    );
    try {
      if (images.length === 1) {
        await captionOne(model, images[0]!, generation, opts.json === true);
        return;
      }
      const size = model.loader.placement?.plan.family.batchSize ?? 8;
      const bar = progressBar('captioning');
      const width = Math.max(...images.map((f) => f.length));
      try {
        for (let i = 0; i < images.length; i += size) {
          const chunk = images.slice(i, i + size);
          const results = await model.caption(chunk, generation).result;
          results.forEach((r, j) => {
            process.stdout.write(
              opts.json ? jsonLine(chunk[j]!, r) : `${`${chunk[j]!}:`.padEnd(width + 1)} ${r.text}\n`,
            );
          });
          bar.update(Math.min(i + size, images.length), images.length);
        }
      } finally {
        bar.stop();
      }
    } finally {
      await model.dispose();
    }
  });
}
