import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { integrationNotFound, NotFoundError } from '../../domain/errors.js';
import { MARK_VARIANTS, platformMark, type MarkVariant } from '../platform-marks.js';
import type { IntegrationDefinition } from '../../connectors/integrations.js';
import type { ApiContext } from '../context.js';
import { envelope, pageRequest } from '../paging.js';
import { filterAndSort } from '../../query/index.js';
import { IntegrationEntity } from '../query-entities.js';
import { Branding, Integration, PagingQuery, PlatformKeyParams, errorResponses, paged } from '../schemas.js';

export async function integrationsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const logo = (def: IntegrationDefinition, variant = 'logo') => `${ctx.publicBaseUrl()}/branding/${def.key}/${variant}.svg`;

  function toApi(def: IntegrationDefinition) {
    return {
      key: def.key,
      logoUrl: logo(def),
      name: def.name,
      enabled: ctx.registry.isEnabled(def),
      sourceId: def.sourceId,
      sourceType: def.sourceType,
      integrationId: def.integrationId,
      isOfflineConnector: false,
      isBeta: def.isBeta,
      dataProvidedBy: 'Syncline',
      datatypeFeatures: ctx.registry.dataTypes(def).map((dataType) => ({
        dataType,
        supportedFeatures: [{ featureType: 'Get', featureState: 'Release' }],
      })),
    };
  }

  function require(key: string): IntegrationDefinition {
    const def = ctx.registry.get(key);
    if (!def) throw integrationNotFound(key);
    return def;
  }

  app.get<{ Querystring: PagingQuery }>(
    '/integrations',
    {
      schema: {
        operationId: 'list-integrations',
        tags: ['Integrations'],
        summary: 'List the integrations this instance knows',
        querystring: PagingQuery,
        response: { 200: paged(Integration), ...errorResponses(400, 401) },
      },
    },
    async (req) => {
      const all = filterAndSort(IntegrationEntity, ctx.registry.all().map(toApi), req.query);
      const page = pageRequest(req.query);
      const start = (page.page - 1) * page.pageSize;
      return envelope('/integrations', req.query, page, all.length, all.slice(start, start + page.pageSize));
    },
  );

  app.get<{ Params: { platformKey: string } }>(
    '/integrations/:platformKey',
    {
      schema: {
        operationId: 'get-integration',
        tags: ['Integrations'],
        summary: 'Get an integration',
        params: PlatformKeyParams,
        response: { 200: Integration, ...errorResponses(401, 404) },
      },
    },
    async (req) => toApi(require(req.params.platformKey)),
  );

  app.get<{ Params: { platformKey: string } }>(
    '/integrations/:platformKey/branding',
    {
      schema: {
        operationId: 'get-integrations-branding',
        tags: ['Integrations'],
        summary: "Get an integration's branding",
        params: PlatformKeyParams,
        response: { 200: Branding, ...errorResponses(401, 404) },
      },
    },
    async (req) => {
      const def = require(req.params.platformKey);
      const img = (variant: string, alt: string) => ({ image: { src: logo(def, variant), alt } });
      return {
        logo: { full: img('logo', `${def.name} logo`), square: img('icon', `${def.name} icon`) },
        button: { default: img('button', `Connect ${def.name}`), hover: img('button-hover', `Connect ${def.name}`) },
        sourceId: def.sourceId,
      };
    },
  );

  // Generated SVG marks (src/api/platform-marks.ts), so logos work on an offline instance. Public: browsers load them on
  // the Link pages.
  app.get<{ Params: { platformKey: string; variant: string } }>(
    '/branding/:platformKey/:variant',
    { schema: { hide: true, params: Type.Object({ platformKey: Type.String(), variant: Type.String() }) } },
    async (req, reply) => {
      const def = require(req.params.platformKey);
      const variant = req.params.variant.replace(/\.svg$/, '');
      if (!(MARK_VARIANTS as readonly string[]).includes(variant)) {
        throw new NotFoundError(`No branding image ${req.params.variant} exists for ${def.key}`, 'ClientsApi');
      }
      return reply
        .type('image/svg+xml')
        .header('cache-control', 'public, max-age=86400')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .send(platformMark(def, variant as MarkVariant));
    },
  );
}
