/**
 * A program written for transformers.js, with its pipeline names, options and result shapes.
 * It is run twice by `transformers-program.test.ts`: with `pipeline`/`env` from
 * `@huggingface/transformers` and from `mmrt`. Nothing else differs: this is the import swap.
 */
// biome-ignore lint/suspicious/noExplicitAny: the program is written against two libraries' types
type Library = { pipeline: (...args: any[]) => Promise<any>; env: any };

export interface ProgramAnswers {
  readonly single: Array<{ score: number; label: string }>;
  readonly batch: Array<Array<{ score: number; label: string }>>;
  readonly features: { dims: number[]; data: number[] };
}

export async function clipProgram(
  { pipeline, env }: Library,
  modelsDir: string,
  images: string[],
  labels: string[],
): Promise<ProgramAnswers> {
  env.allowRemoteModels = false;
  env.localModelPath = modelsDir;

  const classifier = await pipeline('zero-shot-image-classification', 'shapes-clip', {
    device: 'cpu',
    dtype: 'fp32',
  });
  const single = await classifier(images[0], labels);
  const batch = await classifier(images, labels, { hypothesis_template: 'a photo of a {}' });
  await classifier.dispose();

  const extractor = await pipeline('image-feature-extraction', 'shapes-clip', {
    device: 'cpu',
    dtype: 'fp32',
  });
  const features = await extractor(images[0]);
  await extractor.dispose();
  return {
    single,
    batch,
    features: { dims: [...features.dims], data: Array.from(features.data as Float32Array) },
  };
}

/** LLaVA-style chat with the image-text-to-text pipeline (Python transformers' names and shapes). */
export async function chatProgram(
  { pipeline, env }: Library,
  modelsDir: string,
  image: string,
  question: string,
) {
  env.allowRemoteModels = false;
  env.localModelPath = modelsDir;
  const vlm = await pipeline('image-text-to-text', 'shapes-vlm', { device: 'cpu', dtype: 'fp32' });
  const messages = [
    {
      role: 'user',
      content: [
        { type: 'image', image },
        { type: 'text', text: question },
      ],
    },
  ];
  const [out] = await vlm(messages, { max_new_tokens: 16, do_sample: false });
  await vlm.dispose();
  return out.generated_text.at(-1).content as string;
}
