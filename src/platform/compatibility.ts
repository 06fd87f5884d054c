/**
 * The hardware-compatibility table of the optimization guide (`brief/` in the design notes) as
 * data, keyed by architecture; a family names its row (`FamilySpec.architecture`). The guide's
 * seven columns are copied as written. mmrt adds `cpu` and `wasm`, which the guide does not rate:
 *
 * - cpu: CLIP High — its encoders are small and DESIGN.md measures them near one core's MatMul
 *   roof; BLIP/BLIP-2 Medium — BLIP-base is quick, BLIP-2's 2.7B LM runs but slowly; X-CLIP Medium
 *   — the vision tower runs once per frame; LLaVA and LLaVA-Next Limited — a 7B decoder on CPU is
 *   seconds per token even at int4 (LLaVA-Next's AnyRes multiplies the image tokens).
 * - wasm: one notch below cpu everywhere (no native kernels, 4 GiB wasm32 heap): CLIP Medium,
 *   the rest Limited — only small variants fit, and LLaVA-size decoders do not fit at all.
 */
import type { Architecture } from '../package/family-spec.js';
import type { PlatformName } from '../runtime/providers.js';

export { ARCHITECTURES, type Architecture } from '../package/family-spec.js';

export const RATINGS = ['high', 'medium', 'limited', 'none'] as const;
export type Rating = (typeof RATINGS)[number];

/** For ranking `auto` candidates: how much a rating is worth. */
export const RATING_SCORE: Readonly<Record<Rating, number>> = { high: 3, medium: 2, limited: 1, none: 0 };

/** The brief's column order, then mmrt's two. */
export const TABLE_PLATFORMS: readonly PlatformName[] = [
  'cuda',
  'rocm',
  'mps',
  'openvino',
  'qualcomm',
  'webnn',
  'webgpu',
  'cpu',
  'wasm',
];

export const COMPATIBILITY: Readonly<Record<Architecture, Readonly<Record<PlatformName, Rating>>>> = {
  CLIP: {
    cuda: 'high',
    rocm: 'high',
    mps: 'high',
    openvino: 'high',
    qualcomm: 'medium',
    webnn: 'medium',
    webgpu: 'medium',
    cpu: 'high',
    wasm: 'medium',
  },
  'BLIP/BLIP-2': {
    cuda: 'high',
    rocm: 'medium',
    mps: 'medium',
    openvino: 'medium',
    qualcomm: 'limited',
    webnn: 'limited',
    webgpu: 'limited',
    cpu: 'medium',
    wasm: 'limited',
  },
  LLaVA: {
    cuda: 'high',
    rocm: 'limited',
    mps: 'medium',
    openvino: 'limited',
    qualcomm: 'limited',
    webnn: 'none',
    webgpu: 'limited',
    cpu: 'limited',
    wasm: 'limited',
  },
  'LLaVA-Next': {
    cuda: 'high',
    rocm: 'limited',
    mps: 'limited',
    openvino: 'limited',
    qualcomm: 'none',
    webnn: 'none',
    webgpu: 'limited',
    cpu: 'limited',
    wasm: 'limited',
  },
  'X-CLIP': {
    cuda: 'high',
    rocm: 'medium',
    mps: 'medium',
    openvino: 'medium',
    qualcomm: 'limited',
    webnn: 'none',
    webgpu: 'limited',
    cpu: 'medium',
    wasm: 'limited',
  },
};

export function ratingFor(architecture: Architecture, platform: PlatformName): Rating {
  return COMPATIBILITY[architecture][platform];
}

/** Platforms that can run an architecture, best rated first (table order breaks ties). */
export function platformsThatCanRun(architecture: Architecture): PlatformName[] {
  return TABLE_PLATFORMS.filter((p) => ratingFor(architecture, p) !== 'none').sort(
    (a, b) => RATING_SCORE[ratingFor(architecture, b)] - RATING_SCORE[ratingFor(architecture, a)],
  );
}
