import { basename } from 'node:path';
import { readEnv } from '../config/env.js';
import { resolveFlavour } from '../config/flavour.js';
import { checkFlavour, formatFinding, type ContextProblem } from '../config/flavour-checks.js';
import { ConfigError, loadFlavourFile } from '../config/load.js';
import { ContextError, dockerConfigDir, resolveDockerContext } from '../exec/docker/context.js';

/** A context is known when it resolves here as it would for a deploy ($DOCKER_CONFIG/contexts). */
function contextProblemIn(configDir: string): ContextProblem {
  return (name) => {
    try {
      resolveDockerContext(name, configDir);
      return undefined;
    } catch (err) {
      if (err instanceof ContextError) return err.message;
      throw err;
    }
  };
}

function configured() {
  const env = readEnv();
  const flavour = resolveFlavour(env);
  const source = env.configFile ? basename(env.configFile) : `built-in flavour ${env.flavourName}`;
  return { flavour, source };
}

/**
 * `deployer check-config`: the schema first (its errors throw a ConfigError), then
 * what the flavour gets wrong as a whole. Findings go to stderr, the summary to
 * stdout; errors (and with `strict` warnings too) end in a ConfigError, exit 2.
 */
export function checkConfig(file: string | undefined, opts: { strict?: boolean }): void {
  const { flavour, source } = file
    ? { flavour: loadFlavourFile(file), source: basename(file) }
    : configured();
  const findings = checkFlavour(flavour, contextProblemIn(dockerConfigDir()));
  for (const finding of findings) console.error(formatFinding(source, finding));
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  if (errors || (opts.strict && warnings)) {
    const counted = [errors && count(errors, 'error'), warnings && count(warnings, 'warning')];
    throw new ConfigError(`${source}: ${counted.filter(Boolean).join(', ')}`);
  }
  const builds = flavour.repos.reduce((n, r) => n + r.builds.length, 0);
  const ok = warnings ? `OK with ${count(warnings, 'warning')}` : 'OK';
  console.log(`${flavour.name}: ${flavour.repos.length} repositories, ${builds} builds: ${ok}`);
}
