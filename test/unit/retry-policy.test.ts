import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { BuildError, CancelledError, CommandError, EngineError } from '../../src/exec/errors.js';
import { RegistryError } from '../../src/exec/registry.js';
import { SshError } from '../../src/exec/ssh/errors.js';
import { cancelReason, describeFailure, isRetryable } from '../../src/jobs/errors.js';
import { DeployError } from '../../src/targets/target.js';

const aborted = (reason: string) => {
  const controller = new AbortController();
  controller.abort(reason);
  return controller.signal;
};

describe('isRetryable', () => {
  it.each([
    ['a BuildError', new BuildError('RUN make exited 2')],
    ['a CancelledError', new CancelledError('superseded by 1a2b3c4')],
    ['a DeployError', new DeployError('web: not converged after 300s (rolled back)')],
    ['a ConfigError', new ConfigError('DEPLOYER_SSH_TIMEOUT_MS: expected a positive number')],
  ])('is false for %s: retrying cannot help', (_what, err) => {
    expect(isRetryable(err)).toBe(false);
  });

  it('lets the typed errors win over a retryable flag they might carry', () => {
    expect(isRetryable(Object.assign(new DeployError('x'), { retryable: true }))).toBe(false);
    expect(isRetryable(Object.assign(new BuildError('x'), { retryable: true }))).toBe(false);
  });

  it('follows the error when it says whether a retry can help', () => {
    expect(isRetryable({ retryable: false })).toBe(false);
    expect(isRetryable({ retryable: true })).toBe(true);
    expect(isRetryable(Object.assign(new Error('host key mismatch'), { retryable: false }))).toBe(
      false,
    );
    expect(isRetryable(Object.assign(new Error('connection reset'), { retryable: true }))).toBe(
      true,
    );
  });

  it('reads the flag from the real errors that carry one (a getter on the class)', () => {
    expect(isRetryable(new SshError('refused', 'refused', 'h:22'))).toBe(true);
    expect(isRetryable(new SshError('host key', 'host-key', 'h:22'))).toBe(false);
    const at = { registry: 'r.example', method: 'PUT', path: '/v2/x/manifests/y' };
    expect(isRetryable(new RegistryError('denied', { ...at, status: 401 }))).toBe(false);
    expect(isRetryable(new RegistryError('unavailable', { ...at, status: 503 }))).toBe(true);
  });

  it('is true for failures of the machinery: plain errors, commands, engines, non-errors', () => {
    expect(isRetryable(new Error('ECONNRESET'))).toBe(true);
    expect(isRetryable(new CommandError(['docker', 'push'], 1, 'timeout'))).toBe(true);
    expect(isRetryable(new EngineError('pull failed'))).toBe(true);
    expect(isRetryable('a string')).toBe(true);
    expect(isRetryable(undefined)).toBe(true);
    expect(isRetryable(null)).toBe(true);
  });
});

describe('describeFailure', () => {
  it('names the kind of failure in one line', () => {
    expect(describeFailure(new BuildError('RUN make exited 2'))).toBe(
      'Build failed: RUN make exited 2',
    );
    expect(describeFailure(new DeployError('web: update paused (rolled back)'))).toBe(
      'Deploy failed: web: update paused (rolled back)',
    );
    expect(describeFailure(new CommandError(['docker', 'push', 'x'], 1, 'a\nb\nc\nd\n'))).toBe(
      'Command failed: docker push failed (exit 1): b / c / d',
    );
    expect(describeFailure(new ConfigError('repos/0/name: should be a string'))).toBe(
      'Error: repos/0/name: should be a string',
    );
    expect(describeFailure(new Error('ECONNRESET'))).toBe('Error: ECONNRESET');
    expect(describeFailure({ retryable: false })).toBe('Error: [object Object]');
    expect(describeFailure('boom')).toBe('Error: boom');
  });

  it('reports a cancellation with its reason', () => {
    expect(describeFailure(new CancelledError('superseded by 1a2b3c4'))).toBe(
      'Cancelled: superseded by 1a2b3c4',
    );
  });

  it('reports any failure after the job was aborted as a cancellation, with the abort reason', () => {
    const signal = aborted('superseded by 9f8e7d6');
    expect(describeFailure(new Error('socket hang up'), signal)).toBe(
      'Cancelled: superseded by 9f8e7d6',
    );
    expect(describeFailure(new BuildError('killed'), signal)).toBe(
      'Cancelled: superseded by 9f8e7d6',
    );
    // The error's own reason wins over the signal's.
    expect(describeFailure(new CancelledError('job removed'), signal)).toBe(
      'Cancelled: job removed',
    );
  });

  it('ignores a signal that was not aborted', () => {
    const signal = new AbortController().signal;
    expect(describeFailure(new BuildError('x'), signal)).toBe('Build failed: x');
  });
});

describe('cancelReason', () => {
  it('prefers the error, then the signal, then says cancelled', () => {
    expect(cancelReason(new CancelledError('superseded by 1a2b3c4'))).toBe('superseded by 1a2b3c4');
    expect(cancelReason(new Error('x'), aborted('shutting down'))).toBe('shutting down');
    expect(cancelReason(new Error('x'))).toBe('cancelled');
  });
});
