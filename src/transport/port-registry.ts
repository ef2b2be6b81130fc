import { realpathSync } from 'node:fs';
import { isIPv6 } from 'node:net';

/**
 * One owner per port in this process. Two bus config nodes on the same adapter would steal
 * each other's bytes (and a single-client TCP gateway drops one of them), so the second one
 * gets a clear error instead.
 */

export type PortTarget = { path: string } | { host: string; port: number };

interface Claim {
  owner: string;
  count: number;
}

const claims = new Map<string, Claim>();

/** Someone else holds the port: `key` (the port or file) is in use by `owner`. */
export class PortInUseError extends Error {
  constructor(
    readonly key: string,
    readonly owner: string,
  ) {
    super(`${key} is in use by ${owner}`);
    this.name = 'PortInUseError';
  }
}

/**
 * The identity of a port: a serial path with its symlinks resolved (so
 * /dev/serial/by-id/usb-... and /dev/ttyUSB0 are the same port), or "tcp://host:port" with
 * the host lower-cased and IPv6 bracketed. Host names are not resolved.
 */
export function portKey(target: PortTarget): string {
  if ('path' in target) {
    const path = target.path.trim();
    try {
      return realpathSync(path);
    } catch {
      return path; // absent right now (unplugged), or not a file path (COM3)
    }
  }
  const host = target.host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return `tcp://${isIPv6(host) ? `[${host}]` : host}:${target.port}`;
}

/**
 * Claim `key` for `owner`; returns the release function (idempotent). The same owner may
 * claim again (each claim is released separately). Throws a PortInUseError ("<key> is in use
 * by <other owner>") when someone else holds it.
 */
export function claimPort(key: string, owner: string): () => void {
  const held = claims.get(key);
  if (held && held.owner !== owner) throw new PortInUseError(key, held.owner);
  const claim = held ?? { owner, count: 0 };
  claim.count += 1;
  claims.set(key, claim);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    claim.count -= 1;
    if (claim.count === 0 && claims.get(key) === claim) claims.delete(key);
  };
}
