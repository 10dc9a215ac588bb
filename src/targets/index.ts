import type { UnitKind } from '../plan/deploy-units.js';
import { compose, stack } from './compose.js';
import { swarm } from './swarm.js';
import type { Target } from './target.js';
import { unikernel } from './unikernel.js';

/** Adding a kind of unit = one file and one line here. */
export const targets: Record<UnitKind, Target> = { swarm, stack, compose, unikernel };
