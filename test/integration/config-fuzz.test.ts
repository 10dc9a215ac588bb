import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError, loadFlavourFile } from '../../src/config/load.js';
import {
  EVIL_STRINGS,
  fuzzSeed,
  getAt,
  nested,
  otherValue,
  pathsOf,
  Rng,
  setAt,
  type Path,
} from '../helpers/fuzz.js';

const FILES = 2_000;
const good = readFileSync(join(import.meta.dirname, '../fixtures/config/good.yml'), 'utf8');
const goodData = parseYaml(good) as unknown;

type Mutant = { kind: string; text: string | Buffer; ext: string };

/** Mutations of the parsed file, written back as YAML or JSON. */
const dataMutations: Record<string, (rng: Rng, data: unknown, paths: Path[]) => void> = {
  deleteKey: (rng, data, paths) => setAt(data, rng.pick(paths), undefined),
  swapType: (rng, data, paths) => {
    const path = rng.pick(paths);
    setAt(data, path, otherValue(rng, getAt(data, path)));
  },
  evilValue: (rng, data, paths) => setAt(data, rng.pick(paths), rng.pick(EVIL_STRINGS)),
  evilKey: (rng, data, paths) => {
    const parent = getAt(data, rng.pick(paths).slice(0, -1));
    if (parent && typeof parent === 'object' && !Array.isArray(parent))
      setAt(parent, [rng.pick(EVIL_STRINGS) || 'empty'], 'x');
  },
  duplicateItem: (rng, data, paths) => {
    const arrays = paths.filter((p) => Array.isArray(getAt(data, p)));
    const list = getAt(data, rng.pick(arrays)) as unknown[];
    if (list.length) list.push(structuredClone(list[rng.int(list.length)]));
  },
  deepNesting: (rng, data, paths) => setAt(data, rng.pick(paths), nested(rng.int(200) + 10)),
  // Up to 1 MB now and then; mostly up to 10 kB, to keep the run short.
  hugeString: (rng, data, paths) =>
    setAt(data, rng.pick(paths), 'y'.repeat(rng.int(rng.chance(0.05) ? 1 << 20 : 10_000))),
  emptyList: (rng, data, paths) => {
    const arrays = paths.filter((p) => Array.isArray(getAt(data, p)));
    setAt(data, rng.pick(arrays), []);
  },
};

/** Mutations of the text itself. */
const textMutations: Record<string, (rng: Rng, text: string) => string | Buffer> = {
  truncate: (rng, text) => text.slice(0, rng.int(text.length)),
  randomBytes: (rng, text) => {
    const bytes = Buffer.from(text);
    const at = rng.int(bytes.length);
    return Buffer.concat([bytes.subarray(0, at), rng.bytes(rng.int(32) + 1), bytes.subarray(at)]);
  },
  overwriteBytes: (rng, text) => {
    const bytes = Buffer.from(text);
    for (let i = rng.int(8) + 1; i > 0; i--) bytes[rng.int(bytes.length)] = rng.int(256);
    return bytes;
  },
  yamlSyntax: (rng, text) => {
    const at = rng.int(text.length);
    const junk = rng.pick([
      ':',
      '- ',
      '[',
      ']',
      '{',
      '}',
      '&a ',
      '*a',
      '!!binary ',
      '|',
      '>',
      '%',
      '@',
      '`',
      '"',
      "'",
      '\t',
      '\n  ',
      '? ',
      '#',
    ]);
    return text.slice(0, at) + junk + text.slice(at);
  },
  swapLines: (rng, text) => {
    const lines = text.split('\n');
    const i = rng.int(lines.length);
    const j = rng.int(lines.length);
    [lines[i], lines[j]] = [lines[j], lines[i]];
    return lines.join('\n');
  },
  duplicateLine: (rng, text) => {
    const lines = text.split('\n');
    const i = rng.int(lines.length);
    lines.splice(i, 0, lines[i]);
    return lines.join('\n');
  },
  allRandom: (rng) => rng.bytes(rng.int(4096)),
  aliasBomb: () =>
    `a: &a ["x","x","x","x","x","x","x","x","x"]\n` +
    'bcdefghij'
      .split('')
      .map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(',')}]`)
      .join('\n') +
    '\nname: bomb\n',
  deepFlow: (rng) => `name: deep\nrepos: ${'['.repeat(rng.int(800) + 100)}`,
  /** A node that contains itself, through a YAML alias (the yaml library makes a cycle). */
  selfAlias: (rng, text) => {
    const data = parseYaml(text) as unknown;
    const containers = pathsOf(data).filter((p) => {
      const v = getAt(data, p);
      return v !== null && typeof v === 'object';
    });
    const path = rng.pick(containers);
    const node = getAt(data, path) as Record<string, unknown> | unknown[];
    if (Array.isArray(node)) node.push(node);
    else node[rng.pick(Object.keys(node))] = node;
    return stringifyYaml(data); // writes the cycle as an anchor and an alias
  },
};

function mutate(rng: Rng): Mutant {
  const ext = rng.pick(['.yml', '.yaml', '.json']);
  if (rng.chance(0.55)) {
    const data = structuredClone(goodData);
    const kinds: string[] = [];
    for (let n = rng.int(3) + 1; n > 0; n--) {
      const paths = pathsOf(data);
      if (!paths.length) break;
      const kind = rng.pick(Object.keys(dataMutations));
      dataMutations[kind](rng, data, paths);
      kinds.push(kind);
    }
    const text = ext === '.json' ? JSON.stringify(data) : stringifyYaml(data);
    return { kind: kinds.join('+'), text, ext };
  }
  const kind = rng.pick(Object.keys(textMutations));
  const base = ext === '.json' ? JSON.stringify(goodData, null, 2) : good;
  return { kind, text: textMutations[kind](rng, base), ext };
}

/** What must hold: loads, or a ConfigError naming the file on every line, without a stack. */
function violation(file: string, err: unknown): string | undefined {
  if (!(err instanceof ConfigError)) return `threw ${(err as Error)?.name}: ${String(err)}`;
  if (err.message.includes('\n    at ')) return 'message has a stack trace';
  const bad = err.message.split('\n').find((line) => !line.startsWith(`${file}: `));
  return bad === undefined ? undefined : `a line does not start with the file name: ${bad}`;
}

// A YAML node that contains itself (`&a [ *a ]`) becomes a cyclic value; an invalid
// one makes src/config/load.ts show() call JSON.stringify on it, which throws a
// TypeError past loadFlavourFile. Tolerated here (and counted) until that is fixed;
// the test below pins it.
const KNOWN_CYCLE_BUG = /^TypeError: Converting circular structure to JSON/;

describe('flavour files: mutated input loads or fails with a ConfigError naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-config-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`${FILES} mutants of good.yml`, () => {
    const seed = fuzzSeed(378051107);
    console.log(`config fuzz seed: ${seed} (replay with FUZZ_SEED=${seed})`);
    const rng = new Rng(seed);
    const outcomes: Record<string, number> = { loaded: 0, configError: 0, knownCycleBug: 0 };
    const failures: string[] = [];
    const names = ['flavour', 'my deployer', 'évolution', 'a;b', 'x$(id)', 'good'];
    for (let i = 0; i < FILES; i++) {
      const m = mutate(rng);
      const file = `${rng.pick(names)}-${i}${m.ext}`;
      const path = join(dir, file);
      writeFileSync(path, m.text);
      try {
        loadFlavourFile(path);
        outcomes.loaded++;
      } catch (err) {
        const problem = violation(file, err);
        if (!problem) outcomes.configError++;
        else if (KNOWN_CYCLE_BUG.test(String(err)) && m.kind === 'selfAlias')
          outcomes.knownCycleBug++;
        else failures.push(`#${i} ${m.kind} (${file}): ${problem.slice(0, 300)}`);
      } finally {
        rmSync(path);
      }
    }
    console.log(`config fuzz outcomes (seed ${seed}):`, outcomes);
    expect(failures, `seed ${seed}`).toEqual([]);
    // Both outcomes happen: the mutants are neither all fatal nor all harmless.
    expect(outcomes.loaded).toBeGreaterThan(20);
    expect(outcomes.configError).toBeGreaterThan(FILES / 2);
  });

  it('a node that contains itself through an alias is a ConfigError', () => {
    const path = join(dir, 'cycle.yml');
    writeFileSync(path, 'name: demo\nbaseUrl: http://localhost:3000\nrepos: &r [ *r ]\n');
    let err: unknown;
    try {
      loadFlavourFile(path);
    } catch (e) {
      err = e;
    }
    expect(violation('cycle.yml', err)).toBeUndefined();
    expect(err).toBeInstanceOf(ConfigError);
  });
});
