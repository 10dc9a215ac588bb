import type { Service } from '../config/schema.js';
import { compose, stack } from './compose.js';
import { swarm } from './swarm.js';
import type { Target } from './target.js';

/** Adding a kind of service = one file and one line here. */
export const targets: Record<Service['kind'], Target> = { swarm, stack, compose };
