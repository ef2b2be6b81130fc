import { FRAME_LEN, HEADER } from '../protocol/constants';
import { FrameError, decodeFrame } from '../protocol/decode';
import { Framer, type FramerEvent } from '../protocol/framer';
import { parseHex, toJson } from './hex';

/**
 * `jkbms decode <hex>`: one frame → one JSON object on stdout. A data frame (300 bytes, with or
 * without its 8-byte tail) prints the decoded payload; an 11/13-byte request, 8-byte ack or 5-byte
 * exception prints the framer's event. Anything else: exit 1 with the reason on stderr.
 */
export async function main(argv: string[]): Promise<number> {
  const text = argv.filter((a) => !a.startsWith('--')).join('');
  if (!text) {
    process.stderr.write('usage: jkbms decode <hex>\n');
    return 2;
  }
  try {
    process.stdout.write(`${toJson(decodeHex(text))}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`jkbms decode: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** Decode one frame given as hex (throws with a clear message when it is not exactly one valid frame). */
export function decodeHex(text: string): unknown {
  const bytes = parseHex(text);
  if (bytes.length === 0) throw new Error('no bytes given');
  if (bytes.subarray(0, 4).equals(HEADER)) {
    if (bytes.length < FRAME_LEN) throw new FrameError(`a data frame has ${FRAME_LEN} bytes, got ${bytes.length}`);
    decodeFrame(bytes); // precise error for a bad header / checksum / type
  }
  const framer = new Framer();
  const events: FramerEvent[] = [...framer.push(bytes), ...framer.flush()];
  const good = events.filter((e) => e.type !== 'discard');
  const junk = events.filter((e) => e.type === 'discard');
  if (good.length !== 1 || junk.length) {
    if (good.length === 0) {
      const why = junk.map((e) => (e.type === 'discard' ? `${e.bytes.length} byte(s) ${e.reason}` : '')).join(', ');
      throw new Error(`not a valid frame (${why || 'nothing recognised'})`);
    }
    throw new Error(`expected one frame, found ${good.length} message(s)${junk.length ? ' and discarded bytes' : ''}; use "jkbms parse --hex" for streams`);
  }
  const e = good[0]!;
  if (e.type === 'frame') return decodeFrame(e.frame, e.address);
  const { bytes: raw, ...rest } = e;
  return { ...rest, hex: raw.toString('hex') };
}
