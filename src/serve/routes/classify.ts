/**
 * POST /v1/classify — zero-shot classification with a dual encoder:
 * `{ model?, input: image | image[], labels: string[], template?, top_k? }` ->
 * `{ object: "list", data: [{ object: "classification", index, labels: [{ label, score }] }] }`,
 * labels best first (softmax over the labels for CLIP, a sigmoid per label for SigLIP).
 */
import { InputError } from '../../errors.js';
import { readImageList } from '../images.js';
import { field } from '../request.js';
import { type RouteContext, resolveImages } from './context.js';

export async function classify(body: unknown, ctx: RouteContext, signal: AbortSignal) {
  const b = field.object(body);
  const served = ctx.models.find(b.model, 'classify');
  const service = served.services.embeddings!;
  const labels = b.labels;
  if (!Array.isArray(labels) || labels.length === 0 || labels.some((l) => typeof l !== 'string')) {
    throw new InputError('INPUT_INVALID', '"labels" must be a non-empty list of strings', {
      param: 'labels',
      valid: 'e.g. ["a cat", "a dog"]',
    });
  }
  const template = field.string(b, 'template');
  const topK = field.int(b, 'top_k', 1);
  const refs = readImageList(
    b.input ?? b.image ?? b.images,
    b.input !== undefined ? 'input' : b.image !== undefined ? 'image' : 'images',
  );
  const images = await resolveImages(ctx, refs, signal);
  const scores = await service.classify(
    images.map((i) => i.bytes),
    labels as string[],
    { ...(template !== undefined && { template }), ...(topK !== undefined && { topK }), signal },
  );
  const tokens = labels.reduce((n: number, l: string) => n + service.tokens(l), 0);
  return {
    object: 'list',
    model: served.id,
    data: scores.map((ranked, index) => ({ object: 'classification', index, labels: ranked })),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
