import type { Redis } from 'ioredis';
import { LEVELS, type Level } from '../config/levels.js';

/** What an admin may choose: a level, `none` (nothing waits), or back to what workers started with. */
export const CONFIRM_CHOICES = ['none', ...LEVELS, 'configured'] as const;
export type ConfirmChoice = (typeof CONFIRM_CHOICES)[number];

/** The threshold in force, and where it comes from. */
export interface ConfirmState {
  /** Operations at or above it wait for an admin; undefined: nothing waits. */
  level: Level | undefined;
  /**
   * `admin`: set at runtime from the web UI; `configured`: what workers were started
   * with (`--confirm`); `released`: that level, no longer held once its auto-release
   * period after start-up was over.
   */
  source: 'admin' | 'configured' | 'released';
  /** What workers were started with. */
  configured: Level | undefined;
  /** Who set the level at runtime, and when (ms). */
  by?: string;
  at?: number;
  /** When the configured level stops holding (ms); unset: never. */
  releaseAt?: number;
}

interface AdminSetting {
  level: Level | 'none';
  by: string;
  at: number;
}

interface StartSetting {
  level: Level | 'none';
  releaseAt?: number;
}

const isLevel = (v: unknown): v is Level | 'none' =>
  v === 'none' || (LEVELS as readonly unknown[]).includes(v);

function parse<T extends { level: unknown }>(raw: string | null): T | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as T;
    return value && isLevel(value.level) ? value : undefined;
  } catch {
    return undefined;
  }
}

const orUndefined = (level: Level | 'none'): Level | undefined =>
  level === 'none' ? undefined : level;

/**
 * The confirmation threshold, shared through Redis by every process of a flavour:
 * what workers were started with (each worker writes it when it starts, with the
 * end of its auto-release period), unless an admin set another at runtime. An
 * admin's choice holds until an admin chooses again, restarts included.
 */
export class ConfirmLevel {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    /** This process's own `--confirm`, used until a worker has written its start-up level. */
    private readonly own: Level | undefined,
  ) {}

  private adminKey = () => `${this.ns}:confirm:admin`;
  private startKey = () => `${this.ns}:confirm:start`;

  async state(now = Date.now()): Promise<ConfirmState> {
    const [adminRaw, startRaw] = await this.redis.mget(this.adminKey(), this.startKey());
    const start = parse<StartSetting>(startRaw);
    const configured = start ? orUndefined(start.level) : this.own;
    const releaseAt = start?.releaseAt;
    const admin = parse<AdminSetting>(adminRaw);
    if (admin) {
      const { by, at } = admin;
      return { level: orUndefined(admin.level), source: 'admin', configured, by, at, releaseAt };
    }
    if (configured && releaseAt !== undefined && now >= releaseAt)
      return { level: undefined, source: 'released', configured, releaseAt };
    return { level: configured, source: 'configured', configured, releaseAt };
  }

  /** The threshold in force now. */
  async current(): Promise<Level | undefined> {
    return (await this.state()).level;
  }

  /** An admin's choice at runtime; `configured` goes back to what workers were started with. */
  async choose(choice: ConfirmChoice, by: string): Promise<void> {
    if (choice === 'configured') {
      await this.redis.del(this.adminKey());
      return;
    }
    const setting: AdminSetting = { level: choice, by, at: Date.now() };
    await this.redis.set(this.adminKey(), JSON.stringify(setting));
  }

  /**
   * A worker starting: its level becomes the configured one, released `autoReleaseMs`
   * from now when given (the original's `--confirm-auto-release`, a slow start).
   */
  async started(autoReleaseMs: number | undefined, now = Date.now()): Promise<void> {
    const setting: StartSetting = {
      level: this.own ?? 'none',
      ...(autoReleaseMs ? { releaseAt: now + autoReleaseMs } : {}),
    };
    await this.redis.set(this.startKey(), JSON.stringify(setting));
  }
}
