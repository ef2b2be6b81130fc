import assert from 'node:assert/strict';
import { main, parsePackList, parseSimArgs } from '../../src/cli/sim';
import { captureIo } from '../helpers/cli';

describe('jkbms sim: arguments', () => {
  it('parses pack lists, endpoints, faults, seed and baud', () => {
    assert.deepEqual(parsePackList('1-4,7'), [1, 2, 3, 4, 7]);
    assert.deepEqual(parsePackList(' 15 , 3-3 '), [15, 3]);
    assert.deepEqual(parseSimArgs(['--packs', '2,5', '--master', '--tcp', '127.0.0.1:5020', '--faults', 'drop=0.1', '--seed', '9', '--baud', '9600']), {
      packs: [2, 5],
      master: true,
      tcp: { host: '127.0.0.1', port: 5020 },
      pty: null,
      faults: { drop: 0.1, silenceMs: 20000 },
      seed: 9,
      baud: 9600,
    });
    // Defaults: packs 1-4 on a free loopback port.
    assert.deepEqual(parseSimArgs([]), {
      packs: [1, 2, 3, 4],
      master: false,
      tcp: { host: '127.0.0.1', port: 0 },
      pty: null,
      faults: {},
      seed: 1,
      baud: 115200,
    });
    assert.deepEqual(parseSimArgs(['--pty', '/tmp/x'])!.tcp, null);
    assert.deepEqual(parseSimArgs(['--tcp', '[::1]:0'])!.tcp, { host: '::1', port: 0 });
    assert.equal(parseSimArgs(['-h']), null);
  });

  const usage: [string[], RegExp][] = [
    [['--packs', '0-3'], /--packs: "0-3" must lie within 1–15 \(0 is the JK master: use --master\)/],
    [['--packs', '1,1'], /address 1 is listed twice/],
    [['--packs', 'a'], /"a" is not an address or a range/],
    [['--tcp', '127.0.0.1:70000'], /--tcp port: expected an integer 0–65535, got "70000"/],
    [['--tcp', ':5020'], /--tcp: expected HOST:PORT/],
    [['--pty', ' '], /--pty: a path is required/],
    [['--faults', 'nope=1'], /--faults: unknown fault "nope"/],
    [['--seed', '1.5'], /--seed: expected an integer/],
    [['--baud', 'fast'], /--baud: expected an integer 300–4000000, got "fast"/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['extra'], /Unexpected argument 'extra'|positional/],
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

  it('prints the usage for --help and exits 0', async () => {
    const c = captureIo();
    assert.equal(await main(['--help'], c.io), 0);
    assert.match(c.out[0]!, /^Usage: jkbms sim \[options\]/);
    assert.match(c.out[0]!, /--faults LIST/);
  });
});
