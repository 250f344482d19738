// The node v20 side of the transformations benchmark: the same email-filter transformation, the
// same events, JSON.parse → transformEvent → JSON.stringify per event, as the Swift engine does.
// Usage: node node-bench.mjs EVENTS.json BATCH ROUNDS SECONDS_PER_ROUND → prints a JSON array of events/s.
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

const [file, batchText, roundsText, secondsText] = process.argv.slice(2);
const events = JSON.parse(readFileSync(file, "utf8")).map((e) => JSON.stringify(e));
const batch = Number(batchText), rounds = Number(roundsText), seconds = Number(secondsText);

async function runBatch(start) {
  const out = [];
  for (let i = 0; i < batch; i++) {
    const result = transformEvent(JSON.parse(events[(start + i) % events.length]), metadata);
    if (result != null) out.push(JSON.stringify(result));
  }
  return out;
}

const results = [];
let sink = 0;
for (let round = 0; round < rounds; round++) {
  const started = process.hrtime.bigint();
  const limit = started + BigInt(Math.round(seconds * 1e9));
  let done = 0;
  while (process.hrtime.bigint() < limit) {
    const out = await runBatch(done);
    sink += out.length;
    done += batch;
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  results.push(done / elapsed);
}
console.log(JSON.stringify({ eventsPerSecond: results, sink }));
