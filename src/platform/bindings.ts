/**
 * What each ONNX Runtime JavaScript binding actually reads from an execution provider's
 * options. Plans describe providers with ORT's documented option names (`cudnn_conv_algo_search`,
 * `ModelFormat`, `backend_path`, ...); this table translates them into the binding's own
 * names and reports the ones a binding cannot apply, so a plan never claims an effect it does
 * not have — and so no unknown option reaches a binding that rejects them (onnxruntime-node's
 * WebGPU EP throws on any option it does not know).
 *
 * Read from the bindings' sources: onnxruntime-node 1.30 `js/node/src/session_options_helper.cc`
 * (CUDA/TensorRT read only `deviceId`; CoreML only the `coreMlFlags` bit set; QNN `backendType`,
 * `backendPath`, `enableFp16Precision`; WebGPU a fixed list; no ROCm/MIGraphX/OpenVINO branch),
 * onnxruntime-web 1.30 `ort.all.mjs` (JSEP WebGPU reads only `preferredLayout`; WebNN reads
 * `deviceType`, `powerPreference`, `numThreads`).
 */
import type { ProviderSpec } from '../runtime/session.js';
import type { ExecutionProviderName, OrtPackage } from '../runtime/providers.js';

/** Rename to the binding's key, or OR a bit into CoreML's `coreMlFlags` for each known value. */
export type OptionRule = { readonly to: string } | { readonly coreMlFlags: Readonly<Record<string, number>> };

const SAME = (k: string): OptionRule => ({ to: k });

export const BINDING_RULES: Readonly<
  Record<OrtPackage, Partial<Record<ExecutionProviderName, Readonly<Record<string, OptionRule>>>>>
> = {
  'onnxruntime-node': {
    cpu: {},
    cuda: { device_id: { to: 'deviceId' } },
    tensorrt: { device_id: { to: 'deviceId' } },
    coreml: {
      // COREML_FLAG_CREATE_MLPROGRAM = 0x010, COREML_FLAG_USE_CPU_AND_GPU = 0x020, COREML_FLAG_USE_CPU_ONLY = 0x001.
      // MLComputeUnits=CPUAndNeuralEngine has no flag: the default (ALL) already includes the Neural Engine.
      ModelFormat: { coreMlFlags: { MLProgram: 0x010, NeuralNetwork: 0 } },
      MLComputeUnits: { coreMlFlags: { ALL: 0, CPUAndGPU: 0x020, CPUOnly: 0x001 } },
    },
    qnn: {
      backend_path: { to: 'backendPath' },
      backend_type: { to: 'backendType' },
      enable_htp_fp16_precision: { to: 'enableFp16Precision' },
    },
    webgpu: Object.fromEntries(
      [
        'preferredLayout',
        'validationMode',
        'storageBufferCacheMode',
        'uniformBufferCacheMode',
        'queryResolveBufferCacheMode',
        'defaultBufferCacheMode',
        'forceCpuNodeNames',
        'enableRobustness',
      ].map((k) => [k, SAME(k)]),
    ),
  },
  'onnxruntime-web': {
    wasm: {},
    webgpu: { preferredLayout: SAME('preferredLayout') },
    webnn: {
      deviceType: SAME('deviceType'),
      powerPreference: SAME('powerPreference'),
      numThreads: SAME('numThreads'),
    },
  },
};

export interface BindingProviders {
  /** Ready for `createSession`: translated options only. */
  readonly providers: ProviderSpec[];
  /** `ep.option=value` entries the binding cannot apply. */
  readonly unapplied: string[];
}

export function toBinding(specs: readonly ProviderSpec[], pkg: OrtPackage): BindingProviders {
  const unapplied: string[] = [];
  const providers = specs.map((spec): ProviderSpec => {
    const rules = BINDING_RULES[pkg][spec.name];
    const out: Record<string, unknown> = {};
    let flags: number | undefined;
    for (const [key, value] of Object.entries(spec.options ?? {})) {
      const rule = rules?.[key];
      if (rule && 'to' in rule) out[rule.to] = value;
      else if (rule && typeof value === 'string' && value in rule.coreMlFlags)
        flags = (flags ?? 0) | rule.coreMlFlags[value]!;
      else unapplied.push(`${spec.name}.${key}=${String(value)}`);
    }
    if (flags !== undefined) out.coreMlFlags = flags;
    return Object.keys(out).length > 0 ? { name: spec.name, options: out } : { name: spec.name };
  });
  return { providers, unapplied };
}
