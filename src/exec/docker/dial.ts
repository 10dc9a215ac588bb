import type Docker from 'dockerode';

/** docker-modem's request function: every dockerode call goes through it. */
export type Dial = (
  options: DialOptions,
  callback: (err: unknown, data?: unknown) => void,
) => unknown;

export interface DialOptions {
  method?: string;
  path?: string;
  abortSignal?: AbortSignal;
}

/** Puts `wrap` around every request `docker` makes (dockerode has no hook for it). */
export function wrapDial(docker: Docker, wrap: (dial: Dial) => Dial): void {
  const modem = docker.modem as unknown as { dial: Dial };
  modem.dial = wrap(modem.dial.bind(modem));
}
