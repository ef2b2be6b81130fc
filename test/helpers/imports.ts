import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The runtime import graph of our TypeScript sources: for each file, the files of ours it
 * loads when it runs. Each file is transpiled on its own (ts.transpileModule, CommonJS) and its
 * `require()` calls are read back, so an import TypeScript erases (`import type`, names used
 * only as types) is not an edge, and a lazy `require()` inside a function is one.
 */

export const ROOT = resolve(__dirname, '..', '..');

const posix = (p: string) => p.split(sep).join('/');

/** Every .ts file (not .d.ts) under the given repo-relative folders, repo-relative, sorted. */
export function sourceFiles(folders: readonly string[], root = ROOT): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(posix(relative(root, p)));
    }
  };
  for (const f of folders) if (existsSync(join(root, f))) walk(join(root, f));
  return out.sort();
}

/** The repo-relative .ts file a relative specifier names, or null (a package, or not ours). */
function resolveSpec(fromFile: string, spec: string, root: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(root, dirname(fromFile), spec).replace(/\.js$/, '');
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate)) return posix(relative(root, candidate));
  }
  return null;
}

/** Specifiers the compiled file require()s. */
export function runtimeSpecifiers(file: string, root = ROOT): string[] {
  const source = readFileSync(join(root, file), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, removeComments: true },
  });
  return [...outputText.matchAll(/\brequire\((["'])([^"']+)\1\)/g)].map((m) => m[2]!);
}

/** file → the files of ours it loads at run time. */
export function runtimeGraph(folders: readonly string[], root = ROOT): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(folders, root)) {
    const targets = runtimeSpecifiers(file, root)
      .map((s) => resolveSpec(file, s, root))
      .filter((t): t is string => t !== null);
    graph.set(file, [...new Set(targets)].sort());
  }
  return graph;
}

/**
 * The import cycles of a graph: one per strongly connected component with more than one file
 * (or a file that imports itself), each written as a closed path `a → b → … → a`.
 */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's strongly connected components (iterative: no recursion-depth limit).
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const edges = (n: string) => (graph.get(n) ?? []).filter((t) => graph.has(t));
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    idx.set(start, index);
    low.set(start, index++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1]!;
      const out = edges(top.node);
      if (top.next < out.length) {
        const t = out[top.next++]!;
        if (!idx.has(t)) {
          idx.set(t, index);
          low.set(t, index++);
          stack.push(t);
          onStack.add(t);
          work.push({ node: t, next: 0 });
        } else if (onStack.has(t)) {
          low.set(top.node, Math.min(low.get(top.node)!, idx.get(t)!));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === idx.get(top.node)) {
        const comp: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          comp.push(n);
        } while (n !== top.node);
        if (comp.length > 1 || edges(top.node).includes(top.node)) components.push(comp.sort());
      }
    }
  }
  return components.map((comp) => closedPath(comp, edges));
}

/** A shortest closed path through the component's first file (breadth-first inside it). */
function closedPath(comp: readonly string[], edges: (n: string) => string[]): string[] {
  const inside = new Set(comp);
  const first = comp[0]!;
  const prev = new Map<string, string>();
  const queue = [first];
  while (queue.length) {
    const n = queue.shift()!;
    for (const t of edges(n)) {
      if (!inside.has(t)) continue;
      if (t === first) {
        const path = [first];
        for (let c: string | undefined = n; c !== undefined && c !== first; c = prev.get(c)) path.splice(1, 0, c);
        return [...path, first];
      }
      if (!prev.has(t)) {
        prev.set(t, n);
        queue.push(t);
      }
    }
  }
  return [...comp, first];
}
