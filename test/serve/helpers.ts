/**
 * A real `mmrt serve` on a loopback port, over the shipped tiny models (loaded once per test
 * file and handed to each server), used through the official `openai` client.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import OpenAI from 'openai';
import { MODELS_DIR } from '../../src/cli/paths.js';
import type { ClipModel } from '../../src/kinds/dual-encoder/model.js';
import type { LlavaModel } from '../../src/kinds/vision-language/model.js';
import { type RunningServer, type StartServerOptions, startServer } from '../../src/serve/node/index.js';
import { tinyClip, tinyVlm } from '../helpers/models.js';

export const SAMPLES = join(MODELS_DIR, 'samples');
export const sample = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, name)));
export const dataUri = (bytes: Uint8Array, type = 'image/png') =>
  `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;

export const RED_STAR = sample('00_red_star.png');
export const BLUE_TRIANGLE = sample('01_blue_triangle.png');
export const GREEN_CIRCLE = sample('07_green_circle.jpg');

export interface TinyModels {
  readonly clip: ClipModel;
  readonly vlm: LlavaModel;
}

export async function tinyModels(): Promise<TinyModels> {
  const [clip, vlm] = await Promise.all([tinyClip(), tinyVlm()]);
  return { clip, vlm };
}

const running: RunningServer[] = [];

/** A server on 127.0.0.1:<free port> serving the given models (not owned: tests dispose them). */
export async function serveTiny(
  models: TinyModels,
  options: Omit<StartServerOptions, 'models'> = {},
): Promise<RunningServer> {
  const server = await startServer({
    models: [
      { name: 'shapes-clip', instance: models.clip },
      { name: 'shapes-vlm', instance: models.vlm },
    ],
    listen: { port: 0 },
    ...options,
  });
  running.push(server);
  return server;
}

export async function stopServers(): Promise<void> {
  await Promise.all(running.splice(0).map((s) => s.shutdown(1_000)));
}

export function client(server: RunningServer, apiKey = 'none'): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 30_000 });
}

/** One metric's value from /metrics (the sample whose labels include all of `labels`). */
export async function metric(
  server: RunningServer,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      total += Number(line.split(' ').pop());
  }
  return total;
}

/** A PNG whose header claims width x height, with almost no data: a decompression bomb's shape. */
export function pngBomb(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(Buffer.alloc(4096))),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

export const imagePart = (bytes: Uint8Array) => ({
  type: 'image_url' as const,
  image_url: { url: dataUri(bytes) },
});

export const ask = (bytes: Uint8Array, text: string) => ({
  role: 'user' as const,
  content: [imagePart(bytes), { type: 'text' as const, text }],
});
