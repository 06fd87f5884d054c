/**
 * Sessions in worker threads: an `OrtModule` whose sessions are created (and run) in their own
 * worker, so that several creations overlap. onnxruntime-node creates a session synchronously on
 * the calling thread; runs then pay a copy of their tensors across the thread boundary.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-common';
import type { OrtModule } from '../host/types.js';
import { ort as mainOrt } from './ort.js';

const ORT_PATH = createRequire(import.meta.url).resolve('onnxruntime-node');

/** The worker's program (CommonJS, evaluated): one ORT session per worker. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
function meta(s) {
  return { inputNames: s.inputNames, outputNames: s.outputNames, inputMetadata: s.inputMetadata, outputMetadata: s.outputMetadata };
}
function send(msg, transfer) {
  try { parentPort.postMessage(msg, transfer); } catch { parentPort.postMessage(msg); }
}
parentPort.on('message', async (m) => {
  try {
    if (m.op === 'create') {
      session = await ort.InferenceSession.create(m.model, m.options);
      send({ id: m.id, ok: true, value: meta(session) });
    } else if (m.op === 'run') {
      const feeds = {};
      for (const [k, t] of Object.entries(m.feeds)) feeds[k] = new ort.Tensor(t.type, t.data, t.dims);
      const out = m.fetches ? await session.run(feeds, m.fetches) : await session.run(feeds);
      const value = {};
      const transfer = new Set();
      for (const [k, t] of Object.entries(out)) {
        value[k] = { type: t.type, data: t.data, dims: t.dims };
        if (t.data && t.data.buffer instanceof ArrayBuffer) transfer.add(t.data.buffer);
      }
      send({ id: m.id, ok: true, value }, [...transfer]);
    } else if (m.op === 'release') {
      if (session) await session.release();
      session = undefined;
      send({ id: m.id, ok: true });
    }
  } catch (e) {
    send({ id: m.id, ok: false, error: { name: e && e.name, message: e && e.message ? e.message : String(e) } });
  }
});
`;

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { name?: string; message: string };
}

class WorkerChannel {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private next = 0;
  private dead?: Error;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: ORT_PATH } });
    this.worker.unref();
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.ok) p.resolve(m.value);
      else
        p.reject(
          Object.assign(new Error(m.error?.message ?? 'worker error'), { name: m.error?.name ?? 'Error' }),
        );
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`session worker exited (code ${code})`)));
  }

  call(msg: Record<string, unknown>): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.next;
    // Keep the process alive while a reply is owed; let it exit when the worker is idle.
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

interface SessionMeta {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: unknown;
  outputMetadata: unknown;
}

type WireTensor = { type: string; data: unknown; dims: readonly number[] };

/** The subset of `InferenceSession` that mmrt's `Session` uses, served by a worker. */
class WorkerInferenceSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly inputMetadata: unknown;
  readonly outputMetadata: unknown;
  private released = false;

  constructor(
    private readonly channel: WorkerChannel,
    meta: SessionMeta,
    private readonly Tensor: OrtModule['Tensor'],
  ) {
    this.inputNames = meta.inputNames;
    this.outputNames = meta.outputNames;
    this.inputMetadata = meta.inputMetadata;
    this.outputMetadata = meta.outputMetadata;
  }

  async run(
    feeds: Record<string, { type: string; data: unknown; dims: readonly number[] }>,
    fetches?: string[],
  ) {
    const wire: Record<string, WireTensor> = {};
    for (const [k, t] of Object.entries(feeds)) wire[k] = { type: t.type, data: t.data, dims: t.dims };
    const out = (await this.channel.call({ op: 'run', feeds: wire, ...(fetches && { fetches }) })) as Record<
      string,
      WireTensor
    >;
    const result: Record<string, unknown> = {};
    for (const [k, t] of Object.entries(out))
      result[k] = new this.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    return result;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.channel.call({ op: 'release' });
    } finally {
      await this.channel.terminate();
    }
  }
}

/**
 * An `OrtModule` whose `InferenceSession.create` builds each session in a fresh worker thread
 * running onnxruntime-node; `createSession` and the graph cache use it unchanged.
 */
export function workerOrt(base: OrtModule = mainOrt): OrtModule {
  return {
    ...base,
    InferenceSession: {
      async create(
        model: string | Uint8Array,
        options?: InferenceSession.SessionOptions,
      ): Promise<InferenceSession> {
        const channel = new WorkerChannel();
        try {
          const meta = (await channel.call({ op: 'create', model, options: options ?? {} })) as SessionMeta;
          return new WorkerInferenceSession(channel, meta, base.Tensor) as unknown as InferenceSession;
        } catch (e) {
          await channel.terminate();
          throw e;
        }
      },
    },
  };
}
