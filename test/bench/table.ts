/** Print `rows` as a right-aligned table under `title` (the bench's output format). */
export function table(title: string, rows: Record<string, unknown>[]): void {
  console.log(`\n${title}`);
  if (!rows.length) return;
  const keys = Object.keys(rows[0]!);
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  console.log(keys.map((k, i) => k.padStart(width[i]!)).join('  '));
  for (const r of rows) console.log(keys.map((k, i) => String(r[k]).padStart(width[i]!)).join('  '));
}
