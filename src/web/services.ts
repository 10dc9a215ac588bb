import type { RepoIndex } from '../config/repo-index.js';
import type { Flavour } from '../config/schema.js';
import { serviceKey } from '../plan/deploy-jobs.js';
import type { DeployEntry, DeployResult, DeployStore } from '../store/deploy-store.js';
import { refLabel, shortSha, took, when, type When } from './format.js';
import { jobHref } from './overview.js';

/** A service of the flavour, under the key its history is recorded with. */
export interface ServiceSource {
  key: string;
  name: string;
  kind: string;
  /** Where it is deployed from: `owner/repo` branch `b`, or an upstream image. */
  from: string;
  /** The repository it is deployed from (none for an upstream image). */
  repo?: string;
  uri?: string;
}

/** Every service the flavour deploys to, once each, in config order. */
export function flavourServices(flavour: Pick<Flavour, 'upstreams'>, index: RepoIndex) {
  const found = new Map<string, ServiceSource>();
  const add = (s: ServiceSource) => {
    if (!found.has(s.key)) found.set(s.key, s);
  };
  for (const entry of index.values()) {
    for (const spec of entry.specs) {
      const build = spec.build;
      if (build.kind === 'unikernel') {
        for (const u of build.deployments)
          add({
            key: `unikernel:${u.host}/${u.service}`,
            name: u.service,
            kind: `unikernel on ${u.host}`,
            from: `${entry.fullName} ${u.branch}`,
            repo: entry.fullName,
          });
        continue;
      }
      for (const d of build.deployments)
        for (const s of d.services)
          add({
            key: serviceKey(s.context, s.name),
            name: s.name,
            kind: `${s.kind} on ${s.context}`,
            from: `${entry.fullName} ${d.branch}`,
            repo: entry.fullName,
            uri: s.uri,
          });
    }
  }
  for (const u of flavour.upstreams)
    for (const s of u.services)
      add({
        key: serviceKey(s.context, s.name),
        name: s.name,
        kind: `${s.kind} on ${s.context}`,
        from: u.image,
        uri: s.uri,
      });
  return [...found.values()];
}

export type ServiceState = 'deployed' | 'deploying' | 'failed' | 'never deployed' | 'pinned';

const RUNNING: ReadonlySet<DeployResult> = new Set(['success', 'unchanged']);

/** What runs (the newest successful deploy) and the state of the newest attempt; history newest first. */
export function serviceState(history: readonly DeployEntry[]): {
  state: ServiceState;
  current?: DeployEntry;
} {
  const current = history.find((e) => RUNNING.has(e.result));
  const latest = history[0];
  if (latest?.result === 'deploying') return { state: 'deploying', current };
  if (latest?.result === 'failure') return { state: 'failed', current };
  return { state: current ? 'deployed' : 'never deployed', current };
}

export interface EntryView {
  jobId: string;
  result: string;
  /** Who or what caused it: a push, or an admin's rollback. */
  trigger: string;
  /** An admin may deploy this version again (it ran, and its source is known). */
  canRollBack: boolean;
  digest: string;
  /** Short commit, or empty for an upstream image. */
  short: string;
  source: string;
  href?: string;
  when?: When;
  took?: string;
  error?: string;
}

export interface ServiceView extends ServiceSource {
  state: ServiceState;
  current?: EntryView;
  history: EntryView[];
  pin?: { short: string; by: string; when?: When; skipped?: string };
}

function entryView(e: DeployEntry, current?: DeployEntry): EntryView {
  return {
    jobId: e.jobId,
    trigger:
      e.trigger?.kind === 'rollback' ? `rollback by ${e.trigger.by}` : e.sha ? 'push' : 'upstream',
    canRollBack: e.digest !== current?.digest && RUNNING.has(e.result) && e.specKey !== undefined,
    result: e.result,
    digest: e.digest,
    short: e.sha ? shortSha(e.sha) : '',
    // Upstream deploys have no commit: `repo` names the image.
    source: e.sha ? `${e.repo} ${refLabel(`refs/heads/${e.branch}`)}` : e.repo,
    href: e.sha ? jobHref(e.jobId) : undefined,
    when: when(e.finishedAt ?? e.startedAt),
    took: took(e.startedAt, e.finishedAt),
    error: e.error,
  };
}

/** Each service with what runs on it, its state and its history. */
export async function servicesModel(
  deps: {
    flavour: Pick<Flavour, 'upstreams'>;
    index: RepoIndex;
    deploys: DeployStore;
  },
  /** Whether the viewer may see what is deployed from a repository (none: an upstream image). */
  show: (repo: string | undefined) => boolean = () => true,
): Promise<ServiceView[]> {
  const views: ServiceView[] = [];
  const pins = await deps.deploys.pins();
  for (const source of flavourServices(deps.flavour, deps.index)) {
    if (!show(source.repo)) continue;
    const history = await deps.deploys.history(source.key);
    const { state, current } = serviceState(history);
    const pin = pins.get(source.key);
    views.push({
      ...source,
      // A pinned service that deploys or failed says so: those outrank the pin.
      state: pin && state === 'deployed' ? 'pinned' : state,
      current: current && entryView(current, current),
      history: history.map((e) => entryView(e, current)),
      pin: pin && {
        short: shortSha(pin.sha),
        by: pin.by,
        when: when(pin.at),
        skipped: pin.skipped && shortSha(pin.skipped),
      },
    });
  }
  return views;
}
