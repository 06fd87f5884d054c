/** Pieces the workloads share: loading mmrt the way a user does, labels, FLOP counts. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildContext } from '../suite/types.js';
import type { PeerThreads } from '../suite/peer.js';

export const LABELS = [
  'red circle',
  'green square',
  'blue triangle',
  'yellow star',
  'purple circle',
  'orange square',
  'red triangle',
  'green star',
  'blue circle',
  'yellow square',
];
/** A different template per iteration: each iteration's first image pays for its labels. */
export const TEMPLATES = ['a photo of a {}', 'a picture of a {}', 'an image of a {}', 'a drawing of a {}'];
export const template = (i: number) =>
  `${TEMPLATES[i % TEMPLATES.length]!}${i >= TEMPLATES.length ? ` (${i})` : ''}`;

/**
 * mmrt through its public entry and CPU plan. `preload`: both towers up front (zero-shot and
 * initialisation); otherwise each is created on first use (the warm-up), as the family's lazy
 * default does, so an image-only or text-only workload holds only its own tower, like the peer.
 */
export async function loadMmrtClip(ctx: ChildContext, extra: Record<string, unknown> = {}, preload = true) {
  const { loadClip } = await import('../../src/node/index.js');
  return loadClip({
    model: ctx.fixtures.clipModel,
    platform: 'cpu',
    loading: { preload },
    host: { cacheDir: ctx.cacheDir },
    ...extra,
  });
}

/** The peer contenders of a workload: at its defaults and at mmrt's thread count. */
export const PEER_THREADS: Readonly<Record<string, PeerThreads | 'equal'>> = {
  'peer-default': 'default',
  'peer-equal': 'equal',
};
export const peerThreads = (ctx: ChildContext, t: PeerThreads | 'equal'): PeerThreads =>
  t === 'equal' ? ctx.threads : t;

/**
 * Multiply-adds x 2 of a ViT image tower (patch embedding, attention and MLP MatMuls, the
 * attention products, the projection), from config.json: what "GFLOP/s" counts in the results.
 */
export function visionFlops(modelDir: string): number {
  const cfg = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  const v = cfg.vision_config;
  const h = v.hidden_size;
  const patches = (v.image_size / v.patch_size) ** 2;
  const t = patches + 1;
  const perLayer = 4 * t * h * h + 2 * t * h * v.intermediate_size + 2 * t * t * h;
  const macs =
    patches * 3 * v.patch_size ** 2 * h + v.num_hidden_layers * perLayer + h * (cfg.projection_dim ?? h);
  return 2 * macs;
}

/** The same for the text tower at a sequence length. */
export function textFlops(modelDir: string, tokens: number): number {
  const cfg = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  const c = cfg.text_config;
  const h = c.hidden_size;
  const perLayer = 4 * tokens * h * h + 2 * tokens * h * c.intermediate_size + 2 * tokens * tokens * h;
  return 2 * (c.num_hidden_layers * perLayer + h * (cfg.projection_dim ?? h));
}
