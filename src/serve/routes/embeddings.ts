/**
 * POST /v1/embeddings — OpenAI's shape, with images: `input` is a string, a list of strings, or
 * content parts (`{type: "image_url", image_url: {url}}`, `{type: "text", text}`); with
 * infinity's `modality: "image"` the strings are images (URLs, data URIs or raw base64).
 * `encoding_format: "base64"` (what the official SDKs send by default) is little-endian float32.
 */
import { InputError } from '../../errors.js';
import { readPart } from '../images.js';
import { field, float32Base64 } from '../request.js';
import type { EmbeddingInput } from '../services/embeddings.js';
import { type RouteContext, resolveImages } from './context.js';

type Raw =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'image'; readonly ref: string };

function readInputs(body: Record<string, unknown>): Raw[] {
  const modality = field.oneOf(body, 'modality', ['text', 'image'] as const) ?? 'text';
  const input = body.input;
  const list = Array.isArray(input) ? input : [input];
  if (input === undefined || input === null || list.length === 0) {
    throw new InputError('INPUT_INVALID', '"input" must be a string, a list of strings or content parts', {
      param: 'input',
      valid: ['"a red circle"', '["a", "b"]', '[{"type": "image_url", "image_url": {"url": "data:..."}}]'],
    });
  }
  return list.map((item, i): Raw => {
    const param = Array.isArray(input) ? `input[${i}]` : 'input';
    if (typeof item === 'string') {
      if (modality === 'image') return { kind: 'image', ref: item };
      if (item.length === 0) throw new InputError('INPUT_INVALID', `${param} is an empty string`, { param });
      return { kind: 'text', text: item };
    }
    if (typeof item === 'number' || Array.isArray(item)) {
      throw new InputError('INPUT_INVALID', `${param}: token-id inputs are not supported; send text`, {
        param,
        valid: 'strings or content parts',
      });
    }
    const part = readPart(item, param);
    return part.type === 'text' ? { kind: 'text', text: part.text } : { kind: 'image', ref: part.ref };
  });
}

export async function embeddings(body: unknown, ctx: RouteContext, signal: AbortSignal) {
  const b = field.object(body);
  const served = ctx.models.find(b.model, 'embeddings');
  const service = served.services.embeddings!;
  const encoding = field.oneOf(b, 'encoding_format', ['float', 'base64'] as const) ?? 'float';
  const dimensions = field.int(b, 'dimensions', 1);
  const raw = readInputs(b);
  const imageAt = raw.flatMap((r, i) => (r.kind === 'image' ? [i] : []));
  const images = await resolveImages(
    ctx,
    imageAt.map((i) => ({
      ref: (raw[i] as { ref: string }).ref,
      param: Array.isArray(b.input) ? `input[${i}]` : 'input',
    })),
    signal,
  );
  let k = 0;
  const inputs: EmbeddingInput[] = raw.map((r) =>
    r.kind === 'text' ? r : { kind: 'image', bytes: images[k++]!.bytes },
  );
  const vectors = await service.embed(inputs, signal);
  const dim = vectors[0]!.length;
  if (dimensions !== undefined && dimensions !== dim) {
    throw new InputError(
      'INPUT_INVALID',
      `${served.id} makes ${dim}-d embeddings; "dimensions" ${dimensions} cannot be served`,
      {
        param: 'dimensions',
        value: dimensions,
        valid: [dim],
      },
    );
  }
  const tokens = raw.reduce((n, r) => n + (r.kind === 'text' ? service.tokens(r.text) : 0), 0);
  return {
    object: 'list',
    model: served.id,
    data: vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? float32Base64(v) : Array.from(v),
    })),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
