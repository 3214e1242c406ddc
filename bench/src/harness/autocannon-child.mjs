// Fallback load generator when wrk is missing: autocannon in its own process, same
// settings as wrk's (-c connections, duration), result on stdout as JSON.
import autocannon from 'autocannon';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { url, headers, connections, duration } = JSON.parse(input);
const result = await autocannon({ url, headers, connections, duration, pipelining: 1, timeout: 5 });
const errors = result.non2xx + result.errors + result.timeouts;
process.stdout.write(
  JSON.stringify({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, errors }),
);
