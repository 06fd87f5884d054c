/**
 * ONNX Runtime sessions living on the other side of a message channel: one session per
 * channel, created, run and released by messages. The client end (`remoteOrt`) is an
 * `OrtModule` the rest of mmrt uses unchanged; the server end (`serveOrt`) runs where the
 * session lives. Host-free: Node connects the two with a worker thread (`src/node/worker-ort.ts`),
 * browsers with a Web Worker. Tensors cross by structured clone, outputs by transfer.
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { OrtModule } from '../host/host.js';

/** One end of a message channel, as either side sees it. */
export interface MessageChannelEnd {
  send(message: unknown, transfer?: ArrayBuffer[]): void;
  /** Every message that arrives, in order. */
  onMessage(listener: (message: unknown) => void): void;
  /** The other side went away (crashed, exited): `error` says how. */
  onClose(listener: (error: Error) => void): void;
  close(): Promise<void>;
  /** Whether a reply is owed: a host may keep its process alive only while one is (Node's ref/unref). */
  busy?(owed: boolean): void;
}

type WireTensor = { type: string; data: unknown; dims: readonly number[] };

export type OrtRequest =
  | { id: number; op: 'create'; model: string | Uint8Array; options: InferenceSession.SessionOptions }
  | { id: number; op: 'run'; feeds: Record<string, WireTensor>; fetches?: string[] }
  | { id: number; op: 'release' };

/** A request before it is numbered. */
type OrtCall = OrtRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export type OrtReply =
  | { id: number; ok: true; value?: unknown }
  | { id: number; ok: false; error: { name?: string; message: string } };

interface SessionMeta {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: unknown;
  outputMetadata: unknown;
}

function bufferOf(data: unknown): ArrayBuffer | undefined {
  const b = (data as { buffer?: unknown } | undefined)?.buffer;
  return b instanceof ArrayBuffer ? b : undefined;
}

/** Serve one session over `port` with `ort` (the worker side). */
export function serveOrt(port: MessageChannelEnd, ort: OrtModule): void {
  let session: InferenceSession | undefined;
  const reply = (m: OrtReply, transfer: ArrayBuffer[] = []) => {
    try {
      port.send(m, transfer);
    } catch {
      port.send(m);
    }
  };
  port.onMessage(async (raw) => {
    const m = raw as OrtRequest;
    try {
      if (m.op === 'create') {
        session = await ort.InferenceSession.create(m.model, m.options);
        const meta: SessionMeta = {
          inputNames: [...session.inputNames],
          outputNames: [...session.outputNames],
          inputMetadata: (session as { inputMetadata?: unknown }).inputMetadata,
          outputMetadata: (session as { outputMetadata?: unknown }).outputMetadata,
        };
        reply({ id: m.id, ok: true, value: meta });
      } else if (m.op === 'run') {
        if (!session) throw new Error('no session: create it first');
        const feeds: Record<string, InstanceType<OrtModule['Tensor']>> = {};
        for (const [k, t] of Object.entries(m.feeds)) {
          feeds[k] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
        }
        const out = m.fetches ? await session.run(feeds, m.fetches) : await session.run(feeds);
        const value: Record<string, WireTensor> = {};
        const transfer = new Set<ArrayBuffer>();
        for (const [k, t] of Object.entries(out)) {
          value[k] = { type: t.type, data: t.data, dims: t.dims };
          const b = bufferOf(t.data);
          if (b) transfer.add(b);
        }
        reply({ id: m.id, ok: true, value }, [...transfer]);
      } else if (m.op === 'release') {
        await session?.release();
        session = undefined;
        reply({ id: m.id, ok: true });
      }
    } catch (e) {
      const err = e as { name?: string; message?: string };
      reply({ id: m.id, ok: false, error: { name: err?.name, message: err?.message ?? String(e) } });
    }
  });
}

/** Request/reply over one channel end: ids match replies to calls; a closed end fails them all. */
class Channel {
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private next = 0;
  private dead?: Error;

  constructor(private readonly port: MessageChannelEnd) {
    port.onMessage((raw) => {
      const m = raw as OrtReply;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) port.busy?.(false);
      if (m.ok) p.resolve(m.value);
      else p.reject(Object.assign(new Error(m.error.message), { name: m.error.name ?? 'Error' }));
    });
    port.onClose((e) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  call(message: OrtCall): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.next;
    this.port.busy?.(true);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.send({ ...message, id });
    });
  }

  close(): Promise<void> {
    return this.port.close();
  }
}

/** The subset of `InferenceSession` mmrt's `Session` uses, answered over a channel. */
class RemoteSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly inputMetadata: unknown;
  readonly outputMetadata: unknown;
  private released = false;

  constructor(
    private readonly channel: Channel,
    meta: SessionMeta,
    private readonly Tensor: OrtModule['Tensor'],
  ) {
    this.inputNames = meta.inputNames;
    this.outputNames = meta.outputNames;
    this.inputMetadata = meta.inputMetadata;
    this.outputMetadata = meta.outputMetadata;
  }

  async run(feeds: Record<string, WireTensor>, fetches?: string[]) {
    const wire: Record<string, WireTensor> = {};
    for (const [k, t] of Object.entries(feeds)) wire[k] = { type: t.type, data: t.data, dims: t.dims };
    const out = (await this.channel.call({ op: 'run', feeds: wire, ...(fetches && { fetches }) })) as Record<
      string,
      WireTensor
    >;
    const result: Record<string, unknown> = {};
    for (const [k, t] of Object.entries(out)) {
      result[k] = new this.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    }
    return result;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.channel.call({ op: 'release' });
    } finally {
      await this.channel.close();
    }
  }
}

/**
 * An `OrtModule` whose `InferenceSession.create` opens a fresh channel (`connect`) and creates
 * the session on its far side; `Tensor` and the rest are the local module's.
 */
export function remoteOrt(local: OrtModule, connect: () => MessageChannelEnd): OrtModule {
  return {
    ...local,
    InferenceSession: {
      async create(model: string | Uint8Array, options?: InferenceSession.SessionOptions) {
        const channel = new Channel(connect());
        try {
          const meta = (await channel.call({ op: 'create', model, options: options ?? {} })) as SessionMeta;
          return new RemoteSession(channel, meta, local.Tensor) as unknown as InferenceSession;
        } catch (e) {
          await channel.close();
          throw e;
        }
      },
    },
  };
}
