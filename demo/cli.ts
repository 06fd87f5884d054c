/**
 * `npm run demo`: build the demo page and serve it (cross-origin isolated, so WASM threads
 * work) at http://localhost:5173/ until Ctrl-C. `--port N`, `--build-only`.
 */
import { buildDemo } from './build.js';
import { serveStatic } from './serve.js';

const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1] ?? 5173);
const t0 = performance.now();
const out = await buildDemo({ minify: true });
console.log(`demo built in ${Math.round(performance.now() - t0)} ms -> ${out}`);
if (!args.includes('--build-only')) {
  const server = await serveStatic({ root: out, port: args.includes('--port') ? port : 5173 });
  console.log(`mmrt demo: ${server.url}  (COOP/COEP on: WASM threads available; Ctrl-C to stop)`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
