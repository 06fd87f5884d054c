/**
 * Text tokenization on top of @huggingface/tokenizers: that library turns one string into ids;
 * this module adds what models need around it — batches, padding, truncation that keeps the
 * closing special tokens (CLIP pools at EOS; dropping it silently breaks the embedding), and
 * int64 tensors' data.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError, ModelPackageError } from '../errors.js';

type Json = Record<string, unknown>;

/**
 * What mmrt uses of @huggingface/tokenizers' `Tokenizer`, declared here so that library's
 * types stay out of mmrt's published ones (they do not resolve under `moduleResolution:
 * nodenext`, so a consumer without `skipLibCheck` would fail to typecheck).
 */
export interface TokenizerBackend {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_added_tokens_decoder(): Map<number, { special: boolean }>;
}

export type Padding = 'longest' | 'max_length' | 'none';

export interface EncodeOptions {
  /** 'longest' (default) pads to the longest text in the batch; 'max_length' to `maxLength`. */
  padding?: Padding;
  /** Defaults to the tokenizer's model_max_length (capped by the model's positions). */
  maxLength?: number;
  /** Truncate texts over `maxLength` (default true); false makes such a text an error. */
  truncation?: boolean;
  addSpecialTokens?: boolean;
  /** Called once per truncated text; defaults to no-op (callers surface it as a warning). */
  onWarning?: (message: string) => void;
}

export interface EncodedBatch {
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly dims: readonly [number, number];
  /** Unpadded length of each row. */
  readonly lengths: readonly number[];
  /** Indices of texts that were truncated. */
  readonly truncated: readonly number[];
}

function specialTokenId(tok: TokenizerBackend, value: unknown): number | undefined {
  const text = typeof value === 'string' ? value : (value as { content?: unknown } | undefined)?.content;
  return typeof text === 'string' ? tok.token_to_id(text) : undefined;
}

export class TextTokenizer {
  readonly maxLength: number;
  readonly padId: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padSide: 'left' | 'right';
  private readonly specialIds: ReadonlySet<number>;

  constructor(
    readonly tokenizer: TokenizerBackend,
    readonly tokenizerConfig: Json,
    options: { maxPositions?: number; padSide?: 'left' | 'right' } = {},
  ) {
    const declared = Number(tokenizerConfig.model_max_length);
    // HF writes 1e30 for "unlimited"; the model's position table is the real bound then.
    const fromTokenizer = Number.isFinite(declared) && declared > 0 && declared < 1e9 ? declared : undefined;
    this.maxLength = Math.min(
      fromTokenizer ?? Number.POSITIVE_INFINITY,
      options.maxPositions ?? Number.POSITIVE_INFINITY,
    );
    if (!Number.isFinite(this.maxLength)) this.maxLength = 512;
    this.eosId = specialTokenId(tokenizer, tokenizerConfig.eos_token);
    this.bosId = specialTokenId(tokenizer, tokenizerConfig.bos_token);
    this.padId = specialTokenId(tokenizer, tokenizerConfig.pad_token) ?? this.eosId ?? 0;
    this.padSide = options.padSide ?? (tokenizerConfig.padding_side === 'left' ? 'left' : 'right');
    this.specialIds = new Set(
      [...tokenizer.get_added_tokens_decoder().entries()].filter(([, t]) => t.special).map(([id]) => id),
    );
  }

  static fromJson(
    tokenizerJson: Json,
    tokenizerConfig: Json,
    options: { maxPositions?: number; padSide?: 'left' | 'right'; source?: string } = {},
  ): TextTokenizer {
    const model = (tokenizerJson as { model?: unknown }).model;
    if (!model || typeof model !== 'object' || typeof (model as { type?: unknown }).type !== 'string') {
      throw new ModelPackageError(
        'MODEL_CONFIG_INVALID',
        `${options.source ?? 'tokenizer.json'} has no tokenizer model (its "model" is ${JSON.stringify(model) ?? 'missing'})`,
        {
          value: options.source ?? 'tokenizer.json',
          valid: 'a Hugging Face tokenizers file with "model": { "type": "BPE" | "WordPiece" | ... }',
        },
      );
    }
    let backend: TokenizerBackend;
    try {
      backend = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new ModelPackageError(
        'MODEL_CONFIG_INVALID',
        `${options.source ?? 'tokenizer.json'} cannot be used: ${(e as Error).message}`,
        { value: options.source ?? 'tokenizer.json' },
        { cause: e },
      );
    }
    return new TextTokenizer(backend, tokenizerConfig, options);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** Ids of one text with the post-processor's special tokens (unless disabled). */
  encode(text: string, addSpecialTokens = true): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: ArrayLike<number | bigint>, skipSpecialTokens = true): string {
    const list = Array.from(ids, (v) => Number(v));
    return this.tokenizer.decode(list, { skip_special_tokens: skipSpecialTokens });
  }

  /** Keep the leading and trailing special tokens and cut the middle (content) to fit. */
  private truncate(ids: number[], maxLength: number): number[] {
    let tail = 0;
    while (tail < ids.length && this.isSpecial(ids[ids.length - 1 - tail]!)) tail++;
    tail = Math.min(tail, maxLength);
    return [...ids.slice(0, maxLength - tail), ...ids.slice(ids.length - tail)];
  }

  encodeBatch(texts: readonly string[], opts: EncodeOptions = {}): EncodedBatch {
    if (texts.length === 0) throw new InputError('INPUT_INVALID', 'no texts to encode', { value: texts });
    const maxLength = opts.maxLength ?? this.maxLength;
    const padding = opts.padding ?? 'longest';
    const truncated: number[] = [];
    const rows = texts.map((text, i) => {
      if (typeof text !== 'string') {
        throw new InputError('INPUT_INVALID', `text ${i} is not a string`, { value: text, index: i });
      }
      const ids = this.encode(text, opts.addSpecialTokens ?? true);
      if (ids.length <= maxLength) return ids;
      if (opts.truncation === false) {
        throw new InputError(
          'INPUT_INVALID',
          `text ${i} is ${ids.length} tokens, over the model's maximum of ${maxLength}`,
          { value: text.slice(0, 80), index: i, valid: `at most ${maxLength} tokens` },
        );
      }
      truncated.push(i);
      opts.onWarning?.(
        `text ${i} ("${text.slice(0, 40)}${text.length > 40 ? '…' : ''}") is ${ids.length} tokens; truncated to the model's maximum of ${maxLength}`,
      );
      return this.truncate(ids, maxLength);
    });
    const width = padding === 'max_length' ? maxLength : Math.max(...rows.map((r) => r.length));
    const n = rows.length;
    const inputIds = new BigInt64Array(n * width).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(n * width);
    rows.forEach((ids, r) => {
      const offset = r * width + (this.padSide === 'left' ? width - ids.length : 0);
      for (let j = 0; j < ids.length; j++) {
        inputIds[offset + j] = BigInt(ids[j]!);
        attentionMask[offset + j] = 1n;
      }
    });
    return { inputIds, attentionMask, dims: [n, width], lengths: rows.map((r) => r.length), truncated };
  }
}
