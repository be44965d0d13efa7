import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { newId } from '../../lib/ids.js';
import { companyNotFound, RequestValidationError, type ValidationItem } from '../../domain/errors.js';
import { profileSettings, sameSetting, validateSettings, type SyncSetting } from '../../domain/sync-settings.js';
import { SyncSettingsRepository } from '../../store/sync-settings.repository.js';
import { ScheduleSlotsRepository } from '../../store/schedule-slots.repository.js';
import { HistoryRepository } from '../../store/history.repository.js';
import type { ApiContext } from '../context.js';
import { CompanyParams, DataTypeSchema, DateTime, Uuid, errorResponses } from '../schemas.js';

const SyncSettingSchema = Type.Object({
  dataType: DataTypeSchema,
  fetchOnFirstLink: Type.Boolean(),
  syncSchedule: Type.Integer({ description: 'Hours; 0 = no schedule; 1–8760' }),
  syncOrder: Type.Integer(),
  syncFromUtc: Type.Optional(DateTime),
  syncFromWindow: Type.Optional(Type.Integer({ minimum: 1 })),
  monthsToSync: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
  isLocked: Type.Optional(Type.Boolean()),
});

// Entries are checked by validateSettings (precise `settings[i].field` item ids), so the schema only fixes the envelope.
// `overridesDefaults` is required by the contract but optional in the official SDK, which wins (platform-api.md):
// when it is left out, the posted settings apply (true).
const OverridesDefaults = Type.Optional(Type.Boolean({ default: true }));
const ProfileBody = Type.Object({ clientId: Uuid, settings: Type.Array(Type.Unknown()), overridesDefaults: OverridesDefaults }, { additionalProperties: false });
// `keepHistory` is a Syncline extension (record history, issue 16): optional, so the official SDK's calls, which never
// send it, leave it as it is; false turns history off for the company (nothing recorded, what was kept is pruned).
const KeepHistory = Type.Optional(Type.Boolean({ description: 'Syncline extension: keep record history (versions, change feed, asOf) for this company; default true' }));
const CompanyBody = Type.Object(
  { companyId: Uuid, settings: Type.Array(Type.Unknown()), overridesDefaults: OverridesDefaults, keepHistory: KeepHistory },
  { additionalProperties: false },
);

interface StoredProfileState {
  overridesDefaults: boolean;
}

export async function syncSettingsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const repo = new SyncSettingsRepository(ctx.store.db);
  const slots = new ScheduleSlotsRepository(ctx.store.db, ctx.store.dialect);
  const history = new HistoryRepository(ctx.store.db, ctx.store.dialect);
  const clientId = () => ctx.repos.instance.getOrInit<string>('client_id', newId);

  app.get(
    '/profile/syncSettings',
    {
      schema: {
        operationId: 'get-profile-syncSettings',
        tags: ['Settings'],
        summary: 'Client-wide sync settings: one entry per data type',
        response: { 200: Type.Object({ clientId: Uuid, settings: Type.Array(SyncSettingSchema), overridesDefaults: Type.Boolean() }), ...errorResponses(401) },
      },
    },
    async () => {
      const state = await ctx.repos.instance.get<StoredProfileState>('profile_sync_state');
      return { clientId: await clientId(), settings: await repo.profile(), overridesDefaults: state?.overridesDefaults ?? false };
    },
  );

  app.post<{ Body: { clientId: string; settings: unknown[]; overridesDefaults?: boolean } }>(
    '/profile/syncSettings',
    {
      schema: {
        operationId: 'update-profile-syncSettings',
        tags: ['Settings'],
        summary: 'Set client-wide sync settings (unlisted types revert to the defaults)',
        body: ProfileBody,
        response: { 204: Type.Null({ description: 'Saved' }), ...errorResponses(400, 401) },
      },
    },
    async (req, reply) => {
      const { settings, errors } = validateSettings(req.body.settings);
      if (errors.length) throw new RequestValidationError(errors, 'ClientsApi');
      await repo.setProfile(req.body.overridesDefaults !== false ? settings : []);
      await ctx.repos.instance.set('profile_sync_state', { overridesDefaults: req.body.overridesDefaults !== false });
      // Schedules follow the new settings from the next scheduler tick, not after the old period ends.
      await slots.recheck(ctx.clock.now().getTime());
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { companyId: string } }>(
    '/companies/:companyId/syncSettings',
    {
      schema: {
        operationId: 'get-company-syncSettings',
        tags: ['Companies'],
        summary: "A company's sync settings (the profile's when never set)",
        params: CompanyParams,
        response: {
          200: Type.Object({ companyId: Uuid, settings: Type.Array(SyncSettingSchema), overridesDefaults: Type.Boolean(), keepHistory: Type.Boolean() }),
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (req) => {
      const { companyId } = req.params;
      if (!(await ctx.repos.companies.exists(companyId))) throw companyNotFound(companyId);
      const state = await repo.company(companyId);
      const keepHistory = await history.keepsHistory(companyId);
      if (!state) return { companyId, settings: await repo.profile(), overridesDefaults: false, keepHistory };
      return { companyId, settings: state.settings, overridesDefaults: state.overridesDefaults, keepHistory };
    },
  );

  app.post<{ Params: { companyId: string }; Body: { companyId: string; settings: unknown[]; overridesDefaults?: boolean; keepHistory?: boolean } }>(
    '/companies/:companyId/syncSettings',
    {
      schema: {
        operationId: 'set-company-syncSettings',
        tags: ['Companies'],
        summary: "Override the profile's sync settings for one company",
        params: CompanyParams,
        body: CompanyBody,
        response: { 204: Type.Null({ description: 'Saved' }), ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const { companyId } = req.params;
      if (!(await ctx.repos.companies.exists(companyId))) throw companyNotFound(companyId);
      const errors: ValidationItem[] = [];
      if (req.body.companyId !== companyId) {
        errors.push({ itemId: 'companyId', message: 'companyId in the body must equal the company id in the path.', validatorName: 'Equal' });
      }
      const { settings, errors: settingErrors } = validateSettings(req.body.settings);
      errors.push(...settingErrors);
      const profile = new Map(profileSettings(await repo.storedProfile()).map((s) => [s.dataType, s]));
      settings.forEach((s: SyncSetting, i) => {
        const p = profile.get(s.dataType);
        if (p?.isLocked && !sameSetting(p, s)) {
          errors.push({ itemId: `settings[${i}]`, message: `The sync setting for ${s.dataType} is locked by the profile and cannot be overridden.`, validatorName: 'Locked' });
        }
      });
      if (errors.length) throw new RequestValidationError(errors, 'ClientsApi');
      await repo.setCompany(companyId, { overridesDefaults: req.body.overridesDefaults !== false, settings });
      if (req.body.keepHistory !== undefined) await history.setKeepsHistory(companyId, req.body.keepHistory, ctx.clock.now().toISOString());
      await slots.recheck(ctx.clock.now().getTime(), companyId);
      return reply.code(204).send();
    },
  );
}
