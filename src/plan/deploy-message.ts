import type { Build } from '../config/schema.js';
import { deploymentsFor, unikernelDeploymentsFor } from './deploy-jobs.js';
import type { PlannedUnit } from './deploy-units.js';

/**
 * Where a deployment's state stands, as its Slack message shows it. `phase` is what
 * an incoming webhook (which cannot edit) posts again on; `step` says who reports
 * it: a build's reports never reopen a message whose deployment has ended.
 * `opening` is the deploy job's first state: a job waiting for a confirmation or a
 * lock runs again from its start every few seconds, and must not undo its later ones.
 */
export interface DeployState {
  label: string;
  phase: 'active' | 'waiting' | 'ended';
  step: 'build' | 'deploy';
  opening?: boolean;
}

const state = (
  label: string,
  phase: DeployState['phase'],
  step: DeployState['step'],
): DeployState => ({ label, phase, step });

// Long failure reasons would bury the message: the job page has the whole of it.
const MAX_REASON = 200;
const reason = (text: string) =>
  text.length <= MAX_REASON ? text : `${text.slice(0, MAX_REASON - 1)}…`;

export const DEPLOY_STATES = {
  building: state('building', 'active', 'build'),
  buildFailed: (why: string) => state(`failed: ${reason(why)}`, 'ended', 'build'),
  buildCancelled: (why: string) => state(`cancelled: ${reason(why)}`, 'ended', 'build'),
  superseded: state('superseded: not deployed', 'ended', 'deploy'),
  pushing: { ...state('pushing', 'active', 'deploy'), opening: true },
  waitingForConfirmation: state('waiting for confirmation', 'waiting', 'deploy'),
  deploying: state('deploying', 'active', 'deploy'),
  deployed: state('deployed', 'ended', 'deploy'),
  pinned: state('pinned: not deployed', 'ended', 'deploy'),
  failed: (why: string) => state(`failed: ${reason(why)}`, 'ended', 'deploy'),
} as const;

/**
 * What each message of a push to `branch` is about, as the original keys them
 * (`deploy-<name>`): a docker deployment's target tag, a unikernel's service.
 */
export function deploymentNames(build: Build, branch: string): string[] {
  return [
    ...unikernelDeploymentsFor(build, branch).map((u) => u.service),
    ...deploymentsFor(build, branch).map((d) => d.target),
  ];
}

/** The deployment a planned unit belongs to, as `deploymentNames` names it. */
const deploymentOf = (unit: Pick<PlannedUnit, 'place'>): string =>
  unit.place.kind === 'unikernel' ? unit.place.name : unit.place.published;

/** Planned units by deployment, in their order. */
export function byDeployment<U extends Pick<PlannedUnit, 'place'>>(units: readonly U[]) {
  const groups = new Map<string, U[]>();
  for (const unit of units) {
    const name = deploymentOf(unit);
    groups.set(name, [...(groups.get(name) ?? []), unit]);
  }
  return [...groups];
}

/** A deployment's end, from how each of its units went. */
export function endState(
  outcomes: readonly { failure?: string; pinned?: boolean; superseded?: boolean }[],
): DeployState {
  const failures = outcomes.flatMap((o) => (o.failure ? [o.failure] : []));
  if (failures.length) return DEPLOY_STATES.failed(failures.join('; '));
  if (!outcomes.length || outcomes.some((o) => !o.pinned && !o.superseded))
    return DEPLOY_STATES.deployed;
  return outcomes.some((o) => o.superseded) ? DEPLOY_STATES.superseded : DEPLOY_STATES.pinned;
}

/** The message as last written for one deployment of a commit. */
export interface SavedMessage {
  label: string;
  phase: DeployState['phase'];
  step: DeployState['step'];
  /** Where the Web API put it; absent for incoming webhooks (or a post that failed). */
  channel?: string;
  ts?: string;
}

/**
 * What reporting `next` does to a deployment's message: post a new one, edit the
 * one posted (Web API), only remember the state (a webhook posts once per phase),
 * or nothing (no change, or a build reporting after the deployment ended).
 */
export function messageAction(
  saved: SavedMessage | undefined,
  next: DeployState,
  canUpdate: boolean,
): 'post' | 'update' | 'record' | 'none' {
  if (!saved) return 'post';
  if (next.step === 'build' && saved.phase === 'ended') return 'none';
  if (next.opening && saved.step === 'deploy' && saved.phase !== 'ended') return 'none';
  if (saved.label === next.label) return 'none';
  if (canUpdate) return saved.ts ? 'update' : 'post';
  return saved.phase === next.phase ? 'record' : 'post';
}
