import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError } from './load.js';

/** A value to write, or `null` to comment out every assignment of the key. */
export type EnvUpdate = Record<string, string | null>;

interface Assignment {
  key: string;
  first: number;
  last: number;
  empty: boolean;
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/;
const TEMPLATE = /^\s*#\s*([A-Za-z_][A-Za-z0-9_]*)=/;

/**
 * Sets `update` in the text of a `.env` file, keeping every other line as it was.
 * A key already set to a value has its old line(s) commented out above the new
 * one, so nothing is lost; a key only shown commented out (`# KEY=…`, as in
 * .env.example) is set right below that line; any other key is appended under
 * `heading`. Multi-line quoted values (a PEM key) count as one assignment.
 */
export function mergeEnvText(text: string, update: EnvUpdate, heading: string): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const assignments = findAssignments(lines);
  const replace = new Map<number, string[]>(); // line index → what stands there instead
  const after = new Map<number, string[]>();
  const appended: string[] = [];
  for (const [key, value] of Object.entries(update)) {
    const own = assignments.filter((a) => a.key === key);
    const line = value === null ? [] : [formatAssignment(key, value)];
    if (own.length === 1 && own[0].first === own[0].last && lines[own[0].first] === line[0])
      continue; // already so
    // Old values stay, commented out; an empty one (`KEY=`) holds nothing to keep.
    for (const a of own) {
      const old = a.empty ? [] : lines.slice(a.first, a.last + 1).map((l) => `# ${l}`);
      for (let n = a.first; n <= a.last; n++) replace.set(n, n === a.first ? old : []);
    }
    if (own.length) {
      replace.set(own[0].first, [...replace.get(own[0].first)!, ...line]);
      continue;
    }
    if (!line.length) continue;
    const template = lines.findIndex((l) => TEMPLATE.exec(l)?.[1] === key);
    if (template >= 0) after.set(template, [...(after.get(template) ?? []), ...line]);
    else appended.push(...line);
  }
  const out: string[] = [];
  lines.forEach((l, n) => out.push(...(replace.get(n) ?? [l]), ...(after.get(n) ?? [])));
  if (appended.length) {
    if (out.length && out[out.length - 1].trim() !== '') out.push('');
    out.push(`# ${heading}`, ...appended);
  }
  return `${out.join('\n')}\n`;
}

/** Reads `path` (absent: empty), merges `update` in and writes it back; a new file is private (0600). */
export function updateEnvFile(path: string, update: EnvUpdate, heading: string): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  writeFileSync(path, mergeEnvText(text, update, heading), { mode: 0o600 });
}

/** A value as `sh` (`set -a; . ./.env`), docker compose and Node's `--env-file` all read it. */
function formatAssignment(key: string, value: string): string {
  if (/^[A-Za-z0-9_./:@%+,=-]*$/.test(value)) return `${key}=${value}`;
  if (!/['\n\r]/.test(value)) return `${key}='${value}'`;
  throw new ConfigError(`${key}: cannot write a value with a quote or a line break to .env`);
}

function findAssignments(lines: string[]): Assignment[] {
  const found: Assignment[] = [];
  for (let n = 0; n < lines.length; n++) {
    const m = ASSIGNMENT.exec(lines[n]);
    if (!m) continue;
    const value = m[2].trim();
    const first = n;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && !closes(value.slice(1), quote)) {
      while (n + 1 < lines.length && !closes(lines[n + 1], quote)) n++;
      n = Math.min(n + 1, lines.length - 1);
    }
    const empty = value === '' || value === '""' || value === "''" || value.startsWith('#');
    found.push({ key: m[1], first, last: n, empty });
  }
  return found;
}

function closes(text: string, quote: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) return true;
  }
  return false;
}
