/**
 * The page side of `mmrt/web`'s worker: starts the worker script, hands it the host settings,
 * and returns a typed `RuntimeClient`. DOM images that cannot cross to a worker (`<img>`,
 * `<canvas>`) become ImageBitmaps first; bitmaps are copied and transferred, so the page keeps its own.
 */
import { MmrtError } from '../errors.js';
import type { ImageInput } from '../media/input.js';
import { type ImagePreparer, RuntimeClient } from '../remote/client.js';
import type { MessageChannelEnd } from '../runtime/remote-ort.js';
import type { WorkerInit } from './worker.js';

export interface MmrtWorkerOptions {
  /** The bundled worker script (`mmrt-worker.js`), or a Worker you made from it. */
  readonly worker: string | URL | Worker;
  /** The web host's settings inside the worker (ortPath, storage, hubEndpoint...). */
  readonly host?: WorkerInit['host'];
  /** Fail when the worker has not started within this long. Default 30 s. */
  readonly startTimeoutMs?: number;
}

const prepareImage: ImagePreparer = async (input: ImageInput) => {
  const o = input as object;
  const is = (name: string) =>
    typeof (globalThis as Record<string, unknown>)[name] === 'function' &&
    o instanceof ((globalThis as Record<string, unknown>)[name] as new () => object);
  if (
    is('ImageBitmap') ||
    is('HTMLImageElement') ||
    is('HTMLCanvasElement') ||
    is('OffscreenCanvas') ||
    is('HTMLVideoElement') ||
    is('VideoFrame')
  ) {
    if (is('HTMLImageElement')) {
      const img = o as HTMLImageElement;
      if (!img.complete) await img.decode();
    }
    // A copy at the source's own size (no resize): the decoder in the worker reads it as is.
    const bitmap = await createImageBitmap(o as ImageBitmapSource, {
      imageOrientation: 'from-image',
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'none',
    });
    return { image: bitmap, transfer: [bitmap] };
  }
  return { image: input };
};

function workerEnd(worker: Worker): MessageChannelEnd {
  return {
    send: (m, transfer) => worker.postMessage(m, (transfer ?? []) as Transferable[]),
    onMessage: (l) => worker.addEventListener('message', (e) => l(e.data)),
    onClose: (l) => {
      worker.addEventListener('error', (e) =>
        l(
          new MmrtError('SESSION_RUN_FAILED', `the mmrt worker failed: ${e.message || 'it could not start'}`),
        ),
      );
      worker.addEventListener('messageerror', () =>
        l(new MmrtError('SESSION_RUN_FAILED', 'a message from the mmrt worker could not be read')),
      );
    },
    close: async () => worker.terminate(),
  };
}

/** Start the runtime in a dedicated worker; resolves when it is listening. */
export async function createMmrtWorker(options: MmrtWorkerOptions): Promise<RuntimeClient> {
  const worker =
    typeof options.worker === 'string' || options.worker instanceof URL
      ? new Worker(options.worker, { type: 'module', name: 'mmrt' })
      : options.worker;
  const timeout = options.startTimeoutMs ?? 30_000;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new MmrtError('SESSION_CREATE_FAILED', `the mmrt worker did not start within ${timeout} ms`)),
      timeout,
    );
    worker.addEventListener('message', function onReady(e) {
      if ((e.data as { mmrt?: string })?.mmrt !== 'ready') return;
      clearTimeout(timer);
      worker.removeEventListener('message', onReady);
      resolve();
    });
    worker.addEventListener(
      'error',
      (e) => {
        clearTimeout(timer);
        reject(
          new MmrtError(
            'SESSION_CREATE_FAILED',
            `the mmrt worker failed to start: ${e.message || String(e)}`,
          ),
        );
      },
      { once: true },
    );
  });
  const client = new RuntimeClient(workerEnd(worker), prepareImage);
  const init: WorkerInit = { mmrt: 'init', host: options.host ?? {} };
  worker.postMessage(init);
  await ready;
  return client;
}
