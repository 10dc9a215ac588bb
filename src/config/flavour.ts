import { builtInFlavours } from '../deployers/index.js';
import type { DeployerEnv } from './env.js';
import { ConfigError, loadFlavourFile, parseFlavour } from './load.js';
import type { Flavour } from './schema.js';

/** The flavour this process serves: the file given by DEPLOYER_CONFIG, else a built-in one. */
export function resolveFlavour(env: Pick<DeployerEnv, 'configFile' | 'flavourName'>): Flavour {
  if (env.configFile) return loadFlavourFile(env.configFile);
  if (!Object.hasOwn(builtInFlavours, env.flavourName)) {
    const names = Object.keys(builtInFlavours).join(', ');
    throw new ConfigError(
      `DEPLOYER_FLAVOUR: expected one of ${names}, got "${env.flavourName}" (or set DEPLOYER_CONFIG to a file)`,
    );
  }
  const input = builtInFlavours[env.flavourName as keyof typeof builtInFlavours];
  return parseFlavour(input, `built-in flavour ${env.flavourName}`);
}
