import { describe, expect, it } from 'vitest';
import type { ServiceInfo, TaskInfo } from '../../src/exec/docker/services.js';
import { convergence, digestOf } from '../../src/targets/convergence.js';

// Objects in the shapes the Docker Engine API returns for GET /services/{id} and
// GET /tasks?filters={"service":[id]}, cut to the fields that matter plus some that do not.
const NEW = `sha256:${'1'.repeat(64)}`;
const OLD = `sha256:${'0'.repeat(64)}`;
const REPO = 'registry.example.com/acme/web:live';
const IMAGE = `${REPO}@${NEW}`;

type UpdateState =
  | 'updating'
  | 'paused'
  | 'completed'
  | 'rollback_started'
  | 'rollback_paused'
  | 'rollback_completed';

function serviceInfo(
  opts: {
    replicas?: number;
    global?: boolean;
    update?: { State: UpdateState; Message?: string };
  } = {},
): ServiceInfo {
  return {
    ID: 'r9k2yk0n4q6f0bq3p3d8c1x7m',
    Version: { Index: 1042 },
    CreatedAt: '2024-05-01T09:00:00.000000000Z',
    UpdatedAt: '2024-05-01T10:00:00.512734927Z',
    Spec: {
      Name: 'web',
      Labels: {},
      TaskTemplate: {
        ContainerSpec: { Image: IMAGE, Isolation: 'default' },
        ForceUpdate: 0,
        Runtime: 'container',
      },
      Mode: opts.global ? { Global: {} } : { Replicated: { Replicas: opts.replicas ?? 2 } },
      UpdateConfig: { Parallelism: 1, FailureAction: 'pause', Order: 'stop-first' },
      EndpointSpec: { Mode: 'vip' },
    },
    Endpoint: { Spec: {} },
    ...(opts.update
      ? {
          UpdateStatus: {
            StartedAt: '2024-05-01T10:00:00.600117336Z',
            ...(opts.update.State === 'completed' || opts.update.State === 'rollback_completed'
              ? { CompletedAt: '2024-05-01T10:00:12.118200341Z' }
              : {}),
            ...opts.update,
          },
        }
      : {}),
  };
}

let slot = 0;
function task(
  digest: string,
  state: string,
  opts: { desired?: string; err?: string; updatedAt?: string } = {},
): TaskInfo {
  slot += 1;
  return {
    ID: `task${String(slot).padStart(21, '0')}`,
    Version: { Index: 1000 + slot },
    CreatedAt: '2024-05-01T10:00:01.000000000Z',
    UpdatedAt: opts.updatedAt ?? '2024-05-01T10:00:05.000000000Z',
    Labels: {},
    Spec: {
      ContainerSpec: { Image: `${REPO}@${digest}`, Isolation: 'default' },
      ForceUpdate: 0,
    },
    ServiceID: 'r9k2yk0n4q6f0bq3p3d8c1x7m',
    Slot: slot,
    NodeID: 'n0de1d0000000000000000000',
    Status: {
      Timestamp: opts.updatedAt ?? '2024-05-01T10:00:05.000000000Z',
      State: state,
      Message: state === 'failed' ? 'started' : state,
      ...(opts.err ? { Err: opts.err } : {}),
      ContainerStatus: { ContainerID: 'c0ffee'.repeat(10), PID: 0, ExitCode: opts.err ? 1 : 0 },
      PortStatus: {},
    },
    DesiredState: opts.desired ?? 'running',
  };
}
/** Old tasks Swarm keeps around after they were replaced. */
const history = () => [
  task(OLD, 'shutdown', { desired: 'shutdown' }),
  task(OLD, 'shutdown', { desired: 'shutdown' }),
];

describe('convergence: converged', () => {
  it('when the update completed and every replica runs the new digest', () => {
    const tasks = [...history(), task(NEW, 'running'), task(NEW, 'running')];
    expect(
      convergence(
        serviceInfo({ update: { State: 'completed', Message: 'update completed' } }),
        tasks,
        IMAGE,
      ),
    ).toEqual({ state: 'converged' });
  });

  it('for a service never updated (no UpdateStatus) that runs the image', () => {
    expect(convergence(serviceInfo({ replicas: 1 }), [task(NEW, 'running')], IMAGE)).toEqual({
      state: 'converged',
    });
  });

  it('compares digests only, whatever repository or tag the task names', () => {
    const t = task(NEW, 'running');
    (t.Spec as { ContainerSpec: { Image: string } }).ContainerSpec.Image = `other/name:tag@${NEW}`;
    expect(convergence(serviceInfo({ replicas: 1 }), [t], IMAGE)).toEqual({
      state: 'converged',
    });
  });

  it('for a service scaled to zero with nothing meant to run', () => {
    expect(convergence(serviceInfo({ replicas: 0 }), history(), IMAGE)).toEqual({
      state: 'converged',
    });
  });
});

describe('convergence: updating', () => {
  it('while the update is still in progress, even when the tasks look done', () => {
    const tasks = [task(NEW, 'running'), task(NEW, 'running')];
    expect(
      convergence(
        serviceInfo({ update: { State: 'updating', Message: 'update in progress' } }),
        tasks,
        IMAGE,
      ),
    ).toEqual({ state: 'updating' });
  });

  it('while a task meant to run still runs the old digest', () => {
    const tasks = [task(NEW, 'running'), task(OLD, 'running'), task(NEW, 'running')];
    expect(convergence(serviceInfo({ replicas: 2 }), tasks, IMAGE)).toEqual({
      state: 'updating',
    });
  });

  it('while fewer replicas than wanted run the new digest', () => {
    const tasks = [...history(), task(NEW, 'running'), task(NEW, 'running')];
    expect(convergence(serviceInfo({ replicas: 3 }), tasks, IMAGE)).toEqual({
      state: 'updating',
    });
  });

  it.each(['new', 'pending', 'assigned', 'accepted', 'preparing', 'starting'])(
    'while a new task is %s rather than running',
    (state) => {
      const tasks = [task(NEW, 'running'), task(NEW, state)];
      expect(convergence(serviceInfo({ replicas: 2 }), tasks, IMAGE)).toEqual({
        state: 'updating',
      });
    },
  );

  it('when the image has no digest to compare', () => {
    const tasks = [task(NEW, 'running'), task(NEW, 'running')];
    expect(convergence(serviceInfo(), tasks, REPO)).toEqual({ state: 'updating' });
  });

  it('with no tasks at all for a replicated service', () => {
    expect(convergence(serviceInfo({ replicas: 1 }), [], IMAGE)).toEqual({
      state: 'updating',
    });
  });
});

describe('convergence: failed', () => {
  const failedTasks = () => [
    task(NEW, 'failed', {
      desired: 'shutdown',
      err: 'task: non-zero exit (1)',
      updatedAt: '2024-05-01T10:00:07.113624582Z',
    }),
    task(NEW, 'rejected', {
      desired: 'shutdown',
      err: 'No such image: registry.example.com/acme/web@sha256:1111',
      updatedAt: '2024-05-01T10:00:09.903172205Z',
    }),
    task(NEW, 'failed', {
      desired: 'shutdown',
      err: 'task: non-zero exit (137)',
      updatedAt: '2024-05-01T10:00:03.004513117Z',
    }),
    task(OLD, 'running'),
    task(OLD, 'running'),
  ];
  const PAUSED = 'update paused due to failure or early termination of task u2bq8mz0tn1o';

  it('when the update paused, giving its message and the most recent task error', () => {
    expect(
      convergence(
        serviceInfo({ update: { State: 'paused', Message: PAUSED } }),
        failedTasks(),
        IMAGE,
      ),
    ).toEqual({
      state: 'failed',
      reason: `${PAUSED}: No such image: registry.example.com/acme/web@sha256:1111`,
    });
  });

  it('picks the most recent error whatever order the tasks are listed in', () => {
    const tasks = failedTasks().reverse();
    expect(
      convergence(serviceInfo({ update: { State: 'paused', Message: PAUSED } }), tasks, IMAGE),
    ).toEqual({
      state: 'failed',
      reason: `${PAUSED}: No such image: registry.example.com/acme/web@sha256:1111`,
    });
  });

  it.each([
    ['rollback_started', 'update rolled back due to failure or early termination of task x'],
    ['rollback_paused', 'update rolled back due to failure or early termination of task x'],
    ['rollback_completed', 'rollback completed'],
  ] as const)('when the update state is %s', (State, Message) => {
    expect(convergence(serviceInfo({ update: { State, Message } }), failedTasks(), IMAGE)).toEqual({
      state: 'failed',
      reason: `${Message}: No such image: registry.example.com/acme/web@sha256:1111`,
    });
  });

  it('names the update state when there is no message, and no error when no task has one', () => {
    expect(convergence(serviceInfo({ update: { State: 'paused' } }), history(), IMAGE)).toEqual({
      state: 'failed',
      reason: 'update paused',
    });
    expect(
      convergence(serviceInfo({ update: { State: 'rollback_completed' } }), [], IMAGE),
    ).toEqual({ state: 'failed', reason: 'update rollback_completed' });
  });

  it('even when every task already runs the image (a failed update is not a success)', () => {
    const tasks = [task(NEW, 'running'), task(NEW, 'running')];
    expect(
      convergence(serviceInfo({ update: { State: 'paused', Message: PAUSED } }), tasks, IMAGE),
    ).toEqual({ state: 'failed', reason: PAUSED });
  });
});

describe('convergence: global services (no Replicated mode)', () => {
  const global = serviceInfo({ global: true, update: { State: 'completed' } });

  it('converged when every task meant to run runs the image', () => {
    const tasks = [...history(), task(NEW, 'running'), task(NEW, 'running'), task(NEW, 'running')];
    expect(convergence(global, tasks, IMAGE)).toEqual({ state: 'converged' });
  });

  it('updating while one node still runs the old digest', () => {
    const tasks = [task(NEW, 'running'), task(OLD, 'running'), task(NEW, 'running')];
    expect(convergence(global, tasks, IMAGE)).toEqual({ state: 'updating' });
  });

  it('updating while no task is meant to run yet', () => {
    expect(convergence(global, history(), IMAGE)).toEqual({ state: 'updating' });
    expect(convergence(global, [], IMAGE)).toEqual({ state: 'updating' });
  });
});

describe('digestOf', () => {
  it('returns the sha256 digest an image reference pins', () => {
    expect(digestOf(IMAGE)).toBe(NEW);
    expect(digestOf(`registry.example.com:5000/acme/web@${NEW}`)).toBe(NEW);
    expect(digestOf(`web@${OLD}`)).toBe(OLD);
  });

  it('returns undefined for no image, a tag only, or something not quite a digest', () => {
    expect(digestOf(undefined)).toBeUndefined();
    expect(digestOf('')).toBeUndefined();
    expect(digestOf(REPO)).toBeUndefined();
    expect(digestOf(`${REPO}@sha256:${'1'.repeat(63)}`)).toBeUndefined();
    expect(digestOf(`${REPO}@sha256:${'1'.repeat(65)}`)).toBeUndefined();
    expect(digestOf(`${REPO}@sha256:${'A'.repeat(64)}`)).toBeUndefined();
    expect(digestOf(`${REPO}@sha512:${'1'.repeat(64)}`)).toBeUndefined();
    expect(digestOf(`${REPO}@${NEW} `)).toBeUndefined();
    expect(digestOf(`sha256:${'1'.repeat(64)}`)).toBeUndefined();
  });
});
