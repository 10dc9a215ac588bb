import { builtInFlavours } from '../deployers/index.js';
import type { DeployerEnv } from './env.js';
import { ConfigError, loadFlavourFile, parseFlavour } from './load.js';
import type { Flavour } from './schema.js';

/** Names the original's `--flavour` took for a built-in flavour named otherwise here. */
const FLAVOUR_ALIASES: Readonly<Record<string, string>> = { ocaml: 'ocaml-org' };

/** The flavour this process serves: the file given by DEPLOYER_CONFIG, else a built-in one. */
export function resolveFlavour(env: Pick<DeployerEnv, 'configFile' | 'flavourName'>): Flavour {
  if (env.configFile) return loadFlavourFile(env.configFile);
  const name = Object.hasOwn(FLAVOUR_ALIASES, env.flavourName)
    ? FLAVOUR_ALIASES[env.flavourName]
    : env.flavourName;
  if (!Object.hasOwn(builtInFlavours, name)) {
    const names = Object.keys(builtInFlavours).join(', ');
    throw new ConfigError(
      `DEPLOYER_FLAVOUR: expected one of ${names}, got "${env.flavourName}" (or set DEPLOYER_CONFIG to a file)`,
    );
  }
  const input = builtInFlavours[name as keyof typeof builtInFlavours];
  return parseFlavour(input, `built-in flavour ${name}`);
}
