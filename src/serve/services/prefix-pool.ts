/**
 * The KV-prefix cache of the chat endpoint. HTTP chat is stateless — every request carries the
 * whole conversation — so the server keeps recent conversations (`Conversation`, with their KV
 * caches) and answers a request on the one whose messages share the longest prefix with it:
 * turn 2 then prefills only what turn 1 did not already hold. The conversation itself keeps
 * what matches token by token (an assistant message a client trimmed costs only its tail) and
 * reuses its decoded images when the message objects are its own (they are substituted here).
 *
 * Bounded: at most `maxEntries` conversations and `maxBytes` of KV cache plus held image bytes;
 * the least recently used go first. A conversation is taken out while it generates, so two
 * requests never share one.
 */
import type { Conversation } from '../../kinds/vision-language/conversation.js';
import type { ChatMessage } from '../../kinds/vision-language/messages.js';
import type { LlavaModel } from '../../kinds/vision-language/model.js';

export interface PrefixPoolLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

interface Entry {
  /** One key per message of the conversation's history (see `messageKey`). */
  readonly keys: readonly string[];
  readonly conversation: Conversation;
  readonly bytes: number;
}

/** A conversation taken out of the pool for one request. */
export interface Lease {
  readonly conversation: Conversation;
  /** The request's messages, those that matched replaced by the conversation's own objects. */
  readonly messages: readonly ChatMessage[];
  /** Messages matched by key. */
  readonly matched: number;
  /** The keys the conversation had (it goes back with them if the request fails). */
  readonly previous: readonly string[];
}

function commonPrefix(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function heldBytes(conversation: Conversation): number {
  let images = 0;
  for (const m of conversation.messages) {
    if (typeof m.content === 'string') continue;
    for (const p of m.content)
      if (p.type === 'image' && p.image instanceof Uint8Array) images += p.image.byteLength;
  }
  return conversation.cachedBytes + images;
}

export class PrefixPool {
  private entries: Entry[] = [];

  constructor(
    private readonly model: LlavaModel,
    private readonly limits: PrefixPoolLimits,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.entries.reduce((n, e) => n + e.bytes, 0);
  }

  /** Messages of `keys` that the best pooled conversation already holds. */
  match(keys: readonly string[]): number {
    let best = 0;
    for (const e of this.entries) best = Math.max(best, commonPrefix(e.keys, keys));
    return best;
  }

  /** The conversation sharing the longest prefix with `keys` (taken out), or a new one. */
  checkout(keys: readonly string[], messages: readonly ChatMessage[]): Lease {
    let best = -1;
    let bestLength = 0;
    this.entries.forEach((e, i) => {
      const n = commonPrefix(e.keys, keys);
      if (n > bestLength) {
        best = i;
        bestLength = n;
      }
    });
    if (best < 0) return { conversation: this.model.conversation(), messages, matched: 0, previous: [] };
    const [entry] = this.entries.splice(best, 1);
    const own = entry!.conversation.messages;
    return {
      conversation: entry!.conversation,
      messages: messages.map((m, i) => (i < bestLength ? own[i]! : m)),
      matched: bestLength,
      previous: entry!.keys,
    };
  }

  /** Put a conversation back (most recently used) under the keys of its history now. */
  checkin(conversation: Conversation, keys: readonly string[]): void {
    if (keys.length === 0 || this.limits.maxEntries === 0) return;
    const bytes = heldBytes(conversation);
    if (bytes > this.limits.maxBytes) return;
    this.entries.push({ keys, conversation, bytes });
    let total = this.bytes;
    while (this.entries.length > this.limits.maxEntries || total > this.limits.maxBytes) {
      total -= this.entries.shift()!.bytes;
    }
  }

  clear(): void {
    this.entries = [];
  }
}
