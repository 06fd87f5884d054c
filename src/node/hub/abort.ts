/**
 * Cancellation helpers: every wait in a download (fetch, body, lock polling, retry backoff)
 * ends promptly with the same typed error when the caller's signal fires.
 */
import { DownloadError } from '../../errors.js';

/** The typed error for an aborted operation, carrying the signal's reason as cause. */
export function abortError(signal: AbortSignal | undefined, what: string): DownloadError {
  return new DownloadError(
    'DOWNLOAD_ABORTED',
    `Download of ${what} was aborted`,
    { value: what, hint: 'The partial download is kept; the next request resumes it.' },
    { cause: signal?.reason },
  );
}

export function sleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal, what));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal, what));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
