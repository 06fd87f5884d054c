import {
  AutoTokenizer,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  Tensor,
  env,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS_DIR } from '../../src/cli/paths.js';
import { cosine } from '../../src/kinds/dual-encoder/math.js';
import type { ClipModel } from '../../src/kinds/dual-encoder/model.js';
import { ImageProcessor } from '../../src/media/processor.js';
import { disposeModels, tinyClip } from '../helpers/models.js';
import { heldOutSet } from '../../tools/shapes/render.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = MODELS_DIR;
const FOLDER = 'shapes-clip';

let clip: ClipModel;

beforeAll(async () => {
  clip = await tinyClip({ config: { numThreads: 2 } });
});
afterAll(disposeModels);

describe('CLIP embeddings agree with @huggingface/transformers on the same folder', () => {
  it('text embeddings: same tokens and cosine >= 0.9999', async () => {
    const texts = ['a photo of a red circle', 'a photo of a purple star', 'a blue square', 'orange triangle'];
    const tokenizer = await AutoTokenizer.from_pretrained(FOLDER);
    const model = await CLIPTextModelWithProjection.from_pretrained(FOLDER, { dtype: 'fp32' });
    const peerInputs = tokenizer(texts, { padding: true, truncation: true });
    const ours = clip.tokenizer.encodeBatch(texts);
    expect(Array.from(peerInputs.input_ids.data as BigInt64Array)).toEqual(Array.from(ours.inputIds));
    const { text_embeds } = await model(peerInputs);
    const peer = text_embeds.tolist() as number[][];
    const mine = await clip.embedTexts(texts, { normalize: false });
    for (let i = 0; i < texts.length; i++) expect(cosine(peer[i]!, mine[i]!)).toBeGreaterThanOrEqual(0.9999);
    await model.dispose();
  });

  it('image embeddings on identical pixel values: cosine >= 0.9999', async () => {
    const pkg = clip.loader.package;
    const processor = ImageProcessor.fromConfig(pkg.preprocessorConfig);
    const images = heldOutSet(31, 1).slice(0, 4);
    const batch = processor.preprocessBatch(
      images.map((im) => ({ data: im.rgb, width: im.width, height: im.height })),
    );
    const model = await CLIPVisionModelWithProjection.from_pretrained(FOLDER, { dtype: 'fp32' });
    const { image_embeds } = await model({
      pixel_values: new Tensor('float32', batch.data, [...batch.dims]),
    });
    const peer = image_embeds.tolist() as number[][];
    const vision = await clip.loader.session('vision_model');
    const { Tensor: OrtTensor } = await import('onnxruntime-node');
    const out = await vision.run({ pixel_values: new OrtTensor('float32', batch.data, [...batch.dims]) });
    const data = out.image_embeds!.data as Float32Array;
    const d = data.length / images.length;
    for (let i = 0; i < images.length; i++) {
      expect(cosine(peer[i]!, data.subarray(i * d, (i + 1) * d))).toBeGreaterThanOrEqual(0.9999);
    }
    await model.dispose();
  });
});
