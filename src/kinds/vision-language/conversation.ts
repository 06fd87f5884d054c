/**
 * A multi-turn chat that keeps the decoder's KV cache between turns, so turn N prefills only
 * what is new (the previous answer's tail, the template's glue and the new question).
 *
 * Invalidation policy: the cache is kept up to the first position where the new prompt
 * differs from what the cache holds — a different token id, or an image token whose picture
 * changed — and recomputed from there. Editing or removing an earlier message therefore costs
 * a prefill from that message on, and nothing before it. This is exact for causal decoders
 * (a position's keys and values depend only on earlier positions).
 */
import { InputError } from '../../errors.js';
import type { KvCache } from '../../generation/kv-cache.js';
import type { GenerationOptions } from '../../generation/options.js';
import { TextStream } from '../../generation/text-stream.js';
import type { ChatResult, LlavaEngine } from './engine.js';
import type { PreparedImage } from './images.js';
import type { ImageInput } from '../../media/input.js';
import { type ChatMessage, type ContentPart, validateMessages } from './messages.js';
import type { PromptPlan } from './prompt.js';

interface KvState {
  /** Token ids whose keys/values the cache holds, position by position. */
  readonly ids: readonly number[];
  /** Where images sit in `ids`, with the content key of each. */
  readonly images: ReadonlyArray<{ readonly start: number; readonly length: number; readonly key: string }>;
  readonly cache: KvCache;
}

export interface ConversationOptions {
  /** A system message to start with (kept by reset()). */
  readonly system?: string;
  /** Defaults for every turn; a turn's own options override them. */
  readonly generation?: GenerationOptions;
}

/** Positions of `plan` whose cache `state` can give, never all of them (one must be run for logits). */
export function reusablePrefix(
  state: KvState | undefined,
  plan: PromptPlan,
  images: readonly PreparedImage[],
): number {
  if (!state) return 0;
  const n = Math.min(state.ids.length, plan.ids.length);
  let same = 0;
  while (same < n && state.ids[same] === plan.ids[same]) same++;
  for (const old of state.images) {
    if (old.start >= same) continue;
    const now = plan.spans.find((s) => s.start === old.start);
    if (!now || now.length !== old.length || images[now.image]!.key !== old.key)
      same = Math.min(same, old.start);
  }
  return Math.min(same, plan.ids.length - 1);
}

export class Conversation {
  private history: ChatMessage[] = [];
  private state: KvState | undefined;
  private busy = false;
  /** One decode/preprocess per image part for the conversation's lifetime. */
  private readonly prepared = new WeakMap<object, Promise<PreparedImage>>();

  constructor(
    private readonly engine: LlavaEngine,
    private readonly options: ConversationOptions = {},
  ) {
    this.reset();
  }

  get messages(): readonly ChatMessage[] {
    return this.history;
  }

  /** Positions currently held in the KV cache. */
  get cachedTokens(): number {
    return this.state?.cache.length ?? 0;
  }

  /** Bytes the KV cache holds (for callers that bound a pool of conversations). */
  get cachedBytes(): number {
    return this.state?.cache.bytes ?? 0;
  }

  /**
   * Ask the next question. `content` is the user's text, or parts; `images` are put before the
   * text. The answer is appended to the history when generation succeeds; on failure the
   * history is as before.
   */
  send(
    content: string | readonly ContentPart[],
    options: GenerationOptions & { images?: readonly ImageInput[] } = {},
  ): TextStream<ChatResult> {
    const startedAt = performance.now();
    const { images = [], ...genOptions } = options;
    const parts: ContentPart[] =
      typeof content === 'string'
        ? [
            ...images.map((image) => ({ type: 'image' as const, image })),
            { type: 'text' as const, text: content },
          ]
        : [...images.map((image) => ({ type: 'image' as const, image })), ...content];
    const message: ChatMessage = {
      role: 'user',
      content: parts.length === 1 && parts[0]!.type === 'text' ? parts[0]!.text : parts,
    };
    return this.turn(() => [...this.history, message], genOptions, startedAt);
  }

  /**
   * Answer a whole chat given by the caller (an HTTP client's `messages`), which need not
   * extend this conversation's history: the KV cache is kept up to the first token where the
   * new prompt differs and recomputed from there, as after an edit. On success the history
   * becomes `messages` plus the answer. The conversation's `system` option does not apply:
   * `messages` is the whole chat. An image part that is the same object as one of the history
   * (`this.messages`) is not decoded again.
   */
  reply(messages: readonly ChatMessage[], options: GenerationOptions = {}): TextStream<ChatResult> {
    const startedAt = performance.now();
    return this.turn(() => [...messages], options, startedAt);
  }

  private turn(
    messagesOf: () => ChatMessage[],
    genOptions: GenerationOptions,
    startedAt: number,
  ): TextStream<ChatResult> {
    return new TextStream<ChatResult>(async (emit) => {
      if (this.busy)
        throw new InputError('INPUT_INVALID', 'a turn is still being generated in this conversation', {
          hint: 'await the previous turn first',
        });
      this.busy = true;
      try {
        const messages = messagesOf();
        validateMessages(messages);
        const t0 = performance.now();
        const images = await this.prepareAll(messages, genOptions.signal);
        const preprocessMs = performance.now() - t0;
        const plan = this.engine.plan(messages, images);
        const reuse = reusablePrefix(this.state, plan, images);
        const ort = this.engine.parts.ort;
        const past = reuse > 0 ? (await this.state!.cache.toHost(ort)).truncate(ort, reuse) : undefined;
        const { results, outcome } = await this.engine.run(
          [{ plan, images, ...(past ? { past } : {}) }],
          { ...this.options.generation, ...genOptions },
          startedAt,
          preprocessMs,
          (_row, delta) => emit(delta),
        );
        const result = results[0]!;
        this.history = [...messages, { role: 'assistant', content: result.text }];
        this.state?.cache.dispose();
        // The cache now covers the prompt and every generated token but the last.
        this.state = {
          ids: [...plan.ids, ...result.tokenIds.slice(0, -1)],
          images: plan.spans.map((s) => ({ start: s.start, length: s.length, key: images[s.image]!.key })),
          cache: outcome.cache,
        };
        return result;
      } finally {
        this.busy = false;
      }
    });
  }

  /** Replace message `index`; the cache is recomputed from the first token that changes. */
  edit(index: number, message: ChatMessage): void {
    this.checkIndex(index);
    validateMessages([message]);
    this.history = this.history.map((m, i) => (i === index ? message : m));
  }

  /** Remove message `index` (and nothing else). */
  remove(index: number): void {
    this.checkIndex(index);
    this.history = this.history.filter((_, i) => i !== index);
  }

  /** Keep only the first `count` messages. */
  truncate(count: number): void {
    this.history = this.history.slice(0, Math.max(0, count));
  }

  /** Back to the system message alone; frees the cache. */
  reset(): void {
    this.history = this.options.system ? [{ role: 'system', content: this.options.system }] : [];
    this.state?.cache.dispose();
    this.state = undefined;
  }

  private checkIndex(index: number): void {
    if (!(Number.isInteger(index) && index >= 0 && index < this.history.length)) {
      throw new InputError(
        'INPUT_INVALID',
        `no message ${index} in a conversation of ${this.history.length}`,
        {
          value: index,
          valid: `0..${this.history.length - 1}`,
        },
      );
    }
  }

  private async prepareAll(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<PreparedImage[]> {
    const parts: Array<Extract<ContentPart, { type: 'image' }>> = [];
    for (const m of messages)
      if (typeof m.content !== 'string') for (const p of m.content) if (p.type === 'image') parts.push(p);
    const missing = parts.filter((p) => !this.prepared.has(p));
    if (missing.length > 0) {
      const fresh = this.engine.prepareImages(
        missing.map((p) => p.image),
        signal,
      );
      missing.forEach((p, i) => {
        const one = fresh.then((all) => all[i]!);
        one.catch(() => this.prepared.delete(p));
        this.prepared.set(p, one);
      });
    }
    return Promise.all(parts.map((p) => this.prepared.get(p)!));
  }
}
