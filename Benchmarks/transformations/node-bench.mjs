// The node v20 side of the transformations benchmark: the same email-filter transformation, the
// same events, JSON.parse → transformEvent → JSON.stringify per event, as the Swift engine does.
// Usage: node node-bench.mjs EVENTS.json BATCH ROUNDS SECONDS_PER_ROUND [strings|bytes] → prints JSON:
// events per second of wall-clock time and per CPU-second of the process, one figure per round.
// `strings` (the default) starts from JS strings and keeps the output strings; `bytes` starts from
// UTF-8 Buffers and returns Buffers, the work Keel's engine does and a node transformer fed from
// HTTP or Kafka does too (decode the bytes, and encode the result).
import { readFileSync } from "node:fs";

function rudderEmail(email) {
  return /@(rudderlabs|rudderstack)|\+ruddertest/.test(email);
}
function transformEvent(event, metadata) {
  const email = event.context && event.context.traits && event.context.traits.email;
  if (email && rudderEmail(email)) return null;
  return event;
}
const metadata = () => ({});

const [file, batchText, roundsText, secondsText, mode = "strings"] = process.argv.slice(2);
const texts = JSON.parse(readFileSync(file, "utf8")).map((e) => JSON.stringify(e));
const batch = Number(batchText), rounds = Number(roundsText), seconds = Number(secondsText);

async function runStrings(start) {
  const out = [];
  for (let i = 0; i < batch; i++) {
    const result = transformEvent(JSON.parse(texts[(start + i) % texts.length]), metadata);
    if (result != null) out.push(JSON.stringify(result));
  }
  return out;
}

const buffers = texts.map((text) => Buffer.from(text, "utf8"));
async function runBytes(start) {
  const out = [];
  for (let i = 0; i < batch; i++) {
    const result = transformEvent(JSON.parse(buffers[(start + i) % buffers.length].toString("utf8")), metadata);
    if (result != null) out.push(Buffer.from(JSON.stringify(result), "utf8"));
  }
  return out;
}

const runBatch = mode === "bytes" ? runBytes : runStrings;

const results = [];
const cpuResults = [];
let sink = 0;
for (let round = 0; round < rounds; round++) {
  const cpuStarted = process.cpuUsage();
  const started = process.hrtime.bigint();
  const limit = started + BigInt(Math.round(seconds * 1e9));
  let done = 0;
  while (process.hrtime.bigint() < limit) {
    const out = await runBatch(done);
    sink += out.length;
    done += batch;
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStarted);
  results.push(done / elapsed);
  cpuResults.push(done / Math.max((cpu.user + cpu.system) / 1e6, 1e-6));
}
console.log(JSON.stringify({ eventsPerSecond: results, eventsPerCPUSecond: cpuResults, sink }));
