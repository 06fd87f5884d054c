/**
 * The worker side of the runtime protocol: loads models with a host's entry points, answers
 * requests, streams progress and tokens as events, and aborts a request when asked. One
 * server per channel; models are addressed by the handle `load` returned.
 */
import type { ConfigInput } from '../platform/config-keys.js';
import { MmrtError, isMmrtError } from '../errors.js';
import type { LoadedModel } from '../families/family.js';
import type { HostCapabilities } from '../host/capabilities.js';
import type { ClipModel } from '../kinds/dual-encoder/model.js';
import type { Conversation } from '../kinds/vision-language/conversation.js';
import type { LlavaModel } from '../kinds/vision-language/model.js';
import type { HostEntryPoints } from '../load/entry-points.js';
import type { MessageChannelEnd } from '../runtime/remote-ort.js';
import type {
  RemoteAnswer,
  RemoteComponent,
  RemoteLoadOptions,
  RemoteModelInfo,
  RuntimeEvent,
  RuntimeReply,
  RuntimeRequest,
  WireError,
} from './protocol.js';

export interface RuntimeServerOptions<H> {
  /** The host options every load uses (the worker's web host settings). */
  readonly host?: H;
  /** What `detect` answers. */
  readonly detect: () => Promise<HostCapabilities>;
  /** Called with a function that sends an event to whichever request is loading now. */
  readonly onRuntimeEvent?: (send: (event: RuntimeEvent) => void) => void;
}

interface Served {
  readonly model: LoadedModel;
  readonly kind: RemoteLoadOptions['kind'];
  readonly loadMs: number;
  readonly warnings: string[];
  readonly conversations: Map<string, Conversation>;
}

/** Errors as data: the client rethrows them as MmrtError with the same code. */
export function toWireError(e: unknown): WireError {
  if (isMmrtError(e)) {
    let details: Record<string, unknown> | undefined;
    try {
      details = JSON.parse(JSON.stringify(e.details)) as Record<string, unknown>;
    } catch {
      details = undefined;
    }
    return { name: e.name, code: e.code, message: e.message, ...(details && { details }) };
  }
  const err = e as { name?: string; message?: string };
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e) };
}

function components(model: LoadedModel): RemoteComponent[] {
  const loader = model.loader;
  const placement = loader.placement;
  const plan = placement?.plan;
  return [...(plan?.components ?? []), ...(plan?.optional ?? [])].map((c) => {
    const session = loader.readySession(c.name);
    return {
      name: c.name,
      platform: placement?.platformOf(c.name) ?? plan!.platform,
      providers: session ? [...session.providers] : c.providers.map((p) => p.name),
      created: !!session,
      precision: c.precision,
    };
  });
}

export function serveRuntime<H>(
  port: MessageChannelEnd,
  entry: HostEntryPoints<H>,
  options: RuntimeServerOptions<H>,
): void {
  const models = new Map<string, Served>();
  const running = new Map<number, AbortController>();
  let next = 0;
  let loading: number | undefined;
  const send = (m: RuntimeReply, transfer?: ArrayBuffer[]) => {
    try {
      port.send(m, transfer);
    } catch {
      port.send(m);
    }
  };
  const event = (id: number, e: RuntimeEvent) => send({ id, event: e });
  options.onRuntimeEvent?.((e) => {
    if (loading !== undefined) event(loading, e);
  });

  const served = (handle: string): Served => {
    const s = models.get(handle);
    if (!s) {
      throw new MmrtError('INPUT_INVALID', `no model "${handle}" is loaded in this worker`, {
        value: handle,
        valid: [...models.keys()],
      });
    }
    return s;
  };
  const clip = (handle: string) => {
    const s = served(handle);
    if (s.kind !== 'clip')
      throw new MmrtError('INPUT_INVALID', `"${handle}" is not a CLIP model`, { value: handle });
    return s.model as ClipModel;
  };
  const llava = (handle: string) => {
    const s = served(handle);
    if (s.kind !== 'llava')
      throw new MmrtError('INPUT_INVALID', `"${handle}" is not a LLaVA model`, { value: handle });
    return s.model as LlavaModel;
  };
  const info = (handle: string): RemoteModelInfo => {
    const s = served(handle);
    const placement = s.model.loader.placement;
    return {
      handle,
      family: s.model.loader.package.family,
      kind: s.kind,
      platform: placement?.platform ?? 'wasm',
      components: components(s.model),
      fallbacks: placement ? [...placement.fallbacks] : [],
      warnings: [...new Set([...s.warnings, ...s.model.loader.warnings])],
      explain: placement?.explain() ?? '',
      timings: s.model.loader.timings(),
      loadMs: s.loadMs,
    };
  };
  const answer = (r: {
    text: string;
    tokenIds: readonly number[];
    finishReason: string;
    timings: object;
  }): RemoteAnswer => ({
    text: r.text,
    tokenIds: [...r.tokenIds],
    finishReason: r.finishReason,
    timings: { ...(r.timings as Record<string, number>) },
  });

  async function handle(
    m: RuntimeRequest,
    signal: AbortSignal,
  ): Promise<{ value?: unknown; transfer?: ArrayBuffer[] }> {
    switch (m.op) {
      case 'detect':
        return { value: await options.detect() };
      case 'load': {
        const o = m.options;
        const warnings: string[] = [];
        const t0 = performance.now();
        loading = m.id;
        try {
          const common = {
            model: o.model,
            ...(o.platform && { platform: o.platform }),
            ...(o.candidates && { candidates: o.candidates }),
            // Arrives as JSON: the planner validates every key and value (typed errors back).
            ...(o.config !== undefined && o.config !== null && { config: o.config as ConfigInput }),
            ...(o.images && { images: o.images }),
            ...(options.host !== undefined && { host: options.host }),
            signal,
            loading: {
              onProgress: (p: import('../loader/types.js').LoadProgress) =>
                event(m.id, { kind: 'progress', progress: p }),
              ...(o.preload && { preload: true }),
            },
            onWarning: (w: string) => {
              warnings.push(w);
              event(m.id, { kind: 'warning', message: w });
            },
          };
          const model = o.kind === 'clip' ? await entry.loadClip(common) : await entry.loadLlava(common);
          const handle = `${o.kind}-${++next}`;
          models.set(handle, {
            model,
            kind: o.kind,
            loadMs: performance.now() - t0,
            warnings,
            conversations: new Map(),
          });
          return { value: info(handle) };
        } finally {
          loading = undefined;
        }
      }
      case 'info':
        return { value: info(m.model) };
      case 'classify': {
        const scores = await clip(m.model).zeroShot(m.images, m.labels, {
          signal,
          ...(m.template !== undefined && { template: m.template }),
          ...(m.topK !== undefined && { topK: m.topK }),
        });
        return { value: scores };
      }
      case 'embed': {
        const model = clip(m.model);
        const o = { signal, ...(m.normalize !== undefined && { normalize: m.normalize }) };
        const images = m.images?.length ? await model.embedImages(m.images, o) : [];
        const texts = m.texts?.length ? await model.embedTexts(m.texts, o) : [];
        return {
          value: { images, texts },
          transfer: [...images, ...texts].map((a) => a.buffer as ArrayBuffer),
        };
      }
      case 'ask': {
        const model = llava(m.model);
        const g = { ...m.generation, signal };
        const stream =
          m.messages !== undefined ? model.chat(m.messages, g) : model.ask(m.image!, m.question ?? '', g);
        for await (const text of stream) event(m.id, { kind: 'token', text });
        return { value: answer(await stream.result) };
      }
      case 'chat': {
        const s = served(m.model);
        const model = llava(m.model);
        let conversation = s.conversations.get(m.conversation);
        if (!conversation) {
          conversation = model.conversation(m.system !== undefined ? { system: m.system } : {});
          s.conversations.set(m.conversation, conversation);
        }
        const stream = conversation.send(m.content, {
          ...m.generation,
          signal,
          ...(m.images && { images: m.images }),
        });
        for await (const text of stream) event(m.id, { kind: 'token', text });
        return { value: answer(await stream.result) };
      }
      case 'end-chat': {
        const s = served(m.model);
        s.conversations.get(m.conversation)?.reset();
        s.conversations.delete(m.conversation);
        return {};
      }
      case 'abort':
        running.get(m.target)?.abort(new MmrtError('ABORTED', `request ${m.target} was aborted`));
        return {};
      case 'dispose': {
        const s = models.get(m.model);
        if (s) {
          models.delete(m.model);
          for (const c of s.conversations.values()) c.reset();
          await s.model.dispose();
        }
        return {};
      }
    }
  }

  port.onMessage((raw) => {
    const m = raw as RuntimeRequest;
    if (!m || typeof m !== 'object' || typeof m.id !== 'number') return;
    const controller = new AbortController();
    running.set(m.id, controller);
    handle(m, controller.signal)
      .then(
        ({ value, transfer }) =>
          send({ id: m.id, ok: true, ...(value !== undefined && { value }) }, transfer),
        (e: unknown) => send({ id: m.id, ok: false, error: toWireError(e) }),
      )
      .finally(() => running.delete(m.id));
  });
}
