/** One way to load any model on any host: plan, loader, family. */
export { createPlacement, openPackage, placePackage, type PlanOptions } from './placement.js';
export {
  createLoader,
  definedOnly,
  type ExpectedKind,
  type LoadingOptions,
  type LoadModelOptions,
  loadModel,
} from './load-model.js';
export { hostEntryPoints, type HostEntryPoints } from './entry-points.js';
