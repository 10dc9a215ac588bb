import { getTransformStream } from '@probot/pino';
import { pino, type Logger } from 'pino';

/** A log like Probot's (LOG_LEVEL, default info; LOG_FORMAT, LOG_MESSAGE_KEY, SENTRY_DSN), for processes without a Probot. */
export async function createLogger(env: NodeJS.ProcessEnv, name: string): Promise<Logger> {
  const transform = await getTransformStream({
    logFormat: env.LOG_FORMAT === 'json' ? 'json' : 'pretty',
    logLevelInString: env.LOG_LEVEL_IN_STRING === 'true',
    sentryDsn: env.SENTRY_DSN || undefined,
  });
  transform.pipe(process.stdout);
  return pino(
    { name, level: env.LOG_LEVEL || 'info', messageKey: env.LOG_MESSAGE_KEY || 'msg' },
    transform,
  );
}
