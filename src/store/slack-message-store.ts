import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { SavedMessage } from '../plan/deploy-message.js';

const KEEP_S = 30 * 24 * 3600;
// Longer than a Slack call may take (10 s each): a holder that died lets go by itself.
const LOCK_MS = 30_000;
const LOCK_WAIT_MS = 45_000;
const LOCK_POLL_MS = 100;

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * The Slack message of each deployment of a commit (`name`: a target tag or a
 * unikernel service), so later states edit it; kept 30 days.
 */
export class SlackMessageStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  private key(name: string, sha: string): string {
    return `${this.ns}:slack:${name}:${sha}`;
  }

  async get(name: string, sha: string): Promise<SavedMessage | undefined> {
    const raw = await this.redis.get(this.key(name, sha));
    return raw ? (JSON.parse(raw) as SavedMessage) : undefined;
  }

  async save(name: string, sha: string, message: SavedMessage): Promise<void> {
    await this.redis.set(this.key(name, sha), JSON.stringify(message), 'EX', KEEP_S);
  }

  /**
   * Runs `fn` alone for this message: the pools building one commit report at
   * once, and only one of them may post it.
   */
  async exclusive<T>(name: string, sha: string, fn: () => Promise<T>): Promise<T> {
    const key = `${this.key(name, sha)}:lock`;
    const token = randomUUID();
    const deadline = Date.now() + LOCK_WAIT_MS;
    while ((await this.redis.set(key, token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new Error(`the Slack message of ${name} stays locked`);
      await sleep(LOCK_POLL_MS);
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, key, token);
    }
  }
}
