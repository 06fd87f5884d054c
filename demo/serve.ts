/**
 * A static file server for the demo and the browser tests, with the headers WASM threads need:
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`
 * make the page cross-origin isolated (SharedArrayBuffer). esbuild's own `serve` cannot set
 * response headers, hence these few lines. Serves one folder, refuses paths that leave it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.map': 'application/json; charset=utf-8',
};

export interface StaticServer {
  readonly url: string;
  readonly server: Server;
  /** Requests served, by path (the tests read it to tell a cached visit from a first one). */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface ServeOptions {
  readonly root: string;
  readonly port?: number;
  readonly host?: string;
  /** Cross-origin isolation headers (default true). */
  readonly isolated?: boolean;
}

export async function serveStatic(options: ServeOptions): Promise<StaticServer> {
  const root = resolve(options.root);
  const requests: string[] = [];
  const isolated = options.isolated ?? true;
  const server = createServer(async (req, res) => {
    const headers: Record<string, string> = {
      'cache-control': 'no-cache',
      'cross-origin-resource-policy': 'same-origin',
      ...(isolated && {
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      }),
    };
    try {
      const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      requests.push(pathname);
      let file = normalize(join(root, pathname));
      if (file !== root && !file.startsWith(root + sep)) {
        res.writeHead(403, headers).end('forbidden');
        return;
      }
      let st = await stat(file).catch(() => undefined);
      if (st?.isDirectory()) {
        file = join(file, 'index.html');
        st = await stat(file).catch(() => undefined);
      }
      if (!st?.isFile()) {
        res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end(`not found: ${pathname}`);
        return;
      }
      res.writeHead(200, {
        ...headers,
        'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': String(st.size),
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(file).pipe(res);
    } catch (e) {
      res.writeHead(500, headers).end(String(e));
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host === '0.0.0.0' ? 'localhost' : (options.host ?? 'localhost')}:${port}/`,
    server,
    requests,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
