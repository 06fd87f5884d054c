/**
 * BLIP-2 as Hugging Face's Blip2ForConditionalGeneration generates: the projected query tokens
 * (cached by image content) go first, then the tokenized prompt (OPT's tokenizer starts it with
 * its BOS), and the decoder-only language model continues from there — the LLaVA path's
 * decoder loop on `inputs_embeds`. A question is asked through a prompt
 * ("Question: {question} Answer:", the BLIP-2 paper's format; `questionTemplate` changes it).
 */
import { CausalDecoder } from '../../generation/decoder.js';
import { scatterFeatures, TokenEmbedder } from '../../generation/inputs-embeds.js';
import type { ResolvedGeneration } from '../../generation/options.js';
import type { OrtModule } from '../../host/host.js';
import type { ComponentSessions } from '../../runtime/component-sessions.js';
import type { TextTokenizer } from '../../text/tokenizer.js';
import type { Blip2Config, ImageToTextTask } from './config.js';
import type { CachedImageEncoder } from './encoders.js';
import {
  type EngineRow,
  type EngineRun,
  generateRows,
  type ImageToTextEngine,
  lazy,
  leftPad,
} from './engine.js';

export interface Blip2EngineParts {
  readonly ort: OrtModule;
  readonly sessions: ComponentSessions;
  readonly config: Blip2Config;
  readonly tokenizer: TextTokenizer;
  readonly images: CachedImageEncoder;
  readonly padId: number;
  /** `{question}` is replaced by the question. */
  readonly questionTemplate: string;
}

export class Blip2Engine implements ImageToTextEngine {
  readonly config: Blip2Config;
  readonly images: CachedImageEncoder;
  private readonly embedder: TokenEmbedder;
  private readonly decoder = lazy(async () => {
    const { ort, sessions, config } = this.parts;
    return new CausalDecoder(ort, await sessions.session('decoder_model_merged'), {
      heads: config.kvHeads,
      headDim: config.headDim,
    });
  });

  constructor(private readonly parts: Blip2EngineParts) {
    this.config = parts.config;
    this.images = parts.images;
    this.embedder = new TokenEmbedder(
      parts.ort,
      () => parts.sessions.session('embed_tokens'),
      undefined,
      parts.padId,
    );
  }

  get decoderCreated(): boolean {
    return this.decoder.started;
  }

  async reusesCrossAttention(): Promise<boolean> {
    return false;
  }

  /** The prompt's ids as the processor makes them; an empty prompt is the BOS alone. */
  private promptIds(task: ImageToTextTask, text: string): number[] {
    const prompt = task === 'caption' ? text : this.parts.questionTemplate.replaceAll('{question}', text);
    const ids = this.parts.tokenizer.encode(prompt, true);
    return ids.length > 0 ? ids : [this.config.bosId];
  }

  async run(
    task: ImageToTextTask,
    rows: readonly EngineRow[],
    options: ResolvedGeneration,
    startedAt: number,
    emit?: (row: number, delta: string) => void,
  ): Promise<EngineRun> {
    const { tokenizer, config, padId } = this.parts;
    const batch = rows.length;
    const nq = config.queryTokens;
    const t0 = performance.now();
    const feats = await this.images.get(rows.map((r) => r.image));
    const encoderMs = feats.encoded === 0 ? 0 : performance.now() - t0;
    const texts = rows.map((r) => this.promptIds(task, r.text));
    // Query positions first, then the prompt: [q_1 .. q_n, bos, prompt...], left-padded.
    const { ids, mask, width } = leftPad(
      texts.map((t) => [...new Array<number>(nq).fill(padId), ...t]),
      padId,
    );
    const decoder = await this.decoder.get();
    const { data: embeds, hidden } = await this.embedder.embed(ids, batch, width);
    texts.forEach((t, r) => {
      const length = nq + t.length;
      scatterFeatures(
        embeds,
        hidden,
        (r * width + width - length) * hidden,
        0,
        length,
        [{ start: 0, length: nq, image: 0 }],
        [feats.values[r]],
      );
    });
    return generateRows(
      task,
      tokenizer,
      texts,
      {
        decoder,
        request: {
          batch,
          tokens: { kind: 'embeds', data: embeds },
          newLength: width,
          newMask: mask,
          cache: decoder.emptyCache(batch),
          contextIds: texts,
        },
        options,
        next: async (next) => ({ kind: 'embeds', data: (await this.embedder.embed(next, batch, 1)).data }),
        startedAt,
        promptTokens: texts.map((t) => nq + t.length),
        ...(emit && { emit }),
      },
      { fromCache: feats.fromCache, encoded: feats.encoded, encoderMs },
    );
  }
}
