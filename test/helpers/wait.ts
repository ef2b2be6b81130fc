/** Waiting on the real clock in tests. */

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface UntilOptions {
  /** Poll interval, ms (default 50). */
  everyMs?: number;
  /** Said in the timeout error, e.g. what was seen instead. */
  detail?: () => unknown;
  /** An error thrown by `fn` counts as "not yet" (default: it fails at once). */
  retryErrors?: boolean;
}

/** Poll `fn` until it returns a truthy value (resolved with it); fail after `timeoutMs` naming `what`. */
export async function until<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string, opts: UntilOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      if (!opts.retryErrors) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = opts.detail ? `: ${JSON.stringify(opts.detail())}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await sleep(opts.everyMs ?? 50);
  }
}
