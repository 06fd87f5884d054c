/**
 * How far V8's old generation may grow past its live size before a full collection, for a
 * server process. V8's own growth is dynamic and, on a process with a few GiB of heap limit,
 * lets the old generation reach about twice its live size between full collections: in the
 * 10,000-request memory run that was a saw from ~20 to ~36 MiB, 9% of the server's resident
 * memory, so where a reading fell on it decided the resident level. At 30% the heap stays near
 * its live size: about 65 instead of 18 full collections per 10,000 requests, each ~7 ms, with
 * throughput unchanged within the run-to-run spread (bench/results/serve.json).
 */
import v8 from 'node:v8';

export const SERVER_HEAP_GROWING_PERCENT = 30;

const FLAG = '--heap-growing-percent';

/**
 * The V8 flag to set, or `undefined` to leave V8 as it is: an explicit `percent` wins (0 means
 * V8's own dynamic growth); without one, a flag the user already gave node on its command line
 * is kept (node refuses it in NODE_OPTIONS), and otherwise the server's default applies.
 */
export function heapGrowthFlag(
  percent: number | undefined,
  execArgv: readonly string[] = process.execArgv,
): string | undefined {
  if (percent === 0) return undefined;
  if (percent !== undefined) return `${FLAG}=${percent}`;
  const given = execArgv.some(
    (a) => a === FLAG || a.startsWith(`${FLAG}=`) || a.startsWith('--heap_growing_percent'),
  );
  return given ? undefined : `${FLAG}=${SERVER_HEAP_GROWING_PERCENT}`;
}

/** Applies `heapGrowthFlag` to this process (V8 reads it at every collection). */
export function limitHeapGrowth(percent?: number): void {
  const flag = heapGrowthFlag(percent);
  if (flag) v8.setFlagsFromString(flag);
}
