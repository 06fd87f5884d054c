/**
 * Sessions in worker threads: an `OrtModule` whose sessions are each created (and run) in a
 * worker of their own (`ort-worker.ts`, over the host-free protocol of `runtime/remote-ort.ts`),
 * so that several creations overlap. onnxruntime-node creates a session synchronously on the
 * calling thread; runs then pay a copy of their inputs across the thread boundary.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { OrtModule } from '../host/host.js';
import { type MessageChannelEnd, remoteOrt } from '../runtime/remote-ort.js';
import { ort as mainOrt } from './ort.js';

/**
 * The worker's program: the built `ort-worker.js` beside this module (or in `node/` when this
 * module sits in a shared chunk), or, running from the TypeScript sources, `ort-worker.ts`
 * through tsx.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const target = new URL('./ort-worker.ts', here).href;
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(target)}); })`;
    return new Worker(boot, { eval: true });
  }
  for (const rel of ['./ort-worker.js', './node/ort-worker.js']) {
    const url = new URL(rel, here);
    if (existsSync(fileURLToPath(url))) return new Worker(url);
  }
  throw new Error(`the session worker program ort-worker.js is missing beside ${fileURLToPath(here)}`);
}

function workerEnd(worker: Worker): MessageChannelEnd {
  // An idle worker must not keep the process alive; one that owes a reply must.
  worker.unref();
  return {
    send: (m, transfer) => worker.postMessage(m, transfer ?? []),
    onMessage: (listener) => worker.on('message', listener),
    onClose: (listener) => {
      worker.on('error', listener);
      worker.on('exit', (code) => listener(new Error(`session worker exited (code ${code})`)));
    },
    close: async () => {
      await worker.terminate();
    },
    busy: (owed) => (owed ? worker.ref() : worker.unref()),
  };
}

/** An `OrtModule` whose sessions each live in a fresh worker thread running onnxruntime-node. */
export function workerOrt(base: OrtModule = mainOrt): OrtModule {
  return remoteOrt(base, () => workerEnd(startWorker()));
}
