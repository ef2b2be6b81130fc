import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
import { importCycles, ROOT, runtimeGraph } from './helpers/imports';

/**
 * The architecture's two mechanical rules:
 *  - the layer table of eslint.config.mjs (rule `layers/imports`, run by `npx eslint .`):
 *    here we prove that it fires on each kind of forbidden import and stays quiet on allowed ones;
 *  - no runtime import cycle among src/ and nodes/ (a cycle makes load order decide whether a
 *    module sees its dependency's exports or `undefined`).
 */

describe('architecture', function () {
  this.timeout(60_000);

  describe('import cycles', () => {
    it('the cycle finder reports a closed path per cycle, self-imports included, and nothing for a DAG', () => {
      const g = new Map<string, string[]>([
        ['a', ['b']],
        ['b', ['c', 'd']],
        ['c', ['a']],
        ['d', []],
        ['e', ['e']],
        ['f', ['d', 'outside']],
      ]);
      assert.deepEqual(importCycles(g), [['a', 'b', 'c', 'a'], ['e', 'e']]);
      assert.deepEqual(importCycles(new Map([['a', ['b']], ['b', ['c']], ['c', []]])), []);
    });

    it('the graph holds what runs: type-only imports are not edges, lazy require() calls are', () => {
      const g = runtimeGraph(['src']);
      // src/ha/types.ts imports BmsIdentity as a type only.
      assert.ok(!g.get('src/ha/types.ts')!.includes('src/messages/message.ts'));
      // src/cli/jkbms.ts loads each subcommand lazily with require().
      assert.ok(g.get('src/cli/jkbms.ts')!.includes('src/cli/decode.ts'));
      // `export * from` is a runtime edge.
      assert.ok(g.get('src/protocol/index.ts')!.includes('src/protocol/types.ts'));
    });

    it('src/ and nodes/ have no runtime import cycle', () => {
      const cycles = importCycles(runtimeGraph(['src', 'nodes']));
      assert.deepEqual(
        cycles.map((c) => c.join(' → ')),
        [],
        'runtime import cycles (break each by moving the shared piece into its own module, or importing types with `import type`)',
      );
    });
  });

  describe('layers (eslint rule layers/imports)', () => {
    const eslint = new ESLint({ cwd: ROOT });
    /** The layers/imports messages for `code` as if it were the file `path`. */
    const layerErrors = async (path: string, code: string): Promise<string[]> => {
      const [result] = await eslint.lintText(code, { filePath: path });
      return result!.messages.filter((m) => m.ruleId === 'layers/imports').map((m) => m.message);
    };

    const forbidden: [file: string, code: string, expect: RegExp][] = [
      ['src/protocol/probe.ts', "import type { BmsIdentity } from '../messages/message';\nexport type B = BmsIdentity;\n", /src\/protocol may import src\/common; not src\/messages/],
      ['src/common/probe.ts', "export { crc16 } from '../protocol/crc';\n", /src\/common may import nothing outside itself; not src\/protocol/],
      ['src/messages/probe.ts', "import type { Transport } from '../transport/transport';\nexport type T = Transport;\n", /not src\/transport/],
      ['src/sim/probe.ts', "import type { BusEngine } from '../bus/engine';\nexport type E = BusEngine;\n", /src\/sim may import .*; not src\/bus/],
      ['src/sim/probe.ts', "export type E = typeof import('../bus').BusEngine;\n", /not src\/bus \(its index\)/],
      ['src/ha/probe.ts', "import { BusEngine } from '../bus/engine';\nexport const E = BusEngine;\n", /the bus internal src\/bus\/engine \(import it from src\/bus\)/],
      ['src/bank/probe.ts', "export const cfg = require('../../nodes/lib/config');\n", /src\/ never imports nodes\//],
      ['src/energy/probe.ts', "export const m = () => import('../bus/engine');\n", /bus internal/],
      ['src/cli/probe.ts', "import '../../nodes/jkbms';\n", /src\/ never imports nodes\//],
      ['src/protocol/deep/probe.ts', "import { Framer } from '../../sim/wire';\nexport const F = Framer;\n", /not src\/sim/],
    ];
    for (const [file, code, expect] of forbidden) {
      it(`${file}: ${code.split('\n')[0]} → error`, async () => {
        const errors = await layerErrors(file, code);
        assert.equal(errors.length, 1, `expected one layers/imports error, got ${JSON.stringify(errors)}`);
        assert.match(errors[0]!, expect);
      });
    }

    const allowed: [file: string, code: string][] = [
      ['src/protocol/probe.ts', "import { crc16 } from './crc';\nexport const c = crc16;\n"],
      ['src/protocol/probe.ts', "import { isPackAddress } from '../common/address';\nexport const a = isPackAddress;\n"],
      ['src/messages/probe.ts', "import type { LivePayload } from '../protocol/types';\nimport type { Clock } from '../common/clock';\nexport type T = [LivePayload, Clock];\n"],
      ['src/sim/probe.ts', "import { ReconnectingTransport } from '../transport/reconnecting';\nexport const R = ReconnectingTransport;\n"],
      ['src/bank/probe.ts', "import type { PackState } from '../bus';\nexport type P = PackState;\n"],
      ['src/bus/probe.ts', "import { Framer } from '../protocol/framer';\nexport const F = Framer;\n"],
      ['src/cli/probe.ts', "import { BusEngine } from '../bus/engine';\nimport { BusSimulator } from '../sim';\nexport const x = [BusEngine, BusSimulator];\n"],
      ['src/index.ts', "export { BusEngine } from './bus';\n"],
      ['nodes/probe.ts', "import { BusEngine } from '../src/bus/engine';\nexport const E = BusEngine;\n"],
    ];
    for (const [file, code] of allowed) {
      it(`${file}: ${code.split('\n')[0]} → allowed`, async () => {
        assert.deepEqual(await layerErrors(file, code), []);
      });
    }
  });
});
