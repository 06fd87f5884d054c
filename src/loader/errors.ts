/** The loader's typed failure: which component, in which phase, and why. */
import { MmrtError, type ErrorCode, type ErrorDetails } from '../errors.js';
import type { LoadPhase } from './types.js';

export class LoadError extends MmrtError {
  /** The component whose load failed (or the one being loaded when the load was aborted). */
  readonly component: string;
  readonly phase: LoadPhase;

  constructor(
    code: ErrorCode,
    message: string,
    component: string,
    phase: LoadPhase,
    details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, { ...details, component, phase }, options);
    this.component = component;
    this.phase = phase;
  }
}

/**
 * Wrap whatever a hook threw into a LoadError naming the component. The cause's code is kept
 * (MODEL_CORRUPT stays MODEL_CORRUPT), so callers can branch on it as before.
 */
export function componentError(e: unknown, component: string, phase: LoadPhase): LoadError {
  if (e instanceof LoadError && e.component === component) return e;
  const code: ErrorCode = e instanceof MmrtError ? e.code : 'COMPONENT_LOAD_FAILED';
  const text = e instanceof Error ? e.message : String(e);
  const details = e instanceof MmrtError ? e.details : {};
  return new LoadError(
    code,
    `loading component "${component}" failed (${phase}): ${text}`,
    component,
    phase,
    details,
    {
      cause: e,
    },
  );
}
