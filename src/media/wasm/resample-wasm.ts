/**
 * The WebAssembly SIMD passes of the Pillow-exact resize (resample.wat), for every host that has
 * WebAssembly with SIMD (Node >= 16.4, every current browser). Written by hand because this is
 * where mmrt's exact preprocessing spends its time: on a 12-megapixel photo the JavaScript
 * horizontal pass took ~190 ms (V8 does not vectorise JS loops); the SIMD one does 4 lanes of
 * Pillow's int32 sums at once. The module is 0.7 KB, so it compiles synchronously even on a
 * browser's main thread; when it cannot (no WebAssembly, no SIMD), `wasmPasses()` is undefined
 * and resample.ts runs its JavaScript passes, which give the same bytes.
 *
 * Memory: one instance, grown to the largest image it has seen; an instance grown past
 * `KEEP_BYTES` is dropped after its call so a one-off huge image does not pin its memory.
 */
import { RESAMPLE_WASM_BASE64 } from './resample-bytes.js';

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface Exports {
  readonly memory: WasmMemory;
  horizontal(...args: number[]): void;
  vertical(...args: number[]): void;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { exports: unknown };
}

/** Fixed-point taps of one pass (see resample.ts). */
export interface WasmTaps {
  readonly ksize: number;
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly coeffs: Int32Array;
}

const PAGE = 65536;
const PAD = 16;
const KEEP_BYTES = 64 * 1024 * 1024;

let compiled: object | null | undefined;
let instance: Exports | undefined;

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function module(): object | null {
  if (compiled !== undefined) return compiled;
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  try {
    // Validation fails here on an engine without SIMD: the JavaScript passes are used then.
    compiled = api ? new api.Module(decodeBase64(RESAMPLE_WASM_BASE64)) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

function exportsWithRoom(bytes: number): Exports {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly!;
  instance ??= new api.Instance(module()!).exports as Exports;
  const have = instance.memory.buffer.byteLength;
  if (have < bytes) instance.memory.grow(Math.ceil((bytes - have) / PAGE));
  return instance;
}

function release(): void {
  if (instance && instance.memory.buffer.byteLength > KEEP_BYTES) instance = undefined;
}

/** A bump allocator over the instance's memory: 16-byte aligned, padded regions. */
class Layout {
  size = 0;
  take(bytes: number): number {
    const at = this.size;
    this.size += Math.ceil((bytes + PAD) / 16) * 16;
    return at;
  }
}

export interface WasmPasses {
  /**
   * `resizeRgb`'s two passes: horizontal over source rows [rowStart, rowStart + rows) when
   * `hTaps` is given, then vertical when `vTaps` is; returns the output bytes (a copy).
   */
  resize(
    src: Uint8Array,
    inW: number,
    rowStart: number,
    rows: number,
    outW: number,
    outH: number,
    hTaps: WasmTaps | undefined,
    vTaps: WasmTaps | undefined,
  ): Uint8Array;
}

function put(mem: ArrayBuffer, at: number, data: Int32Array | Uint8Array): void {
  new Uint8Array(mem, at, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

const passes: WasmPasses = {
  resize(src, inW, rowStart, rows, outW, outH, hTaps, vTaps) {
    const inRow = inW * 3;
    const midRow = (hTaps ? outW : inW) * 3;
    const layout = new Layout();
    const tables = [hTaps, vTaps].map((t) =>
      t
        ? {
            first: layout.take(t.first.byteLength),
            count: layout.take(t.count.byteLength),
            coeffs: layout.take(t.coeffs.byteLength),
          }
        : undefined,
    );
    const input = layout.take(inRow * rows);
    const mid = hTaps ? layout.take(midRow * rows) : input;
    const output = vTaps ? layout.take(midRow * outH) : mid;
    const wasm = exportsWithRoom(layout.size);
    try {
      const mem = wasm.memory.buffer;
      for (const [i, t] of [hTaps, vTaps].entries()) {
        const at = tables[i];
        if (!t || !at) continue;
        put(mem, at.first, t.first);
        put(mem, at.count, t.count);
        put(mem, at.coeffs, t.coeffs);
      }
      put(mem, input, src.subarray(rowStart * inRow, (rowStart + rows) * inRow));
      if (hTaps) {
        const t = tables[0]!;
        wasm.horizontal(input, inRow, rows, outW, t.first, t.count, t.coeffs, hTaps.ksize, mid);
      }
      if (vTaps) {
        const t = tables[1]!;
        // The vertical taps index source rows; `mid` starts at source row `rowStart`.
        wasm.vertical(mid, midRow, outH, t.first, t.count, t.coeffs, vTaps.ksize, rowStart, output);
      }
      return new Uint8Array(mem, output, midRow * (vTaps ? outH : rows)).slice();
    } finally {
      release();
    }
  },
};

/** The SIMD passes, or undefined where this engine cannot run them. */
export function wasmPasses(): WasmPasses | undefined {
  return module() ? passes : undefined;
}
