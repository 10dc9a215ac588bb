import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeployStore, type DeployEntry } from '../../src/store/deploy-store.js';
import { redisUrl, uniqueName } from '../helpers/harness.js';
import { deleteKeys } from '../helpers/redis-keys.js';

// The real Redis (scripts/services.sh), each test under a namespace of its own.
let redis: Redis;
const namespaces: string[] = [];
const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const OTHER = 'd6fde92930d4715a2b49857d24b940956b26d2d3';
const DIGEST = `sha256:${'1'.repeat(64)}`;

beforeAll(() => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  for (const ns of namespaces) await deleteKeys(redis, ns);
  await redis.quit();
});

function fresh(): { store: DeployStore; ns: string } {
  const ns = uniqueName('deploy-store');
  namespaces.push(ns);
  return { store: new DeployStore(redis, ns), ns };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Every key a store wrote under its namespace, whatever it is named. Only what the store's
 * own methods cannot show is read through these: how long data lives and how big it grows.
 */
async function keysUnder(ns: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${ns}:*`, 'COUNT', 500);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** True once the service's lock can be taken again (it is released at once). */
async function lockIsFree(store: DeployStore, service: string): Promise<boolean> {
  const lock = await store.lock(service, 10_000);
  await lock?.release();
  return lock !== undefined;
}

const entry = (over: Partial<DeployEntry> = {}): DeployEntry => ({
  sha: SHA,
  digest: DIGEST,
  image: `registry.example.com/acme/web:live@${DIGEST}`,
  repo: 'acme/web',
  branch: 'main',
  jobId: 'deploy-a',
  result: 'deploying',
  startedAt: 1_700_000_000_000,
  ...over,
});

describe('DeployStore: staged images', () => {
  it('keeps one record per pool, replaced when a pool is staged again', async () => {
    const { store } = fresh();
    const arm = { pool: 'linux-arm64', ref: 'staging:live-x-linux-arm64', digest: DIGEST };
    const x86 = { pool: 'linux-x86_64', ref: 'staging:live-x-linux-x86_64', digest: DIGEST };
    expect(await store.staged('acme/web', SHA, 'spec1')).toEqual([]);
    await store.stage('acme/web', SHA, 'spec1', arm);
    await store.stage('acme/web', SHA, 'spec1', x86);
    const again = { ...x86, digest: `sha256:${'2'.repeat(64)}` };
    await store.stage('acme/web', SHA, 'spec1', again);
    const staged = await store.staged('acme/web', SHA, 'spec1');
    expect(staged.sort((a, b) => a.pool.localeCompare(b.pool))).toEqual([arm, again]);
  });

  it('keys records by repository (case-insensitively), commit and spec', async () => {
    const { store } = fresh();
    const image = { pool: 'linux-x86_64', ref: 'staging:live-x-linux-x86_64', digest: DIGEST };
    await store.stage('Acme/Web', SHA, 'spec1', image);
    expect(await store.staged('acme/web', SHA, 'spec1')).toEqual([image]);
    expect(await store.staged('acme/web', OTHER, 'spec1')).toEqual([]);
    expect(await store.staged('acme/web', SHA, 'spec2')).toEqual([]);
    expect(await store.staged('acme/api', SHA, 'spec1')).toEqual([]);
  });

  it('expires staging records after a week', async () => {
    const { store, ns } = fresh();
    await store.stage('acme/web', SHA, 'spec1', { pool: 'linux-x86_64', ref: 'r', digest: DIGEST });
    const keys = await keysUnder(ns);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(7 * 24 * 3600 - 60);
      expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600);
    }
  });
});

describe('DeployStore: history', () => {
  it('lists entries newest first', async () => {
    const { store } = fresh();
    expect(await store.history('default/web')).toEqual([]);
    const a = entry({ jobId: 'deploy-a', result: 'success', finishedAt: 1 });
    const b = entry({ jobId: 'deploy-b', sha: OTHER, result: 'failure', error: 'Deploy failed' });
    await store.record('default/web', a);
    await store.record('default/web', b);
    expect(await store.history('default/web')).toEqual([b, a]);
    expect(await store.history('other/web')).toEqual([]);
  });

  it("replaces the newest entry when it is the same job's", async () => {
    const { store } = fresh();
    const a = entry({ jobId: 'deploy-a', result: 'success' });
    await store.record('default/web', a);
    await store.record('default/web', entry({ jobId: 'deploy-b' }));
    const done = entry({ jobId: 'deploy-b', result: 'success', finishedAt: 1_700_000_060_000 });
    await store.record('default/web', done);
    expect(await store.history('default/web')).toEqual([done, a]);
  });

  it("adds a new entry when the same job's entry is not the newest", async () => {
    const { store } = fresh();
    const a1 = entry({ jobId: 'deploy-a' });
    const b = entry({ jobId: 'deploy-b' });
    const a2 = entry({ jobId: 'deploy-a', result: 'success' });
    await store.record('default/web', a1);
    await store.record('default/web', b);
    await store.record('default/web', a2);
    expect(await store.history('default/web')).toEqual([a2, b, a1]);
  });

  it('keeps the newest 100 entries', async () => {
    const { store, ns } = fresh();
    for (let i = 0; i < 105; i++)
      await store.record('default/web', entry({ jobId: `deploy-${i}`, startedAt: i }));
    const history = await store.history('default/web');
    expect(history).toHaveLength(100);
    expect(history[0].jobId).toBe('deploy-104');
    expect(history[99].jobId).toBe('deploy-5');
    // Trimmed where it is kept, not only when read.
    const keys = await keysUnder(ns);
    expect(keys).toHaveLength(1);
    expect(await redis.llen(keys[0])).toBe(100);
  });
});

describe('DeployStore: deployed commit', () => {
  it('round-trips the last deployed commit per repository, spec and branch', async () => {
    const { store } = fresh();
    expect(await store.deployedSha('acme/web', 'spec1', 'main')).toBeUndefined();
    await store.setDeployedSha('Acme/Web', 'spec1', 'main', SHA);
    expect(await store.deployedSha('acme/web', 'spec1', 'main')).toBe(SHA);
    expect(await store.deployedSha('acme/web', 'spec1', 'release')).toBeUndefined();
    expect(await store.deployedSha('acme/web', 'spec2', 'main')).toBeUndefined();
    await store.setDeployedSha('acme/web', 'spec1', 'main', OTHER);
    expect(await store.deployedSha('acme/web', 'spec1', 'main')).toBe(OTHER);
  });
});

describe('DeployStore: service locks', () => {
  it('gives a service to one holder at a time, and frees it on release', async () => {
    const { store } = fresh();
    const first = await store.lock('default/web', 10_000);
    expect(first).toBeDefined();
    expect(await store.lock('default/web', 10_000)).toBeUndefined();
    // Other services are not affected.
    const api = await store.lock('default/api', 10_000);
    expect(api).toBeDefined();
    await first!.release();
    const second = await store.lock('default/web', 10_000);
    expect(second).toBeDefined();
    await second!.release();
    await api!.release();
  });

  it('keeps extending a held lock past its TTL', async () => {
    const { store } = fresh();
    const lock = await store.lock('default/web', 300);
    expect(lock).toBeDefined();
    await sleep(900);
    expect(await store.lock('default/web', 300)).toBeUndefined();
    await lock!.release();
    expect(await lockIsFree(store, 'default/web')).toBe(true);
  });

  it('lets a lock whose TTL lapsed be taken, and the old holder cannot release the new lock', async () => {
    const { store } = fresh();
    // A holder that stalls: its extension timer never fires, so its TTL lapses in Redis.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const stale = await store.lock('default/web', 200);
    expect(stale).toBeDefined();
    await sleep(400);
    vi.useRealTimers();

    const current = await store.lock('default/web', 10_000);
    expect(current).toBeDefined();
    await stale!.release();
    expect(await store.lock('default/web', 10_000)).toBeUndefined();
    await current!.release();
    expect(await lockIsFree(store, 'default/web')).toBe(true);
  });

  it('does not extend a lock that was lost to another holder', async () => {
    const { store, ns } = fresh();
    const lost = await store.lock('default/web', 300);
    expect(lost).toBeDefined();
    // Someone else now holds it (as after the TTL lapsed and another process took it):
    // written over, since this holder's renewals would keep any other taker out.
    const keys = await keysUnder(ns);
    expect(keys).toHaveLength(1);
    await redis.set(keys[0], 'someone-else', 'PX', 300);
    await sleep(600);
    // Its 300 ms lapsed: the first holder's renewals did not extend another's lock.
    expect(await lockIsFree(store, 'default/web')).toBe(true);
    await lost!.release();
  });
});
