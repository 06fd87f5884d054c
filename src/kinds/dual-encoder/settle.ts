/**
 * A batch of images where one bad image must cost only itself: the CLI's `classify` (one line
 * per image) and the server (one request per image) both need it.
 */
import { InputError, isMmrtError } from '../../errors.js';

/** What happened to one image of a settled batch. */
export type ImageOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: InputError };

/** One entry of the `failures` detail a dual-encoder's image batch throws (see `ClipModel`). */
interface ImageFailure {
  readonly index: number;
  readonly code: string;
  readonly message: string;
}

/**
 * Runs `run` over the images. When it fails naming the images it could not use (the error's
 * `details.failures`), those are set aside with their own error and the others run again
 * (decoded once more); any other error is thrown. Results are in input order.
 */
export async function settleImages<I, T>(
  images: readonly I[],
  run: (images: I[]) => Promise<readonly T[]>,
): Promise<Array<ImageOutcome<T>>> {
  const out: Array<ImageOutcome<T>> = new Array(images.length);
  let pending = images.map((_, i) => i);
  while (pending.length > 0) {
    try {
      const values = await run(pending.map((i) => images[i]!));
      pending.forEach((i, k) => {
        out[i] = { ok: true, value: values[k]! };
      });
      pending = [];
    } catch (e) {
      const failures = isMmrtError(e) ? (e.details.failures as ImageFailure[] | undefined) : undefined;
      if (!failures?.length) throw e;
      const bad = new Set<number>();
      for (const f of failures) {
        bad.add(f.index);
        out[pending[f.index]!] = {
          ok: false,
          error: new InputError(f.code as 'IMAGE_DECODE_FAILED', f.message),
        };
      }
      pending = pending.filter((_, k) => !bad.has(k));
    }
  }
  return out;
}
