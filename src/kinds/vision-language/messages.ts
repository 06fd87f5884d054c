/**
 * Chat messages as callers write them: user turns may mix text and images (an image part
 * carries the image itself, so "an image placeholder without an image" cannot be written);
 * system and assistant turns are text.
 */
import { InputError } from '../../errors.js';
import type { ImageInput } from '../../media/input.js';

export type ContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image'; readonly image: ImageInput };

export type ChatMessage =
  | { readonly role: 'user'; readonly content: string | readonly ContentPart[] }
  | { readonly role: 'assistant' | 'system'; readonly content: string };

/** The shape chat templates expect (Hugging Face's): images as bare `{type: 'image'}` markers. */
export type TemplateMessage = {
  readonly role: string;
  readonly content: string | ReadonlyArray<{ type: 'image' } | { type: 'text'; text: string }>;
};

const ROLES = ['user', 'assistant', 'system'] as const;

/** Throws an InputError naming the first malformed message or part. */
export function validateMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InputError('INPUT_INVALID', 'a chat needs at least one message', { value: messages });
  }
  messages.forEach((m, i) => {
    if (!m || typeof m !== 'object' || !(ROLES as readonly string[]).includes(m.role)) {
      throw new InputError('INPUT_INVALID', `message ${i} has no valid role`, {
        value: m?.role,
        valid: ROLES,
        index: i,
      });
    }
    if (typeof m.content === 'string') return;
    if (m.role !== 'user' || !Array.isArray(m.content)) {
      throw new InputError(
        'INPUT_INVALID',
        `message ${i} (${m.role}) must have string content${m.role === 'user' ? ' or a list of parts' : ''}`,
        {
          value: m.content,
          index: i,
        },
      );
    }
    (m.content as readonly ContentPart[]).forEach((p: ContentPart, j: number) => {
      if (p?.type === 'text' && typeof p.text === 'string') return;
      if (p?.type === 'image') {
        if (p.image === undefined || p.image === null || p.image === '') {
          throw new InputError('INPUT_INVALID', `message ${i} part ${j} is an image part without an image`, {
            value: p,
            index: i,
            valid: 'a file path, URL, bytes or decoded pixels in `image`',
          });
        }
        return;
      }
      throw new InputError('INPUT_INVALID', `message ${i} part ${j} is not a text or image part`, {
        value: p,
        index: i,
        valid: ["{ type: 'text', text }", "{ type: 'image', image }"],
      });
    });
  });
}

/** Images in prompt order: the order their tokens appear in the rendered prompt. */
export function imagesOf(messages: readonly ChatMessage[]): ImageInput[] {
  const out: ImageInput[] = [];
  for (const m of messages) {
    if (typeof m.content === 'string') continue;
    for (const p of m.content) if (p.type === 'image') out.push(p.image);
  }
  return out;
}

export function toTemplateMessages(messages: readonly ChatMessage[]): TemplateMessage[] {
  return messages.map((m) => ({
    role: m.role,
    content:
      typeof m.content === 'string'
        ? m.content
        : m.content.map((p) =>
            p.type === 'image' ? { type: 'image' as const } : { type: 'text' as const, text: p.text },
          ),
  }));
}

/** A user turn about one image: the image first, then the question (LLaVA's training order). */
export function userTurn(question: string, images: readonly ImageInput[] = []): ChatMessage {
  return {
    role: 'user',
    content: [
      ...images.map((image) => ({ type: 'image' as const, image })),
      { type: 'text' as const, text: question },
    ],
  };
}
