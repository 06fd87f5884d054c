/** Probe an execution provider by creating and running a session on a 170-byte graph. */
import type { OrtModule } from '../host/host.js';
import type { ProviderStatus } from '../host/capabilities.js';
import { probeModelBytes } from './probe-model.js';
import type { ExecutionProviderName } from './providers.js';
import { createSession } from './session.js';

export async function probeProvider(
  ort: OrtModule,
  name: ExecutionProviderName,
  bundled: boolean,
): Promise<ProviderStatus> {
  const t0 = performance.now();
  try {
    const session = await createSession(ort, {
      name: `probe:${name}`,
      model: probeModelBytes(),
      providers: [name],
      logSeverityLevel: 4,
    });
    try {
      const x = new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]);
      const out = await session.run({ x });
      const y = out.y?.data as Float32Array | undefined;
      if (y?.[3] !== 8) return { name, bundled, usable: false, reason: 'probe produced a wrong result' };
    } finally {
      await session.release();
    }
    return { name, bundled, usable: true, probeMs: performance.now() - t0 };
  } catch (e) {
    // Keep the first line and drop the "To get it" hint: doctor prints the hint from the table.
    const reason = (e instanceof Error ? e.message : String(e))
      .split('\n')[0]!
      .split('. To get it:')[0]!
      .slice(0, 300);
    return { name, bundled, usable: false, reason, probeMs: performance.now() - t0 };
  }
}
