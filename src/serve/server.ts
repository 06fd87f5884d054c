/**
 * The OpenAI-compatible server as a Hono app, host-free: it runs wherever Hono runs, and the
 * Node adapter (`node/index.ts`) adds listening, model loading, remote image fetching under a
 * policy, and signals. Its life: `loading` (models load; /health is up, /ready is 503) ->
 * `ready` -> `draining` (SIGTERM: /ready 503, new model requests 503, in-flight ones finish
 * within the deadline, then are cancelled) -> `stopped`.
 */
import { Hono } from 'hono';
import type { Context, MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import { InputError, MmrtError, ServeError } from '../errors.js';
import type { LoadedModel } from '../families/family.js';
import { bodyLimit } from './body.js';
import type { ServeConfig } from './config.js';
import { httpError } from './errors.js';
import { ServeMetrics } from './metrics.js';
import { ModelRegistry, type ServedModel } from './models.js';
import { RequestScope } from './request.js';
import { captions } from './routes/captions.js';
import { chunk, completion, finishReason, prepareChat, usageOf } from './routes/chat.js';
import { classify } from './routes/classify.js';
import type { RouteContext } from './routes/context.js';
import { embeddings } from './routes/embeddings.js';

export type ServerState = 'loading' | 'ready' | 'draining' | 'stopped';

export interface MmrtServerOptions {
  readonly config: ServeConfig;
  /** How request images become bytes (the host's URL fetcher under its policy, its header probe). */
  readonly images?: RouteContext['images'];
}

const ROUTES = [
  'GET /v1/models',
  'POST /v1/embeddings',
  'POST /v1/chat/completions',
  'POST /v1/classify',
  'POST /v1/captions',
  'GET /health',
  'GET /ready',
  'GET /metrics',
];

type Env = { Variables: { scope: RequestScope; endpoint: string; pending?: Promise<unknown> } };

/** Constant-time string comparison (an API key must not leak through timing). */
function sameKey(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

export class MmrtServer {
  readonly app = new Hono<Env>();
  readonly metrics = new ServeMetrics();
  readonly models: ModelRegistry;
  private stateNow: ServerState = 'loading';
  private inflightCount = 0;
  private idle: Array<() => void> = [];
  /** Requests running now, cancelled together when a shutdown's deadline passes. */
  private readonly scopes = new Set<RequestScope>();
  private readonly routes: RouteContext;

  constructor(readonly options: MmrtServerOptions) {
    const { config } = options;
    this.models = new ModelRegistry({
      metrics: this.metrics,
      batching: config.batching,
      prefixCache: config.chat.prefixCache,
    });
    this.routes = { models: this.models, config, images: options.images ?? {} };
    this.build();
  }

  get state(): ServerState {
    return this.stateNow;
  }

  /** Model requests being answered (streams count until their last byte). */
  get inflight(): number {
    return this.inflightCount;
  }

  addModel(id: string, model: LoadedModel, owned: boolean): ServedModel {
    return this.models.add(id, model, owned);
  }

  /** Models are loaded: /ready turns 200 and model requests are served. */
  markReady(): void {
    if (this.stateNow === 'loading') this.stateNow = 'ready';
  }

  /**
   * Stop taking model requests and wait for the in-flight ones, at most `deadlineMs`; what is
   * still running then is cancelled (its clients get SERVER_UNAVAILABLE). Resolves with whether
   * everything finished in time.
   */
  async drain(deadlineMs = this.options.config.shutdown.deadlineMs): Promise<{ finished: boolean }> {
    if (this.stateNow === 'stopped') return { finished: true };
    this.stateNow = 'draining';
    const idle = () =>
      this.inflightCount === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.idle.push(resolve));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), deadlineMs);
    });
    const outcome = await Promise.race([idle().then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'late') {
      for (const scope of this.scopes) scope.shutDown();
      // Cancelled work ends at its next step; give it a moment to answer its client.
      await Promise.race([idle(), new Promise((r) => setTimeout(r, 2_000))]);
    }
    this.stateNow = 'stopped';
    return { finished: outcome === 'done' };
  }

  /** Release the models the server loaded (not those it was handed). */
  async disposeModels(): Promise<void> {
    await Promise.all(
      this.models
        .list()
        .filter((m) => m.owned)
        .map((m) => m.model.dispose()),
    );
  }

  private begin(): () => void {
    this.inflightCount++;
    this.metrics.inflight.set(this.inflightCount);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inflightCount--;
      this.metrics.inflight.set(this.inflightCount);
      if (this.inflightCount === 0) for (const f of this.idle.splice(0)) f();
    };
  }

  private errorResponse(c: Context, e: unknown): Response {
    const { status, body, headers } = httpError(e);
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    return c.json(body, status as 400);
  }

  private build(): void {
    const { app, metrics } = this;
    const { config } = this.options;

    app.onError((e, c) => this.errorResponse(c, e));
    app.notFound((c) =>
      c.json(
        {
          error: {
            message: `no route ${c.req.method} ${c.req.path}`,
            type: 'not_found_error',
            param: null,
            code: 'NOT_FOUND',
            valid: ROUTES,
          },
        },
        404,
      ),
    );

    app.get('/health', (c) => c.json({ status: 'ok', state: this.stateNow }));
    app.get('/ready', (c) => {
      const ready = this.stateNow === 'ready';
      return c.json(
        { ready, state: this.stateNow, models: this.models.list().map((m) => m.id) },
        ready ? 200 : 503,
      );
    });
    app.get('/metrics', async (c) =>
      c.body(await metrics.text(), 200, { 'content-type': metrics.contentType }),
    );

    const guard: MiddlewareHandler<Env> = async (c, next) => {
      if (this.stateNow !== 'ready') {
        c.header('connection', 'close');
        c.header('retry-after', '1');
        throw new ServeError(
          'SERVER_UNAVAILABLE',
          this.stateNow === 'loading'
            ? 'the server is still loading its models'
            : 'the server is shutting down',
          { hint: this.stateNow === 'loading' ? 'wait for /ready' : 'retry on another replica' },
        );
      }
      const key = config.auth.apiKey;
      if (key) {
        const given = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
        if (!given || !sameKey(given, key)) {
          c.header('www-authenticate', 'Bearer');
          throw new ServeError(
            'REQUEST_UNAUTHORIZED',
            given
              ? 'the API key is not valid for this server'
              : 'this server needs an API key: send Authorization: Bearer <key>',
          );
        }
      }
      await next();
    };
    app.use('/v1/*', guard);
    app.use(
      '/v1/*',
      bodyLimit(config.limits.maxBodyBytes, (c) =>
        this.errorResponse(
          c,
          new ServeError(
            'REQUEST_TOO_LARGE',
            `the request body is over ${config.limits.maxBodyBytes} bytes`,
            {
              valid: `<= ${config.limits.maxBodyBytes} bytes`,
              hint: 'send fewer or smaller images, or raise --max-body-bytes',
            },
          ),
        ),
      ),
    );

    app.get('/v1/models', (c) =>
      c.json({ object: 'list', data: this.models.list().map((m) => this.modelCard(m)) }),
    );
    app.get('/v1/models/:id{.+}', (c) => {
      const id = c.req.param('id');
      const m = this.models.get(id);
      if (!m) {
        throw new MmrtError('MODEL_NOT_FOUND', `model "${id}" is not loaded on this server`, {
          value: id,
          valid: this.models.list().map((x) => x.id),
        });
      }
      return c.json(this.modelCard(m));
    });

    // Model requests: a scope (signal, timeout, shutdown), in-flight accounting, metrics.
    const track =
      (endpoint: string): MiddlewareHandler<Env> =>
      async (c, next) => {
        const end = this.begin();
        const started = performance.now();
        const scope = new RequestScope(c.req.raw.signal, config.limits.requestTimeoutMs);
        this.scopes.add(scope);
        c.set('scope', scope);
        c.set('endpoint', endpoint);
        const finish = () => {
          scope.end();
          this.scopes.delete(scope);
          if (scope.cancelled) metrics.cancelled.inc({ endpoint, reason: scope.cancelled });
          metrics.requests.inc({ endpoint, status: String(c.res.status) });
          metrics.requestSeconds.observe({ endpoint }, (performance.now() - started) / 1000);
          end();
        };
        try {
          await next();
        } catch (e) {
          c.res = this.errorResponse(c, scope.explain(e));
        }
        const pending = c.get('pending');
        if (pending) void pending.finally(finish);
        else finish();
      };

    const json =
      (handler: (body: unknown, ctx: RouteContext, signal: AbortSignal) => Promise<unknown>) =>
      async (c: Context<Env>) => {
        const scope = c.get('scope');
        const body = await readBody(c);
        return c.json((await handler(body, this.routes, scope.signal)) as object);
      };

    app.post('/v1/embeddings', track('embeddings'), json(embeddings));
    app.post('/v1/classify', track('classify'), json(classify));
    app.post('/v1/captions', track('captions'), json(captions));
    app.post('/v1/chat/completions', track('chat'), async (c) => {
      const scope = c.get('scope');
      const call = await prepareChat(await readBody(c), this.routes, scope.signal);
      if (!call.parsed.stream) return c.json(completion(call, await call.service.submit(call.job)));
      // Streamed: deltas are queued as they come (never blocking the model on a slow reader).
      let writes = Promise.resolve();
      // Until the stream exists, events wait here (the role chunk goes first either way).
      const early: string[] = [];
      let write: (data: string) => void = (data) => early.push(data);
      // Queued now, so a full queue is still a 429 before any byte of the stream.
      const result = call.service.submit({
        ...call.job,
        onDelta: (d) => write(JSON.stringify(chunk(call, { content: d }, null))),
      });
      result.catch(() => undefined);
      let done!: () => void;
      c.set('pending', new Promise<void>((r) => (done = r)));
      return streamSSE(c, async (stream) => {
        stream.onAbort(() =>
          scope.cancel('disconnect', new ServeError('ABORTED', 'the client closed the stream')),
        );
        write = (data) => {
          writes = writes.then(() => stream.writeSSE({ data }));
        };
        try {
          write(JSON.stringify(chunk(call, { role: 'assistant', content: '' }, null)));
          for (const data of early.splice(0)) write(data);
          try {
            const r = await result;
            write(JSON.stringify(chunk(call, {}, finishReason(r.finishReason))));
            if (call.parsed.includeUsage) write(JSON.stringify(chunk(call, {}, null, usageOf(r))));
            write('[DONE]');
          } catch (e) {
            // Headers are gone: the error travels as an event (the SDKs raise it as APIError).
            write(JSON.stringify(httpError(scope.explain(e)).body));
          }
          await writes;
        } finally {
          done();
        }
      });
    });
  }

  private modelCard(m: ServedModel) {
    return {
      id: m.id,
      object: 'model',
      created: m.created,
      owned_by: 'mmrt',
      kind: m.kind,
      family: m.family,
      endpoints: m.tasks,
    };
  }
}

async function readBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (e) {
    if (e instanceof ServeError) throw e;
    throw new InputError('INPUT_INVALID', `the request body is not JSON: ${(e as Error).message}`, {
      valid: 'a JSON object (Content-Type: application/json)',
    });
  }
}
