/** A local HTTP server for URL inputs: serves the given paths, 404 for the rest. */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ImageServer {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** A port nothing listens on (bound, then released): connections to it are refused. */
  readonly closedPort: number;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export async function startImageServer(files: Readonly<Record<string, Buffer>> = {}): Promise<ImageServer> {
  const server = createServer((req, res) => {
    const body = files[req.url ?? ''];
    if (body) res.writeHead(200, { 'content-type': 'image/png' }).end(body);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  const port = await listen(server);
  const probe = createServer();
  const closedPort = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return {
    base: `http://127.0.0.1:${port}`,
    closedPort,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
