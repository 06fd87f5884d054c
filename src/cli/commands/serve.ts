/**
 * `mmrt serve --model <path|name=path> [--model ...]`: the OpenAI-compatible server (see
 * docs/serve.md). Logs go to stderr; SIGTERM or Ctrl-C drains in-flight requests and exits.
 */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { type PlatformCliOptions, addPlatformOptions, readPlatformOptions } from '../platform-options.js';

interface ServeCliOptions extends PlatformCliOptions {
  model: string[];
  host: string;
  port: string;
  apiKey?: string;
  threads?: string;
  sessionThreads: string;
  batching: boolean;
  maxBatchSize?: string;
  maxWaitMs?: string;
  maxQueue?: string;
  requestTimeout?: string;
  maxBodyBytes?: string;
  maxImageBytes?: string;
  maxImagePixels?: string;
  maxImages?: string;
  allowImageHost?: string[];
  allowPrivateNetworks?: boolean;
  prefixCacheBytes?: string;
  shutdownDeadline?: string;
}

function int(flag: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= min)) {
    throw new InputError('INPUT_INVALID', `${flag} must be an integer >= ${min}, got "${v}"`, { value: v });
  }
  return n;
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
      .requiredOption('-m, --model <path|name=path>', 'a model to serve (repeatable)', collect)
      .option('--host <address>', 'address to listen on (127.0.0.1: this machine only)', '127.0.0.1')
      .option('-p, --port <n>', 'port (0: a free one)', '8000')
      .option('--api-key <key>', 'require Authorization: Bearer <key> on /v1/* (default: $MMRT_API_KEY)')
      .option('--threads <n>', 'intra-op threads per session')
      .option(
        '--session-threads <where>',
        "'main' (default) or 'worker': sessions in worker threads keep the event loop free while models run (inputs are copied)",
        'main',
      )
      .option('--no-batching', 'run every request alone (dynamic batching off)')
      .option('--max-batch-size <n>', 'items per batch (every task)')
      .option('--max-wait-ms <ms>', 'how long a batch waits to fill (every task)')
      .option('--max-queue <n>', 'items waiting per model and task before 429 (every task)')
      .option('--request-timeout <ms>', 'cancel requests running longer (default 120000)')
      .option('--max-body-bytes <n>', 'largest request body (default 16 MiB)')
      .option('--max-image-bytes <n>', 'largest encoded image (default 16 MiB)')
      .option('--max-image-pixels <n>', 'most pixels per image (default 25000000)')
      .option('--max-images <n>', 'most images per request (default 64)')
      .option(
        '--allow-image-host <host>',
        'fetch image URLs from this host (repeatable; *.example.com)',
        collect,
      )
      .option('--allow-private-networks', 'let allowed host names resolve to private addresses')
      .option('--prefix-cache-bytes <n>', 'memory for chat KV prefixes kept between turns (default 256 MiB)')
      .option(
        '--shutdown-deadline <ms>',
        'how long in-flight requests may finish after SIGTERM (default 30000)',
      ),
  ).action(async (opts: ServeCliOptions) => {
    const { platform, config, candidates } = readPlatformOptions(opts);
    const threads = int('--threads', opts.threads, 1);
    const modelConfig = { ...config, ...(threads ? { numThreads: threads } : {}) };
    const batch = {
      maxBatchSize: int('--max-batch-size', opts.maxBatchSize, 1),
      maxWaitMs: int('--max-wait-ms', opts.maxWaitMs),
      maxQueue: int('--max-queue', opts.maxQueue, 1),
    };
    if (opts.sessionThreads !== 'main' && opts.sessionThreads !== 'worker') {
      throw new InputError(
        'INPUT_INVALID',
        `--session-threads must be main or worker, got "${opts.sessionThreads}"`,
        {
          value: opts.sessionThreads,
          valid: ['main', 'worker'],
        },
      );
    }
    const { startServer } = await import('../../serve/node/index.js');
    const log = (line: string) => process.stderr.write(`mmrt serve: ${line}\n`);
    const running = await startServer({
      models: opts.model.map((m) => ({
        ...modelSpec(m),
        platform,
        config: modelConfig,
        ...(candidates ? { candidates } : {}),
      })),
      listen: { host: opts.host, port: int('--port', opts.port) ?? 8000 },
      auth: { apiKey: opts.apiKey ?? process.env.MMRT_API_KEY },
      batching: opts.batching ? batch : false,
      limits: {
        requestTimeoutMs: int('--request-timeout', opts.requestTimeout, 1),
        maxBodyBytes: int('--max-body-bytes', opts.maxBodyBytes, 1),
        maxImageBytes: int('--max-image-bytes', opts.maxImageBytes, 1),
        maxImagePixels: int('--max-image-pixels', opts.maxImagePixels, 1),
        maxImagesPerRequest: int('--max-images', opts.maxImages, 1),
      },
      imageUrls: {
        allowHosts: opts.allowImageHost ?? [],
        allowPrivateNetworks: opts.allowPrivateNetworks === true,
      },
      chat: { prefixCache: { maxBytes: int('--prefix-cache-bytes', opts.prefixCacheBytes) } },
      shutdown: { deadlineMs: int('--shutdown-deadline', opts.shutdownDeadline) },
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
