/**
 * The runtime behind a message channel (a dedicated worker in browsers, a worker thread in
 * Node): load a model with progress, classify, embed, ask or chat with streamed tokens, abort,
 * dispose. Host-free types; the same envelope as the session protocol (`runtime/remote-ort.ts`):
 * numbered requests, `{ id, ok, value | error }` replies, over a `MessageChannelEnd`, plus
 * `{ id, event }` messages for what a request reports while it runs.
 */
import type { ErrorCode } from '../errors.js';
import type { GenerationOptions } from '../generation/options.js';
import type { HostCapabilities } from '../host/capabilities.js';
import type { LabelScore } from '../kinds/dual-encoder/model.js';
import type { ChatMessage } from '../kinds/vision-language/messages.js';
import type { PlatformFallback } from '../loader/placement.js';
import type { ComponentTiming, LoadProgress } from '../loader/types.js';
import type { ImageInput, ImageOptions } from '../media/input.js';
import type { PlatformName } from '../runtime/providers.js';

/** Which load function the worker calls. */
export type RemoteModelKind = 'clip' | 'llava';

export interface RemoteLoadOptions {
  /** A URL of a model folder, a path on the site, or a hub id. */
  readonly model: string;
  readonly kind: RemoteModelKind;
  readonly platform?: PlatformName | 'auto';
  readonly candidates?: readonly PlatformName[];
  /** Planning settings, as for `loadClip` (plain data). */
  readonly config?: unknown;
  /** Create every component now (so each badge names the provider that really runs it). */
  readonly preload?: boolean;
  readonly images?: ImageOptions;
}

/** Generation options that cross a channel: plain data (abort is a message, not a signal). */
export type RemoteGeneration = Omit<GenerationOptions, 'signal' | 'onLogits'>;

export type RuntimeRequest =
  | { id: number; op: 'detect' }
  | { id: number; op: 'load'; options: RemoteLoadOptions }
  | { id: number; op: 'info'; model: string }
  | {
      id: number;
      op: 'classify';
      model: string;
      images: ImageInput[];
      labels: string[];
      template?: string;
      topK?: number;
    }
  | { id: number; op: 'embed'; model: string; images?: ImageInput[]; texts?: string[]; normalize?: boolean }
  | {
      id: number;
      op: 'ask';
      model: string;
      /** One image and a question, or a whole chat. */
      image?: ImageInput;
      question?: string;
      messages?: ChatMessage[];
      generation?: RemoteGeneration;
    }
  | {
      id: number;
      op: 'chat';
      model: string;
      /** A conversation the worker keeps (its KV cache too), created on first use. */
      conversation: string;
      content: string;
      images?: ImageInput[];
      system?: string;
      generation?: RemoteGeneration;
    }
  | { id: number; op: 'end-chat'; model: string; conversation: string }
  | { id: number; op: 'abort'; target: number }
  | { id: number; op: 'dispose'; model: string };

export type RuntimeCall = RuntimeRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, 'id'>
    : never
  : never;

export type RuntimeEvent =
  | { readonly kind: 'progress'; readonly progress: LoadProgress }
  /** The runtime's own files (onnxruntime-web's binaries) coming in. */
  | {
      readonly kind: 'runtime-progress';
      readonly file: string;
      readonly loaded: number;
      readonly total: number | undefined;
    }
  | { readonly kind: 'warning'; readonly message: string }
  | { readonly kind: 'token'; readonly text: string };

export interface WireError {
  readonly name: string;
  readonly code?: ErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

export type RuntimeReply =
  | { readonly id: number; readonly ok: true; readonly value?: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly id: number; readonly event: RuntimeEvent };

/** Where one component runs, as the page shows it. */
export interface RemoteComponent {
  readonly name: string;
  readonly platform: string;
  /** The session's execution providers once it exists, else the plan's. */
  readonly providers: readonly string[];
  readonly created: boolean;
  readonly precision: string;
}

/** What a load (or `info`) reports about a model in the worker. */
export interface RemoteModelInfo {
  readonly handle: string;
  readonly family: string;
  readonly kind: RemoteModelKind;
  /** The platform the plan runs on now (after any fallback). */
  readonly platform: PlatformName;
  readonly components: readonly RemoteComponent[];
  readonly fallbacks: readonly PlatformFallback[];
  readonly warnings: readonly string[];
  readonly explain: string;
  readonly timings: readonly ComponentTiming[];
  /** From the load request to the model being usable. */
  readonly loadMs: number;
}

export interface RemoteAnswer {
  readonly text: string;
  readonly tokenIds: readonly number[];
  readonly finishReason: string;
  readonly timings: Readonly<Record<string, number>>;
}

export type { HostCapabilities, LabelScore };
