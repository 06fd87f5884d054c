/**
 * Benchmark dispatcher: `npm run bench -- <name> [flags]` runs bench/<name>.ts with its flags.
 *
 *   npm run bench -- load --model models-bench/clip-vit-b32 --model models-bench/smolvlm
 *   npm run bench -- clip --model models-bench/clip-vit-b32
 *
 * Each benchmark parses its own flags and writes bench/results/<name>.json.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCHMARKS: Readonly<Record<string, string>> = {
  load: 'initialization (sequential / parallel / workers, graph cache cold / warm) and time to first result (lazy / eager)',
  clip: 'zero-shot CLIP throughput against @huggingface/transformers',
  llava: 'LLaVA-family chat: prefill, decode, second turn, against @huggingface/transformers',
  memory: "the planner's memory estimate against measured resident memory, one process per model",
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
  return `usage: npm run bench -- <benchmark> [flags]\n\nbenchmarks:\n${lines.join('\n')}`;
}

const name = process.argv[2];
if (!name || name === '--help' || name === '-h') {
  console.log(usage());
  process.exit(name ? 0 : 1);
}
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
