/**
 * What `onnx/quantization.json` (written by `mmrt quantize`, drift added by
 * tools/quantize/publish.ts or the benchmark) says about one variant file, in one line:
 * "q4 decoder_model_merged: 0.3% greedy-token disagreement with fp32 on 48 reference prompts".
 */
import type { Json, ModelPackage } from './describe.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function familyDrift(d: Json): string | undefined {
  if (d.kind === 'vision-language') {
    const agree = num(d.tokenAgreement);
    const equal = num(d.answersEqual);
    const diff = num(d.firstLogitsMaxAbsDiff);
    if (agree === undefined) return undefined;
    const fixed = num(d.newTokens) !== undefined ? ` (${d.newTokens} tokens each, EOS suppressed)` : '';
    return `${pct(1 - agree)} greedy-token disagreement with fp32 on ${d.prompts} reference prompts${fixed}${equal !== undefined ? ` (answers equal: ${pct(equal)})` : ''}${diff !== undefined ? `, first-step logits max |diff| ${diff.toFixed(4)}` : ''}`;
  }
  if (d.kind === 'dual-encoder') {
    const top1 = num(d.top1Agreement);
    const cos = num((d.imageCosine as Json | undefined)?.mean);
    if (top1 === undefined) return undefined;
    return `${pct(top1)} zero-shot top-1 agreement with fp32 on ${d.images} held-out images${cos !== undefined ? `, image-embedding cosine ${cos.toFixed(5)}` : ''}`;
  }
  return undefined;
}

function referenceDrift(entry: Json): string | undefined {
  const ref = Array.isArray(entry.reference) ? (entry.reference as Json[]) : [];
  const first = ref[0];
  if (!first) return undefined;
  return `on the reference inputs, ${first.output} cosine ${num(first.cosine)?.toFixed(5)}, max |diff| ${num(first.maxAbsDiff)?.toPrecision(3)}`;
}

/** The drift line of a variant file, or undefined when the report has nothing on it. */
export function variantDrift(pkg: Pick<ModelPackage, 'quantization'>, file: string): string | undefined {
  const entry = (pkg.quantization?.variants as Json | undefined)?.[file] as Json | undefined;
  if (!entry) return undefined;
  const family =
    entry.drift && typeof entry.drift === 'object' ? familyDrift(entry.drift as Json) : undefined;
  return family ?? referenceDrift(entry);
}
