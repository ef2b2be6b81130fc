import assert from 'node:assert/strict';
import { main, parseSimArgs } from '../../src/cli/sim';
import { captureIo } from '../helpers/cli';

describe('jkbms sim: --bank, --day, --plant', () => {
  it('parses a bank with a ten-minute day and planted faults', () => {
    const o = parseSimArgs(['--packs', '1-2', '--bank', '--day', '600', '--plant', 'cell 2.7: +3 mΩ; cell 1.12: -8 % capacity'])!;
    assert.equal(o.bank, true);
    assert.equal(o.dayS, 600);
    assert.deepEqual(o.plant, [
      { pack: 2, cell: 7, resistanceMohm: 3 },
      { pack: 1, cell: 12, capacityPct: -8 },
    ]);
    assert.deepEqual([parseSimArgs(['--bank'])!.bank, parseSimArgs(['--bank'])!.dayS], [true, undefined]);
    assert.equal(parseSimArgs([])!.bank, undefined);
    assert.equal(parseSimArgs(['--day', '3600'])!.dayS, 3600, 'a faster day without a bank: the packs\' own profiles');
  });

  const usage: [string[], RegExp][] = [
    [['--bank', '--day', '5'], /--day: expected an integer 144–86400, got "5"/],
    [['--plant', 'cell 2: +3 mΩ'], /--plant: planted fault "cell 2: \+3 mΩ": a cell is "<pack>\.<cell>"/],
    [['--packs', '1-2', '--plant', 'cell 3.1: +1 mΩ'], /planted fault for pack 3, but the simulated packs are 1, 2/],
  ];
  for (const [argv, message] of usage) {
    it(`exits 2 with a clear message for ${argv.join(' ')}`, async () => {
      const c = captureIo();
      assert.equal(await main(argv, c.io), 2);
      assert.equal(c.out.length, 0);
      assert.match(c.err[0]!, message);
      assert.equal(c.err[1], 'Try "jkbms sim --help".');
    });
  }

  it('runs a bank: the listening line names the day and the planted faults', async () => {
    const c = captureIo();
    const done = main(['--packs', '1-2', '--bank', '--day', '600', '--plant', '2.7: +3 mohm'], c.io);
    while (!c.out.length) await new Promise((r) => setTimeout(r, 10));
    const ready = JSON.parse(c.out[0]!) as { bank: boolean; dayS: number; plant: string };
    assert.deepEqual([ready.bank, ready.dayS], [true, 600]);
    assert.equal(ready.plant, 'cell 2.7: +3 mΩ');
    c.stop();
    assert.equal(await done, 0);
    assert.deepEqual(c.err, []);
  });
});
