/**
 * OpenAI's names for what a generation result means, for JSON that mirrors OpenAI concepts
 * (the CLI's --json, the server): `finish_reason` "stop" | "length" and `usage` in tokens.
 */
import type { TokenUsage } from './generate.js';
import type { FinishReason } from './loop.js';

export type OpenAiFinishReason = 'stop' | 'length';

/** An end-of-sequence token or a stop string is "stop"; running out of tokens or context is "length". */
export function openAiFinishReason(reason: FinishReason): OpenAiFinishReason {
  return reason === 'eos' || reason === 'stop_string' ? 'stop' : 'length';
}

export interface OpenAiUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  /** Prompt tokens whose KV cache was reused (OpenAI's cached_tokens). */
  readonly prompt_tokens_details: { readonly cached_tokens: number };
}

export function openAiUsage(u: TokenUsage): OpenAiUsage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.generatedTokens,
    total_tokens: u.promptTokens + u.generatedTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
  };
}
