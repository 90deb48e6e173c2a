/** Names of topics and subscriptions: case-sensitive, 1–128 characters. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** {@link NAME_RE} as a JSON Schema `pattern` (test/worker/openapi.test.ts holds them equal). */
export const NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";

export const isValidName = (name: string): boolean => NAME_RE.test(name);

/** How a valid topic or subscription name looks, in words. */
export const NAME_RULE =
  "a name of 1 to 128 letters, digits, '.', '_' or '-' starting with a letter or digit";
