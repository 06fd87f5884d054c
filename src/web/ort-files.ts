/**
 * The files onnxruntime-web's default build loads (JSEP: WebGPU, WebNN and the WASM kernels in
 * one module). An app serves these two from the web host's `ortPath` (`npm run demo` copies
 * them to `ort/`); the web host keeps them in its store after the first visit.
 */
export const ORT_WEB_FILES = {
  mjs: 'ort-wasm-simd-threaded.jsep.mjs',
  wasm: 'ort-wasm-simd-threaded.jsep.wasm',
} as const;
