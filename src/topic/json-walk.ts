/**
 * Every object (arrays are walked through, not yielded) below `root`, depth first, with a stack
 * rather than recursion, so a deeply nested input cannot overflow the call stack. The values of
 * keys `skip` names are not walked.
 *
 * @example
 * for (const node of objectsIn(schema, (key) => key === "const")) if ("$ref" in node) refs.push(node.$ref);
 */
export function* objectsIn(
  root: unknown,
  skip: (key: string) => boolean = () => false,
): Generator<Record<string, unknown>> {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null) continue;
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    const record = node as Record<string, unknown>;
    yield record;
    for (const [key, value] of Object.entries(record)) if (!skip(key)) stack.push(value);
  }
}
