import { AsyncLocalStorage } from 'node:async_hooks';

import type { RequestContext, RequestInfo } from '../ports/request-context.ts';

/** The request context over AsyncLocalStorage: one per app, made in the composition root. */
export function createRequestContext(): RequestContext {
  const storage = new AsyncLocalStorage<RequestInfo>();
  return {
    current: () => storage.getStore(),
    run: (info, fn) => storage.run(info, fn),
  };
}
