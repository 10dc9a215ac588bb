import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// GitHub's own API description (@octokit/openapi): requests the deployer sends in
// tests are checked against it, so a stand-in cannot accept what GitHub would refuse.
const require = createRequire(import.meta.url);
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

interface Operation {
  requestBody?: { content?: Record<string, { schema: object }> };
  responses?: Record<string, { content?: Record<string, { schema: object }> }>;
}
interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  schema?: object;
  validate?: ValidateFunction;
  responses: Record<string, object | undefined>;
}

let routes: Route[] | undefined;
let ajv: Ajv | undefined;

/** OpenAPI 3.0 allows `nullable` without `type`; JSON Schema (ajv) does not. */
function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = toJsonSchema(v);
  if ('nullable' in out && !('type' in out)) delete out.nullable;
  return out;
}

function compile(schema: object): ValidateFunction {
  if (!ajv) {
    ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
  }
  return ajv.compile(toJsonSchema(schema) as object);
}

function validator(route: Route): ValidateFunction | undefined {
  if (!route.schema) return undefined;
  route.validate ??= compile(route.schema);
  return route.validate;
}

function load(): Route[] {
  if (routes) return routes;
  const file = require.resolve('@octokit/openapi/generated/api.github.com.deref.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as {
    paths: Record<string, Record<string, Operation>>;
  };
  routes = [];
  for (const [template, ops] of Object.entries(spec.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    for (const [method, op] of Object.entries(ops)) {
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const responses = Object.fromEntries(
        Object.entries(op.responses ?? {}).map(([status, r]) => [
          status,
          r.content?.['application/json']?.schema,
        ]),
      );
      routes.push({ method: method.toUpperCase(), template, pattern, schema, responses });
    }
  }
  // Literal segments win over parameters (e.g. /app/installations before /app/{x}).
  routes.sort(
    (a, b) =>
      b.template.replace(/\{[^}]+\}/g, '').length - a.template.replace(/\{[^}]+\}/g, '').length,
  );
  return routes;
}

/** Problems with a request as GitHub's REST API describes it; empty when it is valid. */
export function githubRequestProblems(method: string, path: string, body: unknown): string[] {
  const route = load().find((r) => r.method === method && r.pattern.test(path));
  if (!route) return [`${method} ${path} is not an endpoint of GitHub's REST API`];
  const validate = validator(route);
  if (!validate || body === undefined) return [];
  if (validate(body)) return [];
  return (validate.errors ?? []).map(
    (e) => `${method} ${route.template}: body${e.instancePath} ${e.message}`,
  );
}

/** Problems with a stand-in's answer as GitHub's REST API describes it; empty when it is valid. */
export function githubResponseProblems(
  method: string,
  path: string,
  status: number,
  body: unknown,
): string[] {
  const route = load().find((r) => r.method === method && r.pattern.test(path));
  if (!route) return [`${method} ${path} is not an endpoint of GitHub's REST API`];
  if (!(String(status) in route.responses))
    return [`${method} ${route.template}: GitHub never answers ${status}`];
  const schema = route.responses[String(status)];
  if (!schema) return [];
  const validate = compile(schema);
  if (validate(body)) return [];
  return (validate.errors ?? []).map(
    (e) => `${method} ${route.template} ${status}: body${e.instancePath} ${e.message}`,
  );
}
