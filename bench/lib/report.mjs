/**
 * Turns a run's results into Markdown tables (printed, and pasted into docs/benchmarks.md) and
 * checks them against the targets of the issue. Ratios are medians of per-repetition ratios:
 * each repetition measures both sides back to back, so the ratio cancels most of the noise of a
 * shared machine.
 */
import { median, ratio } from "./stats.mjs";

const n = (v, digits = 0) =>
  typeof v === "number" && Number.isFinite(v)
    ? v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "–";
const ms = (v) => (typeof v === "number" ? (v < 10 ? n(v, 2) : v < 100 ? n(v, 1) : n(v)) : "–");
const pct = (v) => (typeof v === "number" ? `${n(v * 100)}%` : "–");
const x = (v) => (typeof v === "number" ? `${n(v, 2)}×` : "–");

function table(headers, rows) {
  const lines = [`| ${headers.join(" | ")} |`, `|${headers.map(() => " --- ").join("|")}|`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

/** Median over repetitions of a[k].field / b[k].field. */
export function repRatio(a, b, field = "msgsPerSec") {
  if (!a || !b) return null;
  const values = a.reps.map((rep, k) => {
    const other = b.reps[k];
    return other?.[field] ? rep[field] / other[field] : null;
  });
  return median(values);
}

/** Server CPU per message in microseconds (CPU % of one core over throughput). */
const cpuPerMsg = (m) => (m?.cpuServer && m.msgsPerSec ? (m.cpuServer * 10_000) / m.msgsPerSec : null);

/** Server CPU per delivered message (per socket) in microseconds. */
const cpuPerDelivery = (m) =>
  m?.cpuServer && m.deliveriesPerSec ? (m.cpuServer * 10_000) / m.deliveriesPerSec : null;

/** What one fully busy core would serve at this cost: the number least sensitive to a shared machine. */
const perCore = (m) => {
  const us = cpuPerMsg(m);
  return us ? 1_000_000 / us : null;
};

export function publishTable(results, shapes) {
  const { broker, peer, ceilings } = results;
  const rows = shapes.map((shape) => {
    const ours = broker[shape.id];
    const theirs = peer?.[shape.id];
    const c = shape.batch === 1 ? shape.concurrency : null;
    return [
      shape.label,
      n(ours?.median.msgsPerSec),
      ms(ours?.median.p50),
      ms(ours?.median.p99),
      n(cpuPerMsg(ours?.median)),
      n(perCore(ours?.median)),
      theirs ? n(theirs.median.msgsPerSec) : "–",
      theirs ? ms(theirs.median.p99) : "–",
      theirs ? x(repRatio(ours, theirs)) : "–",
      c ? pct(repRatio(ours, ceilings[`noop-do@c${c}`])) : "–",
      c ? pct(repRatio(ours, ceilings[`noop-worker@c${c}`])) : "–",
    ];
  });
  return table(
    [
      "publish (256 B, one topic)",
      "msg/s",
      "p50 ms",
      "p99 ms",
      "server CPU µs/msg",
      "msg/s per busy core",
      "peer msg/s",
      "peer p99 ms",
      "ours/peer",
      "% of no-op DO",
      "% of no-op Worker",
    ],
    rows,
  );
}

export function ceilingTable(results, ceilingsList) {
  const rows = [];
  for (const ceiling of ceilingsList) {
    for (const [id, m] of Object.entries(results.ceilings)) {
      if (!id.startsWith(`${ceiling.id}@`)) continue;
      rows.push([
        `${ceiling.label}, c=${id.split("@c")[1]}`,
        n(m.median.msgsPerSec),
        ms(m.median.p50),
        ms(m.median.p99),
        n(cpuPerMsg(m.median)),
        n(perCore(m.median)),
      ]);
    }
  }
  return table(
    [
      "ceiling (same runtime, same run)",
      "req/s",
      "p50 ms",
      "p99 ms",
      "server CPU µs/req",
      "req/s per busy core",
    ],
    rows,
  );
}

export function deliverTable(results) {
  const rows = results.rates.map((rate) => {
    const ours = results.broker[rate]?.median;
    const theirs = results.peer?.[rate]?.median;
    const floor = results.floor?.[rate]?.median;
    const tail = results.tail?.[rate]?.median;
    return [
      n(rate),
      ms(ours?.p50),
      ms(ours?.p99),
      ms(ours?.p999),
      ms(ours?.publishP99),
      n(ours?.missing),
      tail ? `${ms(tail.p50)} / ${ms(tail.p99)}` : "–",
      floor ? `${ms(floor.p50)} / ${ms(floor.p99)}` : "–",
      theirs ? ms(theirs.p50) : "–",
      theirs ? ms(theirs.p99) : "–",
      theirs ? ms(theirs.p999) : "–",
      theirs ? x(repRatio(results.broker[rate], results.peer[rate], "p99")) : "–",
    ];
  });
  return table(
    [
      "msg/s (1 consumer)",
      "deliver p50 ms",
      "p99 ms",
      "p99.9 ms",
      "publish p99 ms",
      "missing",
      "live tail p50 / p99 ms",
      "floor p50 / p99 ms",
      "peer p50 ms",
      "peer p99 ms",
      "peer p99.9 ms",
      "p99 ours/peer",
    ],
    rows,
  );
}

export function fanoutTable(results) {
  const rows = Object.keys(results.broker).map((count) => {
    const ours = results.broker[count]?.median;
    const theirs = results.peer?.[count]?.median;
    const ceiling = results.ceiling?.[count]?.median;
    return [
      `${n(Number(count))} live-tail sockets`,
      n(ours?.deliveriesPerSec),
      ms(ours?.p50),
      ms(ours?.p99),
      n(ours?.missing),
      n(cpuPerDelivery(ours)),
      ceiling ? `${ms(ceiling.p50)} / ${ms(ceiling.p99)}` : "–",
      n(cpuPerDelivery(ceiling)),
      theirs ? n(theirs.deliveriesPerSec) : "–",
      theirs ? ms(theirs.p99) : "–",
      theirs ? x(repRatio(results.broker[count], results.peer[count], "p99")) : "–",
    ];
  });
  for (const [count, m] of Object.entries(results.durable ?? {})) {
    const d = m.median;
    rows.push([
      `${n(Number(count))} subscriptions × 1 consumer (acks)`,
      n(d.deliveriesPerSec),
      ms(d.p50),
      ms(d.p99),
      n(d.missing),
      n(cpuPerDelivery(d)),
      "–",
      "–",
      "–",
      "–",
      "–",
    ]);
  }
  return table(
    [
      `fan-out at ${results.rate} msg/s`,
      "deliveries/s",
      "p50 ms",
      "p99 ms",
      "missing",
      "server CPU µs/delivery",
      "naive broadcast DO p50 / p99 ms",
      "its CPU µs/delivery",
      "peer deliveries/s",
      "peer p99 ms",
      "p99 ours/peer",
    ],
    rows,
  );
}

export function costTable(results) {
  const rows = Object.values(results).map((c) => [
    c.label,
    n(c.publishOnly.rowsWrittenPerMsg, 2),
    n(c.withConsumer.rowsWrittenPerMsg, 2),
    n(c.withConsumer.rowsReadPerMsg, 1),
    n(c.publishOnly.requestsPerMsg, 2),
    n(c.withConsumer.requestsPerMsg, 2),
  ]);
  return table(
    [
      "cost per message",
      "rows written (publish)",
      "rows written (publish + deliver + ack)",
      "rows read (all)",
      "DO requests (publish)",
      "DO requests (all)",
    ],
    rows,
  );
}

/** Scenario 7: a route with a filter and a transform, beside the same run's plain publish. */
export function routeTable(results) {
  const { plain, routed, backlog } = results;
  const rows = [
    [
      "plain publish, c=16 (no route)",
      n(plain?.median.msgsPerSec),
      ms(plain?.median.p50),
      ms(plain?.median.p99),
      n(cpuPerMsg(plain?.median)),
      "–",
      "–",
    ],
    [
      "publish to a topic with the route, c=16",
      n(routed?.median.msgsPerSec),
      ms(routed?.median.p50),
      ms(routed?.median.p99),
      n(cpuPerMsg(routed?.median)),
      n(routed?.median.forwardedPerSec),
      "–",
    ],
    [
      `backlog of ${n(backlog?.median.messages)} forwarded`,
      "–",
      "–",
      "–",
      "–",
      n(backlog?.median.forwardedPerSec),
      `${n(backlog?.median.sourceRowsWrittenPerMsg, 3)} + ${n(backlog?.median.targetRowsWrittenPerMsg, 2)}`,
    ],
  ];
  return table(
    [
      "routing",
      "published msg/s",
      "p50 ms",
      "p99 ms",
      "server CPU µs/msg (publish + forward + copy)",
      "forwarded msg/s",
      "rows written per message (source + target)",
    ],
    rows,
  );
}

/** Scenario 8: the largest audiences held across relays, and the CPU split per delivery. */
export function audienceTable(results) {
  const rows = Object.values(results.audiences).map((a) => [
    `${a.sockets.toLocaleString("en-US")} live tails`,
    `${a.relays} relays + ${a.direct} on the topic`,
    `${n(a.p50, 1)} / ${n(a.p99, 1)} / ${n(a.max, 1)}`,
    `${n(a.lastP50, 1)} / ${n(a.lastP99, 1)}`,
    `${a.missing} / ${a.doubled}`,
  ]);
  const parts = [
    table(
      [
        "audience, one publish at a time",
        "held by",
        "every delivery p50 / p99 / max ms",
        "last socket p50 / p99 ms",
        "missing / doubled",
      ],
      rows,
    ),
  ];
  const c = results.cpu;
  if (c) {
    parts.push(
      "",
      table(
        [
          "CPU, one topic",
          "topic: store, µs/message",
          "topic: own sockets, µs/delivery",
          "topic: to a relay, µs/batch",
          "relays, µs/delivery",
          "other, µs/message",
          "whole process, µs/delivery",
          "p50 / p99 ms",
        ],
        [
          [
            `${c.sockets.toLocaleString("en-US")} tails (${c.direct} + ${c.relayed} on ${c.relays} relays) at ${c.rate} msg/s`,
            n(c.topicPublishUsPerMessage, 1),
            n(c.topicDirectUsPerDelivery, 2),
            n(c.topicRelayUsPerBatch, 1),
            n(c.relaysUsPerDelivery, 2),
            n(c.otherUsPerMessage, 1),
            n(c.processUsPerDelivery, 1),
            `${n(c.p50, 1)} / ${n(c.p99, 1)}`,
          ],
        ],
      ),
    );
  }
  return parts.join("\n");
}

/** The targets, each with what was measured and whether it is met. */
export function targets(results) {
  const s1 = results.publish;
  const list = [];
  if (s1) {
    const share = repRatio(s1.broker.c64, s1.ceilings["noop-do@c64"]);
    const cpuShare = ratio(cpuPerMsg(s1.ceilings["noop-do@c64"]?.median), cpuPerMsg(s1.broker.c64?.median));
    list.push([
      "single-message publish at c=64 ≥ 80% of the no-op DO ceiling",
      `${pct(share)} (by CPU per message: ${pct(cpuShare)})`,
      share >= 0.8,
    ]);
    const batched = s1.broker.batch100?.median;
    list.push([
      "batched publish ≥ 50,000 msg/s",
      `${n(batched?.msgsPerSec)} msg/s (${n(perCore(batched))} per busy core)`,
      batched?.msgsPerSec >= 50_000,
    ]);
  }
  if (results.deliver) {
    const p99 = results.deliver.broker[500]?.median.p99;
    list.push(["publish → deliver p99 ≤ 10 ms at 500 msg/s", `${ms(p99)} ms`, p99 <= 10]);
  }
  if (results.fanout) {
    const p99 = results.fanout.broker[1000]?.median.p99;
    list.push(["fan-out to 1,000 sockets at 100 msg/s: p99 ≤ 100 ms", `${ms(p99)} ms`, p99 <= 100]);
  }
  if (results.cost) {
    const rows = results.cost.batch100?.withConsumer.rowsWrittenPerMsg;
    list.push(["≤ 1.2 rows written per message, publish + deliver + ack, batched", n(rows, 2), rows <= 1.2]);
  }
  return table(
    ["target", "measured", "met"],
    list.map(([what, value, met]) => [what, value, met ? "yes" : "**no**"]),
  );
}
