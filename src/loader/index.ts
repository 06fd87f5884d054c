/** The MultimodalLoader (host-free): parallel, lazy and progressive loading with real progress. */
export { MultimodalLoader, type MultimodalLoaderOptions, type LoadOptions } from './loader.js';
export { LoadError, componentError } from './errors.js';
export { Placement, loaderSpecFromPlan, type PlatformFallback } from './placement.js';
export { loaderSpecFromPackage, type PackageSpecOptions } from './spec.js';
export { dummyFeeds, warmupHints, type WarmupHints } from './warmup.js';
export type {
  ComponentProgressCallback,
  ComponentStatus,
  ComponentTiming,
  LoadFailure,
  LoadPhase,
  LoadProgress,
  LoadSummary,
  LoaderComponent,
  LoaderHost,
  LoaderSpec,
  OrtModelInput,
} from './types.js';
