// Run by memory.ts as its own process: streams the build context in `dir` to the
// local engine exactly as a build job does (packContext → buildImage), then
// reports and waits, so the parent can read this process's peak RSS.
import { performance } from 'node:perf_hooks';
import { Transform } from 'node:stream';
import { packContext } from '../src/exec/build-context.js';
import { buildImage } from '../src/exec/docker/build.js';
import { localDocker } from '../src/exec/docker/client.js';

export interface MemoryChildResult {
  imageId: string;
  bytes: number;
  ms: number;
  lines: number;
  /** RSS just before the build started, modules loaded (bytes). */
  baselineRss: number;
}

const [dir, tag] = process.argv.slice(2);
let bytes = 0;
// Counts what goes to the engine; a Transform holds at most its high-water mark.
const counter = new Transform({
  transform(chunk: Buffer, _encoding, done) {
    bytes += chunk.length;
    done(null, chunk);
  },
});
const baselineRss = process.memoryUsage().rss;
const t0 = performance.now();
let lines = 0;
const { imageId } = await buildImage(localDocker(process.env.DOCKER_HOST || undefined), {
  context: (await packContext(dir, { includeGit: false, dockerfile: 'Dockerfile' })).pipe(counter),
  dockerfile: 'Dockerfile',
  buildArgs: {},
  platform: 'linux/amd64',
  ulimits: [],
  tag,
  onLine: () => lines++,
});
const ms = performance.now() - t0;
const result: MemoryChildResult = { imageId, bytes, ms, lines, baselineRss };
process.send!(result);
process.on('message', () => process.exit(0));
