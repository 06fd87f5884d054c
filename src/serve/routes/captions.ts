/**
 * POST /v1/captions — captions from an image-to-text model (BLIP, BLIP-2):
 * `{ model?, input: image | image[], prompt?, max_tokens? }` ->
 * `{ object: "list", data: [{ object: "caption", index, text }], usage }`.
 */
import { field } from '../request.js';
import { readImageList } from '../images.js';
import { type RouteContext, resolveImages } from './context.js';

export async function captions(body: unknown, ctx: RouteContext, signal: AbortSignal) {
  const b = field.object(body);
  const served = ctx.models.find(b.model, 'captions');
  const prompt = field.string(b, 'prompt');
  const maxNewTokens = field.int(b, 'max_tokens', 1);
  const images = await resolveImages(
    ctx,
    readImageList(b.input ?? b.image, b.input !== undefined ? 'input' : 'image'),
    signal,
  );
  const out = await served.services.captions!.caption(
    images.map((i) => i.bytes),
    { ...(prompt !== undefined && { prompt }), ...(maxNewTokens !== undefined && { maxNewTokens }) },
    signal,
  );
  const prompt_tokens = out.reduce((n, c) => n + (c.usage?.promptTokens ?? 0), 0);
  const completion_tokens = out.reduce((n, c) => n + (c.usage?.generatedTokens ?? 0), 0);
  return {
    object: 'list',
    model: served.id,
    data: out.map((c, index) => ({ object: 'caption', index, text: c.text })),
    usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens },
  };
}
