/**
 * Decode and preprocess a request's images together; a failure names the image and its place
 * in the request (`image 2 (photo.jpg) could not be used: ...`), with the decoder's own code
 * (IMAGE_DECODE_FAILED, IMAGE_TOO_LARGE, INPUT_NOT_FOUND, ...).
 */
import { InputError, isMmrtError } from '../errors.js';
import { describeInput, type ImageInput } from './input.js';

export async function prepareImages<T>(
  inputs: readonly ImageInput[],
  prepare: (input: ImageInput) => Promise<T>,
): Promise<T[]> {
  const results = await Promise.allSettled(inputs.map((input) => prepare(input)));
  const failed = results.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) {
    const reason = (results[failed] as PromiseRejectedResult).reason as Error;
    throw new InputError(
      isMmrtError(reason) ? reason.code : 'IMAGE_DECODE_FAILED',
      `image ${failed} (${describeInput(inputs[failed]!)}) could not be used: ${reason.message}`,
      { index: failed, value: describeInput(inputs[failed]!) },
      { cause: reason },
    );
  }
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
