/**
 * The brief's platform names and the ONNX Runtime execution providers behind them
 * (DESIGN.md, principle 1). Data, not branching code: planning, errors and `mmrt doctor`
 * all read this table.
 */
export const PLATFORMS = [
  'cpu',
  'cuda',
  'rocm',
  'mps',
  'openvino',
  'qualcomm',
  'webnn',
  'webgpu',
  'wasm',
] as const;
export type PlatformName = (typeof PLATFORMS)[number];

export type ExecutionProviderName =
  | 'cpu'
  | 'cuda'
  | 'tensorrt'
  | 'rocm'
  | 'migraphx'
  | 'coreml'
  | 'openvino'
  | 'qnn'
  | 'webnn'
  | 'webgpu'
  | 'wasm';

export type OrtPackage = 'onnxruntime-node' | 'onnxruntime-web';

export interface PlatformInfo {
  readonly platform: PlatformName;
  /** Execution providers to try, best first. */
  readonly providers: readonly ExecutionProviderName[];
  /** The ORT package that can carry them. */
  readonly packages: readonly OrtPackage[];
  /** Where the provider comes from, and how a user gets it when it is missing. */
  readonly howToGet: string;
  /** Hosts it can exist on at all. */
  readonly hosts: readonly ('node' | 'web')[];
}

export const PLATFORM_TABLE: Readonly<Record<PlatformName, PlatformInfo>> = {
  cpu: {
    platform: 'cpu',
    providers: ['cpu'],
    packages: ['onnxruntime-node'],
    howToGet: 'bundled with onnxruntime-node',
    hosts: ['node'],
  },
  cuda: {
    platform: 'cuda',
    providers: ['cuda', 'tensorrt'],
    packages: ['onnxruntime-node'],
    howToGet:
      'onnxruntime-node on linux-x64 ships CUDA 12 binaries only when installed with ONNXRUNTIME_NODE_INSTALL=cuda12 (reinstall: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node), plus an NVIDIA driver, CUDA 12 and cuDNN 9 on the machine',
    hosts: ['node'],
  },
  rocm: {
    platform: 'rocm',
    providers: ['rocm', 'migraphx'],
    packages: ['onnxruntime-node'],
    howToGet:
      'no published onnxruntime-node build includes ROCm/MIGraphX: build ONNX Runtime from source with --use_migraphx (or --use_rocm) and --build_nodejs, then point mmrt at that build',
    hosts: ['node'],
  },
  mps: {
    platform: 'mps',
    providers: ['coreml'],
    packages: ['onnxruntime-node'],
    howToGet:
      'onnxruntime-node on macOS includes the CoreML execution provider (Apple silicon or Intel macOS)',
    hosts: ['node'],
  },
  openvino: {
    platform: 'openvino',
    providers: ['openvino'],
    packages: ['onnxruntime-node'],
    howToGet:
      'no published onnxruntime-node build includes OpenVINO: build ONNX Runtime from source with --use_openvino and --build_nodejs',
    hosts: ['node'],
  },
  qualcomm: {
    platform: 'qualcomm',
    providers: ['qnn'],
    packages: ['onnxruntime-node'],
    howToGet:
      'onnxruntime-node includes QNN only on Windows on Arm (win32-arm64) builds; elsewhere build ONNX Runtime with --use_qnn and the Qualcomm AI Engine Direct SDK',
    hosts: ['node'],
  },
  webnn: {
    platform: 'webnn',
    providers: ['webnn'],
    packages: ['onnxruntime-web'],
    howToGet:
      'a browser with WebNN (navigator.ml): Chromium with --enable-features=WebMachineLearningNeuralNetwork, using onnxruntime-web',
    hosts: ['web'],
  },
  webgpu: {
    platform: 'webgpu',
    providers: ['webgpu'],
    packages: ['onnxruntime-web', 'onnxruntime-node'],
    howToGet:
      'a browser with WebGPU (navigator.gpu) using onnxruntime-web, or onnxruntime-node with a Vulkan/Metal/D3D12 GPU adapter',
    hosts: ['web', 'node'],
  },
  wasm: {
    platform: 'wasm',
    providers: ['wasm'],
    packages: ['onnxruntime-web'],
    howToGet: 'onnxruntime-web (any browser, or Node via onnxruntime-web)',
    hosts: ['web', 'node'],
  },
};

export function isPlatformName(v: unknown): v is PlatformName {
  return typeof v === 'string' && (PLATFORMS as readonly string[]).includes(v);
}

/** Which platform an execution provider belongs to (for messages about a failed provider). */
export function platformOfProvider(ep: ExecutionProviderName): PlatformName | undefined {
  for (const p of PLATFORMS) if (PLATFORM_TABLE[p].providers.includes(ep)) return p;
  return undefined;
}
