/**
 * `platform: 'auto'`: which platforms can run this model here, best first. A platform's score
 * is its table rating (high 3, medium 2, limited 1) times whether detection found a usable
 * provider for it (1 or 0). Ties go to the platform the model's `transformers.js_config.device`
 * names, then to PLATFORM_PREFERENCE (dedicated accelerators before general ones).
 */
import type { Architecture } from '../package/family-spec.js';
import type { PlatformName } from '../runtime/providers.js';
import { type HostCapabilities, platformAvailability } from './capabilities.js';
import { RATING_SCORE, type Rating, TABLE_PLATFORMS, ratingFor } from './compatibility.js';

export const PLATFORM_PREFERENCE: readonly PlatformName[] = [
  'cuda',
  'rocm',
  'mps',
  'qualcomm',
  'openvino',
  'webgpu',
  'webnn',
  'cpu',
  'wasm',
];

export interface RankedPlatform {
  readonly platform: PlatformName;
  readonly rating: Rating;
  readonly available: boolean;
  /** Which provider runs it, or why it cannot run here. */
  readonly detail: string;
  readonly score: number;
}

export interface RankOptions {
  /** The model's preferred platform (transformers.js_config.device). */
  readonly device?: PlatformName;
  /**
   * Consider exactly these platforms in this order, available or not (a caller that knows
   * better than detection, or a test forcing a fallback). Table "none" entries are still dropped.
   */
  readonly order?: readonly PlatformName[];
}

/** Every rated platform for the architecture, best first; unavailable ones last with score 0. */
export function rankPlatforms(
  architecture: Architecture,
  caps: HostCapabilities,
  opts: RankOptions = {},
): RankedPlatform[] {
  const describe = (platform: PlatformName): RankedPlatform => {
    const rating = ratingFor(architecture, platform);
    const a = platformAvailability(caps, platform);
    return {
      platform,
      rating,
      available: a.available,
      detail: a.detail,
      score: RATING_SCORE[rating] * (a.available ? 1 : 0),
    };
  };
  if (opts.order) return opts.order.map(describe).filter((r) => r.rating !== 'none');
  const tie = (p: PlatformName) => (p === opts.device ? -1 : PLATFORM_PREFERENCE.indexOf(p));
  return TABLE_PLATFORMS.map(describe)
    .filter((r) => r.rating !== 'none')
    .sort((a, b) => b.score - a.score || tie(a.platform) - tie(b.platform));
}
