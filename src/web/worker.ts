/**
 * The dedicated-worker script of `mmrt/web`: the whole runtime (planning, loading, sessions,
 * decoding, generation) runs here and the page talks to it with `createMmrtWorker`. Bundle
 * it as a worker (the demo's build does: `dist-demo/mmrt-worker.js`).
 */
import { hostEntryPoints } from '../load/entry-points.js';
import { serveRuntime } from '../remote/server.js';
import type { MessageChannelEnd } from '../runtime/remote-ort.js';
import type { RuntimeEvent } from '../remote/protocol.js';
import { type WebHostOptions, webHost } from './host.js';

/** The first message a page sends: the web host's settings (plain data). */
export interface WorkerInit {
  readonly mmrt: 'init';
  readonly host: Omit<WebHostOptions, 'onRuntimeProgress' | 'onWarning' | 'ort' | 'navigator'>;
}

interface WorkerScope {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (e: { data: unknown }) => void): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;

function channel(): MessageChannelEnd {
  const listeners: Array<(m: unknown) => void> = [];
  scope.addEventListener('message', (e) => {
    const d = e.data as Partial<WorkerInit> | undefined;
    if (d?.mmrt === 'init') return;
    for (const l of listeners) l(e.data);
  });
  return {
    send: (m, transfer) => scope.postMessage(m, transfer ?? []),
    onMessage: (l) => listeners.push(l),
    onClose: () => undefined,
    close: async () => scope.close(),
  };
}

let started = false;
scope.addEventListener('message', (e) => {
  const d = e.data as Partial<WorkerInit> | undefined;
  if (started || d?.mmrt !== 'init') return;
  started = true;
  let sink: ((event: RuntimeEvent) => void) | undefined;
  const options: WebHostOptions = {
    ...d.host,
    onRuntimeProgress: (loaded, total, file) => sink?.({ kind: 'runtime-progress', file, loaded, total }),
    onWarning: (message) => sink?.({ kind: 'warning', message }),
  };
  const host = webHost(options);
  serveRuntime(
    channel(),
    hostEntryPoints<WebHostOptions>(() => host),
    {
      detect: () => host.detect(),
      onRuntimeEvent: (send) => {
        sink = send;
      },
    },
  );
  scope.postMessage({ mmrt: 'ready' });
});
