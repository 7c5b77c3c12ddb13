/**
 * The single entry for every call, whatever carried it (IPC, HTTP, CLI): look the method up in
 * the contract, validate the arguments with its schema, run the handler, wrap the outcome in
 * the envelope.
 */
import { lookupMethod, type Handlers } from '../../shared/api';
import { AppError, toErrorInfo, type Envelope } from '../../shared/errors';

export type Dispatch = (methodId: string, rawArgs: unknown) => Promise<Envelope<unknown>>;

export function createDispatcher<Ctx>(
  handlers: Handlers<Ctx>,
  ctx: Ctx,
  onInternalError?: (methodId: string, e: unknown) => void,
): Dispatch {
  return async (methodId, rawArgs) => {
    const found = lookupMethod(methodId);
    if (!found) return { ok: false, error: { code: 'UNKNOWN_METHOD', message: `unknown method "${methodId}"` } };
    const parsed = found.spec.args.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      const text = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
      return {
        ok: false,
        error: { code: 'BAD_REQUEST', message: `${methodId}: invalid arguments (${text})`, details: issues },
      };
    }
    const service = handlers[found.service] as Record<string, (a: unknown, c: Ctx) => unknown>;
    try {
      const value = await service[found.method](parsed.data, ctx);
      return { ok: true, value };
    } catch (e) {
      if (!(e instanceof AppError)) onInternalError?.(methodId, e);
      return { ok: false, error: toErrorInfo(e) };
    }
  };
}
