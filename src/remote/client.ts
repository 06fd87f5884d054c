/**
 * The page side of the runtime protocol: a typed client over a `MessageChannelEnd`. Every call
 * is one request; progress, warnings and tokens arrive as events on it; an AbortSignal sends
 * `abort` for it; a closed channel fails every call still waiting. Host-free: the web adapter
 * (`src/web/worker-client.ts`) connects it to a Worker and turns DOM images into ones that
 * cross (`prepareImage`).
 */
import { MmrtError } from '../errors.js';
import type { ChatResult } from '../kinds/vision-language/engine.js';
import type { ChatMessage } from '../kinds/vision-language/messages.js';
import type { LoadProgress } from '../loader/types.js';
import type { ImageInput } from '../media/input.js';
import { TextStream } from '../generation/text-stream.js';
import type { MessageChannelEnd } from '../runtime/remote-ort.js';
import type {
  HostCapabilities,
  LabelScore,
  RemoteAnswer,
  RemoteGeneration,
  RemoteLoadOptions,
  RemoteModelInfo,
  RuntimeCall,
  RuntimeEvent,
  RuntimeReply,
  WireError,
} from './protocol.js';

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface LoadCallOptions extends CallOptions {
  readonly onProgress?: (p: LoadProgress) => void;
  readonly onRuntimeProgress?: (file: string, loaded: number, total: number | undefined) => void;
  readonly onWarning?: (message: string) => void;
}

/** An image made ready to cross the channel, with what to transfer. */
export type ImagePreparer = (input: ImageInput) => Promise<{ image: ImageInput; transfer?: Transferable[] }>;
type Transferable = ArrayBuffer | object;

export function fromWireError(e: WireError): Error {
  if (e.code) {
    const err = new MmrtError(e.code, e.message, e.details ?? {});
    Object.defineProperty(err, 'name', { value: e.name });
    return err;
  }
  return Object.assign(new Error(e.message), { name: e.name });
}

export class RuntimeClient {
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; onEvent?: (e: RuntimeEvent) => void }
  >();
  private next = 0;
  private dead?: Error;

  constructor(
    private readonly port: MessageChannelEnd,
    private readonly prepareImage: ImagePreparer = async (image) => ({ image }),
  ) {
    port.onMessage((raw) => {
      const m = raw as RuntimeReply;
      const p = this.pending.get(m.id);
      if (!p) return;
      if ('event' in m) {
        p.onEvent?.(m.event);
        return;
      }
      this.pending.delete(m.id);
      if (this.pending.size === 0) port.busy?.(false);
      if (m.ok) p.resolve(m.value);
      else p.reject(fromWireError(m.error));
    });
    port.onClose((e) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  private call<T>(
    message: RuntimeCall,
    o: { signal?: AbortSignal; onEvent?: (e: RuntimeEvent) => void; transfer?: Transferable[] } = {},
  ): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    if (o.signal?.aborted) return Promise.reject(new MmrtError('ABORTED', `${message.op} was aborted`));
    const id = ++this.next;
    this.port.busy?.(true);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => this.port.send({ id: ++this.next, op: 'abort', target: id });
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => o.signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (v) => {
          done();
          resolve(v as T);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        ...(o.onEvent && { onEvent: o.onEvent }),
      });
      this.port.send({ ...message, id }, o.transfer as ArrayBuffer[] | undefined);
    });
  }

  private async images(
    inputs: readonly ImageInput[],
  ): Promise<{ images: ImageInput[]; transfer: Transferable[] }> {
    const prepared = await Promise.all(inputs.map((i) => this.prepareImage(i)));
    return { images: prepared.map((p) => p.image), transfer: prepared.flatMap((p) => p.transfer ?? []) };
  }

  /** What the worker's browser offers (WebGPU, WebNN, WASM threads...). */
  detect(o: CallOptions = {}): Promise<HostCapabilities> {
    return this.call({ op: 'detect' }, o);
  }

  /** Load a model in the worker; progress per component arrives while it loads. */
  async load(options: RemoteLoadOptions, o: LoadCallOptions = {}): Promise<RemoteModel> {
    const info = await this.call<RemoteModelInfo>(
      { op: 'load', options },
      {
        ...(o.signal && { signal: o.signal }),
        onEvent: (e) => {
          if (e.kind === 'progress') o.onProgress?.(e.progress);
          else if (e.kind === 'runtime-progress') o.onRuntimeProgress?.(e.file, e.loaded, e.total);
          else if (e.kind === 'warning') o.onWarning?.(e.message);
        },
      },
    );
    return new RemoteModel(this, info);
  }

  /** @internal used by RemoteModel */
  request<T>(
    message: RuntimeCall,
    o: { signal?: AbortSignal; onEvent?: (e: RuntimeEvent) => void; transfer?: Transferable[] } = {},
  ) {
    return this.call<T>(message, o);
  }

  /** @internal */
  prepare(inputs: readonly ImageInput[]) {
    return this.images(inputs);
  }

  /** Close the channel (the worker's models go with it). */
  close(): Promise<void> {
    return this.port.close();
  }
}

/** A model living in the worker, addressed by its handle. */
export class RemoteModel {
  constructor(
    private readonly client: RuntimeClient,
    public info: RemoteModelInfo,
  ) {}

  get handle(): string {
    return this.info.handle;
  }

  /** Where each component runs now (providers of the sessions created so far). */
  async refresh(o: CallOptions = {}): Promise<RemoteModelInfo> {
    this.info = await this.client.request<RemoteModelInfo>({ op: 'info', model: this.handle }, o);
    return this.info;
  }

  async classify(
    images: readonly ImageInput[],
    labels: readonly string[],
    o: CallOptions & { template?: string; topK?: number } = {},
  ): Promise<LabelScore[][]> {
    const { images: wire, transfer } = await this.client.prepare(images);
    return this.client.request(
      {
        op: 'classify',
        model: this.handle,
        images: wire,
        labels: [...labels],
        ...(o.template !== undefined && { template: o.template }),
        ...(o.topK !== undefined && { topK: o.topK }),
      },
      { ...(o.signal && { signal: o.signal }), transfer },
    );
  }

  async embed(
    input: { images?: readonly ImageInput[]; texts?: readonly string[]; normalize?: boolean },
    o: CallOptions = {},
  ): Promise<{ images: Float32Array[]; texts: Float32Array[] }> {
    const { images: wire, transfer } = await this.client.prepare(input.images ?? []);
    return this.client.request(
      {
        op: 'embed',
        model: this.handle,
        images: wire,
        texts: [...(input.texts ?? [])],
        ...(input.normalize !== undefined && { normalize: input.normalize }),
      },
      { ...(o.signal && { signal: o.signal }), transfer },
    );
  }

  /** A question about an image (or a whole chat), streamed token by token. */
  ask(
    question: { image: ImageInput; question: string } | { messages: readonly ChatMessage[] },
    o: CallOptions & { generation?: RemoteGeneration } = {},
  ): TextStream<RemoteAnswer> {
    return new TextStream<RemoteAnswer>(async (emit) => {
      let message: RuntimeCall;
      let transfer: Transferable[] = [];
      if ('messages' in question) {
        message = {
          op: 'ask',
          model: this.handle,
          messages: [...question.messages],
          ...(o.generation && { generation: o.generation }),
        };
      } else {
        const prepared = await this.client.prepare([question.image]);
        transfer = prepared.transfer;
        message = {
          op: 'ask',
          model: this.handle,
          image: prepared.images[0]!,
          question: question.question,
          ...(o.generation && { generation: o.generation }),
        };
      }
      return this.client.request<RemoteAnswer>(message, {
        ...(o.signal && { signal: o.signal }),
        transfer,
        onEvent: (e) => e.kind === 'token' && emit(e.text),
      });
    });
  }

  /** One turn of a conversation the worker keeps, with its KV cache, under `conversation`. */
  chat(
    conversation: string,
    content: string,
    o: CallOptions & { images?: readonly ImageInput[]; system?: string; generation?: RemoteGeneration } = {},
  ): TextStream<RemoteAnswer> {
    return new TextStream<RemoteAnswer>(async (emit) => {
      const { images, transfer } = await this.client.prepare(o.images ?? []);
      return this.client.request<RemoteAnswer>(
        {
          op: 'chat',
          model: this.handle,
          conversation,
          content,
          ...(images.length > 0 && { images }),
          ...(o.system !== undefined && { system: o.system }),
          ...(o.generation && { generation: o.generation }),
        },
        {
          ...(o.signal && { signal: o.signal }),
          transfer,
          onEvent: (e) => e.kind === 'token' && emit(e.text),
        },
      );
    });
  }

  endChat(conversation: string): Promise<void> {
    return this.client.request({ op: 'end-chat', model: this.handle, conversation });
  }

  /** Release the model's sessions in the worker. */
  dispose(): Promise<void> {
    return this.client.request({ op: 'dispose', model: this.handle });
  }
}

export type { ChatResult };
