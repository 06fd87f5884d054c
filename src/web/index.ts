/**
 * mmrt for browsers and workers (`mmrt/web`): the host-free core with the web host (onnxruntime-web
 * served by the app, models cached for offline visits, browser image decoding, WebGPU / WebNN /
 * WASM detection) plugged into its load path, and the runtime-in-a-worker client.
 */
import { hostEntryPoints } from '../load/entry-points.js';
import { type WebHostOptions, webHost } from './host.js';

export * from '../index.js';
export { webHost, type WebHostOptions, type WebStorage } from './host.js';
export { decodeWebImage } from './decode.js';
export { openWebModel, WebModelFiles, LISTING_FILE } from './files.js';
export { OrtWeb, ORT_WEB_FILES, oneRunAtATime } from './ort.js';
export { cacheStore, opfsStore } from './store.js';
export { fetchBytes } from './fetch.js';

/** One host per set of options object: its stores, its runtime and its detection are reused. */
const hosts = new WeakMap<WebHostOptions, ReturnType<typeof webHost>>();
let defaultHost: ReturnType<typeof webHost> | undefined;

function hostFor(options: WebHostOptions | undefined) {
  if (!options) {
    defaultHost ??= webHost();
    return defaultHost;
  }
  let h = hosts.get(options);
  if (!h) {
    h = webHost(options);
    hosts.set(options, h);
  }
  return h;
}

export const { loadClip, loadLlava, loadBlip, loadXclip, loadModel, createPlacement, createLoader } =
  hostEntryPoints<WebHostOptions>(hostFor);
export { createMmrtWorker, type MmrtWorkerOptions } from './worker-client.js';
export type { WorkerInit } from './worker.js';
