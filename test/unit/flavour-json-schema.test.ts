import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { resolveFlavour } from '../../src/config/flavour.js';
import {
  FLAVOUR_SCHEMA_FILE,
  flavourJsonSchema,
  renderFlavourJsonSchema,
} from '../../src/config/json-schema.js';
import { loadFlavourFile } from '../../src/config/load.js';
import { builtInFlavours } from '../../src/deployers/index.js';

const root = join(import.meta.dirname, '../..');
const fixtures = join(root, 'test/fixtures/config');
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

// ajv's default strictness: a keyword it does not know, or a format it lacks, is an error.
const ajv = new Ajv({ allErrors: true });
addFormats(ajv);
const validate = ajv.compile(flavourJsonSchema());
const errorsOf = (data: unknown) =>
  validate(data) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });

describe(FLAVOUR_SCHEMA_FILE, () => {
  it('is what `deployer schema` writes from the config schema (run it and commit when this fails)', () => {
    const committed = readFileSync(join(root, FLAVOUR_SCHEMA_FILE), 'utf8');
    expect(committed).toBe(renderFlavourJsonSchema());
  });

  it('is a draft-07 schema, which YAML editors understand', () => {
    expect(flavourJsonSchema().$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it.each(Object.keys(builtInFlavours))(
    'accepts the built-in flavour %s written as YAML, as given and with defaults filled in',
    (name) => {
      const input = builtInFlavours[name as keyof typeof builtInFlavours];
      expect(errorsOf(parseYaml(toYaml(input)))).toBe('');
      const parsed = resolveFlavour({ flavourName: name });
      expect(errorsOf(parseYaml(toYaml(parsed)))).toBe('');
    },
  );

  it.each(readdirSync(fixtures).filter((f) => /\.(ya?ml|json)$/.test(f)))(
    'agrees with the deployer on test/fixtures/config/%s',
    (file) => {
      let data: unknown;
      try {
        data = parseYaml(readFileSync(join(fixtures, file), 'utf8'), { uniqueKeys: true });
      } catch {
        return; // not YAML at all: nothing for the schema to say
      }
      let deployerAccepts = true;
      try {
        loadFlavourFile(join(fixtures, file));
      } catch {
        deployerAccepts = false;
      }
      expect(errorsOf(data) === '').toBe(deployerAccepts);
    },
  );

  it('lets a docker build leave out its kind, but not a unikernel build', () => {
    const flavour = (build: object) => ({
      name: 'demo',
      baseUrl: 'http://localhost:3000',
      repos: [{ owner: 'acme', name: 'web', builds: [build] }],
    });
    expect(errorsOf(flavour({ dockerfile: 'Dockerfile' }))).toBe('');
    expect(errorsOf(flavour({ dockerfile: 'Dockerfile', target: 'hvt' }))).not.toBe('');
    expect(errorsOf(flavour({ kind: 'unikernel', dockerfile: 'Dockerfile', target: 'hvt' }))).toBe(
      '',
    );
  });

  it('asks for a compose file for stack and compose services, and an http(s) baseUrl', () => {
    const flavour = (service: object, baseUrl = 'http://localhost:3000') => ({
      name: 'demo',
      baseUrl,
      repos: [
        {
          owner: 'acme',
          name: 'web',
          builds: [
            {
              dockerfile: 'D',
              deployments: [{ branch: 'live', target: 'a/b', services: [service] }],
            },
          ],
        },
      ],
    });
    expect(errorsOf(flavour({ name: 'web' }))).toBe('');
    expect(errorsOf(flavour({ name: 'web', kind: 'stack' }))).toContain(
      "must have required property 'compose'",
    );
    expect(errorsOf(flavour({ name: 'web', kind: 'compose', compose: 'c.yml' }))).toBe('');
    expect(errorsOf(flavour({ name: 'web' }, 'ftp://example.org/'))).toContain('baseUrl');
  });
});
