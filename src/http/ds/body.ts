import { isTooDeep } from "../../protocol/http";
import { LIMITS } from "../../protocol/limits";
import { isJsonStream } from "../../protocol/streams";
import type { PublishInput } from "../../protocol/topic-rpc";
import { readBodyLimited } from "../body";
import { ProblemError } from "../errors";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const encoder = new TextEncoder();

/**
 * The messages a stream's request body holds. A JSON stream stores one message per JSON value:
 * a body that is an array is flattened one level (each element a message), any other value is
 * one message; an empty array is refused on append (`[]` on create makes an empty stream).
 * Any other stream stores the body's bytes as one message. Bodies are bounded like a publish:
 * 1 MiB a message, and a JSON body 8 MiB and 1,000 values.
 *
 * @example
 * await streamMessages(c.req.raw, "application/json", { append: true }); // '[{"a":1},2]' → 2 messages
 */
export async function streamMessages(
  request: Request,
  contentType: string,
  options: { append: boolean },
): Promise<PublishInput[]> {
  const json = isJsonStream(contentType);
  const body = await readBodyLimited(request, json ? LIMITS.batchBytes : LIMITS.messageBytes);
  if (body.byteLength === 0) return [];
  if (!json) return [{ body, contentType, attributes: {} }];

  if (isTooDeep(body)) {
    throw new ProblemError("invalid_request", `JSON must nest at most ${LIMITS.jsonDepth} levels deep`);
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch {
    throw new ProblemError(
      "invalid_request",
      "the body is not valid JSON, but the stream is application/json",
    );
  }
  const values = Array.isArray(value) ? value : [value];
  if (values.length === 0 && options.append) {
    throw new ProblemError("invalid_request", "an empty JSON array appends nothing");
  }
  if (values.length > LIMITS.batchMessages) {
    throw new ProblemError(
      "payload_too_large",
      `one request appends at most ${LIMITS.batchMessages} JSON values`,
    );
  }
  return values.map((item) => {
    const bytes = encoder.encode(JSON.stringify(item));
    if (bytes.byteLength > LIMITS.messageBytes) {
      throw new ProblemError(
        "payload_too_large",
        `each JSON value must be at most ${LIMITS.messageBytes} bytes`,
      );
    }
    return { body: bytes, contentType, attributes: {} };
  });
}
