import { LEVELS, OPERATION_LEVELS, type Level } from '../config/levels.js';
import type { ConfirmState } from '../store/confirm-level.js';
import { when, type When } from './format.js';

/** The confirmation threshold as the overview shows it, with the admins' choices. */
export interface ConfirmView {
  /** What waits now, in words. */
  summary: string;
  source: ConfirmState['source'];
  by?: string;
  at?: When;
  releaseAt?: When;
  choices: { value: string; label: string; selected: boolean }[];
}

/** What an operation at or above `level` is: a build, a push, a service update. */
function waits(level: Level | undefined): string {
  if (!level) return 'nothing waits for confirmation';
  const ops = Object.entries(OPERATION_LEVELS)
    .filter(([, l]) => LEVELS.indexOf(l) >= LEVELS.indexOf(level))
    .map(([op]) => op);
  return `operations at or above ${level} wait for an admin (${ops.join(', ') || 'none of build, push, deploy'})`;
}

export function confirmView(state: ConfirmState, now = Date.now()): ConfirmView {
  const chosen = state.source === 'admin' ? (state.level ?? 'none') : 'configured';
  const configured = state.configured ?? 'none';
  const choices = [
    { value: 'none', label: 'No confirmation required' },
    ...[...LEVELS].reverse().map((l) => ({ value: l, label: `Confirm if level ≥ ${l}` })),
    { value: 'configured', label: `As configured (${configured})` },
  ].map((c) => ({ ...c, selected: c.value === chosen }));
  return {
    summary: waits(state.level),
    source: state.source,
    by: state.by,
    at: when(state.at, now),
    releaseAt: state.releaseAt === undefined ? undefined : when(state.releaseAt, now),
    choices,
  };
}
