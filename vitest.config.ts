import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // ONNX Runtime sessions and sharp are native: forks isolate them best on 2 cores.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // Tests never read or write the user's cache (downloads, graph cache, logit scales).
    env: {
      MMRT_CACHE_DIR: join(tmpdir(), `mmrt-test-cache-${process.pid}`),
      HF_HUB_CACHE: join(tmpdir(), `mmrt-test-hf-hub-${process.pid}`),
    },
  },
});
