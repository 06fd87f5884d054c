/**
 * @huggingface/transformers (the peer) on the suite's model folders, offline, imported only in
 * the peer's own child processes (so mmrt's processes never pay for it, in time or memory).
 */
import { basename, dirname } from 'node:path';

export type PeerThreads = 'default' | number;

export async function peerLibrary(modelDir: string) {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  // transformers.js joins localModelPath and the id with '/': hand it the parent and the name.
  tf.env.localModelPath = `${dirname(modelDir)}/`;
  return { tf, id: basename(modelDir) };
}

/** Its options at its defaults, or at mmrt's thread count. */
export function peerOptions(threads: PeerThreads) {
  return {
    device: 'cpu' as const,
    dtype: 'fp32' as const,
    session_options: threads === 'default' ? {} : { intraOpNumThreads: threads, interOpNumThreads: 1 },
  };
}

/** Adds up the time spent inside a transformers.js model's ONNX Runtime sessions. */
export function sessionClock(model: { sessions?: Record<string, { run: (...a: never[]) => unknown }> }) {
  const clock = { ms: 0 };
  for (const s of Object.values(model.sessions ?? {})) {
    const run = s.run.bind(s);
    s.run = (async (...args: never[]) => {
      const t0 = performance.now();
      try {
        return await run(...args);
      } finally {
        clock.ms += performance.now() - t0;
      }
    }) as never;
  }
  return clock;
}
