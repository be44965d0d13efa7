import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * JSON logs. Known secret-bearing fields are redacted wherever they appear (DESIGN invariant 6).
 */
export function createLogger(level: LevelWithSilent | string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'syncline' },
      timestamp: pino.stdTimeFunctions.isoTime,
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
