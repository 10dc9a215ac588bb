import type Docker from 'dockerode';
import { SshError } from '../ssh/errors.js';
import { wrapDial } from './dial.js';

type Stream = { once(event: 'close', listener: () => void): unknown; destroy(err: Error): unknown };

const isStream = (data: unknown): data is Stream =>
  typeof (data as Stream | undefined)?.once === 'function' &&
  typeof (data as Stream | undefined)?.destroy === 'function';

/**
 * Bounds every request to an engine reached over SSH, login to last byte: ssh2's
 * keepalive only notices a host that stopped answering, not one that answers
 * slowly or an engine call that never ends (a pull stuck on its registry). A
 * request over its time fails with an `SshError` naming it; a stream (pull, push)
 * being read is ended with that error. The failure is reported here, not left to
 * the aborted request: over docker-modem's SSH agent an aborted request may never
 * report anything, as its socket (an SSH channel) waits for the remote end to close.
 */
export function limitEngineCalls(docker: Docker, ms: number, where: string): void {
  wrapDial(docker, (dial) => (options, callback) => {
    const what = `\`${options.method ?? 'GET'} ${(options.path ?? '').split('?')[0]}\``;
    const timedOut = new SshError(`${what} on ${where} timed out after ${ms}ms`, 'timeout', where);
    const controller = new AbortController();
    let stream: Stream | undefined;
    let answered = false;
    const answer = (err: unknown, data?: unknown) => {
      answered = true;
      callback(err, data);
    };
    const timer = setTimeout(() => {
      if (stream) stream.destroy(timedOut);
      else if (!answered) answer(timedOut);
      controller.abort(timedOut);
    }, ms);
    const abortSignal = options.abortSignal
      ? AbortSignal.any([options.abortSignal, controller.signal])
      : controller.signal;
    return dial({ ...options, abortSignal }, (err, data) => {
      if (answered) {
        if (isStream(data)) data.destroy(timedOut); // an answer after we gave up
        return;
      }
      if (err) {
        clearTimeout(timer);
        return answer(controller.signal.aborted ? timedOut : err);
      }
      if (isStream(data)) {
        stream = data;
        data.once('close', () => clearTimeout(timer));
      } else clearTimeout(timer);
      answer(null, data);
    });
  });
}
