/**
 * CLIP commands: classify, embed, index, search. Results go to stdout (one JSON object per
 * input per line with --json), progress and warnings to stderr.
 */
import type { Command } from 'commander';
import { ImageIndex } from '../../kinds/dual-encoder/image-index.js';
import type { ClipModel } from '../../kinds/dual-encoder/model.js';
import { settleImages } from '../../kinds/dual-encoder/settle.js';
import { loadClip } from '../../node/index.js';
import type { ConfigInput } from '../../platform/config-keys.js';
import { REQUESTABLE_PRECISIONS, type RequestedPrecision } from '../../platform/precision-map.js';
import { encodeNpy } from '../npy.js';
import { DEFAULT_CLIP_MODEL } from '../paths.js';
import {
  type PlatformCliOptions,
  addPlatformOptions,
  checkPrecisionOption,
  readPlatformOptions,
} from '../platform-options.js';
import { downloadProgress, progressBar } from '../progress.js';
import { checkOutputExtension, choiceArg, commaList, intArg, usageError } from '../usage.js';
import { readFileInput, writeFileOutput } from '../files.js';
import { expandInputs } from '../inputs.js';

interface ClipCliOptions extends PlatformCliOptions {
  model: string;
  quiet?: boolean;
  precision?: string;
  batchSize?: number;
  json?: boolean;
  resample?: 'exact' | 'fast';
}

export async function openClip(
  opts: ClipCliOptions,
): Promise<{ clip: ClipModel; warnings: string[]; dispose: () => Promise<void> }> {
  checkPrecisionOption(opts.precision);
  const batchSize = opts.batchSize;
  const { platform, config, candidates } = readPlatformOptions(opts);
  // --precision and --batch-size are shorthands for the same config keys.
  const merged: ConfigInput = {
    ...config,
    ...(opts.precision ? { precision: opts.precision as RequestedPrecision } : {}),
    ...(batchSize ? { batchSize } : {}),
  };
  const warnings: string[] = [];
  const downloads = downloadProgress(!opts.quiet);
  const clip = await loadClip({
    model: opts.model,
    platform,
    config: merged,
    ...(candidates ? { candidates } : {}),
    images: { resampleMode: opts.resample ?? 'exact' },
    host: { hub: { onProgress: downloads.onProgress } },
    onWarning: (m) => {
      warnings.push(m);
      if (!opts.quiet) process.stderr.write(`mmrt: warning: ${m}\n`);
    },
  });
  return {
    clip,
    warnings,
    dispose: async () => {
      downloads.stop();
      await clip.dispose();
    },
  };
}

function addCommon(cmd: Command): Command {
  return addPlatformOptions(cmd)
    .option('-m, --model <path|org/name>', 'model folder or hub id', DEFAULT_CLIP_MODEL)
    .option('--quiet', 'no warnings on stderr')
    .option('--precision <p>', `precision of every component (${REQUESTABLE_PRECISIONS.join(', ')})`)
    .option('--batch-size <n>', 'images per inference call (1-4096)', intArg(1, 4096))
    .option(
      '--resample <mode>',
      "'exact' (Pillow-identical, default) or 'fast'",
      choiceArg(['exact', 'fast']),
    )
    .option('--json', 'one JSON object per input per line (errors too)');
}

/** Labels from a file: one per line, blank lines and surrounding spaces ignored. */
async function readLabelsFile(path: string): Promise<string[]> {
  const text = (await readFileInput('--labels-file', path, 16 * 1024 * 1024)).toString('utf8');
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function registerClip(program: Command): void {
  addCommon(
    program
      .command('classify')
      .description('zero-shot classify images against labels')
      .argument('<images...>', 'image files, URLs, folders, or - for a list on stdin')
      .option('-l, --labels <list>', 'comma-separated labels (repeatable)', commaList)
      .option('--labels-file <file>', 'labels, one per line (for long label lists)')
      .option('-t, --template <text>', 'prompt template, {} is the label', 'a photo of a {}')
      .option('-k, --top-k <n>', 'labels to show per image (default 3)', intArg(1)),
  ).action(
    async (
      images: string[],
      opts: ClipCliOptions & { labels?: string[]; labelsFile?: string; template: string; topK?: number },
    ) => {
      // Checked before the model loads: a typo in the labels should not cost a model load.
      const labels = [
        ...(opts.labels ?? []),
        ...(opts.labelsFile ? await readLabelsFile(opts.labelsFile) : []),
      ];
      if (labels.length === 0) {
        throw usageError(
          opts.labels || opts.labelsFile
            ? 'no labels: --labels and --labels-file gave no non-empty label'
            : 'classify needs labels: --labels "cat,dog" or --labels-file labels.txt',
          { value: opts.labels },
        );
      }
      opts.labels = labels;
      images = await expandInputs(images);
      const top = opts.topK ?? 3;
      const { clip, dispose } = await openClip(opts);
      try {
        const bar = progressBar('classify');
        const t0 = performance.now();
        // Classify per batch so a bad image costs only its own line, not the whole run.
        const bs = opts.batchSize ?? 8;
        let failed = 0;
        for (let i = 0; i < images.length; i += bs) {
          const chunk = images.slice(i, i + bs);
          // Lines are written in input order once the chunk is done; a bad image costs only its
          // own line (the rest of the chunk is classified again).
          const outcomes = await settleImages(chunk, (pending) =>
            clip.zeroShot(pending, labels, { template: opts.template }),
          );
          const lines = outcomes.map((o, j) => {
            const input = chunk[j]!;
            if (!o.ok) {
              failed++;
              const { code, message } = o.error;
              return {
                error: true,
                text: opts.json
                  ? JSON.stringify({ input, error: { code, message } })
                  : `mmrt: ${input}: ${message} [${code}]`,
              };
            }
            const shown = o.value.slice(0, top);
            return {
              error: false,
              text: opts.json
                ? JSON.stringify({ input, labels: o.value })
                : `${input}: ${shown.map((l) => `${l.label} ${(l.score * 100).toFixed(1)}%`).join(', ')}`,
            };
          });
          for (const line of lines) {
            if (line.error && !opts.json) process.stderr.write(`${line.text}\n`);
            else out(line.text);
          }
          bar.update(Math.min(i + bs, images.length), images.length);
        }
        bar.stop();
        if (!opts.json) {
          const ms = performance.now() - t0;
          process.stderr.write(
            `${images.length - failed} image(s) x ${labels.length} labels in ${ms.toFixed(0)} ms\n`,
          );
        }
        if (failed > 0) process.exitCode = 1;
      } finally {
        await dispose();
      }
    },
  );

  addCommon(
    program
      .command('embed')
      .description('embed images (or texts with --text) and print or save the vectors')
      .argument('<inputs...>', 'image files/URLs/folders (- for a list on stdin), or texts with --text')
      .option('--text', 'the inputs are texts')
      .option('-o, --out <file>', 'write a .npy (float32 [n, d]) or .json file instead of printing')
      .option('--raw', 'do not L2-normalize'),
  ).action(
    async (inputs: string[], opts: ClipCliOptions & { text?: boolean; out?: string; raw?: boolean }) => {
      if (opts.out) checkOutputExtension('--out', opts.out, ['.npy', '.json']);
      if (!opts.text) inputs = await expandInputs(inputs);
      const { clip, dispose } = await openClip(opts);
      try {
        const bar = progressBar('embed');
        const onProgress = (d: number, t: number) => bar.update(d, t);
        const normalize = !opts.raw;
        const vectors = opts.text
          ? await clip.embedTexts(inputs, { normalize, onProgress })
          : await clip.embedImages(inputs, { normalize, onProgress });
        bar.stop();
        if (opts.out) {
          if (opts.out.toLowerCase().endsWith('.npy'))
            await writeFileOutput('--out', opts.out, encodeNpy(vectors));
          else
            await writeFileOutput(
              '--out',
              opts.out,
              JSON.stringify(inputs.map((input, i) => ({ input, embedding: Array.from(vectors[i]!) }))),
            );
          process.stderr.write(`wrote ${vectors.length} x ${vectors[0]!.length} to ${opts.out}\n`);
        } else if (opts.json) {
          for (const [i, input] of inputs.entries())
            out(JSON.stringify({ input, embedding: Array.from(vectors[i]!) }));
        } else {
          // For people: a glimpse of each vector; --json or -o give the whole of it.
          for (const [i, input] of inputs.entries()) {
            const v = vectors[i]!;
            const head = Array.from(v.subarray(0, 4), (x) => x.toFixed(4)).join(', ');
            out(`${input}: ${v.length}-d [${head}, …]`);
          }
          process.stderr.write('(--json prints the whole vectors, -o file.npy saves them)\n');
        }
      } finally {
        await dispose();
      }
    },
  );

  addCommon(
    program
      .command('index')
      .description('build an image search index file from images')
      .argument('<images...>', 'image files, folders, or - for a list on stdin')
      .requiredOption('-o, --out <file>', 'index file to write (.idx)')
      .option('--append', 'add to an existing index file'),
  ).action(async (images: string[], opts: ClipCliOptions & { out: string; append?: boolean }) => {
    checkOutputExtension('--out', opts.out, ['.idx']);
    images = await expandInputs(images);
    const existing = opts.append ? await readFileInput('--out', opts.out) : undefined;
    const { clip, dispose } = await openClip(opts);
    try {
      const bar = progressBar('index');
      const vectors = await clip.embedImages(images, { onProgress: (d, t) => bar.update(d, t) });
      bar.stop();
      const index = existing
        ? ImageIndex.deserialize(new Uint8Array(existing))
        : new ImageIndex(vectors[0]!.length, opts.model);
      for (const [i, img] of images.entries()) index.add(img, vectors[i]!);
      await writeFileOutput('--out', opts.out, index.serialize());
      process.stderr.write(`index ${opts.out}: ${index.size} images, ${index.dim}-d\n`);
    } finally {
      await dispose();
    }
  });

  addCommon(
    program
      .command('search')
      .description('search an index built by `mmrt index` with a text (or an image)')
      .requiredOption('-i, --index <file>', 'index file')
      .option('-q, --query <text>', 'text query')
      .option('--image <file>', 'image query instead of text')
      .option('-k, --top-k <n>', 'results (default 5)', intArg(1)),
  ).action(
    async (opts: ClipCliOptions & { index: string; query?: string; image?: string; topK?: number }) => {
      if (!opts.query && !opts.image) throw usageError('search needs --query <text> or --image <file>');
      const index = ImageIndex.deserialize(new Uint8Array(await readFileInput('--index', opts.index)));
      const { clip, dispose } = await openClip(opts);
      try {
        const [q] = opts.query ? await clip.embedTexts([opts.query]) : await clip.embedImages([opts.image!]);
        const hits = index.search(q!, opts.topK ?? 5);
        for (const h of hits)
          out(opts.json ? JSON.stringify({ input: h.id, score: h.score }) : `${h.score.toFixed(4)}  ${h.id}`);
      } finally {
        await dispose();
      }
    },
  );
}
