/**
 * Turns resolved settings into ONNX Runtime session options and execution-provider options
 * for one component on one platform. Provider options use ORT's documented names; `bindings.ts`
 * then keeps what the host's binding reads and reports the rest.
 */
import type { Precision } from '../package/precision.js';
import type { ExecutionProviderName, OrtPackage, PlatformName } from '../runtime/providers.js';
import type { GraphOptimizationLevel, ProviderSpec, SessionOptions } from '../runtime/session.js';
import { toBinding } from './bindings.js';
import type { HostCapabilities } from './capabilities.js';
import type { ComponentSpec } from '../package/family-spec.js';
import type { FeatureLevel, OptimizationLevel, PlatformConfig, PowerMode } from './config-keys.js';

export const LEVEL_EFFECTS: Readonly<
  Record<
    OptimizationLevel,
    { graph: GraphOptimizationLevel; cudnn: 'DEFAULT' | 'HEURISTIC' | 'EXHAUSTIVE'; tunableOps: boolean }
  >
> = {
  none: { graph: 'disabled', cudnn: 'DEFAULT', tunableOps: false },
  basic: { graph: 'basic', cudnn: 'DEFAULT', tunableOps: false },
  extended: { graph: 'extended', cudnn: 'HEURISTIC', tunableOps: false },
  high: { graph: 'all', cudnn: 'HEURISTIC', tunableOps: false },
  // EXHAUSTIVE benchmarks every cuDNN convolution algorithm on first run: slower start, fastest kernels.
  highest: { graph: 'all', cudnn: 'EXHAUSTIVE', tunableOps: true },
};

export const HTP_PERFORMANCE_MODE: Readonly<Record<PowerMode, string>> = {
  efficient: 'power_saver',
  balanced: 'balanced',
  performance: 'high_performance',
};

/** QNN htp_graph_finalization_optimization_mode: higher = longer preparation, faster graph. */
export const HTP_FINALIZATION_MODE: Readonly<Record<FeatureLevel, string>> = {
  low: '1',
  medium: '2',
  high: '3',
};

export interface ProviderContext {
  readonly platform: PlatformName;
  readonly caps: HostCapabilities;
  readonly settings: PlatformConfig;
  readonly component: string;
  readonly spec: ComponentSpec;
  readonly precision: Precision;
  readonly ortPackage: OrtPackage;
  /** The text tower's geometry (`config.json`): decoder layers, maximum positions. */
  readonly textDims?: { readonly layers?: number; readonly maxPositions?: number };
}

/** WebNN devices in the order mmrt prefers them when nobody asked (a GPU or NPU beats the CPU). */
const WEBNN_PREFERENCE = ['gpu', 'npu', 'cpu'] as const;

/** The WebNN device: asked for, else the first the browser could create, else cpu. */
export function webnnDevice(ctx: Pick<ProviderContext, 'settings' | 'caps'>): 'cpu' | 'gpu' | 'npu' {
  if (ctx.settings.webnnDeviceType) return ctx.settings.webnnDeviceType;
  const have = ctx.caps.web?.webnnDevices ?? [];
  return WEBNN_PREFERENCE.find((d) => have.includes(d)) ?? 'cpu';
}

export interface ComponentSessionPlan {
  /** Providers with ORT's documented option names, best first. */
  readonly providers: readonly ProviderSpec[];
  /** What goes to `createSession`: providers translated for the host's binding. */
  readonly session: SessionOptions;
  /** Things the plan wanted but cannot do here, said as warnings. */
  readonly notes: readonly string[];
}

type ProviderBuilder = (ctx: ProviderContext, notes: string[]) => ProviderSpec[];

function qnnLibrary(caps: HostCapabilities, backend: 'Htp' | 'Cpu'): string {
  return caps.os.startsWith('win') ? `Qnn${backend}.dll` : `libQnn${backend}.so`;
}

const PROVIDERS: Readonly<Record<PlatformName, ProviderBuilder>> = {
  cpu: () => [{ name: 'cpu' }],
  wasm: () => [{ name: 'wasm' }],
  cuda: ({ settings, spec, ortPackage }, notes) => {
    const level = settings.cudaOptimizationLevel;
    const options: Record<string, unknown> = { device_id: 0 };
    if (level) options.cudnn_conv_algo_search = LEVEL_EFFECTS[level].cudnn;
    if (level === 'highest') {
      // CUDA graphs replay one captured launch sequence: every run must have the same shapes.
      // Only a vision encoder at a pinned batch qualifies, and onnxruntime-node does not pin dims.
      const staticShapes = spec.role === 'vision' && ortPackage === 'onnxruntime-web';
      if (staticShapes) options.enable_cuda_graph = '1';
      else
        notes.push(
          'cuda_optimization_level=highest: enable_cuda_graph stays off — it needs static input shapes, and ' +
            (spec.role === 'vision'
              ? 'onnxruntime-node does not pin the batch dimension (freeDimensionOverrides is ignored there)'
              : 'text and decoder inputs change length between runs'),
        );
    }
    return [{ name: 'cuda', options }];
  },
  rocm: ({ settings }) => {
    const level = settings.rocmOptimizationLevel;
    const tunable = level ? LEVEL_EFFECTS[level].tunableOps : false;
    const options: Record<string, unknown> = { device_id: 0 };
    if (tunable) Object.assign(options, { tunable_op_enable: '1', tunable_op_tuning_enable: '1' });
    // MIGraphX first: ONNX Runtime deprecated the ROCm EP in its favour; ROCm stays as the fallback.
    return [
      { name: 'migraphx', options: { device_id: 0 } },
      { name: 'rocm', options },
    ];
  },
  mps: ({ settings }) => [
    {
      name: 'coreml',
      options: {
        ModelFormat: settings.useMpsGraph === false ? 'NeuralNetwork' : 'MLProgram',
        MLComputeUnits: settings.powerEfficient ? 'CPUAndNeuralEngine' : 'ALL',
      },
    },
  ],
  openvino: () => [{ name: 'openvino', options: { device_type: 'AUTO:GPU,CPU' } }],
  qualcomm: ({ settings, caps, spec }) => {
    const htp = settings.hexagonEnabled !== false;
    const options: Record<string, unknown> = { backend_path: qnnLibrary(caps, htp ? 'Htp' : 'Cpu') };
    if (htp && settings.powerMode) options.htp_performance_mode = HTP_PERFORMANCE_MODE[settings.powerMode];
    if (htp && settings.visionFeatureLevel && (spec.role === 'vision' || spec.role === 'combined')) {
      options.htp_graph_finalization_optimization_mode = HTP_FINALIZATION_MODE[settings.visionFeatureLevel];
    }
    return [{ name: 'qnn', options }];
  },
  webnn: (ctx) => [
    {
      name: 'webnn',
      options: {
        deviceType: webnnDevice(ctx),
        ...(ctx.settings.powerEfficient !== undefined && {
          powerPreference: ctx.settings.powerEfficient ? 'low-power' : 'high-performance',
        }),
      },
    },
  ],
  webgpu: ({ settings }) => {
    const options: Record<string, unknown> = {};
    if (settings.optimizeForBrowser === 'auto' || settings.optimizeForBrowser === true) {
      Object.assign(options, { preferredLayout: 'NHWC', validationMode: 'wgpuOnly' });
    }
    if (settings.memoryEfficient) options.storageBufferCacheMode = 'simple';
    return [{ name: 'webgpu', ...(Object.keys(options).length > 0 && { options }) }];
  },
};

function graphLevel(ctx: ProviderContext): GraphOptimizationLevel {
  const s = ctx.settings;
  if (ctx.platform === 'cuda' && s.cudaOptimizationLevel) return LEVEL_EFFECTS[s.cudaOptimizationLevel].graph;
  if (ctx.platform === 'rocm' && s.rocmOptimizationLevel) return LEVEL_EFFECTS[s.rocmOptimizationLevel].graph;
  return 'all';
}

export function componentSessionPlan(ctx: ProviderContext): ComponentSessionPlan {
  const notes: string[] = [];
  const canonical = PROVIDERS[ctx.platform](ctx, notes);
  const { providers, unapplied } = toBinding(canonical, ctx.ortPackage);
  if (unapplied.length > 0) {
    notes.push(
      `${ctx.ortPackage} cannot apply these provider options, so they have no effect: ${unapplied.join(', ')}`,
    );
  }
  const s = ctx.settings;
  const session: SessionOptions = {
    providers,
    graphOptimizationLevel: graphLevel(ctx),
    executionMode: 'sequential',
  };
  // onnxruntime-node uses one of two cores here unless told (DESIGN.md): always say how many.
  if (ctx.ortPackage === 'onnxruntime-node') {
    session.intraOpNumThreads = s.numThreads ?? ctx.caps.cpu.logicalCores;
    session.interOpNumThreads = 1;
    if (s.threadSpinning === false) session.extra = { session: { intra_op: { allow_spinning: '0' } } };
  }
  if (ctx.platform === 'webgpu' && s.computeShaderOptimizations) {
    session.freeDimensionOverrides = { batch_size: s.batchSize ?? 1 };
    if (ctx.ortPackage === 'onnxruntime-node') {
      notes.push(
        'compute_shader_optimizations: onnxruntime-node ignores freeDimensionOverrides, so batch_size stays dynamic',
      );
    }
  }
  if (ctx.platform === 'webnn') {
    // WebNN compiles static graphs: every free dimension must be pinned, or the nodes fall
    // back to the WASM kernels. One image or text per call; texts padded to the maximum length.
    const max = ctx.textDims?.maxPositions;
    session.freeDimensionOverrides = {
      batch_size: s.batchSize ?? 1,
      ...(ctx.spec.role === 'text' && max !== undefined && { sequence_length: max }),
    };
  }
  if (ctx.platform === 'webgpu' && ctx.spec.stage === 'decoder' && ctx.ortPackage === 'onnxruntime-web') {
    // The KV cache stays on the GPU between decode steps (the next step reads it from there).
    const layers = ctx.textDims?.layers;
    if (layers !== undefined) {
      const present: Record<string, 'gpu-buffer'> = {};
      for (let i = 0; i < layers; i++) {
        present[`present.${i}.key`] = 'gpu-buffer';
        present[`present.${i}.value`] = 'gpu-buffer';
      }
      session.preferredOutputLocation = present;
    } else {
      notes.push(
        `"${ctx.component}": config.json gives no num_hidden_layers, so present.* outputs come back to the CPU after every step`,
      );
    }
  }
  if (s.memoryEfficient) {
    session.enableCpuMemArena = false;
    session.enableMemPattern = false;
  }
  return { providers: canonical, session, notes };
}

/** The providers a platform's sessions list, for messages. */
export function providerNames(specs: readonly ProviderSpec[]): ExecutionProviderName[] {
  return specs.map((p) => p.name);
}
