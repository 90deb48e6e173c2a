/** Names of topics and subscriptions: case-sensitive, 1–128 characters. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const isValidName = (name: string): boolean => NAME_RE.test(name);
