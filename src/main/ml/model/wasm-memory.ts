/**
 * Halves the activation memory of training on the wasm backend.
 *
 * Why: for every op that keeps tensors for its gradient, tfjs-core saves `clone(tensor)`, and
 * the wasm backend's Identity kernel copies the buffer (the cpu backend shares it). So every
 * saved activation exists twice until the backward pass ends. Tensors are immutable in tfjs
 * (variables rebind to new buffers on assign), so a clone can share the buffer by reference
 * count, exactly as the wasm Reshape kernel already does. We register that Identity for 'wasm'.
 */
import { tf } from '../backends/tf.js';

let installed = false;

interface WasmBackendLike {
  incRef(dataId: object): void;
}

export function shareIdentityOnWasm(): void {
  if (installed || tf.getBackend() !== 'wasm') return;
  const current = tf.getKernel('Identity', 'wasm');
  if (current) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      if (x.dtype === 'string' && current) return current.kernelFunc({ inputs, backend, attrs: {} }) as tf.TensorInfo;
      (backend as unknown as WasmBackendLike).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
    },
  });
  installed = true;
}
