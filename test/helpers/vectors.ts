import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The captured frames in ../shared/vectors (never copied into this project). On a user's
 * machine that folder is absent: the vector suites then register no tests and say so once;
 * the project's own fixtures (frames built by our encoder and simulator) still run.
 */
export const VECTORS_DIR = process.env.JKBMS_VECTORS ?? resolve(__dirname, '..', '..', '..', 'shared', 'vectors');

export function vectorsAvailable(): boolean {
  return existsSync(join(VECTORS_DIR, 'expected'));
}

export interface VectorEntry {
  id: string;
  source: string;
  kind: 'rs485-response' | 'rs485-request' | 'rs485-stream' | 'ble-frame';
  frame_type: number | null;
  hex: string;
  checksum_ok: boolean;
  length?: number;
  responder_address?: number;
  ack_offset?: number;
  [k: string]: unknown;
}

export interface ExpectedEntry {
  id: string;
  kind: string;
  frame_type: number;
  hex: string;
  decoded: Record<string, number | string | boolean | null>;
}

export function loadSources(): VectorEntry[] {
  const out: VectorEntry[] = [];
  for (const f of readdirSync(VECTORS_DIR).sort()) {
    if (!f.endsWith('.json')) continue;
    out.push(...(JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as VectorEntry[]));
  }
  return out;
}

export function loadExpected(): ExpectedEntry[] {
  const dir = join(VECTORS_DIR, 'expected');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ExpectedEntry);
}

let noted = false;
/** Log once why the vector suites are absent. */
export function noteVectorsMissing(): void {
  if (noted) return;
  noted = true;
  console.log(`  (captured vectors not found at ${VECTORS_DIR}: vector suites not registered; own fixtures still run)`);
}
