/** Hex text → bytes. Accepts spaces, colons, commas, dashes, newlines and 0x prefixes. */
export function parseHex(text: string): Buffer {
  const clean = text.replace(/0x/gi, '').replace(/[\s,:;\-_|]/g, '');
  if (/[^0-9a-f]/i.test(clean)) {
    const bad = clean.match(/[^0-9a-f]/i)![0];
    throw new Error(`not hex: unexpected character ${JSON.stringify(bad)}`);
  }
  if (clean.length % 2) throw new Error(`odd number of hex digits (${clean.length})`);
  return Buffer.from(clean, 'hex');
}

/** JSON.stringify with Buffers as hex strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('hex');
    }
    return v;
  });
}
