import type { ServiceInfo, TaskInfo } from '../exec/docker/services.js';

export type Convergence =
  { state: 'converged' } | { state: 'updating' } | { state: 'failed'; reason: string };

const FAILED_STATES = new Set([
  'paused',
  'rollback_started',
  'rollback_paused',
  'rollback_completed',
]);

/** The digest an image reference pins, if any. */
export const digestOf = (image: string | undefined): string | undefined =>
  image?.match(/@(sha256:[0-9a-f]{64})$/)?.[1];

/**
 * Whether a service runs `image` everywhere it should: its update finished and every
 * task meant to run is running that image (pure, so it is tested on recorded states).
 */
export function convergence(info: ServiceInfo, tasks: TaskInfo[], image: string): Convergence {
  const update = info.UpdateStatus as { State?: string; Message?: string } | undefined;
  if (update?.State && FAILED_STATES.has(update.State)) {
    const failedTask = tasks
      .filter((t) => t.Status?.Err)
      .sort((a, b) => String(b.UpdatedAt).localeCompare(String(a.UpdatedAt)))[0];
    const detail = failedTask?.Status?.Err ? `: ${failedTask.Status.Err}` : '';
    return { state: 'failed', reason: `${update.Message ?? `update ${update.State}`}${detail}` };
  }
  const want = digestOf(image);
  const running = tasks.filter((t) => t.DesiredState === 'running');
  const replicas = (info.Spec?.Mode as { Replicated?: { Replicas?: number } } | undefined)
    ?.Replicated?.Replicas;
  const onImage = running.filter((t) => {
    const taskImage = (t.Spec as { ContainerSpec?: { Image?: string } } | undefined)?.ContainerSpec
      ?.Image;
    return digestOf(taskImage) === want && t.Status?.State === 'running';
  });
  const enough = replicas === undefined ? running.length > 0 : onImage.length >= replicas;
  const settled = !update?.State || update.State === 'completed';
  return settled && enough && onImage.length === running.length
    ? { state: 'converged' }
    : { state: 'updating' };
}
