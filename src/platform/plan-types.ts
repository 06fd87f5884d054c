/** The shape of a plan: what the loader, the families and the hosts execute. */
import type { Precision } from '../package/precision.js';
import type { OrtPackage, PlatformName } from '../runtime/providers.js';
import type { ProviderSpec, SessionOptions } from '../runtime/session.js';
import type { ComponentRole } from '../package/family-spec.js';
import type { Rating } from './compatibility.js';
import type { LoadStrategy } from './config-keys.js';
import type { ComponentMemory, MemoryEstimate } from './memory.js';
import type { RequestedPrecision } from './precision-map.js';
import type { RankedPlatform } from './rank.js';

/** A resolved setting and where it came from. */
export interface SettingRecord {
  readonly value: unknown;
  /** 'default', 'default:<platform>', 'preset:<id>', 'model', 'user', 'detected'. */
  readonly source: string;
  /** The key that supplied it, as spelled there. */
  readonly key: string;
  /** false when the key changes nothing for this platform or family. */
  readonly applies: boolean;
}

export interface ComponentPlan {
  readonly name: string;
  readonly role: ComponentRole;
  /** Graph file inside the package. */
  readonly file: string;
  readonly externalData: readonly string[];
  readonly precision: Precision;
  readonly precisionChoice: {
    readonly asked: RequestedPrecision;
    readonly source: string;
    readonly key: string;
    /**
     * asked | fallback (declared substitute) | platform (changed for the platform) | default |
     * budget | first-run (the planned variant's first run gave NaN/Inf or failed).
     */
    readonly how: 'asked' | 'fallback' | 'platform' | 'default' | 'budget' | 'first-run';
  };
  /** Graph + external data. */
  readonly bytes: number;
  /** Providers with ORT's documented option names. */
  readonly providers: readonly ProviderSpec[];
  /** Session options for `createSession` (providers already translated for the host's binding). */
  readonly session: SessionOptions;
  readonly loadStrategy: LoadStrategy;
  readonly loadSource: string;
  /** One run on dummy inputs at load (shader precompilation). */
  readonly warmup: boolean;
  readonly memory: ComponentMemory;
}

export interface LoadingPlan {
  /** Create the eager components' sessions concurrently. */
  readonly parallel: boolean;
  /** Eager components load one after another in `order`, each usable as soon as it is ready. */
  readonly progressive: boolean;
  /** Eager components in load order; lazy ones load on first use. */
  readonly order: readonly string[];
  readonly lazy: readonly string[];
  readonly warmup: boolean;
}

/** Settings the web host applies to `ort.env` before creating sessions. */
export interface OrtEnvPlan {
  readonly wasm?: { readonly numThreads: number; readonly simd: boolean };
  readonly webgpu?: { readonly powerPreference: 'low-power' | 'high-performance' };
}

export interface PlatformPlan {
  readonly platform: PlatformName;
  readonly rating: Rating;
  readonly ortPackage: OrtPackage;
  readonly model: {
    readonly location: string;
    readonly modelType: string;
    readonly family: string;
    readonly layout: readonly string[];
  };
  readonly components: readonly ComponentPlan[];
  /** The family's optional components this package has: lazy, outside the memory total. */
  readonly optional: readonly ComponentPlan[];
  readonly settings: Readonly<Record<string, SettingRecord>>;
  /** Family plan fields. */
  readonly family: { readonly batchSize: number; readonly parallelEncoderExecution: boolean };
  /** Decoder families only. */
  readonly generation?: { readonly kvCache: boolean; readonly maxLength: number };
  /** Video families only. */
  readonly video?: { readonly frames: number };
  readonly loading: LoadingPlan;
  readonly ortEnv: OrtEnvPlan;
  /** Node: cache optimized graphs on disk. */
  readonly graphCache: boolean;
  readonly memory: MemoryEstimate & { readonly budgetBytes?: number };
  /** Brief presets layered in, by id. */
  readonly presets: readonly string[];
  readonly warnings: readonly string[];
}

export interface PlanCandidate extends RankedPlatform {
  readonly plan?: PlatformPlan;
  /** Why planning for this platform failed. */
  readonly skipped?: string;
}

export interface ModelPlan extends PlatformPlan {
  readonly requested: PlatformName | 'auto';
  /** Platforms considered, best first: for a named platform just that one. */
  readonly candidates: readonly PlanCandidate[];
}
