import { z } from 'zod';
import { dockerBuildSchema, flavourSchema, serviceSchema } from './schema.js';

/** Where `deployer schema` writes it; editors are pointed at it (see the README). */
export const FLAVOUR_SCHEMA_FILE = 'doc/flavour.schema.json';

type JsonSchema = z.core.JSONSchema.BaseSchema;

/**
 * What zod's conversion cannot see: refinements and the `kind` that the build
 * schema fills in before parsing. The rest follows from schema.ts as it is.
 */
function complete({ zodSchema, jsonSchema }: { zodSchema: unknown; jsonSchema: JsonSchema }) {
  if (zodSchema === dockerBuildSchema) {
    jsonSchema.required = jsonSchema.required?.filter((key) => key !== 'kind');
  }
  if (zodSchema === serviceSchema) {
    jsonSchema.if = { properties: { kind: { enum: ['stack', 'compose'] } }, required: ['kind'] };
    jsonSchema.then = { required: ['compose'] };
  }
  const protocol = (zodSchema as { _zod?: { def?: { protocol?: unknown } } })._zod?.def?.protocol;
  if (protocol instanceof RegExp) {
    jsonSchema.pattern = `^(?:${protocol.source.replace(/^\^/, '').replace(/\$$/, '')}):`;
  }
}

/**
 * The flavour file's JSON Schema (draft-07, which YAML editors support), generated
 * from the zod schema. The zod schema stays the authority: a few rules (a branch
 * ending in .lock, two services on one context) are only checked by the deployer.
 */
export function flavourJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(flavourSchema, {
    target: 'draft-07',
    io: 'input',
    override: complete,
  });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'Deployer flavour',
    description:
      'The repositories a deployer builds and what it deploys where; checked by `deployer check-config`.',
    ...rest,
  };
}

export const renderFlavourJsonSchema = (): string =>
  `${JSON.stringify(flavourJsonSchema(), null, 2)}\n`;
