import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { Profile, errorResponses, type Profile as ProfileT } from '../schemas.js';

export interface StoredProfile {
  name: string;
  redirectUrl: string;
  logoUrl?: string;
  iconUrl?: string;
  whiteListUrls?: string[];
  /** Extension: #rrggbb accent of the Link pages and the dashboard. */
  brandColor?: string;
}

/** The profile as stored, or the configured defaults before the first PUT. */
export async function currentProfile(ctx: ApiContext): Promise<StoredProfile> {
  const stored = await ctx.repos.instance.get<StoredProfile>('profile');
  if (stored) return stored;
  return { name: ctx.instanceName, redirectUrl: ctx.configuredRedirectUrl ?? `${ctx.publicBaseUrl()}/link/complete` };
}

export async function profileRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/profile',
    {
      schema: { operationId: 'get-profile', tags: ['Settings'], summary: 'Get the instance profile', response: { 200: Profile, ...errorResponses(401) } },
    },
    async () => currentProfile(ctx),
  );

  app.put<{ Body: ProfileT }>(
    '/profile',
    {
      schema: {
        operationId: 'update-profile',
        tags: ['Settings'],
        summary: 'Replace the instance profile',
        body: Profile,
        response: { 200: Profile, ...errorResponses(400, 401) },
      },
    },
    async (req) => {
      const { name, redirectUrl, logoUrl, iconUrl, whiteListUrls, brandColor } = req.body;
      // apiKey and confirmCompanyName are deprecated: accepted and ignored.
      const profile: StoredProfile = { name, redirectUrl };
      if (logoUrl !== undefined) profile.logoUrl = logoUrl;
      if (iconUrl !== undefined) profile.iconUrl = iconUrl;
      if (whiteListUrls !== undefined) profile.whiteListUrls = whiteListUrls;
      if (brandColor !== undefined) profile.brandColor = brandColor;
      await ctx.repos.instance.set('profile', profile);
      return profile;
    },
  );
}
