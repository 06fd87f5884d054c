/**
 * `mmrt serve` on Node: listens (127.0.0.1 unless told otherwise) with Hono's Node adapter,
 * loads the models through the Node entry's one load path (each served by its kind), fetches
 * remote images only under the URL policy, reads image headers with sharp to refuse pixel
 * bombs before any decode, and shuts down gracefully on SIGTERM / SIGINT.
 */
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { serve } from '@hono/node-server';
import sharp from 'sharp';
import { ConfigError } from '../../errors.js';
import type { LoadedModel } from '../../families/family.js';
import type { LoadModelOptions } from '../../load/load-model.js';
import type { NodeHostOptions } from '../../node/host.js';
import { loadModel } from '../../node/index.js';
import { resolveServeConfig, type ServeConfigInput } from '../config.js';
import type { ImageProbe } from '../images.js';
import { MmrtServer } from '../server.js';
import { type ImageUrlPolicy, policyFetcher } from './fetch-image.js';

/** A model to serve: one to load (a folder or hub id, with load options), or one already loaded. */
export type ServeModelSpec =
  | ({ readonly name?: string; readonly model: string } & Omit<LoadModelOptions, 'model'>)
  | { readonly name: string; readonly instance: LoadedModel };

export interface StartServerOptions extends ServeConfigInput {
  readonly models: readonly ServeModelSpec[];
  readonly listen?: {
    /** Default 127.0.0.1: reachable from this machine only. */
    readonly host?: string;
    /** Default 8000; 0 picks a free port. */
    readonly port?: number;
  };
  /** Remote image URLs: refused unless their host is allowed (see fetch-image.ts). */
  readonly imageUrls?: Partial<ImageUrlPolicy>;
  /** The Node host for the models the server loads (cache dir, hub, session threads). */
  readonly host?: NodeHostOptions;
  /** SIGTERM / SIGINT drain and exit the process (the CLI). Default false. */
  readonly handleSignals?: boolean;
  /** Progress and notices, one line each. */
  readonly onLog?: (line: string) => void;
}

export interface RunningServer {
  /** `http://127.0.0.1:8000` */
  readonly url: string;
  readonly port: number;
  readonly server: MmrtServer;
  /** Drain (in-flight work gets `deadlineMs`), stop listening, release the models it loaded. */
  shutdown(deadlineMs?: number): Promise<{ finished: boolean }>;
}

/** The served name of a model: given, or the folder / repo name (`models/shapes-clip` -> `shapes-clip`). */
export function modelName(spec: ServeModelSpec): string {
  if (spec.name) return spec.name;
  const ref = (spec as { model: string }).model.replace(/@[^/]*$/, '').replace(/[/\\]+$/, '');
  return basename(ref);
}

const probeImage: ImageProbe = async (bytes) => {
  // Header only, no pixel limit of sharp's own: the server's limit decides, with its own message.
  const meta = await sharp(bytes, { failOn: 'error', limitInputPixels: false }).metadata();
  if (!meta.width || !meta.height) throw new Error('no image size in its header');
  return { width: meta.width, height: meta.height };
};

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  // libvips' operation cache (50 MiB by default, process-wide) never hits for a server's
  // images — each request brings its own — and only held resident memory: with it on, 6,000
  // mixed requests grew resident memory 22%, with it off 5% (bench/serve.ts memory run).
  sharp.cache(false);
  const config = resolveServeConfig(options);
  const log = options.onLog ?? (() => undefined);
  if (!Array.isArray(options.models) || options.models.length === 0) {
    throw new ConfigError('CONFIG_INVALID_VALUE', 'mmrt serve needs at least one model', {
      hint: 'mmrt serve --model models/shapes-clip --model models/shapes-vlm',
    });
  }
  const policy: ImageUrlPolicy = {
    allowHosts: options.imageUrls?.allowHosts ?? [],
    allowPrivateNetworks: options.imageUrls?.allowPrivateNetworks ?? false,
    timeoutMs: options.imageUrls?.timeoutMs ?? 10_000,
    maxBytes: options.imageUrls?.maxBytes ?? config.limits.maxImageBytes,
    maxRedirects: options.imageUrls?.maxRedirects ?? 3,
  };
  const fetchImage = policyFetcher(policy);
  const mmrt = new MmrtServer({ config, images: { probeImage, ...(fetchImage && { fetchImage }) } });

  const hostname = options.listen?.host ?? '127.0.0.1';
  const port = options.listen?.port ?? 8000;
  if (!LOOPBACK.test(hostname) && !config.auth.apiKey) {
    log(
      `warning: listening on ${hostname} without an API key: anyone who can reach it can use it (--api-key)`,
    );
  }
  const http = serve({ fetch: mmrt.app.fetch, hostname, port, overrideGlobalObjects: false });
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    http.once('listening', () => resolve(http.address() as AddressInfo));
    http.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          'CONFIG_INVALID_VALUE',
          `cannot listen on ${hostname}:${port}: ${e.code ?? e.message}`,
          {
            value: `${hostname}:${port}`,
            hint: e.code === 'EADDRINUSE' ? 'pick another --port (0 picks a free one)' : undefined,
          },
        ),
      ),
    );
  });
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log(
    `listening on ${url} (loading ${options.models.length} model(s); /ready turns 200 when they are loaded)`,
  );

  // Stop listening; connections close as their last answer is written (idle ones at once),
  // and whatever is still open a second later is closed.
  const closeHttp = () =>
    new Promise<void>((resolve) => {
      const sockets = http as unknown as {
        closeIdleConnections?: () => void;
        closeAllConnections?: () => void;
      };
      const sweep = setInterval(() => sockets.closeIdleConnections?.(), 50);
      const force = setTimeout(() => sockets.closeAllConnections?.(), 1_000);
      http.close(() => {
        clearInterval(sweep);
        clearTimeout(force);
        resolve();
      });
      sockets.closeIdleConnections?.();
    });

  try {
    for (const spec of options.models) {
      const name = modelName(spec);
      if ('instance' in spec) {
        mmrt.addModel(name, spec.instance, false);
        continue;
      }
      const t0 = performance.now();
      const { name: _name, ...load } = spec;
      const model = await loadModel({
        ...load,
        images: {
          maxPixels: config.limits.maxImagePixels,
          maxBytes: config.limits.maxImageBytes,
          ...load.images,
        },
        ...(options.host && { host: options.host }),
        onWarning: load.onWarning ?? ((m) => log(`warning: ${name}: ${m}`)),
      });
      try {
        const served = mmrt.addModel(name, model, true);
        log(
          `loaded ${name} (${served.family}, ${served.kind}: ${served.tasks.join(', ')}) in ${(performance.now() - t0).toFixed(0)} ms`,
        );
      } catch (e) {
        await model.dispose();
        throw e;
      }
    }
  } catch (e) {
    await mmrt.disposeModels();
    await closeHttp();
    throw e;
  }
  mmrt.markReady();
  log(
    `ready: ${mmrt.models
      .list()
      .map((m) => m.id)
      .join(', ')}`,
  );

  let stopping: Promise<{ finished: boolean }> | undefined;
  const running: RunningServer = {
    url,
    port: address.port,
    server: mmrt,
    shutdown(deadlineMs) {
      stopping ??= (async () => {
        log(`draining: ${mmrt.inflight} request(s) in flight`);
        const result = await mmrt.drain(deadlineMs);
        await closeHttp();
        await mmrt.disposeModels();
        log(
          result.finished
            ? 'stopped: every request finished'
            : 'stopped: the deadline cancelled what was left',
        );
        return result;
      })();
      return stopping;
    },
  };
  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      log(`${signal}: shutting down (a second ${signal} exits at once)`);
      void running.shutdown().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return running;
}
