/**
 * What a model needs from whoever plans and loads it: the package, and each component's
 * session on demand (created once, however many callers ask at the same time). The
 * `MultimodalLoader` is the one implementation.
 */
import type { ModelPackage } from '../package/describe.js';
import type { Session } from './session.js';

export interface ComponentSessions {
  readonly package: ModelPackage;
  /** The session of one component, created on first call and shared afterwards. */
  session(component: string, signal?: AbortSignal): Promise<Session>;
  /** Release every session created so far. */
  dispose(): Promise<void>;
}
