/**
 * A model family as the core sees it: its `FamilySpec` (model types, layouts, component roles,
 * table row, defaults — all that describing and planning read) plus `create`, which builds the
 * family's model from one of the reusable model kinds in `src/kinds/` on the sessions of a
 * loader. A family is one folder under `src/families/` and one line in `registry.ts`.
 */
import type { Host } from '../host/host.js';
import type { MultimodalLoader } from '../loader/loader.js';
import type { ImageOptions } from '../media/input.js';
import type { FamilySpec } from '../package/family-spec.js';

/** What every loaded model has, whatever its family. */
export interface LoadedModel {
  /** The loader that made its sessions: the plan (`loader.placement`), progress, per-component status. */
  readonly loader: MultimodalLoader;
  /** Release every session (a model owns its loader). */
  dispose(): Promise<void>;
}

export interface FamilyContext {
  readonly host: Host;
  /** Sessions on demand; its package is the model's. */
  readonly loader: MultimodalLoader;
  /** How images are read (resize mode, decoder limits). */
  readonly images?: ImageOptions;
  readonly onWarning?: (message: string) => void;
}

export interface FamilyDescriptor<M extends LoadedModel = LoadedModel, O = unknown> extends FamilySpec {
  /** The reusable model kind that runs it (`dual-encoder`, `vision-language`). */
  readonly kind: string;
  /**
   * Build the model over the loader's sessions (created on first use, or already loading).
   * Absent for a family mmrt can describe and plan but not run yet.
   */
  create?(context: FamilyContext, options: O): Promise<M>;
}

/** Any family, whatever its model and options. */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds families of every option type.
export type AnyFamily = FamilyDescriptor<LoadedModel, any>;
