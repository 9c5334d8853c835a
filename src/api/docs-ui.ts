import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { errorCodes } from './errors.js';

/** Files of the swagger-ui-dist package that the page loads, with their content types. */
const packageFiles: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Hookline API reference</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>
`;

// The validator is switched off because it would send the document to validator.swagger.io.
const initializer = `window.ui = SwaggerUIBundle({
  url: '/api/v1/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

/**
 * Allows only this server's own files, so the page works offline and the browser sends
 * neither the document nor a token typed into the page to another host.
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets style attributes on its elements.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the API reference at `/docs`: Swagger UI, from the swagger-ui-dist package in
 * node_modules, rendering `/api/v1/openapi.json`. Nothing is loaded from other hosts.
 */
export function registerDocsUi(app: FastifyInstance): void {
  const folder = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Buffer>();

  const headers = { 'content-security-policy': contentSecurityPolicy, 'x-content-type-options': 'nosniff' };

  app.get('/docs', { config: { access: 'public' } }, async (_request, reply) =>
    reply.headers(headers).type('text/html; charset=utf-8').send(page),
  );
  app.get('/docs/assets/init.js', { config: { access: 'public' } }, async (_request, reply) =>
    reply.headers(headers).type('text/javascript; charset=utf-8').send(initializer),
  );
  app.get<{ Params: { file: string } }>('/docs/assets/:file', { config: { access: 'public' } }, async (request, reply) => {
    const file = request.params.file;
    const contentType = packageFiles[file];
    if (contentType === undefined) {
      return reply.status(404).send({ code: errorCodes.notFound, detail: `No file ${JSON.stringify(file)} under /docs/assets.` });
    }
    let content = cache.get(file);
    if (content === undefined) {
      content = await readFile(join(folder, file));
      cache.set(file, content);
    }
    return reply.headers({ ...headers, 'cache-control': 'public, max-age=3600' }).type(contentType).send(content);
  });
}
