/** Default limits of a deployment (DESIGN.md §4). */
export const LIMITS = {
  /** Largest message body, in bytes. */
  messageBytes: 1024 * 1024,
  /** Most messages in one batch publish. */
  batchMessages: 1_000,
  /** Largest batch request body, in bytes. */
  batchBytes: 8 * 1024 * 1024,
  /**
   * Deepest nesting of a JSON body. Bodies are parsed to go on the wire as `data`, and
   * a structure much deeper than this overflows the runtime's stack on the way out.
   */
  jsonDepth: 512,
  /** Most attributes on one message. */
  attributes: 32,
  /** Largest total size of a message's attribute names and values, in bytes. */
  attributeBytes: 8 * 1024,
  /** Largest ordering key or idempotency key, in bytes. */
  keyBytes: 1024,
  /** Most subscriptions on one topic. */
  subscriptionsPerTopic: 1_000,
  /** Most WebSockets (consumers and tails) open on one topic. */
  connectionsPerTopic: 10_000,
  /** Sockets the admin key may open on a topic beyond `connectionsPerTopic`. */
  adminSocketHeadroom: 100,
  /** Most WebSockets one client (token subject or address) holds open on one topic. */
  socketsPerSubject: 100,
  /**
   * Live sockets a topic holds itself before new live tails go to relays near their clients, and
   * the most sockets one relay holds.
   */
  socketsPerRelay: 5_000,
  /** Most relays feeding one topic's live tails. */
  relaysPerTopic: 100,
  /** Most long-polls (reads and pulls with `wait`) parked on one topic at once. */
  longPollsPerTopic: 1_000,
  /** Largest WebSocket frame, in bytes. */
  frameBytes: 1024 * 1024,
  /**
   * Most stored bytes (bodies and attributes) in one answer of a topic's object: a log read or
   * SSE page, a pull, a batch of dead-letter copies. At least one message always travels, so a
   * message of the maximum size still does; the bound keeps every answer far below the
   * runtime's 32 MiB per RPC answer (base64 and JSON escapes included).
   */
  pageBytes: 4 * 1024 * 1024,
  /** Most stored bytes in one WebSocket frame the broker pushes (at least one message). */
  pushFrameBytes: 1024 * 1024,
  /** Most messages returned by one read or pull. */
  readLimit: 1_000,
  /** Longest log-read long-poll, in ms. */
  readWaitMs: 30_000,
  /** Longest pull long-poll, in ms. */
  pullWaitMs: 20_000,
  /** Longest delay of a delayed message, in ms (7 days). */
  maxDelayMs: 7 * 86_400_000,
} as const;
