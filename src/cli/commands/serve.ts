/**
 * `mmrt serve --model <path|name=path> [--model ...]`: the OpenAI-compatible server (see
 * docs/serve.md). Logs go to stderr; SIGTERM or Ctrl-C drains in-flight requests and exits.
 */
import type { Command } from 'commander';
import { type PlatformCliOptions, addPlatformOptions, readPlatformOptions } from '../platform-options.js';
import { choiceArg, intArg, usageError } from '../usage.js';

interface ServeCliOptions extends PlatformCliOptions {
  model?: string[];
  host: string;
  port: number;
  apiKey?: string;
  threads?: number;
  sessionThreads: 'main' | 'worker';
  batching: boolean;
  maxBatchSize?: number;
  maxWaitMs?: number;
  maxQueue?: number;
  requestTimeout?: number;
  maxBodyBytes?: number;
  maxImageBytes?: number;
  maxImagePixels?: number;
  maxImages?: number;
  allowImageHost?: string[];
  allowPrivateNetworks?: boolean;
  prefixCacheBytes?: number;
  shutdownDeadline?: number;
  heapGrowingPercent?: number;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `path` or `name=path`. */
function modelSpec(value: string): { name?: string; model: string } {
  const eq = value.indexOf('=');
  if (eq > 0 && !value.slice(0, eq).includes('/'))
    return { name: value.slice(0, eq), model: value.slice(eq + 1) };
  return { model: value };
}

export function registerServe(program: Command): void {
  addPlatformOptions(
    program
      .command('serve')
      .description('serve models over an OpenAI-compatible HTTP API (embeddings, chat, classify, captions)')
      .option('-m, --model <path|name=path>', 'a model to serve (repeatable)', collect)
      .option('--host <address>', 'address to listen on (127.0.0.1: this machine only)', '127.0.0.1')
      .option('-p, --port <n>', 'port, 0-65535 (0: a free one)', intArg(0, 65535), 8000)
      .option('--api-key <key>', 'require Authorization: Bearer <key> on /v1/* (default: $MMRT_API_KEY)')
      .option('--threads <n>', 'intra-op threads per session, 1-1024', intArg(1, 1024))
      .option(
        '--session-threads <where>',
        "'main' (default) or 'worker': sessions in worker threads keep the event loop free while models run (inputs are copied)",
        choiceArg(['main', 'worker'] as const),
        'main',
      )
      .option('--no-batching', 'run every request alone (dynamic batching off)')
      .option('--max-batch-size <n>', 'items per batch (every task)', intArg(1))
      .option('--max-wait-ms <ms>', 'how long a batch waits to fill (every task)', intArg(0))
      .option('--max-queue <n>', 'items waiting per model and task before 429 (every task)', intArg(1))
      .option('--request-timeout <ms>', 'cancel requests running longer (default 120000)', intArg(1))
      .option('--max-body-bytes <n>', 'largest request body (default 16 MiB)', intArg(1))
      .option('--max-image-bytes <n>', 'largest encoded image (default 16 MiB)', intArg(1))
      .option('--max-image-pixels <n>', 'most pixels per image (default 25000000)', intArg(1))
      .option('--max-images <n>', 'most images per request (default 64)', intArg(1))
      .option(
        '--allow-image-host <host>',
        'fetch image URLs from this host (repeatable; *.example.com)',
        collect,
      )
      .option('--allow-private-networks', 'let allowed host names resolve to private addresses')
      .option(
        '--prefix-cache-bytes <n>',
        'memory for chat KV prefixes kept between turns (default 256 MiB)',
        intArg(0),
      )
      .option(
        '--shutdown-deadline <ms>',
        'how long in-flight requests may finish after SIGTERM (default 30000)',
        intArg(0),
      )
      .option(
        '--heap-growing-percent <n>',
        "how far V8's heap may grow past its live size between full collections, 0-1000 (default 30, for a steady resident level; 0: V8's own dynamic growth)",
        intArg(0, 1000),
      ),
  ).action(async (opts: ServeCliOptions) => {
    // Checked here, not by commander: an unknown option (a misspelt --model) is named first.
    if (!opts.model || opts.model.length === 0) {
      throw usageError('serve needs at least one --model <path|name=path>', {
        valid: 'e.g. --model mmrt:shapes-clip',
      });
    }
    const models = opts.model;
    const { platform, config, candidates } = readPlatformOptions(opts);
    const modelConfig = { ...config, ...(opts.threads ? { numThreads: opts.threads } : {}) };
    const batch = { maxBatchSize: opts.maxBatchSize, maxWaitMs: opts.maxWaitMs, maxQueue: opts.maxQueue };
    const { startServer } = await import('../../serve/node/index.js');
    // This process is the server's own: its heap is tuned for it (see serve/node/heap.ts).
    (await import('../../serve/node/heap.js')).limitHeapGrowth(opts.heapGrowingPercent);
    const log = (line: string) => process.stderr.write(`mmrt serve: ${line}\n`);
    const running = await startServer({
      models: models.map((m) => ({
        ...modelSpec(m),
        platform,
        config: modelConfig,
        ...(candidates ? { candidates } : {}),
      })),
      listen: { host: opts.host, port: opts.port },
      auth: { apiKey: opts.apiKey ?? process.env.MMRT_API_KEY },
      batching: opts.batching ? batch : false,
      limits: {
        requestTimeoutMs: opts.requestTimeout,
        maxBodyBytes: opts.maxBodyBytes,
        maxImageBytes: opts.maxImageBytes,
        maxImagePixels: opts.maxImagePixels,
        maxImagesPerRequest: opts.maxImages,
      },
      imageUrls: {
        allowHosts: opts.allowImageHost ?? [],
        allowPrivateNetworks: opts.allowPrivateNetworks === true,
      },
      chat: { prefixCache: { maxBytes: opts.prefixCacheBytes } },
      shutdown: { deadlineMs: opts.shutdownDeadline },
      host: { sessionThreads: opts.sessionThreads },
      handleSignals: true,
      onLog: log,
    });
    // The server runs until a signal; this line is what scripts wait for.
    process.stdout.write(
      `${JSON.stringify({ url: running.url, models: running.server.models.list().map((m) => m.id) })}\n`,
    );
  });
}
