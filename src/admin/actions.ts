import { createHash } from 'node:crypto';
import { repoKey, type RepoEntry, type RepoIndex } from '../config/repo-index.js';
import type { Flavour } from '../config/schema.js';
import type { Gates, Operation } from '../store/gates.js';
import { CONFIRM_CHOICES, type ConfirmChoice } from '../store/confirm-level.js';
import { acceptCommit, cancelCommit } from '../jobs/intake.js';
import type { Queues } from '../jobs/queues.js';
import { deployJobId, type DeployJobData } from '../plan/deploy-jobs.js';
import type { CommitStore } from '../store/commit-store.js';
import type { DeployEntry, DeployStore } from '../store/deploy-store.js';
import { findJob } from '../jobs/find-job.js';

/** What admin actions change: the flavour's queues, records and gates. */
export interface AdminDeps {
  flavour: Pick<Flavour, 'name' | 'admins'>;
  index: RepoIndex;
  queues: Queues;
  store: CommitStore;
  deploys: DeployStore;
  gates: Gates;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** An action that cannot be done as asked (unknown job, nothing to roll back to…): the admin is told why. */
export class AdminError extends Error {}

/** Whether a GitHub login is in the flavour's admin list (`github:<login>`, any case). */
export function isAdmin(flavour: Pick<Flavour, 'admins'>, login: string | undefined): boolean {
  if (!login) return false;
  const wanted = `github:${login}`.toLowerCase();
  return flavour.admins.some((a) => a.toLowerCase() === wanted);
}

const RAN: ReadonlySet<string> = new Set(['success', 'unchanged']);
const WAITING: ReadonlySet<string> = new Set(['waiting', 'delayed', 'prioritized']);
const short = (sha: string) => sha.slice(0, 7);

/**
 * Rebuild, cancel, confirm, roll back and unpin, for the web UI and the check
 * run's buttons alike. Each is logged with who asked; callers check they are admins.
 */
export class AdminActions {
  constructor(private readonly deps: AdminDeps) {}

  private entry(repo: string): RepoEntry {
    const entry = this.deps.index.get(repoKey(...(repo.split('/') as [string, string])));
    if (!entry)
      throw new AdminError(`${repo} is not a repository of flavour ${this.deps.flavour.name}`);
    return entry;
  }

  private audit(by: string, action: string, target: string, result: string): string {
    this.deps.log.info(
      { by, action, target, flavour: this.deps.flavour.name },
      `admin ${action}: ${result}`,
    );
    return result;
  }

  /** The commit a build or deploy job is for. */
  async commitOf(jobId: string): Promise<{ repo: string; sha: string }> {
    const found = await findJob(this.deps, jobId);
    if (!found) throw new AdminError(`there is no job ${jobId}`);
    return { repo: found.job.data.repo, sha: found.job.data.sha };
  }

  /** Builds a commit again as it first came (its ref, fork or not), with a fresh check run. */
  async rebuild(repo: string, sha: string, by: string): Promise<string> {
    const entry = this.entry(repo);
    const meta = await this.deps.store.meta(repo, sha);
    if (!meta) throw new AdminError(`${repo}@${short(sha)} is not known (kept a week)`);
    const { enqueued } = await acceptCommit(
      this.deps,
      entry,
      { owner: entry.repo.owner, name: entry.repo.name, sha, ...meta },
      { rebuild: true },
    );
    const what = enqueued.length ? `${enqueued.length} build(s) enqueued` : 'already building';
    return this.audit(by, 'rebuild', `${repo}@${short(sha)}`, `rebuild of ${short(sha)}: ${what}`);
  }

  /** Stops a commit's queued and running builds; a deploy job is dropped only while it waits. */
  async cancel(jobId: string, by: string): Promise<string> {
    const found = await findJob(this.deps, jobId);
    if (!found) throw new AdminError(`there is no job ${jobId}`);
    const { repo, sha } = found.job.data;
    if (found.kind === 'deploy') {
      if (!WAITING.has(await found.job.getState()))
        throw new AdminError('a deploy that has started is not cancelled; roll the service back');
      await found.job.remove();
      await this.deps.gates.forget(jobId);
      return this.audit(by, 'cancel', jobId, `deploy of ${short(sha)} cancelled`);
    }
    await cancelCommit(this.deps, this.entry(repo), sha, `cancelled by ${by}`);
    return this.audit(by, 'cancel', jobId, `builds of ${short(sha)} cancelled`);
  }

  async confirm(jobId: string, op: Operation, by: string): Promise<string> {
    if (!(await this.deps.gates.confirm(jobId, op)))
      throw new AdminError(`${jobId} is not waiting for ${op}`);
    return this.audit(by, 'confirm', `${jobId} ${op}`, `${op} of ${jobId} confirmed`);
  }

  /** Changes the confirmation threshold at runtime, for every process of the flavour. */
  async setConfirmLevel(choice: string, by: string): Promise<string> {
    if (!(CONFIRM_CHOICES as readonly string[]).includes(choice))
      throw new AdminError(`no confirmation level "${choice}"`);
    await this.deps.gates.level.choose(choice as ConfirmChoice, by);
    const { level } = await this.deps.gates.level.state();
    const now = level ? `operations at or above ${level} wait` : 'nothing waits';
    const how = choice === 'configured' ? 'back to the configured level' : `set to ${choice}`;
    return this.audit(by, 'set-confirm', choice, `confirmation level ${how}: ${now}`);
  }

  /** Every waiting operation of a commit (the check run's Confirm). */
  async confirmCommit(repo: string, sha: string, by: string): Promise<string> {
    const pending = await this.deps.gates.pendingFor(repo, sha);
    if (!pending.length) throw new AdminError(`nothing of ${short(sha)} is waiting`);
    for (const gate of pending) await this.deps.gates.confirm(gate.jobId, gate.op);
    const what = pending.map((g) => `${g.op} of ${g.jobId}`).join(', ');
    return this.audit(by, 'confirm', `${repo}@${short(sha)}`, `confirmed ${what}`);
  }

  /**
   * Deploys an earlier version of a service again and pins it there: pushes to its
   * branch are still built, but not deployed to it until an admin unpins it.
   */
  async rollback(service: string, toJobId: string, by: string): Promise<string> {
    const history = await this.deps.deploys.history(service);
    const entry = history.find((e) => e.jobId === toJobId && RAN.has(e.result));
    if (!entry) throw new AdminError(`${service} never ran what job ${toJobId} deployed`);
    return this.rollbackTo(service, entry, by);
  }

  /** Undoes a commit's deploys (the check run's Roll back): each service gets what ran before it. */
  async rollbackCommit(repo: string, sha: string, by: string): Promise<string> {
    const done: string[] = [];
    for (const service of await this.deps.store.deployedTo(repo, sha)) {
      const history = await this.deps.deploys.history(service);
      const at = history.findIndex((e) => e.sha === sha && RAN.has(e.result));
      const before = history.slice(at + 1).find((e) => e.sha !== sha && RAN.has(e.result));
      if (at < 0 || !before) {
        done.push(`${service}: nothing earlier to roll back to`);
        continue;
      }
      done.push(await this.rollbackTo(service, before, by));
    }
    if (!done.length) throw new AdminError(`${short(sha)} was not deployed`);
    return done.join('; ');
  }

  private async rollbackTo(service: string, entry: DeployEntry, by: string): Promise<string> {
    const { specKey, cloneUrl, installationId } = entry;
    if (!specKey || !cloneUrl || installationId === undefined)
      throw new AdminError(`${service}: this entry predates rollbacks and cannot be redeployed`);
    await this.deps.deploys.setPin(service, {
      sha: entry.sha,
      digest: entry.digest,
      by,
      at: Date.now(),
    });
    const data: DeployJobData = {
      repo: entry.repo,
      specKey,
      branch: entry.branch,
      sha: entry.sha,
      cloneUrl,
      installationId,
      rollback: { service, image: entry.image, digest: entry.digest, by },
    };
    const id = `rollback-${hash(service)}-${Date.now()}`;
    await this.deps.queues.deploy.add('rollback', data, { jobId: id });
    return this.audit(
      by,
      'rollback',
      service,
      `${service} rolls back to ${short(entry.sha)} (${entry.digest}) and stays pinned: job ${id}`,
    );
  }

  /**
   * Lets pushes deploy to the service again. When the pin kept a commit out, that
   * commit is deployed now if it is still its branch's head.
   */
  async unpin(service: string, by: string): Promise<string> {
    const pin = await this.deps.deploys.pin(service);
    if (!pin || !(await this.deps.deploys.unpin(service)))
      throw new AdminError(`${service} is not pinned`);
    const latest = (await this.deps.deploys.history(service)).find((e) => e.specKey);
    const skipped = pin.skipped;
    if (!skipped || !latest?.specKey)
      return this.audit(by, 'unpin', service, `${service} unpinned; the next push deploys`);
    const meta = await this.deps.store.meta(latest.repo, skipped);
    if (!meta)
      return this.audit(by, 'unpin', service, `${service} unpinned; the next push deploys`);
    const data: DeployJobData = {
      repo: latest.repo,
      specKey: latest.specKey,
      branch: latest.branch,
      sha: skipped,
      cloneUrl: meta.cloneUrl,
      installationId: meta.installationId,
    };
    const id = `${deployJobId(latest.specKey, skipped, latest.branch)}-unpinned-${Date.now()}`;
    await this.deps.queues.deploy.add('deploy', data, { jobId: id });
    return this.audit(
      by,
      'unpin',
      service,
      `${service} unpinned; ${short(skipped)}, which the pin kept out, is deployed: job ${id}`,
    );
  }
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);
