/**
 * Progress bookkeeping: per-component fractions across phases, the byte-weighted overall
 * figure of the eager load, and delivery to callbacks and async iterators. Every figure only
 * moves forward; the overall reaches exactly 100 when every eager component is ready.
 */
import type { LoadPhase, LoadProgress } from './types.js';

/** Relative share of each phase in a component's progress (normalized over the phases it has). */
const PHASE_WEIGHT: Readonly<Record<Exclude<LoadPhase, 'ready'>, number>> = {
  download: 0.45,
  read: 0.1,
  create: 0.4,
  warmup: 0.05,
};
const PHASE_ORDER: readonly LoadPhase[] = ['download', 'read', 'create', 'warmup', 'ready'];

export interface PhaseSet {
  readonly download: boolean;
  readonly read: boolean;
  readonly warmup: boolean;
}

class ComponentProgress {
  fraction = 0;
  private readonly start = new Map<LoadPhase, number>();
  private readonly weight = new Map<LoadPhase, number>();

  constructor(
    readonly name: string,
    public bytes: number,
    readonly lazy: boolean,
    phases: PhaseSet,
  ) {
    const present = PHASE_ORDER.filter((p) => p === 'create' || p === 'ready' || phases[p as keyof PhaseSet]);
    const sum = present.reduce((s, p) => s + (p === 'ready' ? 0 : PHASE_WEIGHT[p]), 0);
    let at = 0;
    for (const p of PHASE_ORDER) {
      this.start.set(p, at);
      const w = p !== 'ready' && present.includes(p) ? PHASE_WEIGHT[p] / sum : 0;
      this.weight.set(p, w);
      at += w;
    }
  }

  advance(phase: LoadPhase, loaded: number, total: number): void {
    if (phase === 'ready') {
      this.fraction = 1;
      return;
    }
    const part = total > 0 ? Math.min(1, Math.max(0, loaded / total)) : 0;
    const f = Math.min(1, this.start.get(phase)! + this.weight.get(phase)! * part);
    // Never back, and never 1 before `ready` (1 means usable).
    this.fraction = Math.max(this.fraction, Math.min(f, 0.9999));
  }
}

const pct = (f: number) => (f >= 1 ? 100 : Math.floor(f * 10000) / 100);

type Listener = (e: LoadProgress) => void;

export class ProgressHub {
  private readonly components = new Map<string, ComponentProgress>();
  private readonly history: LoadProgress[] = [];
  private readonly listeners = new Set<Listener>();
  private readonly wake = new Set<() => void>();
  private eagerDone = false;
  private failure: unknown;
  private overall = 0;

  constructor(
    private readonly clock: () => number,
    /** Errors thrown by listeners: reported, never allowed to break loading. */
    private readonly onListenerError: (e: unknown) => void = () => undefined,
  ) {}

  register(name: string, bytes: number, lazy: boolean, phases: PhaseSet): void {
    // A component with unknown size still counts (1 byte) so the overall can reach 100.
    this.components.set(name, new ComponentProgress(name, Math.max(1, bytes), lazy, phases));
  }

  /** A component's weight changed (a fallback picked another file); its progress stays. */
  resize(name: string, bytes: number): void {
    const c = this.components.get(name);
    if (c) c.bytes = Math.max(1, bytes);
  }

  /** Forget the progress of a component that will load again (a lazy one after a failure). */
  reset(name: string): void {
    const c = this.components.get(name);
    if (c) c.fraction = 0;
  }

  percentOf(name: string): number {
    return pct(this.components.get(name)?.fraction ?? 0);
  }

  private computeOverall(): number {
    let done = 0;
    let all = 0;
    for (const c of this.components.values()) {
      if (c.lazy) continue;
      done += c.bytes * c.fraction;
      all += c.bytes;
    }
    if (all === 0) return 100;
    // Exactly 100 only when every eager component is ready, whatever the float sums say.
    const everyReady = [...this.components.values()].every((c) => c.lazy || c.fraction === 1);
    return everyReady ? 100 : Math.min(pct(done / all), 99.99);
  }

  emit(
    component: string,
    phase: LoadPhase,
    loaded: number,
    total: number,
    message: string,
    file?: string,
  ): LoadProgress {
    const c = this.components.get(component);
    if (!c) throw new Error(`progress for unregistered component ${component}`);
    c.advance(phase, loaded, total);
    if (!c.lazy) this.overall = Math.max(this.overall, this.computeOverall());
    const elapsedMs = this.clock();
    const event: LoadProgress = {
      component,
      ...(file !== undefined && { file }),
      phase,
      loaded,
      total,
      percent: pct(c.fraction),
      message,
      overallPercent: this.overall,
      timestamp: Date.now(),
      elapsedMs,
      lazy: c.lazy,
    };
    this.history.push(event);
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (e) {
        this.onListenerError(e);
      }
    }
    this.notify();
    return event;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get events(): readonly LoadProgress[] {
    return this.history;
  }

  /** The eager load finished: iterators drain and end. */
  finish(): void {
    this.eagerDone = true;
    this.notify();
  }

  /** The eager load failed: iterators drain, then throw `error`. */
  fail(error: unknown): void {
    // A load that already finished stays finished (a later dispose is not a failed load).
    if (this.eagerDone) return;
    this.failure = error ?? new Error('load failed');
    this.eagerDone = true;
    this.notify();
  }

  private notify(): void {
    const w = [...this.wake];
    this.wake.clear();
    for (const f of w) f();
  }

  /** Every event from the first (replayed), then live ones, until the eager load settles. */
  async *iterate(): AsyncGenerator<LoadProgress, void, undefined> {
    let i = 0;
    for (;;) {
      while (i < this.history.length) yield this.history[i++]!;
      if (this.eagerDone) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => this.wake.add(resolve));
    }
  }
}
