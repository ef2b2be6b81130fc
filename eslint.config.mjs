import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import html from 'eslint-plugin-html';
import globals from 'globals';

const ROOT = dirname(fileURLToPath(import.meta.url));

/**
 * The layers of the library (src/) and what each may import. One table, enforced by the
 * `layers/imports` rule below on every import, `export … from`, `require()`, `import()` and
 * `import('…')` type, type-only imports included (a type import still couples two layers).
 * test/architecture.test.ts proves the rule fires, and that no runtime import cycle exists.
 *
 * - `src/**` never imports `nodes/**` (the Node-RED glue sits on top of the library).
 * - A layer imports itself and the layers listed for it; nothing else of ours.
 * - `bus/` is imported from outside only through its public surface, `src/bus` (index.ts) —
 *   except by the CLI, which drives the engine directly (the benchmarks in test/bench are not
 *   library code and are not checked).
 */
const LAYERS = {
  common: [],
  protocol: ['common'],
  messages: ['protocol', 'common'],
  transport: ['protocol', 'common'],
  bus: ['protocol', 'common', 'messages', 'transport'],
  sim: ['protocol', 'common', 'messages', 'transport'],
  energy: ['protocol', 'common', 'messages', 'bus/index'],
  bank: ['protocol', 'common', 'messages', 'energy', 'bus/index'],
  ha: ['protocol', 'common', 'messages', 'energy', 'bank', 'health', 'bus/index'],
  health: ['protocol', 'common', 'messages'],
  cli: ['*'],
  'index.ts': ['*'],
};

/** Layer of a repo-relative path: 'nodes', a src/ folder ('bus/index' for src/bus/index.ts), 'index.ts', or null. */
function layerOf(rel) {
  const parts = rel.split('/');
  if (parts[0] === 'nodes') return 'nodes';
  if (parts[0] !== 'src' || parts.length < 2) return null;
  if (parts[1] === 'bus' && (parts.length === 2 || (parts.length === 3 && /^index(\.[cm]?[jt]s)?$/.test(parts[2])))) return 'bus/index';
  return parts[1].replace(/\.[cm]?js$/, '.ts');
}
const folder = (layer) => (layer === 'bus/index' ? 'bus' : layer);
const shown = (layer) => (layer === 'bus/index' ? 'src/bus (its index)' : `src/${layer}`);

const layersPlugin = {
  rules: {
    imports: {
      meta: {
        type: 'problem',
        docs: { description: 'Imports between the folders of src/ follow the layer table of eslint.config.mjs' },
        schema: [],
      },
      create(context) {
        const rel = relative(ROOT, context.filename).split(sep).join('/');
        const from = layerOf(rel);
        if (from === null || from === 'nodes') return {};
        const allowed = LAYERS[folder(from)] ?? ['*'];
        const check = (node, spec) => {
          if (typeof spec !== 'string' || !spec.startsWith('.')) return;
          const target = relative(ROOT, resolve(dirname(context.filename), spec)).split(sep).join('/');
          const to = layerOf(target);
          if (to === null) return;
          if (to === 'nodes') {
            context.report({ node, message: `src/ never imports nodes/ ('${spec}'): move what both need into src/.` });
            return;
          }
          if (folder(to) === folder(from) || allowed.includes('*') || allowed.includes(to)) return;
          const may = allowed.length ? allowed.map(shown).join(', ') : 'nothing outside itself';
          const what = folder(to) === 'bus' && allowed.includes('bus/index') ? `the bus internal ${target} (import it from src/bus)` : shown(to);
          context.report({ node, message: `src/${folder(from)} may import ${may}; not ${what} ('${spec}'). Layer table: LAYERS in eslint.config.mjs.` });
        };
        const literal = (n) => (n?.type === 'Literal' ? n.value : n?.type === 'TemplateLiteral' && n.expressions.length === 0 ? n.quasis[0].value.cooked : undefined);
        return {
          ImportDeclaration: (n) => check(n.source, n.source.value),
          ExportNamedDeclaration: (n) => n.source && check(n.source, n.source.value),
          ExportAllDeclaration: (n) => check(n.source, n.source.value),
          ImportExpression: (n) => check(n.source, literal(n.source)),
          TSImportEqualsDeclaration: (n) => n.moduleReference.type === 'TSExternalModuleReference' && check(n.moduleReference, literal(n.moduleReference.expression)),
          TSImportType: (n) => check(n, literal(n.argument?.literal ?? n.argument)),
          CallExpression: (n) => {
            if (n.callee.type === 'Identifier' && n.callee.name === 'require' && n.arguments.length === 1) check(n, literal(n.arguments[0]));
          },
        };
      },
    },
  },
};

export default [
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.demo/', '.tmp/', '.cache/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { layers: layersPlugin },
    rules: { 'layers/imports': 'error' },
  },
  {
    files: ['scripts/**/*.mjs', 'eslint.config.mjs', 'test/**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['nodes/**/*.html', 'resources/**/*.js'],
    plugins: { html },
    languageOptions: { globals: { ...globals.browser, RED: 'readonly', $: 'readonly', jQuery: 'readonly', JKBMS: 'readonly' } },
  },
];
