/**
 * POST /v1/chat/completions — OpenAI's chat completions for vision-language models: messages
 * with `image_url` parts (data URIs, raw base64, or allowed URLs), `stream: true` as server-sent
 * events (`stream_options.include_usage` adds the usage chunk), `max_tokens` /
 * `max_completion_tokens`, `temperature` (0 = greedy), `top_p`, `stop`, `seed`, and vLLM's
 * `top_k`, `min_tokens`, `repetition_penalty`. `usage.prompt_tokens_details.cached_tokens`
 * tells how much of the prompt came from the KV-prefix cache.
 */
import { InputError } from '../../errors.js';
import type { FinishReason } from '../../generation/loop.js';
import type { GenerationOptions } from '../../generation/options.js';
import type { SamplingOptions } from '../../generation/sampling.js';
import type { ChatResult } from '../../kinds/vision-language/engine.js';
import type { ChatMessage, ContentPart } from '../../kinds/vision-language/messages.js';
import { readPart } from '../images.js';
import { field, randomId } from '../request.js';
import type { ChatJob, ChatService } from '../services/chat.js';
import { type RouteContext, resolveImages } from './context.js';

const ROLES = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' } as const;

export interface ParsedChat {
  readonly model: unknown;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly options: GenerationOptions;
}

/** OpenAI's finish reasons: a stop token or stop string is "stop", running out of room is "length". */
export function finishReason(r: FinishReason): 'stop' | 'length' {
  return r === 'eos' || r === 'stop_string' ? 'stop' : 'length';
}

function unsupported(param: string, why: string): InputError {
  return new InputError('INPUT_INVALID', `"${param}" ${why}`, { param });
}

/** Generation settings from the OpenAI fields (and vLLM's extras). */
export function chatOptions(b: Record<string, unknown>): ParsedChat {
  field.int(b, 'n', 1, 1);
  for (const p of ['frequency_penalty', 'presence_penalty'] as const) {
    if (b[p] !== undefined && b[p] !== null && b[p] !== 0) throw unsupported(p, 'is not supported (only 0)');
  }
  if (b.logprobs === true) throw unsupported('logprobs', 'is not supported');
  if (Array.isArray(b.tools) && b.tools.length > 0) throw unsupported('tools', 'are not supported');
  const format = (b.response_format as { type?: unknown } | undefined)?.type;
  if (format !== undefined && format !== 'text') throw unsupported('response_format', 'can only be "text"');
  const maxTokens = field.int(b, 'max_completion_tokens', 1) ?? field.int(b, 'max_tokens', 1);
  const temperature = field.number(b, 'temperature', 0, 2);
  const topP = field.number(b, 'top_p', 0, 1, true);
  const topK = field.int(b, 'top_k', 0);
  const seed = field.int(b, 'seed', Number.MIN_SAFE_INTEGER);
  const minTokens = field.int(b, 'min_tokens', 0);
  const repetitionPenalty = field.number(b, 'repetition_penalty', 0, 10, true);
  const stop = b.stop === undefined || b.stop === null ? [] : Array.isArray(b.stop) ? b.stop : [b.stop];
  if (stop.length > 16 || stop.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new InputError('INPUT_INVALID', '"stop" must be a non-empty string or a list of up to 16', {
      param: 'stop',
      value: b.stop,
    });
  }
  // temperature 0 is greedy; any other sampling field asks for sampling; none: the model's defaults.
  let sampling: SamplingOptions | false | undefined;
  if (temperature === 0) sampling = false;
  else if (temperature !== undefined || topP !== undefined || topK !== undefined) {
    sampling = {
      ...(temperature !== undefined && { temperature }),
      ...(topP !== undefined && { topP }),
      ...(topK !== undefined && { topK }),
      ...(seed !== undefined && { seed }),
    };
  }
  const stream = b.stream === true;
  const includeUsage =
    stream && (b.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  return {
    model: b.model,
    stream,
    includeUsage,
    options: {
      ...(maxTokens !== undefined && { maxNewTokens: maxTokens }),
      ...(minTokens !== undefined && { minNewTokens: minTokens }),
      ...(repetitionPenalty !== undefined && { repetitionPenalty }),
      ...(stop.length > 0 && { stopStrings: stop as string[] }),
      ...(sampling !== undefined && { sampling }),
    },
  };
}

interface RawMessage {
  readonly role: ChatMessage['role'];
  readonly parts: ReturnType<typeof readPart>[];
}

function readMessages(value: unknown): RawMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InputError('INPUT_INVALID', '"messages" must be a non-empty list', { param: 'messages' });
  }
  return value.map((m, i) => {
    const param = `messages[${i}]`;
    const role = ROLES[(m as { role?: string })?.role as keyof typeof ROLES];
    if (!role) {
      throw new InputError('INPUT_INVALID', `${param}.role must be system, developer, user or assistant`, {
        param: `${param}.role`,
        value: (m as { role?: unknown })?.role,
        valid: Object.keys(ROLES),
      });
    }
    const content = (m as { content?: unknown }).content;
    const parts =
      typeof content === 'string'
        ? [{ type: 'text' as const, text: content }]
        : Array.isArray(content)
          ? content.map((p, j) => readPart(p, `${param}.content[${j}]`))
          : undefined;
    if (!parts) {
      throw new InputError('INPUT_INVALID', `${param}.content must be a string or a list of content parts`, {
        param: `${param}.content`,
      });
    }
    if (role !== 'user' && parts.some((p) => p.type === 'image')) {
      throw new InputError('INPUT_INVALID', `${param}: only user messages can carry images`, { param });
    }
    return { role, parts };
  });
}

/** The chat as the model takes it (images as bytes) and one prefix-matching key per message. */
async function toChat(
  raw: readonly RawMessage[],
  ctx: RouteContext,
  signal: AbortSignal,
): Promise<{ messages: ChatMessage[]; keys: string[] }> {
  const refs: Array<{ ref: string; param: string }> = [];
  raw.forEach((m, i) => {
    m.parts.forEach((p, j) => {
      if (p.type === 'image') refs.push({ ref: p.ref, param: `messages[${i}].content[${j}]` });
    });
  });
  const images = await resolveImages(ctx, refs, signal);
  let k = 0;
  const messages: ChatMessage[] = [];
  const keys: string[] = [];
  for (const m of raw) {
    const key: string[] = [];
    if (m.role === 'user' && m.parts.some((p) => p.type === 'image')) {
      const content: ContentPart[] = m.parts.map((p) => {
        if (p.type === 'text') {
          key.push(`t:${p.text}`);
          return p;
        }
        const image = images[k++]!;
        key.push(`i:${image.key}`);
        return { type: 'image', image: image.bytes };
      });
      messages.push({ role: 'user', content });
    } else {
      const text = m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
      key.push(`t:${text}`);
      messages.push({ role: m.role, content: text } as ChatMessage);
    }
    keys.push(JSON.stringify([m.role, ...key]));
  }
  if (messages[messages.length - 1]!.role !== 'user') {
    throw new InputError('INPUT_INVALID', 'the last message must be from the user', {
      param: `messages[${messages.length - 1}].role`,
    });
  }
  return { messages, keys };
}

export function usageOf(r: ChatResult) {
  return {
    prompt_tokens: r.usage.promptTokens,
    completion_tokens: r.usage.generatedTokens,
    total_tokens: r.usage.promptTokens + r.usage.generatedTokens,
    prompt_tokens_details: { cached_tokens: r.usage.cachedTokens },
  };
}

/** A prepared chat request: the job to queue and how to shape its answers. */
export interface ChatCall {
  readonly modelId: string;
  readonly parsed: ParsedChat;
  readonly job: Omit<ChatJob, 'onDelta'>;
  readonly service: ChatService;
  readonly id: string;
  readonly created: number;
}

export async function prepareChat(body: unknown, ctx: RouteContext, signal: AbortSignal): Promise<ChatCall> {
  const b = field.object(body);
  const parsed = chatOptions(b);
  const served = ctx.models.find(parsed.model, 'chat');
  const raw = readMessages(b.messages);
  const { messages, keys } = await toChat(raw, ctx, signal);
  return {
    modelId: served.id,
    parsed,
    job: { messages, keys, options: parsed.options, signal },
    service: served.services.chat!,
    id: randomId('chatcmpl'),
    created: Math.floor(Date.now() / 1000),
  };
}

export function completion(call: ChatCall, r: ChatResult) {
  return {
    id: call.id,
    object: 'chat.completion',
    created: call.created,
    model: call.modelId,
    system_fingerprint: 'mmrt',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: r.text, refusal: null },
        logprobs: null,
        finish_reason: finishReason(r.finishReason),
      },
    ],
    usage: usageOf(r),
  };
}

/** One `chat.completion.chunk` of a stream. */
export function chunk(
  call: ChatCall,
  delta: { role?: 'assistant'; content?: string },
  finish: 'stop' | 'length' | null,
  usage?: ReturnType<typeof usageOf>,
) {
  return {
    id: call.id,
    object: 'chat.completion.chunk',
    created: call.created,
    model: call.modelId,
    system_fingerprint: 'mmrt',
    choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(usage && { usage }),
  };
}
