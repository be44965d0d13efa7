import type { Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { m0001Foundation } from './0001-foundation.js';

/**
 * Forward-only numbered migrations. Kysely's Migrator runs each one in a transaction and serialises concurrent
 * migrators through its lock table (row lock on PostgreSQL), so two processes starting at once are safe.
 * Never edit a released migration: add a new one.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001-foundation': m0001Foundation(dialect),
  };
}
