/**
 * What a model family needs from whoever plans and loads a model: the package, and each
 * component's session on demand (created once, however many callers ask at the same time).
 * The platform (planning) and the loader (parallel/lazy loading) both provide this.
 */
import type { ModelPackage } from '../package/describe.js';
import type { Session } from './session.js';

export interface SessionSource {
  readonly package: ModelPackage;
  /** The session of one component, created on first call and shared afterwards. */
  session(component: string, signal?: AbortSignal): Promise<Session>;
  /** Release every session created so far. */
  dispose(): Promise<void>;
}

/** Memoizes one creation per component; a failed creation is forgotten so it can be retried. */
export function memoizedSource(
  pkg: ModelPackage,
  create: (component: string, signal?: AbortSignal) => Promise<Session>,
): SessionSource {
  const made = new Map<string, Promise<Session>>();
  return {
    package: pkg,
    session(component, signal) {
      let p = made.get(component);
      if (!p) {
        p = create(component, signal);
        made.set(component, p);
        p.catch(() => made.delete(component));
      }
      return p;
    },
    async dispose() {
      const all = [...made.values()];
      made.clear();
      await Promise.all(
        all.map((p) =>
          p.then(
            (s) => s.release(),
            () => undefined,
          ),
        ),
      );
    },
  };
}
