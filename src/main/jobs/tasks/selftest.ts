/**
 * Backend self-test: measures matrix-multiply throughput on the TensorFlow.js backend this
 * machine picked, so a user can see what "wasm, one thread" or "tensorflow-gpu" is worth before
 * starting a long run. Also the smallest real job, used to check the runner end to end.
 */
import { initBackend, tf } from '../../ml/backends/tf';
import type { JobParams, SelfTestResult } from '../../../shared/jobs';
import type { TaskContext } from '../protocol';

export async function selfTestTask(
  { size, iterations }: JobParams<'backend.selftest'>,
  ctx: TaskContext<'backend.selftest'>,
): Promise<SelfTestResult> {
  const backend = await initBackend();
  ctx.log('info', `backend ${backend.name}: ${backend.reason}`);
  const a = tf.randomNormal([size, size], 0, 1, 'float32', 1111);
  const b = tf.randomNormal([size, size], 0, 1, 'float32', 2222);
  try {
    // one warm-up multiply so kernel compilation is not timed
    const warm = tf.matMul(a, b);
    await warm.data();
    warm.dispose();
    let elapsed = 0;
    for (let i = 0; i < iterations; i++) {
      ctx.throwIfCancelled();
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
      elapsed += performance.now() - t0;
      ctx.progress((i + 1) / iterations, `matmul ${i + 1}/${iterations}`, { msPerMatMul: elapsed / (i + 1) });
      // yield so the cancel message can be delivered between iterations
      await new Promise((r) => setImmediate(r));
    }
    const ms = elapsed / iterations;
    return {
      backend: backend.name,
      reason: backend.reason,
      size,
      iterations,
      msPerMatMul: ms,
      gflops: (2 * size ** 3) / (ms * 1e6),
    };
  } finally {
    a.dispose();
    b.dispose();
  }
}
