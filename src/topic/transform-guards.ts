import jsonata from "jsonata";

/**
 * Bounded stand-ins for the JSONata functions that can build a value far larger than their
 * inputs in one step ($pad, $join, $string, $replace, $split): a step budget cannot stop one
 * call, so each checks what it would build before building it, then calls the original.
 */

/** Thrown when a transform would exceed its budget. */
export class BudgetExceeded extends Error {}

type Guarded = { name: string; signature: string; check: (limits: GuardLimits, args: unknown[]) => void };

export interface GuardLimits {
  stringLength: number;
  sequence: number;
}

interface NativeFunction {
  implementation: (...args: unknown[]) => unknown;
}

const count = (text: string, part: string): number => {
  if (part === "") return text.length + 1;
  let n = 0;
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length)) n++;
  return n;
};

const tooLong = (limits: GuardLimits, what: string) =>
  new BudgetExceeded(`${what} would build a string longer than ${limits.stringLength} characters`);

const GUARDED: Guarded[] = [
  {
    name: "pad",
    signature: "<s-ns?:s>",
    check: (limits, [, width]) => {
      if (typeof width === "number" && Math.abs(width) > limits.stringLength) throw tooLong(limits, "$pad");
    },
  },
  {
    name: "join",
    signature: "<a<s>s?:s>",
    check: (limits, [parts, separator]) => {
      if (!Array.isArray(parts)) return;
      const gap = typeof separator === "string" ? separator.length : 0;
      let total = 0;
      for (const part of parts) {
        total += (typeof part === "string" ? part.length : 0) + gap;
        if (total > limits.stringLength) throw tooLong(limits, "$join");
      }
    },
  },
  {
    name: "string",
    signature: "<x-b?:s>",
    check: (limits, [value]) => {
      if (jsonSizeExceeds(value, limits.stringLength)) throw tooLong(limits, "$string");
    },
  },
  {
    name: "replace",
    signature: "<s-(sf)(sf)n?:s>",
    check: (limits, [text, pattern, replacement, most]) => {
      if (typeof text !== "string" || typeof pattern !== "string") return;
      if (typeof replacement !== "string") {
        throw new BudgetExceeded(
          "$replace takes a string replacement in transforms (no regular expressions)",
        );
      }
      const n = Math.min(count(text, pattern), typeof most === "number" ? most : Number.POSITIVE_INFINITY);
      if (text.length + n * (replacement.length - pattern.length) > limits.stringLength) {
        throw tooLong(limits, "$replace");
      }
    },
  },
  {
    name: "split",
    signature: "<s-(sf)n?:a<s>>",
    check: (limits, [text, separator, most]) => {
      if (typeof text !== "string" || typeof separator !== "string") return;
      const n = Math.min(
        count(text, separator) + 1,
        typeof most === "number" ? most : Number.POSITIVE_INFINITY,
      );
      if (n > limits.sequence)
        throw new BudgetExceeded(`$split would build more than ${limits.sequence} items`);
    },
  },
];

let natives: Promise<Map<string, NativeFunction>> | undefined;

/** The original functions, taken once from JSONata itself. */
function nativeFunctions(): Promise<Map<string, NativeFunction>> {
  natives ??= (async () => {
    const map = new Map<string, NativeFunction>();
    for (const { name } of GUARDED) map.set(name, (await jsonata(`$${name}`).evaluate({})) as NativeFunction);
    return map;
  })();
  return natives;
}

/** Replaces the amplifying functions of a compiled expression with their bounded stand-ins. */
export async function guard(expr: ReturnType<typeof jsonata>, limits: GuardLimits): Promise<void> {
  const originals = await nativeFunctions();
  for (const { name, signature, check } of GUARDED) {
    const original = originals.get(name) as NativeFunction;
    expr.registerFunction(
      name,
      function guarded(this: unknown, ...args: unknown[]) {
        check(limits, args);
        return original.implementation.apply(this, args);
      },
      signature,
    );
  }
}

/**
 * Whether a value written as JSON would be longer than `max` characters, found without writing
 * it and stopping as soon as it is: shared parts are counted each time they appear, as JSON would
 * write them, so a value that doubles itself a few times over is caught early.
 */
export function jsonSizeExceeds(value: unknown, max: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === "string") size += item.length + 2;
    else if (Array.isArray(item)) {
      size += 2 + item.length;
      for (const element of item) stack.push(element);
    } else if (typeof item === "object" && item !== null) {
      for (const [key, element] of Object.entries(item)) {
        size += key.length + 4;
        stack.push(element);
      }
      size += 2;
    } else size += 24;
    if (size > max) return true;
  }
  return false;
}
