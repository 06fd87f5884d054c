/**
 * The server process's V8 heap growth: `mmrt serve` keeps the old generation near its live
 * size unless told otherwise, and never overrides a flag the user gave node.
 */
import { describe, expect, it } from 'vitest';
import { SERVER_HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/serve/node/heap.js';

describe('heap growth of the server process', () => {
  it("applies the server's default when node was given nothing", () => {
    expect(heapGrowthFlag(undefined, [])).toBe(`--heap-growing-percent=${SERVER_HEAP_GROWING_PERCENT}`);
  });

  it('applies an explicit percent, even over a flag given to node', () => {
    expect(heapGrowthFlag(50, ['--heap-growing-percent=80'])).toBe('--heap-growing-percent=50');
  });

  it("leaves V8's own dynamic growth for 0", () => {
    expect(heapGrowthFlag(0, [])).toBeUndefined();
  });

  it("keeps a flag given on node's command line, in either spelling", () => {
    expect(heapGrowthFlag(undefined, ['--heap-growing-percent=80'])).toBeUndefined();
    expect(
      heapGrowthFlag(undefined, ['--max-old-space-size=4096', '--heap_growing_percent=80']),
    ).toBeUndefined();
  });
});
