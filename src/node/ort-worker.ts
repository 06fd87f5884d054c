/** The program of a session worker thread: one onnxruntime-node session served over `parentPort`. */
import { parentPort } from 'node:worker_threads';
import { serveOrt } from '../runtime/remote-ort.js';
import { ort } from './ort.js';

const port = parentPort!;
serveOrt(
  {
    send: (m, transfer) => port.postMessage(m, transfer ?? []),
    onMessage: (listener) => port.on('message', listener),
    onClose: () => undefined,
    close: async () => port.close(),
  },
  ort,
);
