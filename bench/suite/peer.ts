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

type Tf = Awaited<ReturnType<typeof peerLibrary>>['tf'];
type PeerProcessor = Awaited<ReturnType<Tf['AutoProcessor']['from_pretrained']>>;
type PeerVlm = Awaited<ReturnType<Tf['LlavaForConditionalGeneration']['from_pretrained']>>;

/** A chat message in the peer's template format. */
export type PeerMessage = { role: string; content: string | Array<{ type: string; text?: string }> };

export const peerUser = (question: string, withImage: boolean): PeerMessage => ({
  role: 'user',
  content: [...(withImage ? [{ type: 'image' }] : []), { type: 'text', text: question }],
});

/**
 * Greedy generation on the peer's VLM, timed by its streamer: time to first token (like mmrt's,
 * it includes preprocessing), decode rate after the first token, the answer and the prompt length.
 */
export function peerGenerate(tf: Tf, processor: PeerProcessor, model: PeerVlm) {
  /** Timestamps of the streamer's calls: the prompt first, then one per generated token. */
  class Clock extends tf.BaseStreamer {
    times: number[] = [];
    override put(): void {
      this.times.push(performance.now());
    }
    override end(): void {}
  }
  return async (messages: PeerMessage[], image: InstanceType<Tf['RawImage']>, maxNew: number, minNew = 0) => {
    const t0 = performance.now();
    const text = processor.apply_chat_template(messages as never, { add_generation_prompt: true }) as string;
    const inputs = await processor(image, text);
    const clock = new Clock();
    // biome-ignore lint/suspicious/noExplicitAny: generate's union return type
    const out: any = await model.generate({
      ...inputs,
      max_new_tokens: maxNew,
      min_new_tokens: minNew,
      do_sample: false,
      streamer: clock,
    });
    const t = clock.times;
    const promptLen = inputs.input_ids.dims.at(-1) as number;
    const answer = processor.batch_decode(out.slice(null, [promptLen, null]), {
      skip_special_tokens: true,
    })[0] as string;
    const rate = t.length > 2 ? ((t.length - 2) * 1000) / (t[t.length - 1]! - t[1]!) : 0;
    return { ttft: t[1]! - t0, rate, answer, promptLen };
  };
}
