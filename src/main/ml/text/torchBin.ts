import type { HostTensor } from './weights';
import { TextModelError } from './config';
export async function listTorchBinTensors(file: string): Promise<Map<string, number[]>> {
  throw new TextModelError(`${file}: pytorch_model.bin reading is not available yet`);
}
export async function readTorchBin(file: string): Promise<Map<string, HostTensor>> {
  throw new TextModelError(`${file}: pytorch_model.bin reading is not available yet`);
}
