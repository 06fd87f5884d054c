/**
 * Rendered chat text -> token ids with each image token expanded to its image's feature
 * count, as Hugging Face's processors do (they repeat the image token in the text, then
 * tokenize; the image token is an added token, so expanding ids is the same thing).
 */
import { InputError } from '../../errors.js';
import type { FeatureSpan } from '../../generation/inputs-embeds.js';
import type { TextTokenizer } from '../../text/tokenizer.js';

/** The prompt positions of one image's features. */
export type ImageSpan = FeatureSpan;

export interface PromptPlan {
  readonly text: string;
  readonly ids: readonly number[];
  readonly spans: readonly ImageSpan[];
}

export function planPrompt(
  text: string,
  tokenizer: TextTokenizer,
  imageTokenId: number,
  featureCounts: readonly number[],
): PromptPlan {
  const raw = tokenizer.encode(text, true);
  const markers = raw.filter((id) => id === imageTokenId).length;
  if (markers !== featureCounts.length) {
    throw new InputError(
      'IMAGE_TOKEN_MISMATCH',
      markers > featureCounts.length
        ? `the prompt has ${markers} image token(s) but only ${featureCounts.length} image(s) were given`
        : `${featureCounts.length} image(s) were given but the prompt has ${markers} image token(s)`,
      {
        value: { imageTokens: markers, images: featureCounts.length },
        hint: 'pass each image as an { type: "image", image } part; do not type the image token into message text',
      },
    );
  }
  const ids: number[] = [];
  const spans: ImageSpan[] = [];
  let k = 0;
  for (const id of raw) {
    if (id !== imageTokenId) {
      ids.push(id);
      continue;
    }
    const n = featureCounts[k]!;
    spans.push({ start: ids.length, length: n, image: k });
    for (let j = 0; j < n; j++) ids.push(imageTokenId);
    k++;
  }
  return { text, ids, spans };
}
