// `npm run bench`: measures the deployer and prints the figures recorded in docs/benchmarks.md.
// `npm run bench -- intake burst` runs only the sections named (routing, intake, burst, memory, push-to-live).
// All but routing need the real services: eval "$(bash scripts/services.sh env)".
import { cpus } from 'node:os';
import { benchBurst } from './burst.js';
import { benchIntake, type PhaseFigures } from './intake.js';
import { benchMemory } from './memory.js';
import { pushToLiveSection } from './push-to-live.js';
import { benchRouting } from './routing.js';

const goal = (met: boolean) => (met ? 'met' : 'NOT met');
const ms = (v: number) => `${v.toFixed(1)} ms`;

function routing(): void {
  const routing = benchRouting();
  console.log('## Routing with a large configuration');
  console.log(`repositories × build specs : ${routing.repos} × 3`);
  console.log(
    `start-up (validate + index): ${routing.loadMs.toFixed(0)} ms, heap +${routing.heapMiB.toFixed(1)} MiB`,
  );
  console.log(
    `per push event (parse + route + plan 4 jobs): ${routing.perEventUs.toFixed(2)} µs over ${routing.events} events`,
  );
  console.log(`goal < 50 µs per event: ${goal(routing.perEventUs < 50)}`);
}

function phaseLine(name: string, p: PhaseFigures): string {
  const failed = Object.entries(p.failures)
    .map(([status, n]) => `${n}× ${status}`)
    .join(', ');
  const redis = p.redisCommands === undefined ? '' : `, ${p.redisCommands.toFixed(1)} Redis cmds`;
  return (
    `${name.padEnd(22)} ${p.perSecond.toFixed(0).padStart(5)}/s  p50 ${ms(p.p50Ms).padStart(9)}` +
    `  p99 ${ms(p.p99Ms).padStart(9)}  max ${ms(p.maxMs).padStart(9)}  (${p.ok}/${p.sent} ok` +
    `${failed ? `; ${failed}` : ''}; server CPU ${p.serverCpuMs.toFixed(2)} ms/delivery${redis})`
  );
}

async function intake(): Promise<void> {
  const f = await benchIntake();
  console.log('## Webhook intake');
  console.log(
    `load: real signed push payloads (distinct shas, one branch), Node fetch keep-alive, ≤ ${f.concurrency} in flight, generator in its own process`,
  );
  console.log(
    `fixed rate ${f.rate}/s for ${f.fixedMs / 1000} s per server, latency from when each was due (halves in the order A B C C B A):`,
  );
  console.log(phaseLine('  bare Probot app', f.bare.fixed));
  console.log(phaseLine('  deployer receiver', f.deployer.fixed));
  console.log(phaseLine('  Probot + 1 queue.add', f.oneEnqueue.fixed));
  console.log(`saturation, ${f.maxMs / 1000} s per server (halves in the order A B C C B A):`);
  console.log(phaseLine('  bare Probot app', f.bare.max));
  console.log(phaseLine('  deployer receiver', f.deployer.max));
  console.log(phaseLine('  Probot + 1 queue.add', f.oneEnqueue.max));
  console.log(
    `throughput deployer / bare: ${f.ratio.toFixed(2)}× (Probot + 1 queue.add / bare: ${(f.oneEnqueue.max.perSecond / f.bare.max.perSecond).toFixed(2)}×)`,
  );
  const d = f.intake;
  console.log(
    `then one worker's intake took in ${d.taken} of the ${d.backlog} deliveries enqueued in ${(d.durationMs / 1000).toFixed(1)} s: ${d.perSecond.toFixed(0)}/s, ${d.redisCommands.toFixed(1)} Redis cmds/delivery`,
  );
  console.log(
    `build jobs left waiting on the one branch: ${f.waitingBuilds} (1 if every push superseded the one before)`,
  );
  console.log(`goal ≥ 0.6× the bare app's throughput: ${goal(f.ratio >= 0.6)}`);
  console.log(
    `the machine's own floor: the bare app's p99 at ${f.rate}/s in the same run, ${ms(f.bare.fixed.p99Ms)}`,
  );
  const p99 = f.deployer.fixed.p99Ms;
  const kept = f.deployer.fixed.perSecond >= f.rate * 0.95;
  console.log(
    `goal p99 < 20 ms at ${f.rate}/s: ${goal(p99 < 20 && kept)} (p99 ${ms(p99)}${kept ? '' : `, only ${f.deployer.fixed.perSecond.toFixed(0)}/s answered`})`,
  );
}

async function burst(): Promise<void> {
  const f = await benchBurst();
  console.log('## Burst coalescing');
  console.log(
    `${f.pushes} pushes to one deployment branch: last push after ${(f.lastPushMs / 1000).toFixed(2)} s, last webhook answered after ${(f.burstMs / 1000).toFixed(2)} s (${f.webhooksOk}/${f.pushes} answered 200)`,
  );
  console.log(
    `builds started: ${f.buildsStarted} (jobs run: ${f.buildJobsRun}, of which succeeded: ${f.buildsSucceeded})`,
  );
  console.log(`deploy jobs run: ${f.deployJobsRun}, deployed: ${f.deploys}`);
  const lastDeployed = f.deploys === 1 && f.deployedShas[0] === f.lastSha;
  console.log(
    `deployed commit: ${f.deployedShas.map((s) => s.slice(0, 7)).join(', ') || 'none'} (last pushed: ${f.lastSha.slice(0, 7)}; recorded as deployed: ${f.recordedDeployedSha?.slice(0, 7) ?? 'none'})`,
  );
  console.log(`quiet after: ${(f.settleMs / 1000).toFixed(1)} s from the first push`);
  console.log(`goal ≤ 3 builds started: ${goal(f.buildsStarted <= 3)}`);
  console.log(
    `goal exactly 1 deploy, of the last commit: ${goal(lastDeployed && f.recordedDeployedSha === f.lastSha)}`,
  );
  console.log(`pushes within 2 s: ${goal(f.lastPushMs <= 2_000)}`);
}

async function memory(): Promise<void> {
  const f = await benchMemory();
  const gib = (b: number) => (b / 2 ** 30).toFixed(2);
  console.log('## Memory while streaming a 1 GiB build context');
  console.log(
    `context: ${gib(f.contextBytes)} GiB file (FROM scratch, COPY big /big); streamed to the engine: ${gib(f.streamedBytes)} GiB in ${(f.buildMs / 1000).toFixed(1)} s (real build)`,
  );
  const max = Math.max(f.peakRssMiB, f.sampledMaxRssMiB);
  console.log(
    `RSS of the build process: before ${f.baselineRssMiB.toFixed(0)} MiB, max of ${f.samples} samples (100 ms) ${f.sampledMaxRssMiB.toFixed(0)} MiB, peak (VmHWM) ${f.peakRssMiB.toFixed(0)} MiB`,
  );
  console.log(
    `clean-up: image ${f.imageRemoved ? 'removed' : 'NOT removed'}, ${f.buildCacheFreedMiB.toFixed(0)} MiB of build cache freed`,
  );
  console.log(`goal < 250 MB: ${goal(max * 2 ** 20 < 250e6)}`);
}

const sections = { routing, intake, burst, memory, 'push-to-live': pushToLiveSection } as const;
const asked = process.argv.slice(2);
const unknown = asked.filter((s) => !(s in sections));
if (unknown.length) {
  console.error(
    `unknown section(s): ${unknown.join(', ')}; known: ${Object.keys(sections).join(', ')}`,
  );
  process.exit(2);
}
console.log(
  `# Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${new Date().toISOString()}`,
);
for (const name of asked.length ? asked : Object.keys(sections)) {
  console.log();
  await sections[name as keyof typeof sections]();
}
