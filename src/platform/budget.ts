/**
 * Fitting a plan into a memory budget: step the largest component down to its next smaller
 * variant the platform can run, re-estimate, repeat; or fail with the numbers. Where speeds were
 * measured (measured.ts), a variant that is both larger and slower than a smaller one is
 * skipped: on CPU a ViT goes from fp32 to q8, not to fp16, which is twice q8's size and a third
 * of its speed.
 */
import { PlatformError } from '../errors.js';
import type { ComponentInfo, ComponentVariant } from '../package/describe.js';
import type { Precision } from '../package/precision.js';
import { formatByteSize } from './bytes.js';
import type { MemoryEstimate } from './memory.js';

export interface BudgetComponent {
  readonly name: string;
  readonly info: ComponentInfo;
  readonly variant: ComponentVariant;
}

export interface BudgetFit {
  readonly components: readonly BudgetComponent[];
  readonly estimate: MemoryEstimate;
  /** One line per downgrade, in order. */
  readonly steps: readonly string[];
  /** Components that were downgraded. */
  readonly changed: ReadonlySet<string>;
}

function breakdown(e: MemoryEstimate): string {
  return `weights ${formatByteSize(e.weightsBytes)} + KV cache ${formatByteSize(e.kvCacheBytes)} + activations ${formatByteSize(e.activationBytes)} + runtime ${formatByteSize(e.runtimeBytes)}`;
}

export function fitToBudget(
  start: readonly BudgetComponent[],
  budget: number,
  estimate: (cs: readonly BudgetComponent[]) => MemoryEstimate,
  runnable: (p: Precision) => boolean,
  speed: (component: string, p: Precision) => number | undefined = () => undefined,
): BudgetFit {
  let cs = [...start];
  let est = estimate(cs);
  const steps: string[] = [];
  const changed = new Set<string>();
  const first = est;
  while (est.totalBytes > budget) {
    const byWeight = [...cs].sort((a, b) => b.variant.totalBytes - a.variant.totalBytes);
    let stepped = false;
    for (const c of byWeight) {
      const options = Object.values(c.info.variants)
        .filter(
          (v): v is ComponentVariant => !!v && v.totalBytes < c.variant.totalBytes && runnable(v.precision),
        )
        .sort((a, b) => b.totalBytes - a.totalBytes);
      const fast = (v: ComponentVariant) => speed(c.name, v.precision);
      const dominated = (v: ComponentVariant) =>
        fast(v) !== undefined &&
        options.some((o) => o.totalBytes < v.totalBytes && (fast(o) ?? 0) > fast(v)!);
      const smaller = options.find((v) => !dominated(v)) ?? options[0];
      if (!smaller) continue;
      steps.push(
        `memory budget ${formatByteSize(budget)}: "${c.name}" ${c.variant.precision} (${formatByteSize(c.variant.totalBytes)}) -> ${smaller.precision} (${formatByteSize(smaller.totalBytes)})`,
      );
      cs = cs.map((x) => (x.name === c.name ? { ...x, variant: smaller } : x));
      changed.add(c.name);
      stepped = true;
      break;
    }
    if (!stepped) {
      throw new PlatformError(
        'MEMORY_BUDGET_EXCEEDED',
        `estimated memory ${formatByteSize(est.totalBytes)} (${breakdown(est)}) exceeds the memory budget of ${formatByteSize(budget)} ` +
          `even with the smallest variants (${cs.map((c) => `${c.name} ${c.variant.precision}`).join(', ')}); ` +
          `the plan as asked needed ${formatByteSize(first.totalBytes)}`,
        {
          value: est.totalBytes,
          budgetBytes: budget,
          estimatedBytes: est.totalBytes,
          weightsBytes: est.weightsBytes,
          kvCacheBytes: est.kvCacheBytes,
          activationBytes: est.activationBytes,
          valid: `<= ${budget} bytes`,
          hint: 'raise memory_budget, lower batch_size or kv_cache_max_length, or add smaller variants (q4, q8) to the package',
        },
      );
    }
    est = estimate(cs);
  }
  return { components: cs, estimate: est, steps, changed };
}
