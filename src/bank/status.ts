import type { BankPayload } from './types';

/**
 * The jkbms-bank node's status, from its summary. Pure: the node translates `key` (i18n
 * key under `jkbms-bank.status.`) with `params`; `text` is set instead when there is nothing
 * to translate. Every text fits the 20 characters a node status shows.
 *
 *   green dot   "4/4 87% -24.6A"       every expected pack counted
 *   red ring    "3/4 stale 2"          a pack is stale or offline ("2/8 6 stale" when the list is long)
 *   red ring    "3/4 missing 1"        fewer packs seen than expected
 *   yellow ring "waiting for packs"    nothing seen yet, or a pack seen has not sent live data yet
 */

export interface BankStatusView {
  fill: 'green' | 'yellow' | 'red';
  shape: 'dot' | 'ring';
  key?: 'waiting' | 'stale' | 'stale-many' | 'missing';
  params?: Record<string, string | number>;
  text?: string;
}

/** Longest address list shown ("1,2,3"); longer lists show a count. */
const MAX_LIST = 6;

export function bankStatus(p: BankPayload): BankStatusView {
  const ratio = { online: p.packsOnline, expected: p.packsExpected };
  if (p.stale.length > 0) {
    const list = p.stale.join(',');
    return list.length <= MAX_LIST
      ? { fill: 'red', shape: 'ring', key: 'stale', params: { ...ratio, list } }
      : { fill: 'red', shape: 'ring', key: 'stale-many', params: { ...ratio, count: p.stale.length } };
  }
  const pending = p.packs.length - p.packsOnline - p.stale.length;
  if (p.packsOnline === 0 || pending > 0) return { fill: 'yellow', shape: 'ring', key: 'waiting' };
  if (p.packsOnline < p.packsExpected) {
    return { fill: 'red', shape: 'ring', key: 'missing', params: { ...ratio, count: p.packsExpected - p.packsOnline } };
  }
  return { fill: 'green', shape: 'dot', text: okText(p) };
}

/** "4/4 87% -24.6A". */
function okText(p: BankPayload): string {
  const soc = p.soc === null ? '' : ` ${Math.round(p.soc)}%`;
  const current = p.current === null ? '' : ` ${(Math.round(p.current * 10) / 10 || 0).toFixed(1)}A`;
  return `${p.packsOnline}/${p.packsExpected}${soc}${current}`;
}
