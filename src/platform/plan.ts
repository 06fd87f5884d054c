/**
 * Planning: (model package, host capabilities, platform or 'auto', config) -> a validated plan
 * that says, for every component, which file, which providers with which options, how many
 * threads, when it loads, and how much memory it is expected to take — and where each setting
 * came from. Host-free: hosts create the sessions (`src/node/platform.ts`).
 */
import { ConfigError, MmrtError, PlatformError } from '../errors.js';
import type { ComponentVariant, ModelPackage } from '../package/describe.js';
import { PLATFORM_TABLE, type PlatformName } from '../runtime/providers.js';
import { fitToBudget, type BudgetComponent } from './budget.js';
import { measuredSpeed } from './measured.js';
import { formatByteSize } from './bytes.js';
import { type HostCapabilities, ortPackageFor, platformAvailability } from './capabilities.js';
import { platformsThatCanRun, ratingFor } from './compatibility.js';
import { type FamilySpec, componentSpec, hasTrait } from '../package/family-spec.js';
import { ROLE_LOAD_ORDER } from './component-roles.js';
import type { ConfigKey, PlatformConfig } from './config-keys.js';
import { type NormalizedConfig, normalizeConfig } from './config.js';
import { checkSections, keyApplies, noEffectWarnings } from './effects.js';
import { estimateMemory, type MemoryEstimate } from './memory.js';
import { type ModelLayer, modelDeviceLayer, modelFreeDimensions, modelLayer } from './model-layer.js';
import type { ComponentPlan, ModelPlan, PlanCandidate, PlatformPlan, SettingRecord } from './plan-types.js';
import { ortEnvFor } from './ort-env.js';
import { PLATFORM_PRECISION_ORDER } from './precision-map.js';
import { BASE_DEFAULTS, PLATFORM_DEFAULTS, presetsFor } from './presets.js';
import { rankPlatforms } from './rank.js';
import { type ConfigLayer, componentLoadStrategy, componentPrecision, resolveLayers } from './resolve.js';
import { componentSessionPlan } from './session-options.js';
import { canRun, chooseVariant } from './variants.js';

export interface PlanRequest {
  readonly pkg: ModelPackage;
  readonly capabilities: HostCapabilities;
  /** Default 'auto'. */
  readonly platform?: PlatformName | 'auto';
  /** As the user wrote it: camelCase or the brief's snake_case. */
  readonly config?: unknown;
  /** 'auto' only: consider exactly these platforms in this order, available or not. */
  readonly candidates?: readonly PlatformName[];
  /** The families known (the registry): warnings name those a key applies to. Default: the package's. */
  readonly families?: readonly FamilySpec[];
}

/** Where `shader_precompile` turns on a warm-up run at load (onnxruntime-web's platforms). */
const WARMUP_PLATFORMS: readonly PlatformName[] = ['webgpu', 'webnn', 'wasm'];

/** Frames per clip for `temporal_resolution` words. */
export const TEMPORAL_FRAMES = { low: 4, medium: 8, high: 16 } as const;

function layersFor(
  pkg: ModelPackage,
  platform: PlatformName,
  model: ModelLayer,
  user: NormalizedConfig,
): ConfigLayer[] {
  const family = pkg.familySpec;
  return [
    { source: 'default', config: BASE_DEFAULTS },
    ...(family.defaults ? [{ source: `default:${family.name}`, config: family.defaults }] : []),
    { source: `default:${platform}`, config: PLATFORM_DEFAULTS[platform] },
    ...presetsFor(platform, family.architecture).map((p) => ({ source: `preset:${p.id}`, config: p.config })),
    model.layer,
    // device_config.<device> speaks for this platform only, and wins over the model's defaults.
    modelDeviceLayer(pkg, platform).layer,
    { source: 'user', config: user.config, spelling: user.spelling },
  ];
}

/**
 * A KV-cache length over the model's position table can never be used: the first request
 * would be refused. The user's own value is refused here, at planning, naming the limit; a
 * preset's or default's (written for bigger models) is clamped to the limit, and the setting
 * record says so (`mmrt explain` shows it).
 */
function checkKvCacheLength(
  value: number,
  limit: number,
  record: SettingRecord,
  location: string,
): { warning: string; record: SettingRecord } | undefined {
  if (value <= limit) return undefined;
  if (record.source === 'user') {
    throw new ConfigError(
      'CONFIG_INVALID_VALUE',
      `config key "${record.key}" is ${value}, over this model's limit of ${limit} positions (max_position_embeddings in ${location}/config.json); use at most ${limit}`,
      { value, key: record.key, valid: `an integer >= 1 and <= ${limit}` },
    );
  }
  return {
    warning: `kv_cache_max_length ${value} from ${record.source} is over this model's ${limit} positions; clamped to ${limit}`,
    record: {
      value: limit,
      source: 'model',
      key: `text_config.max_position_embeddings (clamped from ${value}, ${record.source})`,
      applies: true,
    },
  };
}

function unsupported(pkg: ModelPackage, platform: PlatformName): PlatformError {
  const can = platformsThatCanRun(pkg.familySpec.architecture);
  return new PlatformError(
    'PLATFORM_UNSUPPORTED',
    `${pkg.family} models cannot run on ${platform} (the compatibility table rates ${pkg.family} on ${platform} "None"); platforms that can: ${can.join(', ')}`,
    { value: platform, valid: can, family: pkg.family },
  );
}

function estimateFor(
  pkg: ModelPackage,
  cs: readonly BudgetComponent[],
  s: PlatformConfig,
  gen: PlatformPlan['generation'],
  frames: number | undefined,
  /** onnxruntime-web runs one session at a time: encoders never hold activations together. */
  oneRunAtATime: boolean,
): MemoryEstimate {
  return estimateMemory({
    dims: pkg.dims,
    ...(pkg.preprocessorConfig && { preprocessorConfig: pkg.preprocessorConfig }),
    components: cs.map((c) => ({
      name: c.name,
      spec: componentSpec(pkg.familySpec, c.name),
      variant: c.variant,
    })),
    batchSize: s.batchSize ?? 1,
    ...(gen?.kvCache && { kvCache: { maxLength: gen.maxLength } }),
    decoderTokens: gen?.maxLength ?? 0,
    ...(frames !== undefined && { frames }),
    parallelEncoders:
      hasTrait(pkg.familySpec, 'dual-encoder') && !!s.parallelEncoderExecution && !oneRunAtATime,
  });
}

/** The plan for one named platform. Throws typed errors; never creates sessions. */
export function planForPlatform(
  pkg: ModelPackage,
  caps: HostCapabilities,
  platform: PlatformName,
  user: NormalizedConfig,
  model: ModelLayer = modelLayer(pkg),
  families: readonly FamilySpec[] = [pkg.familySpec],
): PlatformPlan {
  const family = pkg.familySpec;
  const rating = ratingFor(family.architecture, platform);
  if (rating === 'none') throw unsupported(pkg, platform);
  const warnings: string[] = [...model.warnings, ...modelDeviceLayer(pkg, platform).warnings];
  const freeDims = modelFreeDimensions(pkg, platform, warnings);
  warnings.push(...checkSections(user, family, pkg.layout));
  warnings.push(...noEffectWarnings(user, platform, family, families));
  const avail = platformAvailability(caps, platform);
  if (!avail.available) {
    warnings.push(
      `${platform} is not usable on this machine (${avail.detail}); sessions will fail to create. To get it: ${PLATFORM_TABLE[platform].howToGet}`,
    );
  }

  const layers = layersFor(pkg, platform, model, user);
  const resolved = resolveLayers(layers);
  const s: PlatformConfig = Object.fromEntries(
    Object.entries(resolved.settings).map(([k, v]) => [k, v!.value]),
  );
  const settings: Record<string, SettingRecord> = {};
  for (const [k, v] of Object.entries(resolved.settings)) {
    settings[k] = { ...v!, applies: keyApplies(k as ConfigKey, platform, family) };
  }
  const ortPackage = ortPackageFor(caps, platform);
  if (freeDims && ortPackage === 'onnxruntime-node') {
    warnings.push(
      `transformers.js_config free_dimension_overrides ${JSON.stringify(freeDims)} are passed on, but onnxruntime-node does not apply them (onnxruntime-web does)`,
    );
  }

  const limit = pkg.dims.text.maxPositions;
  if (hasTrait(family, 'generates') && limit !== undefined && s.kvCacheMaxLength !== undefined) {
    const clamped = checkKvCacheLength(s.kvCacheMaxLength, limit, settings.kvCacheMaxLength!, pkg.location);
    if (clamped) {
      warnings.push(clamped.warning);
      s.kvCacheMaxLength = limit;
      settings.kvCacheMaxLength = clamped.record;
    }
  }
  const gen = hasTrait(family, 'generates')
    ? {
        kvCache: s.kvCacheEnabled !== false,
        maxLength: s.kvCacheMaxLength ?? limit ?? 2048,
      }
    : undefined;
  if (gen && s.kvCacheEnabled === undefined) {
    settings.kvCacheEnabled = { value: true, source: 'default', key: 'kvCacheEnabled', applies: true };
  }
  if (gen && s.kvCacheMaxLength === undefined) {
    settings.kvCacheMaxLength = {
      value: gen.maxLength,
      source: 'model',
      key: 'text_config.max_position_embeddings',
      applies: true,
    };
  }
  const frames = hasTrait(family, 'video')
    ? typeof s.temporalResolution === 'number'
      ? s.temporalResolution
      : s.temporalResolution
        ? TEMPORAL_FRAMES[s.temporalResolution]
        : (pkg.dims.vision.frames ?? 8)
    : undefined;

  // Precision per component.
  const chosen = pkg.layout.map((name) => {
    const spec = componentSpec(family, name);
    const asked = componentPrecision(resolved, name, spec) ?? {
      value: PLATFORM_PRECISION_ORDER[platform][0]!,
      source: 'default',
      key: 'precision',
    };
    const choice = chooseVariant(pkg.components[name]!, asked, platform, caps, spec.role);
    warnings.push(...choice.warnings);
    return {
      name,
      spec,
      asked,
      how: choice.how as ComponentPlan['precisionChoice']['how'],
      variant: choice.variant,
    };
  });

  // Memory, and the budget.
  const budget = s.memoryBudget as number | undefined;
  const start: BudgetComponent[] = chosen.map((c) => ({
    name: c.name,
    info: pkg.components[c.name]!,
    variant: c.variant,
  }));
  const estimate = (cs: readonly BudgetComponent[]) =>
    estimateFor(pkg, cs, s, gen, frames, ortPackage === 'onnxruntime-web');
  let memory = estimate(start);
  const finalVariant = new Map<string, ComponentVariant>(start.map((c) => [c.name, c.variant]));
  let downgraded: ReadonlySet<string> = new Set();
  if (budget !== undefined) {
    const fit = fitToBudget(
      start,
      budget,
      estimate,
      (p) => canRun(p, platform, caps),
      (c, p) => measuredSpeed(platform, componentSpec(family, c).role)?.vsFp32[p],
    );
    memory = fit.estimate;
    for (const c of fit.components) finalVariant.set(c.name, c.variant);
    downgraded = fit.changed;
    warnings.push(...fit.steps);
  } else if (caps.memory.totalBytes > 0 && memory.totalBytes > caps.memory.totalBytes) {
    warnings.push(
      `estimated memory ${formatByteSize(memory.totalBytes)} exceeds this machine's ${formatByteSize(caps.memory.totalBytes)}; set memory_budget to pick smaller variants`,
    );
  }

  // Sessions and loading.
  const components: ComponentPlan[] = chosen.map((c) => {
    const variant = finalVariant.get(c.name)!;
    const sess = componentSessionPlan({
      platform,
      caps,
      settings: s,
      component: c.name,
      spec: c.spec,
      precision: variant.precision,
      ortPackage,
      textDims: pkg.dims.text,
    });
    warnings.push(...sess.notes);
    const session = freeDims
      ? { ...sess.session, freeDimensionOverrides: { ...freeDims, ...sess.session.freeDimensionOverrides } }
      : sess.session;
    const load = componentLoadStrategy(resolved, c.name, c.spec);
    return {
      name: c.name,
      role: c.spec.role,
      file: variant.file,
      externalData: variant.externalData.map((x) => x.file),
      precision: variant.precision,
      precisionChoice: {
        asked: c.asked.value,
        source: c.asked.source,
        key: c.asked.key,
        how: downgraded.has(c.name) ? 'budget' : c.how,
      },
      bytes: variant.totalBytes,
      providers: sess.providers,
      session,
      loadStrategy: load?.value ?? 'eager',
      loadSource: load ? `${load.source} (${load.key})` : 'default',
      warmup: WARMUP_PLATFORMS.includes(platform) && !!s.shaderPrecompile,
      memory: memory.components[c.name]!,
    };
  });
  const optional = planOptional(pkg, components, (name, spec, precision) =>
    componentSessionPlan({
      platform,
      caps,
      settings: s,
      component: name,
      spec,
      precision,
      ortPackage,
      textDims: pkg.dims.text,
    }),
  );
  const eager = components.filter((c) => c.loadStrategy === 'eager');
  const order = s.progressiveLoading
    ? [...eager].sort((a, b) => ROLE_LOAD_ORDER.indexOf(a.role) - ROLE_LOAD_ORDER.indexOf(b.role))
    : eager;
  const parallelEncoders = hasTrait(family, 'dual-encoder') && !!s.parallelEncoderExecution;
  const oneRunAtATime = ortPackage === 'onnxruntime-web';
  if (parallelEncoders && oneRunAtATime && settings.parallelEncoderExecution?.source === 'user') {
    warnings.push(
      'parallel_encoder_execution: onnxruntime-web runs one session at a time per WebAssembly instance ("Session already started"), so the encoders run one after the other',
    );
  }
  const threads = components[0]?.session.intraOpNumThreads;
  if (threads !== undefined) {
    settings.intraOpNumThreads = {
      value: threads,
      source: s.numThreads !== undefined ? settings.numThreads!.source : 'detected',
      key: s.numThreads !== undefined ? settings.numThreads!.key : 'capabilities.cpu.logicalCores',
      applies: true,
    };
  }

  return {
    platform,
    rating,
    ortPackage,
    model: { location: pkg.location, modelType: pkg.modelType, family: pkg.family, layout: pkg.layout },
    components,
    optional,
    settings,
    family: {
      batchSize: s.batchSize ?? 1,
      parallelEncoderExecution: parallelEncoders && !oneRunAtATime,
    },
    ...(gen && { generation: gen }),
    ...(frames !== undefined && { video: { frames } }),
    loading: {
      parallel: !!s.parallelLoading,
      progressive: !!s.progressiveLoading,
      order: order.map((c) => c.name),
      lazy: components.filter((c) => c.loadStrategy === 'lazy').map((c) => c.name),
      warmup: components.some((c) => c.warmup),
    },
    ortEnv: ortEnvFor(platform, s, caps, warnings),
    graphCache: !!s.graphCache && ortPackage === 'onnxruntime-node',
    memory: { ...memory, ...(budget !== undefined && { budgetBytes: budget }) },
    presets: presetsFor(platform, family.architecture).map((p) => p.id),
    warnings: [...new Set(warnings)],
  };
}

/**
 * The family's optional components that the package has beside its layout (CLIP's combined
 * graph next to the split pair): lazy, at the precision of the first planned component when
 * the package has it (else fp32, else any), with that platform's session options, and outside
 * the memory total (they are opened briefly, not kept).
 */
function planOptional(
  pkg: ModelPackage,
  planned: readonly ComponentPlan[],
  session: (
    name: string,
    spec: ReturnType<typeof componentSpec>,
    precision: ComponentPlan['precision'],
  ) => ReturnType<typeof componentSessionPlan>,
): ComponentPlan[] {
  const like = planned[0];
  if (!like) return [];
  return (pkg.familySpec.optionalComponents ?? [])
    .filter((name) => !pkg.layout.includes(name) && pkg.components[name])
    .map((name) => {
      const variants = pkg.components[name]!.variants;
      const variant = variants[like.precision] ?? variants.fp32 ?? Object.values(variants)[0]!;
      const spec = componentSpec(pkg.familySpec, name);
      const sess = session(name, spec, variant.precision);
      return {
        name,
        role: spec.role,
        file: variant.file,
        externalData: variant.externalData.map((x) => x.file),
        precision: variant.precision,
        precisionChoice: {
          asked: like.precisionChoice.asked,
          source: 'default',
          key: `follows ${like.name}`,
          how: variant.precision === like.precision ? 'asked' : 'fallback',
        },
        bytes: variant.totalBytes,
        providers: sess.providers,
        session: sess.session,
        loadStrategy: 'lazy',
        loadSource: 'optional component',
        warmup: false,
        memory: { weightsBytes: variant.totalBytes, activationBytes: 0 },
      };
    });
}

/** Errors that make one candidate platform unusable but say nothing about the others. */
function platformSpecific(e: unknown): e is MmrtError {
  return e instanceof MmrtError && !(e instanceof ConfigError);
}

/**
 * Plan a model. A named platform gives its plan (or a typed error); 'auto' plans every
 * platform that is available and rated for the model, best first, and returns the first that
 * plans, with the others in `candidates` for fallback.
 */
export function planModel(req: PlanRequest): ModelPlan {
  const { pkg, capabilities: caps } = req;
  const requested = req.platform ?? 'auto';
  const user = normalizeConfig(req.config);
  const model = modelLayer(pkg);
  if (requested !== 'auto') {
    const plan = planForPlatform(pkg, caps, requested, user, model, req.families);
    const a = platformAvailability(caps, requested);
    return {
      ...plan,
      requested,
      candidates: [
        {
          platform: requested,
          rating: plan.rating,
          available: a.available,
          detail: a.detail,
          score: 0,
          plan,
        },
      ],
    };
  }
  const ranked = rankPlatforms(pkg.familySpec.architecture, caps, {
    ...(model.device && { device: model.device }),
    ...(req.candidates && { order: req.candidates }),
  });
  const considered = req.candidates ? ranked : ranked.filter((r) => r.available);
  const candidates: PlanCandidate[] = [];
  let firstError: MmrtError | undefined;
  for (const r of considered) {
    try {
      candidates.push({ ...r, plan: planForPlatform(pkg, caps, r.platform, user, model, req.families) });
    } catch (e) {
      if (!platformSpecific(e)) throw e;
      firstError ??= e;
      candidates.push({ ...r, skipped: `${e.message} [${e.code}]` });
    }
  }
  const best = candidates.find((c) => c.plan);
  if (!best) {
    if (firstError) throw firstError;
    const why = ranked.map((r) => `${r.platform} (${r.rating}): ${r.detail}`).join('; ');
    throw new PlatformError(
      'PLATFORM_UNSUPPORTED',
      `no platform available on this machine can run ${pkg.family} models: ${why || 'none is rated for it'}`,
      { value: 'auto', valid: platformsThatCanRun(pkg.familySpec.architecture) },
    );
  }
  return { ...best.plan!, requested, candidates };
}
