import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { flavourSchema, type Flavour } from './schema.js';

/** A configuration that cannot be used; the message names the file, the key and the expectation. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validates a flavour (from a file or a built-in module); `source` names it in errors. */
export function parseFlavour(input: unknown, source: string): Flavour {
  const result = flavourSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `${source}: ${formatIssue(issue)}`);
  throw new ConfigError(lines.join('\n'));
}

/** Reads a YAML or JSON flavour file (JSON is YAML, so one parser serves both). */
export function loadFlavourFile(path: string): Flavour {
  const source = basename(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read the file: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const detail = err instanceof YAMLParseError ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(`${source}: not valid YAML or JSON: ${detail}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`${source}: expected a mapping with name, baseUrl, repos, …`);
  }
  return parseFlavour(data, source);
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  }
  return out || '(top level)';
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? '[…]' : '{…}'; // a YAML node that contains itself
  }
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const at = formatPath(issue.path);
  switch (issue.code) {
    case 'invalid_value':
      return `${at}: expected one of ${issue.values.map(String).join(', ')}, got ${show(issue.input)}`;
    case 'invalid_type':
      return issue.input === undefined
        ? `${at}: required (expected ${issue.expected})`
        : `${at}: expected ${issue.expected}, got ${show(issue.input)}`;
    case 'unrecognized_keys':
      return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map(show).join(', ')}`;
    case 'invalid_format':
    case 'custom':
      return `${at}: expected ${issue.message}, got ${show(issue.input)}`;
    case 'too_small':
      return `${at}: expected at least ${String(issue.minimum)} ${issue.origin === 'array' ? 'item(s)' : ''}`.trimEnd();
    case 'invalid_union':
      return `${at}: expected "kind" to be docker or unikernel, got ${show((issue.input as { kind?: unknown })?.kind)}`;
    default:
      return `${at}: ${issue.message}`;
  }
}
