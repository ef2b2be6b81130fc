import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The simulator's settings parsers (src/sim/spec.ts with faults.ts and plant.ts), as a script for
 * the bus node's dialog: served by the admin endpoint `jkbms/sim-spec.js`, it defines
 * `window.JKBMS_SIM` (the exports of spec.ts), so the editor checks planted faults, the day
 * length and the scenario with the very parser the runtime and `jkbms sim` use — same rules,
 * same messages.
 *
 * The modules are the compiled CommonJS files beside this one (dist/src/sim/*.js), each wrapped
 * in a function with its own `exports` and a `require` that knows only these modules. Where
 * they are missing (running from the TypeScript sources), the script says so and the editor
 * accepts what it cannot check (the runtime still refuses it).
 */

/** spec.ts and what it requires at run time. */
export const SIM_SPEC_MODULES = ['spec', 'faults', 'plant'] as const;

/** Reads the compiled source of one module, or null when it is not there. */
export type ModuleReader = (name: (typeof SIM_SPEC_MODULES)[number]) => string | null;

const SIM_DIR = join(__dirname, '..', '..', 'src', 'sim');

/** The compiled module beside the running code (dist/src/sim/<name>.js). */
export const compiledModule: ModuleReader = (name) => {
  try {
    return readFileSync(join(SIM_DIR, `${name}.js`), 'utf8');
  } catch {
    return null;
  }
};

/** The browser script: `window.JKBMS_SIM` = spec.ts's exports (null when the modules cannot be read). */
export function simSpecScript(read: ModuleReader = compiledModule): string {
  const sources: string[] = [];
  for (const name of SIM_SPEC_MODULES) {
    const code = read(name);
    if (code === null) return `/* @jkpb/node-red-jkbms: the simulator's parsers are not built (src/sim/${name}.js missing) */\nwindow.JKBMS_SIM = null;\n`;
    const body = code.replace(/^\/\/# \w+=.*$/gm, ''); // the source map comment: the maps are not served
    sources.push(`${JSON.stringify(`./${name}`)}: function (exports, require, module) {\n${body}\n}`);
  }
  return `/* @jkpb/node-red-jkbms: src/sim/spec.ts (with faults.ts, plant.ts) for the jkbms-bus dialog */
(function () {
    'use strict';
    var modules = {
${sources.join(',\n')}
    };
    var loaded = {};
    function load(name) {
        if (loaded[name]) { return loaded[name].exports; }
        if (!Object.prototype.hasOwnProperty.call(modules, name)) { throw new Error('jkbms: ' + name + ' is not served to the editor'); }
        var module = { exports: {} };
        loaded[name] = module;
        modules[name].call(module.exports, module.exports, load, module);
        return module.exports;
    }
    window.JKBMS_SIM = load('./spec');
})();
`;
}
