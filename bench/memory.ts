/**
 * The planner's memory estimate against measured resident memory. Each model is measured in a
 * fresh child process (resident memory never shrinks back, so one process per model): the
 * resident set after importing mmrt, after loading every component through the plan, and the
 * peak after one real request (a zero-shot call for CLIP; a 16-token answer for a VLM).
 *
 *   npm run bench -- memory --model models/shapes-clip --model models-bench/clip-vit-b32 \
 *       --model models/shapes-vlm --model models-bench/vlm-smol
 *
 * Writes bench/results/memory.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface ChildResult {
  model: string;
  family: string;
  platform: string;
  estimate: { weightsBytes: number; kvCacheBytes: number; activationBytes: number; totalBytes: number };
  fileBytes: number;
  rss: { baseline: number; loaded: number; peak: number };
  graphCache: boolean;
}

const MiB = 1024 * 1024;

async function child(model: string, graphCache: boolean): Promise<void> {
  const { renderShape } = await import('../tools/shapes/render.js');
  const { loadClip, loadLlava, createPlacement } = await import('../src/node/index.js');
  // Importing ORT and sharp is part of the baseline, not of the model.
  const baseline = process.memoryUsage().rss;
  const config = { graphCache };
  const plan = (await createPlacement({ model, platform: 'cpu', config })).plan;
  const fileBytes = plan.components.reduce((s, c) => s + c.bytes, 0);
  const size = plan.model.family === 'clip' || plan.model.family === 'siglip' ? 224 : 336;
  const im = renderShape(7, size, size, 'red', 'circle', 'plain');
  const image = { data: im.rgb, width: im.width, height: im.height, channels: 3 as const };
  let loaded: number;
  if (plan.model.family === 'clip' || plan.model.family === 'siglip') {
    const clip = await loadClip({ model, platform: 'cpu', config, loading: { preload: true } });
    loaded = process.memoryUsage().rss;
    await clip.zeroShot([image], ['a red circle', 'a blue square', 'a green star']);
    await clip.dispose();
  } else {
    // The decoder too: the estimate covers every component.
    const vlm = await loadLlava({
      model,
      platform: 'cpu',
      config: { ...config, language_model: { preload: true } },
    });
    await vlm.loader.session('decoder_model_merged');
    loaded = process.memoryUsage().rss;
    await vlm.ask(image, 'Describe the image.', { maxNewTokens: 16 }).result;
    await vlm.dispose();
  }
  const peak = process.resourceUsage().maxRSS * 1024;
  const m = plan.memory;
  const out: ChildResult = {
    model,
    family: plan.model.family,
    platform: plan.platform,
    estimate: {
      weightsBytes: m.weightsBytes,
      kvCacheBytes: m.kvCacheBytes,
      activationBytes: m.activationBytes,
      totalBytes: m.totalBytes,
    },
    fileBytes,
    rss: { baseline, loaded, peak },
    graphCache,
  };
  process.stdout.write(`@@${JSON.stringify(out)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', multiple: true },
      child: { type: 'string' },
      'graph-cache': { type: 'boolean', default: false },
    },
  });
  if (values.child) return child(values.child, values['graph-cache']!);
  const models = values.model ?? ['models/shapes-clip', 'models/shapes-vlm'];
  const results: Array<ChildResult & { measuredBytes: number; ratio: number }> = [];
  const mb = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
  process.stdout.write(
    `${'model'.padEnd(30)} ${'files'.padStart(11)} ${'estimate'.padStart(11)} ${'loaded Δ'.padStart(11)} ${'peak Δ'.padStart(11)}  peak/estimate\n`,
  );
  for (const model of models) {
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', model];
    if (values['graph-cache']) args.push('--graph-cache');
    const stdout = execFileSync(process.execPath, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 1 << 24,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('@@'));
    if (!line) throw new Error(`no result from the child for ${model}`);
    const r = JSON.parse(line.slice(2)) as ChildResult;
    const measuredBytes = r.rss.peak - r.rss.baseline;
    const row = { ...r, measuredBytes, ratio: measuredBytes / r.estimate.totalBytes };
    results.push(row);
    process.stdout.write(
      `${model.padEnd(30)} ${mb(r.fileBytes).padStart(11)} ${mb(r.estimate.totalBytes).padStart(11)} ${mb(r.rss.loaded - r.rss.baseline).padStart(11)} ${mb(measuredBytes).padStart(11)}  ${row.ratio.toFixed(2)}\n`,
    );
  }
  await mkdir('bench/results', { recursive: true });
  await writeFile(
    'bench/results/memory.json',
    `${JSON.stringify(
      {
        benchmark: 'memory-estimate-vs-resident',
        date: new Date().toISOString(),
        machine: { cpus: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version },
        note: 'measured = peak resident set (maxRSS) after one request minus the resident set after importing mmrt, one process per model',
        results,
      },
      null,
      2,
    )}\n`,
  );
}

await main();
