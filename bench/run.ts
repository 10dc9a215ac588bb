// `npm run bench`: measures the deployer and prints the figures recorded in docs/benchmarks.md.
import { benchRouting } from './routing.js';

const routing = benchRouting();
console.log('## Routing with a large configuration');
console.log(`repositories × build specs : ${routing.repos} × 3`);
console.log(
  `start-up (validate + index): ${routing.loadMs.toFixed(0)} ms, heap +${routing.heapMiB.toFixed(1)} MiB`,
);
console.log(
  `per push event (parse + route + plan 4 jobs): ${routing.perEventUs.toFixed(2)} µs over ${routing.events} events`,
);
console.log(`goal < 50 µs per event: ${routing.perEventUs < 50 ? 'met' : 'NOT met'}`);
