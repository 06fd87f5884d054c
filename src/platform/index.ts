/** The unified platform (host-free): detection input, the brief's table and presets, config keys, planning. */
export * from './capabilities.js';
export * from './detect-web.js';
export * from './compatibility.js';
export * from './precision-map.js';
export * from './component-roles.js';
export * from './config-keys.js';
export { normalizeConfig, checkValue, VALID_TOP_LEVEL_KEYS, type NormalizedConfig } from './config.js';
export * from './presets.js';
export { parseByteSize, formatByteSize } from './bytes.js';
export { estimateMemory, type MemoryEstimate, type ComponentMemory } from './memory.js';
export { BINDING_RULES, toBinding } from './bindings.js';
export { LEVEL_EFFECTS, HTP_PERFORMANCE_MODE, HTP_FINALIZATION_MODE } from './session-options.js';
export { rankPlatforms, PLATFORM_PREFERENCE, type RankedPlatform } from './rank.js';
export * from './plan-types.js';
export { planModel, planForPlatform, TEMPORAL_FRAMES, type PlanRequest } from './plan.js';
export { explainPlan, explainPlanJson } from './explain.js';
