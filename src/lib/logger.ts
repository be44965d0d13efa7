import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Query parameters that carry credentials in URLs (OAuth callbacks: `code`, `state`); their values never reach a log. */
const SECRET_PARAMS = /([?&](?:code|state|code_verifier|token|access_token|refresh_token|id_token)=)[^&#]*/gi;
export const redactUrl = (url: string): string => url.replace(SECRET_PARAMS, '$1[redacted]');

/** The request as Fastify logs it, with credential query parameters redacted from its URL. */
function requestSerializer(req: { method?: string; url?: string; host?: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? redactUrl(req.url) : req.url,
    host: req.host ?? req.hostname,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * JSON logs. Known secret-bearing fields are redacted wherever they appear (DESIGN invariant 6).
 */
export function createLogger(level: LevelWithSilent | string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'syncline' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { req: requestSerializer },
      redact: {
        paths: [
          'req.headers.authorization',
          '*.apiKey',
          '*.refreshToken',
          '*.accessToken',
          '*.signingSecret',
          '*.secret',
          '*.credentials',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
