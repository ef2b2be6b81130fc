/** A node-context value, or undefined when the context store cannot be read (it never throws). */
export function safeGet(context: { get(key: string): unknown }, key: string): unknown {
  try {
    return context.get(key);
  } catch {
    return undefined;
  }
}
