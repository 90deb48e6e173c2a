const encoder = new TextEncoder();

// workerd's extension of SubtleCrypto; the DOM typings the tests compile with lack it.
type WorkerdSubtle = SubtleCrypto & {
  timingSafeEqual(a: ArrayBuffer | ArrayBufferView, b: ArrayBuffer | ArrayBufferView): boolean;
};

const sha256 = async (text: string): Promise<ArrayBuffer> =>
  crypto.subtle.digest("SHA-256", encoder.encode(text));

/**
 * Compares a presented credential with the admin key in constant time. Both sides are
 * hashed first so the comparison always runs over 32 bytes: `timingSafeEqual` throws on
 * inputs of different lengths, and an early length check would tell an attacker the
 * key's length. `crypto.subtle.timingSafeEqual` is a workerd extension
 * (https://developers.cloudflare.com/workers/examples/protect-against-timing-attacks/).
 *
 * @example
 * if (await adminKeyMatches(token, config.adminKey)) c.set("principal", ADMIN_PRINCIPAL);
 */
export async function adminKeyMatches(presented: string, adminKey: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(presented), sha256(adminKey)]);
  return (crypto.subtle as WorkerdSubtle).timingSafeEqual(a, b);
}
