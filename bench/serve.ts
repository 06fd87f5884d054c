/**
 * Load benchmark of `mmrt serve`, on loopback only and bounded in requests and time.
 *
 *   npm run bench -- serve [--clip models/shapes-clip] [--vlm models/shapes-vlm]
 *                          [--levels 1,4,16,64] [--rounds 3] [--level-seconds 20] [--memory-requests 10000]
 *                          [--memory-concurrency 32] [--memory-seconds 600] [--server-args "..."]
 *                          [--out bench/results/serve.json]
 *
 * 1. Throughput and p50/p99 latency at 1, 4, 16 and 64 concurrent clients, with dynamic
 *    batching on and off (`--no-batching`), for image embeddings and for chat. The servers are the
 *    real CLI in child processes on 127.0.0.1, side by side, measured in turn (order swapped
 *    each round); clients are fetch loops in this process. Every
 *    request is distinct (a freshly rendered picture), so no cache answers for the model: chat
 *    rows are fresh conversations (window-batched when batching is on), embeddings miss the
 *    caches as new images would.
 * 2. A memory run: `--memory-requests` mixed requests (image embeddings, text embeddings,
 *    zero-shot, one- and two-turn chats) at `--memory-concurrency`, the server's resident
 *    memory read from its /metrics every 1,000 requests; it passes when the last reading is
 *    within 5% of the one after the first 1,000 and no request failed.
 * Results: bench/results/serve.json. The client shares the CPU with the server: figures are
 * for comparing modes in one run, not absolute capacity.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLASSES, encode, renderShape } from '../tools/shapes/render.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    clip: { type: 'string', default: join(root, 'models/shapes-clip') },
    vlm: { type: 'string', default: join(root, 'models/shapes-vlm') },
    levels: { type: 'string', default: '1,4,16,64' },
    rounds: { type: 'string', default: '3' },
    'level-seconds': { type: 'string', default: '20' },
    'memory-requests': { type: 'string', default: '10000' },
    'memory-concurrency': { type: 'string', default: '32' },
    'memory-seconds': { type: 'string', default: '600' },
    skip: { type: 'string', default: '' },
    'session-threads': { type: 'string', default: 'main' },
    // More `mmrt serve` options for every server of the run, e.g. "--heap-growing-percent 0".
    'server-args': { type: 'string', default: '' },
    out: { type: 'string', default: join(root, 'bench/results/serve.json') },
  },
});
const levels = values.levels.split(',').map(Number);
const levelMs = Number(values['level-seconds']) * 1000;
const skip = new Set(values.skip.split(',').filter(Boolean));
const log = (m: string) => process.stderr.write(`${m}\n`);

// ------------------------------------------------------------------ server

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<number | null>;
}

async function startServer(batching: boolean): Promise<Server> {
  const args = [
    join(root, 'bin/mmrt.js'),
    'serve',
    '--model',
    resolve(values.clip),
    '--model',
    resolve(values.vlm),
    '--port',
    '0',
    '--platform',
    'cpu',
    '--max-queue',
    '1024',
    '--session-threads',
    values['session-threads'],
    ...(batching ? [] : ['--no-batching']),
    ...values['server-args'].split(/\s+/).filter(Boolean),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const line = await new Promise<string>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) res(out.split('\n')[0]!);
    });
    child.once('exit', (code) => rej(new Error(`mmrt serve exited ${code}: ${stderr}`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) throw new Error(`not a loopback address: ${url}`);
  return {
    url,
    child,
    stop: () =>
      new Promise((res) => {
        child.once('exit', res);
        child.kill('SIGTERM');
      }),
  };
}

/** The server's memory from its /metrics: resident, V8 heap in use, external (typed arrays, native). */
async function memoryOf(
  url: string,
): Promise<{ residentMiB: number; heapUsedMiB: number; externalMiB: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number((Number(m[1]) / 2 ** 20).toFixed(1)) : Number.NaN;
  };
  return {
    residentMiB: read('process_resident_memory_bytes'),
    heapUsedMiB: read('nodejs_heap_size_used_bytes'),
    externalMiB: read('nodejs_external_memory_bytes'),
  };
}

// ------------------------------------------------------------------ requests

/** A distinct small picture per index: no feature or prefix cache answers for the model. */
async function pictures(n: number, offset: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const [color, shape] = CLASSES[(offset + i) % CLASSES.length]!;
    const png = await encode(
      renderShape(10_000 + offset + i, 64 + ((offset + i) % 5) * 16, 64, color, shape, 'noise'),
    );
    out.push(`data:image/png;base64,${png.toString('base64')}`);
  }
  return out;
}

type Body = { readonly path: string; readonly body: object };

const embeddingBody = (uri: string): Body => ({
  path: '/v1/embeddings',
  body: {
    model: 'shapes-clip',
    input: [{ type: 'image_url', image_url: { url: uri } }],
    encoding_format: 'base64',
  },
});
const chatBody = (uri: string, question = 'Describe the image.'): Body => ({
  path: '/v1/chat/completions',
  body: {
    model: 'shapes-vlm',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: uri } },
          { type: 'text', text: question },
        ],
      },
    ],
  },
});

interface LevelResult {
  readonly concurrency: number;
  readonly requests: number;
  readonly failed: number;
  readonly seconds: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** `concurrency` clients in a loop until `requests` are done or the time is up. */
async function drive(
  url: string,
  concurrency: number,
  requests: number,
  timeMs: number,
  make: (i: number) => Body | Promise<Body>,
  onDone?: (done: number) => Promise<void>,
): Promise<LevelResult & { errors: Record<string, number>; latencies: number[] }> {
  let next = 0;
  let done = 0;
  let failed = 0;
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests && performance.now() - t0 < timeMs) {
        const { path, body } = await make(next++);
        const s = performance.now();
        try {
          const res = await fetch(`${url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          const text = await res.text();
          if (!res.ok) {
            failed++;
            const code =
              (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? String(res.status);
            errors[code] = (errors[code] ?? 0) + 1;
          }
        } catch (e) {
          failed++;
          errors.network = (errors.network ?? 0) + 1;
          void e;
        }
        latencies.push(performance.now() - s);
        done++;
        if (onDone) await onDone(done);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    requests: done,
    failed,
    seconds: Number(seconds.toFixed(3)),
    throughput: Number((done / seconds).toFixed(2)),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
    errors,
    latencies,
  };
}

// ------------------------------------------------------------------ phases

// Requests per level and round: a level lasts ~2 s or more here (shorter ones, 24-64 requests,
// varied by +-30% between runs), and `--level-seconds` still bounds it.
const WORKLOADS = {
  embeddings: { make: embeddingBody, perLevel: (c: number) => Math.max(384, 16 * c) },
  chat: { make: (uri: string) => chatBody(uri), perLevel: (c: number) => Math.max(160, 8 * c) },
} as const;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Both servers run side by side and every level is measured on each in turn, `--rounds` times
 * with the order swapped each round, so drift on a shared machine hits both modes alike.
 * Throughput: the median over rounds; p50 / p99: over every request of every round.
 */
async function loadPhase() {
  const rounds = Number(values.rounds);
  const servers = { batching_on: await startServer(true), batching_off: await startServer(false) };
  log(`batching on: ${servers.batching_on.url}, off: ${servers.batching_off.url}`);
  const results: Record<string, Record<string, LevelResult[]>> = {};
  try {
    for (const [name, w] of Object.entries(WORKLOADS)) {
      // Warm-up: sessions created, the decoder loaded, the code paths hot.
      for (const server of Object.values(servers))
        await drive(server.url, 4, 8, 30_000, async (i) => w.make((await pictures(1, 90_000 + i))[0]!));
      let offset = 0;
      for (const c of levels) {
        const n = w.perLevel(c);
        const runs: Record<string, Array<Awaited<ReturnType<typeof drive>>>> = {
          batching_on: [],
          batching_off: [],
        };
        for (let round = 0; round < rounds; round++) {
          // Fresh pictures each round: nothing a server saw before.
          const uris = await pictures(n, offset);
          offset += n;
          const order =
            round % 2
              ? (['batching_off', 'batching_on'] as const)
              : (['batching_on', 'batching_off'] as const);
          for (const mode of order)
            runs[mode]!.push(await drive(servers[mode].url, c, n, levelMs, (i) => w.make(uris[i]!)));
        }
        for (const [mode, rs] of Object.entries(runs)) {
          const latencies = rs.flatMap((r) => r.latencies).sort((a, b) => a - b);
          const row: LevelResult = {
            concurrency: c,
            requests: rs.reduce((k, r) => k + r.requests, 0),
            failed: rs.reduce((k, r) => k + r.failed, 0),
            seconds: Number(rs.reduce((k, r) => k + r.seconds, 0).toFixed(3)),
            throughput: Number(median(rs.map((r) => r.throughput)).toFixed(2)),
            p50Ms: Number(percentile(latencies, 50).toFixed(2)),
            p99Ms: Number(percentile(latencies, 99).toFixed(2)),
          };
          results[name] = { ...results[name], [mode]: [...(results[name]?.[mode] ?? []), row] };
          const errors = Object.assign({}, ...rs.map((r) => r.errors));
          log(
            `  ${name} ${mode.padEnd(12)} c=${String(c).padStart(2)}: ${row.requests} req, ${row.throughput} req/s (median of ${rounds}), p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms${row.failed ? `, ${row.failed} failed ${JSON.stringify(errors)}` : ''}`,
          );
        }
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
  const gains: Record<string, Record<string, number>> = {};
  for (const [name, modes] of Object.entries(results)) {
    gains[name] = {};
    for (const row of modes.batching_on ?? []) {
      const off = modes.batching_off?.find((r) => r.concurrency === row.concurrency);
      if (off) gains[name]![String(row.concurrency)] = Number((row.throughput / off.throughput).toFixed(2));
    }
  }
  return { rounds, results, batchingGain: gains };
}

async function memoryPhase() {
  const total = Number(values['memory-requests']);
  const concurrency = Number(values['memory-concurrency']);
  const server = await startServer(true);
  log(`memory: ${total} mixed requests at ${concurrency} concurrency on ${server.url}`);
  // A working set of 64 pictures: caches fill to their steady state, as in production.
  const uris = await pictures(64, 50_000);
  const make = async (i: number): Promise<Body> => {
    const uri = uris[i % uris.length]!;
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
      case 3:
        return embeddingBody(uri);
      case 4:
        return {
          path: '/v1/embeddings',
          body: { model: 'shapes-clip', input: [`a photo of shape ${i % 97}`] },
        };
      case 5:
        return {
          path: '/v1/classify',
          body: { model: 'shapes-clip', input: uri, labels: ['red star', 'blue circle', 'green square'] },
        };
      case 6:
      case 7:
        return chatBody(uri, i % 2 ? 'What color is the shape?' : 'What shape is this?');
      default: {
        // Turn 2 of an earlier chat: exercises the KV-prefix pool.
        const first = chatBody(uri, 'What color is the shape?').body as { messages: unknown[] };
        return {
          path: '/v1/chat/completions',
          body: {
            model: 'shapes-vlm',
            messages: [
              ...first.messages,
              { role: 'assistant', content: CLASSES[(50_000 + (i % uris.length)) % CLASSES.length]![0] },
              { role: 'user', content: 'What shape is this?' },
            ],
          },
        };
      }
    }
  };
  // Resident memory saws with garbage collection (tens of MiB here): a level is the median of
  // the samples over 500 requests (one every 100), not one reading that may fall on a peak.
  const samples: Array<{ requests: number; residentMiB: number; heapUsedMiB: number; externalMiB: number }> =
    [];
  const sample = async (done: number) => {
    if (done % 100 === 0) {
      const m = await memoryOf(server.url);
      samples.push({ requests: done, ...m });
      if (done % 1000 === 0)
        log(
          `  after ${done}: resident ${m.residentMiB} MiB (heap ${m.heapUsedMiB}, external ${m.externalMiB})`,
        );
    }
  };
  const before = (await memoryOf(server.url)).residentMiB;
  let run: Awaited<ReturnType<typeof drive>>;
  try {
    run = await drive(server.url, concurrency, total, Number(values['memory-seconds']) * 1000, make, sample);
  } finally {
    await server.stop();
  }
  const level = (upTo: number) =>
    median(samples.filter((x) => x.requests > upTo - 500 && x.requests <= upTo).map((x) => x.residentMiB));
  const first = level(1000);
  const last = level(run.requests - (run.requests % 100));
  const drift = (last - first) / first;
  const peak = Math.max(...samples.map((x) => x.residentMiB));
  const pass = run.failed === 0 && run.requests === total && Math.abs(drift) <= 0.05;
  log(
    `  ${run.requests} requests, ${run.failed} failed, ${run.throughput} req/s; resident level ${first} MiB after 1000 -> ${last} MiB at the end (${(drift * 100).toFixed(2)}%), peak ${peak} MiB: ${pass ? 'PASS' : 'FAIL'}`,
  );
  return {
    requests: run.requests,
    concurrency,
    failed: run.failed,
    errors: run.errors,
    seconds: run.seconds,
    throughput: run.throughput,
    p50Ms: run.p50Ms,
    p99Ms: run.p99Ms,
    residentMiBAtStart: before,
    residentLevelMiBAfter1000: first,
    residentLevelMiBAtEnd: last,
    residentPeakMiB: peak,
    samples: samples.filter((x) => x.requests % 500 === 0),
    driftAfterFirst1000: Number(drift.toFixed(4)),
    pass,
  };
}

const started = new Date().toISOString();
const loadavg = os.loadavg();
const load = skip.has('load') ? undefined : await loadPhase();
const memory = skip.has('memory') ? undefined : await memoryPhase();
const out = {
  benchmark: 'serve',
  started,
  machine: {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    loadAverageAtStart: loadavg.map((x) => Number(x.toFixed(2))),
    node: process.version,
  },
  models: { clip: values.clip, vlm: values.vlm },
  note: 'client and server share the machine; compare modes within one run',
  ...(load && { load }),
  ...(memory && { memory }),
};
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, `${JSON.stringify(out, null, 2)}\n`);
log(`wrote ${values.out}`);
