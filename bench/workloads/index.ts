/** Every workload of `npm run bench`, in the order the suite runs them. */
import type { Workload } from '../suite/types.js';
import { CLIP_WORKLOADS } from './clip.js';
import { PROFILE_WORKLOADS } from './profile.js';
import { ROOF_WORKLOADS } from './roof.js';
import { VLM_WORKLOADS } from './vlm.js';

export const WORKLOADS: readonly Workload[] = [
  ...ROOF_WORKLOADS,
  ...CLIP_WORKLOADS,
  ...VLM_WORKLOADS,
  ...PROFILE_WORKLOADS,
];

export function workload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
