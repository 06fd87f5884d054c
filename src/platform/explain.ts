/**
 * A plan, said plainly: per component the file, precision (and who asked for it), providers
 * with their options, threads, load strategy and estimated memory; then every setting with the
 * layer it came from. `explainPlanJson` is the same as data (candidates without nested plans).
 */
import type { ProviderSpec } from '../runtime/session.js';
import { formatByteSize } from './bytes.js';
import type { ModelPlan, PlatformPlan } from './plan-types.js';

function table(rows: ReadonlyArray<ReadonlyArray<string>>): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
}

function providerText(p: ProviderSpec): string {
  const opts = Object.entries(p.options ?? {});
  return opts.length ? `${p.name}{${opts.map(([k, v]) => `${k}=${String(v)}`).join(', ')}}` : p.name;
}

function valueText(v: unknown): string {
  return typeof v === 'number' && v >= 1 << 20 ? `${v} (${formatByteSize(v)})` : JSON.stringify(v);
}

function isPlanWithCandidates(p: PlatformPlan | ModelPlan): p is ModelPlan {
  return 'candidates' in p;
}

export function explainPlan(plan: PlatformPlan | ModelPlan): string {
  const out: string[] = [];
  const m = plan.model;
  out.push(`Plan for ${m.location}`);
  out.push(`  model: ${m.family} (model_type ${m.modelType}), components ${m.layout.join(', ')}`);
  out.push(`  platform: ${plan.platform} — table rating ${plan.rating} — runs on ${plan.ortPackage}`);
  if (isPlanWithCandidates(plan) && plan.requested === 'auto') {
    const c = plan.candidates.map(
      (x) =>
        `${x.platform} (${x.rating}, ${x.available ? 'available' : 'not available'}${x.skipped ? `, skipped: ${x.skipped}` : ''})`,
    );
    out.push(`  requested: auto; candidates in order: ${c.join(' > ')}`);
  }
  if (plan.presets.length) out.push(`  recommended presets layered in: ${plan.presets.join(', ')}`);
  out.push('');
  out.push('Components:');
  const rows = [['component', 'file', 'precision', 'asked by', 'threads', 'load', 'est. memory']];
  for (const c of [...plan.components, ...plan.optional]) {
    const optional = plan.optional.includes(c);
    const asked = `${c.precisionChoice.asked} (${c.precisionChoice.source}: ${c.precisionChoice.key})${c.precisionChoice.how !== 'asked' ? ` -> ${c.precisionChoice.how}` : ''}`;
    rows.push([
      c.name,
      [c.file, ...c.externalData].join(' + '),
      c.precision,
      asked,
      String(c.session.intraOpNumThreads ?? plan.ortEnv.wasm?.numThreads ?? '-'),
      `${c.loadStrategy}${c.warmup ? ' +warmup' : ''}${optional ? ' (optional)' : ''}`,
      `${formatByteSize(c.memory.weightsBytes)} weights, ${formatByteSize(c.memory.activationBytes)} activations`,
    ]);
  }
  out.push(...table(rows).map((l) => `  ${l}`));
  out.push('');
  out.push('Providers (ORT option names; session options as created):');
  for (const c of plan.components) {
    const s = c.session;
    out.push(
      `  ${c.name}: ${c.providers.map(providerText).join(' > ')}; graphOptimizationLevel=${s.graphOptimizationLevel}` +
        `${s.executionMode ? `, executionMode=${s.executionMode}` : ''}` +
        `${s.freeDimensionOverrides ? `, freeDimensionOverrides=${JSON.stringify(s.freeDimensionOverrides)}` : ''}` +
        `${s.enableCpuMemArena === false ? ', enableCpuMemArena=false, enableMemPattern=false' : ''}` +
        `${s.intraOpNumThreads !== undefined ? `, intraOpNumThreads=${s.intraOpNumThreads}` : ''}` +
        `${s.extra ? `, extra=${JSON.stringify(s.extra)}` : ''}`,
    );
  }
  out.push('');
  const mem = plan.memory;
  out.push(
    `Memory (estimate): ${formatByteSize(mem.totalBytes)} = weights ${formatByteSize(mem.weightsBytes)} + KV cache ${formatByteSize(mem.kvCacheBytes)} + activations ${formatByteSize(mem.activationBytes)} + runtime ${formatByteSize(mem.runtimeBytes)}` +
      (mem.budgetBytes !== undefined ? `; budget ${formatByteSize(mem.budgetBytes)}` : ''),
  );
  if (mem.kvCacheBytes > 0 || plan.generation) out.push(`  KV cache: ${mem.kvCacheNote}`);
  out.push(
    `Family: batch_size ${plan.family.batchSize}, parallel encoders ${plan.family.parallelEncoderExecution ? 'yes' : 'no'}`,
  );
  if (plan.generation)
    out.push(
      `Generation: KV cache ${plan.generation.kvCache ? 'on' : 'off'}, max length ${plan.generation.maxLength}`,
    );
  if (plan.video) out.push(`Video: ${plan.video.frames} frames per clip`);
  const l = plan.loading;
  out.push(
    `Loading: ${l.order.join(' > ') || '-'}${l.lazy.length ? `; lazy: ${l.lazy.join(', ')}` : ''}; parallel ${l.parallel ? 'yes' : 'no'}, progressive ${l.progressive ? 'yes' : 'no'}, warm-up ${l.warmup ? 'yes' : 'no'}, graph cache ${plan.graphCache ? 'yes' : 'no'}`,
  );
  if (plan.ortEnv.wasm)
    out.push(`ort.env.wasm: numThreads=${plan.ortEnv.wasm.numThreads}, simd=${plan.ortEnv.wasm.simd}`);
  if (plan.ortEnv.webgpu) out.push(`ort.env.webgpu: powerPreference=${plan.ortEnv.webgpu.powerPreference}`);
  out.push('');
  out.push('Settings (where each came from; `mmrt explain --keys` says what each key maps to):');
  const srows = [['setting', 'value', 'source', 'key', 'applies']];
  for (const [k, v] of Object.entries(plan.settings)) {
    srows.push([k, valueText(v.value), v.source, v.key, v.applies ? 'yes' : 'no effect here']);
  }
  out.push(...table(srows).map((r) => `  ${r}`));
  if (plan.warnings.length) {
    out.push('');
    out.push('Warnings:');
    for (const w of plan.warnings) out.push(`  - ${w}`);
  }
  return out.join('\n');
}

/** The plan as plain JSON data: candidates keep their ranking and why they were skipped, not their nested plans. */
export function explainPlanJson(plan: PlatformPlan | ModelPlan): Record<string, unknown> {
  const { candidates, ...rest } = plan as ModelPlan;
  return {
    ...rest,
    ...(candidates && { candidates: candidates.map(({ plan: _p, ...c }) => c) }),
  };
}
