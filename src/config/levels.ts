/** The original's confirmation levels, least to most dangerous. */
export const LEVELS = [
  'harmless',
  'mostly-harmless',
  'average',
  'above-average',
  'dangerous',
] as const;
export type Level = (typeof LEVELS)[number];

/** How dangerous each operation is: a build, a push to a registry, a service update. */
export const OPERATION_LEVELS = {
  build: 'average',
  push: 'above-average',
  deploy: 'dangerous',
} as const;
export type Operation = keyof typeof OPERATION_LEVELS;

/** Whether `op` waits for an admin when the deployer runs with `--confirm threshold`. */
export const needsConfirmation = (threshold: Level | undefined, op: Operation): boolean =>
  threshold !== undefined && LEVELS.indexOf(OPERATION_LEVELS[op]) >= LEVELS.indexOf(threshold);
