import { z } from 'zod';
import type { RouteTable } from '../route-table.js';
import { WithStatus } from '../route-table.js';
import { applicationIn, applicationPatch, getIfExistsQuery, pageQuery, pathIdentifier } from '../schemas.js';
import { applicationOut, applicationOutSchema, listOf, pageOut } from '../serializers.js';
import type { ApiServices } from '../services.js';

const appParams = z.object({ app_id: pathIdentifier });

export function registerApplicationRoutes(table: RouteTable, services: ApiServices): void {
  const tag = 'Application';

  table.define({
    method: 'GET',
    url: '/api/v1/app',
    operationId: 'v1.application.list',
    summary: 'List applications',
    tag,
    access: 'admin',
    query: pageQuery,
    status: 200,
    response: listOf(applicationOutSchema),
    handler: async ({ query }) => pageOut(await services.applications.list(query), applicationOut),
  });

  table.define({
    method: 'POST',
    url: '/api/v1/app',
    operationId: 'v1.application.create',
    summary: 'Create an application; with get_if_exists, return the one with the same uid instead',
    tag,
    access: 'admin',
    query: getIfExistsQuery,
    body: applicationIn,
    status: 201,
    idempotent: true,
    response: applicationOutSchema,
    handler: async ({ query, body }) => {
      const { application, created } = await services.applications.create(body, query.get_if_exists ?? false);
      return new WithStatus(created ? 201 : 200, applicationOut(application));
    },
  });

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id',
    operationId: 'v1.application.get',
    summary: 'Get an application by id or uid',
    tag,
    access: 'application',
    params: appParams,
    status: 200,
    response: applicationOutSchema,
    handler: async ({ params }) => applicationOut(await services.applications.get(params.app_id)),
  });

  table.define({
    method: 'PUT',
    url: '/api/v1/app/:app_id',
    operationId: 'v1.application.update',
    summary: 'Replace an application',
    tag,
    access: 'admin',
    params: appParams,
    body: applicationIn,
    status: 200,
    response: applicationOutSchema,
    handler: async ({ params, body }) => applicationOut(await services.applications.update(params.app_id, body)),
  });

  table.define({
    method: 'PATCH',
    url: '/api/v1/app/:app_id',
    operationId: 'v1.application.patch',
    summary: 'Change some fields of an application',
    tag,
    access: 'admin',
    params: appParams,
    body: applicationPatch,
    status: 200,
    response: applicationOutSchema,
    handler: async ({ params, body }) => applicationOut(await services.applications.patch(params.app_id, body)),
  });

  table.define({
    method: 'DELETE',
    url: '/api/v1/app/:app_id',
    operationId: 'v1.application.delete',
    summary: 'Delete an application with its endpoints, messages and attempts',
    tag,
    access: 'admin',
    params: appParams,
    status: 204,
    handler: async ({ params }) => services.applications.delete(params.app_id),
  });
}
