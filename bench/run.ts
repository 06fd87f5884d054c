/**
 * Benchmark dispatcher: `npm run bench -- <name> [flags]` runs bench/<name>.ts with its flags.
 *
 *   npm run bench                              # the suite: every workload, then the README table
 *   npm run bench -- zero-shot-1 embed-32      # suite workloads picked by name
 *   npm run bench -- load --model models-bench/clip-vit-b32 --model models-bench/smolvlm
 *
 * Each benchmark parses its own flags and writes bench/results/<name>.json; the suite writes
 * bench/results/runs/<date>.json and latest.json.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WORKLOADS } from './workloads/index.js';

const BENCHMARKS: Readonly<Record<string, string>> = {
  load: 'initialization (sequential / parallel / workers, graph cache cold / warm) and time to first result (lazy / eager)',
  clip: 'zero-shot CLIP throughput against @huggingface/transformers',
  llava: 'LLaVA-family chat: prefill, decode, second turn, against @huggingface/transformers',
  memory: "the planner's memory estimate against measured resident memory, one process per model",
  web: 'headless Chromium: first vs cached visit, parallel vs sequential session creation, first inference with and without shader precompilation, on WASM and WebGPU',
  serve:
    'mmrt serve under load: throughput and p50/p99 at 1-64 clients, batching on and off; a 10,000-request memory run',
  suite:
    'every workload against @huggingface/transformers (and Pillow), fresh processes, rounds; the default',
  report: "regenerate the README's performance table and charts from bench/results/latest.json",
  xclip:
    'X-CLIP video classification: clips/s for short clips and a 10-minute video, sequential vs parallel segments, decode share',
  quantize:
    'precision variants vs fp32: quantizer time, file sizes, memory, CLIP images/s, VLM decode tokens/s, drift',
  blip: 'BLIP captions/s at batch 1 and 8, cross-attention K/V reuse, a second VQA question from the feature cache',
};

function usage(): string {
  const width = Math.max(...Object.keys(BENCHMARKS).map((k) => k.length));
  const lines = Object.entries(BENCHMARKS).map(([name, about]) => {
    const ready = existsSync(fileURLToPath(new URL(`./${name}.ts`, import.meta.url)))
      ? ''
      : ' (not written yet)';
    return `  ${name.padEnd(width)}  ${about}${ready}`;
  });
  const workloads = WORKLOADS.map((w) => `  ${w.name.padEnd(width)}  ${w.title}`);
  return `usage: npm run bench [-- <benchmark | workload...>] [flags]\n\nbenchmarks:\n${lines.join('\n')}\n\nsuite workloads (npm run bench -- <workload>):\n${workloads.join('\n')}`;
}

// No name, flags only, or workload names: the suite.
const first = process.argv[2];
if (first === '--help' || first === '-h') {
  console.log(usage());
  process.exit(0);
}
if (!first || first.startsWith('--') || WORKLOADS.some((w) => w.name === first)) {
  process.argv.splice(2, 0, 'suite');
}
const name = process.argv[2]!;
if (!(name in BENCHMARKS)) {
  console.error(`unknown benchmark "${name}"\n\n${usage()}`);
  process.exit(1);
}
const file = new URL(`./${name}.ts`, import.meta.url);
if (!existsSync(fileURLToPath(file))) {
  console.error(`benchmark "${name}" is registered but bench/${name}.ts does not exist yet`);
  process.exit(1);
}
// The benchmark reads its own flags from process.argv: drop the name.
process.argv.splice(2, 1);
await import(file.href);
