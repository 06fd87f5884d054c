/**
 * The benchmark suite's vocabulary. A workload is one comparison (one chart): contenders (mmrt,
 * the peer at its defaults and at mmrt's thread count, an anchor such as Pillow) measured on the
 * same inputs, each in its own fresh process, a warm-up and then timed iterations; the suite runs
 * rounds of them with the contenders' order alternating, and reports medians, min, max and the
 * per-round ratio of every comparison.
 */

/** One measured quantity of a workload. */
export interface Metric {
  readonly key: string;
  readonly label: string;
  /** `ms` per item, `tokens/s`, `GFLOP/s`, ... */
  readonly unit: string;
  readonly better: 'lower' | 'higher';
}

/** Where the suite keeps inputs every contender reads (the same files for all). */
export interface Fixtures {
  readonly clipModel: string;
  readonly vlmModel: string;
  /** Photo-sized PNGs, 640x480. */
  readonly png640: readonly string[];
  /** Photo-sized JPEGs, 640x480. */
  readonly jpeg640: readonly string[];
  /** 12-megapixel JPEGs, 4000x3000. */
  readonly jpeg12mp: readonly string[];
}

/** What a child process gets. */
export interface ChildContext {
  readonly fixtures: Fixtures;
  /** mmrt's thread count (every logical core), which the peer's "equal threads" run also gets. */
  readonly threads: number;
  readonly warmup: number;
  readonly iterations: number;
  /** A fresh, empty folder for this child (caches that must start empty). */
  readonly scratch: string;
  /** mmrt's cache folder shared by the suite's children (graph cache, logit scales). */
  readonly cacheDir: string;
  readonly log: (message: string) => void;
}

/** What a contender's measurement returns: per metric, one sample per timed iteration. */
export interface Measured {
  readonly samples: Readonly<Record<string, readonly number[]>>;
  /** Anything else worth keeping in the record (a breakdown, the settings it ran with). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export type Side = 'mmrt' | 'peer' | 'anchor';

export interface NodeContender {
  readonly label: string;
  readonly side: Side;
  readonly measure: (ctx: ChildContext) => Promise<Measured>;
}

/** A contender outside Node: a Python script that prints one JSON `Measured` line. */
export interface PythonContender {
  readonly label: string;
  readonly side: Side;
  readonly python: { readonly script: string; readonly args: (ctx: ChildContext) => string[] };
}

export type Contender = NodeContender | PythonContender;

/** `better`-adjusted ratio peer/mmrt: > 1 means mmrt is ahead. */
export interface Comparison {
  readonly mmrt: string;
  readonly other: string;
  readonly metric: string;
  /** Shown in the table: "vs transformers.js at equal threads". */
  readonly label: string;
}

export interface Workload {
  readonly name: string;
  readonly title: string;
  /** One or two sentences: what one sample is and what the contenders do. */
  readonly description: string;
  readonly metrics: readonly Metric[];
  readonly contenders: Readonly<Record<string, Contender>>;
  readonly comparisons: readonly Comparison[];
  /** Default warm-up iterations and timed iterations inside each child. */
  readonly warmup: number;
  readonly iterations: number;
  /** Rounds by default (each contender once per round); the suite's --rounds overrides. */
  readonly rounds?: number;
  /** The bench-size models it reads (default: the CLIP one). */
  readonly needs?: readonly ('clip' | 'vlm')[];
  /** Run once in its own process before the rounds, untimed (e.g. fill a cache a cold start reads). */
  readonly prime?: (ctx: ChildContext) => Promise<void>;
}

/** What the child process hands back, per run. */
export interface ChildReport extends Measured {
  readonly peakRssMB: number;
  readonly wallMs: number;
  /** Process CPU time / wall time over the whole child: how many cores it kept busy. */
  readonly cores: number;
}

export function isPython(c: Contender): c is PythonContender {
  return 'python' in c;
}
