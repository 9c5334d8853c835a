import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../observability/logger.js';

/**
 * Folder of the portal's production build. `src/api` and `dist/api` sit at the same depth,
 * so the build in `dist/portal` is found from the sources (tests) and from the compiled code.
 */
export const defaultPortalDirectory = fileURLToPath(new URL('../../dist/portal', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Files below this size are not worth compressing. */
const minimumCompressedSize = 1024;

/**
 * Headers of every portal response. The token of a portal link travels in the URL fragment,
 * which browsers never send. `no-referrer` keeps the page's address out of the requests it
 * makes, and the content security policy lets the page load only its own files.
 */
const securityHeaders: Record<string, string> = {
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
};

interface PortalFile {
  body: Buffer;
  gzipped: Buffer | null;
  contentType: string;
  cacheControl: string;
}

function listFiles(directory: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) {
      files.push(...listFiles(path));
    } else {
      files.push(path);
    }
  }
  return files;
}

/** Reads the whole build into memory: it is a few hundred kilobytes, and no request reaches the disk. */
function loadPortalFiles(directory: string): Map<string, PortalFile> {
  const files = new Map<string, PortalFile>();
  for (const path of listFiles(directory)) {
    const name = relative(directory, path).split(sep).join('/');
    const extension = extname(name);
    const contentType = contentTypes[extension] ?? 'application/octet-stream';
    const body = readFileSync(path);
    const compressible = contentType.startsWith('text/') || contentType.startsWith('application/json') || extension === '.svg';
    // Vite puts a content hash in every file name under assets/, so those never change.
    const cacheControl = name.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    files.set(name, {
      body,
      gzipped: compressible && body.length >= minimumCompressedSize ? gzipSync(body) : null,
      contentType,
      cacheControl,
    });
  }
  return files;
}

function send(request: FastifyRequest, reply: FastifyReply, file: PortalFile): FastifyReply {
  void reply.headers(securityHeaders).header('content-type', file.contentType).header('cache-control', file.cacheControl).header('vary', 'accept-encoding');
  const acceptEncoding = request.headers['accept-encoding'] ?? '';
  if (file.gzipped && /\bgzip\b/.test(acceptEncoding)) {
    return reply.header('content-encoding', 'gzip').send(file.gzipped);
  }
  return reply.send(file.body);
}

/** Returns the path below /portal/, decoded. A malformed escape leaves it as sent, which names no file. */
function fileName(url: string): string {
  const path = (url.split(/[?#]/)[0] ?? '').replace(/^\/portal\/?/, '');
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Serves the portal's build under /portal. Paths of files in the build get the file; any
 * other path outside /portal/assets gets index.html, whose script reads the path.
 */
export function registerPortal(app: FastifyInstance, directory: string, logger: Logger): void {
  const indexPath = join(directory, 'index.html');
  const files = existsSync(indexPath) ? loadPortalFiles(directory) : null;
  if (!files) {
    logger.warn({ directory }, 'The portal is not built, so /portal returns 503. Run npm run build, then restart');
  }

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!files) {
      return reply
        .status(503)
        .headers(securityHeaders)
        .header('content-type', 'text/plain; charset=utf-8')
        .send('The portal is not built. Run "npm run build" in the Hookline folder, then restart.\n');
    }
    const name = fileName(request.url);
    const file = files.get(name);
    if (file && name !== 'index.html') {
      return send(request, reply, file);
    }
    if (name.startsWith('assets/')) {
      return reply.status(404).headers(securityHeaders).header('content-type', 'text/plain; charset=utf-8').send('Not found\n');
    }
    return send(request, reply, files.get('index.html') as PortalFile);
  };

  const config = { access: 'public' as const };
  app.get('/portal', { config }, handler);
  app.get('/portal/*', { config }, handler);
}
