/**
 * Checksums of the JK-PB RS485 protocol (docs/protocol.md §2.2).
 *  - CRC-16/MODBUS: poly 0xA001 (reflected 0x8005), init 0xFFFF, no final XOR; sent low byte first.
 *  - sum8: sum of frame bytes 0…298 modulo 256, stored at byte 299 of every data frame.
 */

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export function crc16(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ data[i]!) & 0xff]!;
  return crc;
}

/** True when the two bytes at `at` hold the CRC of data[start, at), low byte first. */
export function crcMatches(data: Uint8Array, start: number, at: number): boolean {
  const crc = crc16(data, start, at);
  return data[at] === (crc & 0xff) && data[at + 1] === crc >>> 8;
}

export function sum8(data: Uint8Array, start = 0, end = data.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s += data[i]!;
  return s & 0xff;
}

/** The bytes followed by their CRC-16/MODBUS, low byte first. */
export function withCrc(bytes: Uint8Array | readonly number[]): Buffer {
  const out = Buffer.alloc(bytes.length + 2);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]!;
  const crc = crc16(out, 0, bytes.length);
  out[bytes.length] = crc & 0xff;
  out[bytes.length + 1] = crc >>> 8;
  return out;
}
