/** The MultimodalLoader (host-free): parallel, lazy and progressive loading with real progress. */
export { MultimodalLoader, type MultimodalLoaderOptions, type LoadOptions } from './loader.js';
export { LoadError, componentError } from './errors.js';
export { loaderSpecFromPlan, loaderSpecFromPackage, type PackageSpecOptions } from './spec.js';
export { dummyFeeds, warmupHints, type WarmupHints } from './warmup.js';
export type {
  BriefProgressCallback,
  ComponentStatus,
  ComponentTiming,
  CreatedSession,
  HookContext,
  LoadPhase,
  LoadProgress,
  LoadSummary,
  LoaderComponent,
  LoaderHost,
  LoaderSpec,
  ModelSource,
} from './types.js';
