/** Whether a host can run a platform, from what its adapter detected (`Host.detect`). */
import type { HostCapabilities } from '../host/capabilities.js';
import {
  type ExecutionProviderName,
  type OrtPackage,
  PLATFORM_TABLE,
  type PlatformName,
} from '../runtime/providers.js';

export type { GpuInfo, HostCapabilities, ProviderStatus } from '../host/capabilities.js';

export function usableProviders(caps: HostCapabilities): ExecutionProviderName[] {
  return caps.providers.filter((p) => p.usable).map((p) => p.name);
}

export interface PlatformAvailability {
  readonly platform: PlatformName;
  /** A provider of the platform was probed and ran here. */
  readonly available: boolean;
  /** Which provider would run it, or why none can. */
  readonly detail: string;
}

/** Whether this host can run a platform, from the probed provider list. */
export function platformAvailability(caps: HostCapabilities, platform: PlatformName): PlatformAvailability {
  const info = PLATFORM_TABLE[platform];
  if (!info.hosts.includes(caps.host)) {
    return {
      platform,
      available: false,
      detail: `${platform} does not exist on a ${caps.host} host (${info.howToGet})`,
    };
  }
  const statuses = caps.providers.filter((p) => info.providers.includes(p.name));
  const usable = statuses.find((p) => p.usable);
  if (usable) return { platform, available: true, detail: `${usable.name} provider probed and ran` };
  const why = statuses.map((s) => `${s.name}: ${s.reason ?? 'not usable'}`).join('; ');
  return {
    platform,
    available: false,
    detail: why || `this ${caps.ort.package} build has no ${info.providers.join('/')} provider`,
  };
}

/** The ORT package that runs `platform` on this host. */
export function ortPackageFor(caps: HostCapabilities, platform: PlatformName): OrtPackage {
  if (caps.host === 'web') return 'onnxruntime-web';
  return PLATFORM_TABLE[platform].packages.includes('onnxruntime-node')
    ? 'onnxruntime-node'
    : 'onnxruntime-web';
}
