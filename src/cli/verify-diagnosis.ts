import { DEFAULT_TOLERANCE_SECONDS, verify, type WebhookHeaders } from '../signing/index.js';

/** The check that a received webhook failed, as `hookline verify` names it. */
export type FailedCheck = 'missing-header' | 'invalid-timestamp' | 'timestamp-outside-tolerance' | 'body-changed' | 'different-secret';

export type Diagnosis =
  | { ok: true; msgId: string; timestampSeconds: number }
  | {
      ok: false;
      check: FailedCheck;
      /** One line naming the failed check. */
      title: string;
      /** Findings, with the values involved. */
      detail: string;
      /** Advice: the change to make in the receiver or its configuration. */
      advice: string;
    };

export interface DiagnoseOptions {
  toleranceSeconds?: number;
  nowSeconds?: number;
}

/** A body that differs from the received one in a way that receivers often introduce. */
interface BodyVariant {
  body: Buffer;
  change: string;
}

/**
 * Bodies that the sender may have signed when the received one fails: the compact JSON
 * that Hookline sends, and the received text without a trailing newline or with LF line
 * endings. A variant that verifies shows that the receiver changed the body.
 */
function bodyVariants(body: Buffer): BodyVariant[] {
  const text = body.toString('utf8');
  const variants: BodyVariant[] = [];
  // The text variants come first: a body with only a newline added would also match its
  // compact re-serialisation, which would name the wrong change.
  const trimmed = text.replace(/[\r\n]+$/, '');
  if (trimmed !== text) {
    variants.push({ body: Buffer.from(trimmed, 'utf8'), change: 'a trailing newline was added to the body' });
  }
  if (text.includes('\r\n')) {
    variants.push({ body: Buffer.from(text.replace(/\r\n/g, '\n'), 'utf8'), change: 'line endings were changed from LF to CRLF' });
  }
  try {
    const compact = Buffer.from(JSON.stringify(JSON.parse(text)), 'utf8');
    if (!compact.equals(body) && !variants.some((variant) => variant.body.equals(compact))) {
      variants.push({ body: compact, change: 'the JSON was re-serialised: its whitespace, key order or number format differs from the bytes that were signed' });
    }
  } catch {
    // Not JSON: only the text variants apply.
  }
  return variants;
}

/**
 * Verifies a received webhook like a Standard Webhooks library does. When it fails, this
 * finds which check failed and why. The causes are a missing header, a timestamp outside
 * the tolerance (and whether the signature would match otherwise), a body that the
 * receiver changed before verifying, or a secret other than the one that signed.
 * Throws InvalidSecretError or InvalidAsymmetricSecretError when `secret` itself is not a valid key.
 */
export function diagnose(secret: string, headers: WebhookHeaders, body: Buffer, options: DiagnoseOptions = {}): Diagnosis {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const result = verify(secret, headers, body, { toleranceSeconds: tolerance, nowSeconds });
  if (result.ok) {
    return result;
  }

  switch (result.failure) {
    case 'missing_header':
      return {
        ok: false,
        check: 'missing-header',
        title: 'A Standard Webhooks header is missing',
        detail: result.message,
        advice:
          'Save every request header, as received, with the body. A proxy or framework may drop or rename headers: read them case-insensitively, and forward webhook-id, webhook-timestamp and webhook-signature unchanged.',
      };
    case 'invalid_timestamp':
      return {
        ok: false,
        check: 'invalid-timestamp',
        title: 'The timestamp is not Unix seconds',
        detail: result.message,
        advice: 'Pass the webhook-timestamp header exactly as received, as whole seconds since 1970.',
      };
    case 'timestamp_too_old':
    case 'timestamp_too_new':
      return timestampDiagnosis(secret, headers, body, result.message, tolerance);
    case 'signature_mismatch':
      return signatureDiagnosis(secret, headers, body, result.message, nowSeconds, tolerance);
  }
}

function timestampDiagnosis(secret: string, headers: WebhookHeaders, body: Buffer, message: string, tolerance: number): Diagnosis {
  // Verifying at the request's own time distinguishes a stale but genuine request from a forged one.
  const timestampSeconds = Number(readHeader(headers, 'webhook-timestamp'));
  const atSendTime = verify(secret, headers, body, { toleranceSeconds: tolerance, nowSeconds: timestampSeconds });
  const signature = atSendTime.ok
    ? ' The signature matches the body and secret, so the request is genuine but was verified too late: a replay of an old capture, a queue in front of the receiver, or a clock that is off.'
    : ' The signature does not match either, even at the time the request was signed.';
  return {
    ok: false,
    check: 'timestamp-outside-tolerance',
    title: 'The timestamp is outside the tolerance',
    detail: `${message}${signature}`,
    advice: `Verify requests as they arrive, not later. Keep the receiver's clock in sync (NTP). Hookline signs every attempt and retry afresh, so a retried webhook carries a current timestamp; to check an old capture, pass --now with its receive time or a larger --tolerance (default ${DEFAULT_TOLERANCE_SECONDS} s).`,
  };
}

function signatureDiagnosis(
  secret: string,
  headers: WebhookHeaders,
  body: Buffer,
  message: string,
  nowSeconds: number,
  tolerance: number,
): Diagnosis {
  for (const variant of bodyVariants(body)) {
    if (verify(secret, headers, variant.body, { toleranceSeconds: tolerance, nowSeconds }).ok) {
      return {
        ok: false,
        check: 'body-changed',
        title: 'The body changed after it was signed',
        detail: `${message} The signature matches once the change is undone: ${variant.change}.`,
        advice:
          'Verify the raw request body, byte for byte, before any JSON parsing: in Express use express.raw({ type: "application/json" }), in Fastify a content type parser with parseAs "buffer", in Next.js await request.text(). Parse the JSON only after verification.',
      };
    }
  }
  return {
    ok: false,
    check: 'different-secret',
    title: 'The signature was made with a different secret',
    detail: `${message} Undoing common body changes (re-serialised JSON, a trailing newline, CRLF line endings) does not help either, so the request was most likely signed with another secret.`,
    advice:
      "Use the signing secret of the endpoint that received this request: GET /api/v1/app/{app_id}/endpoint/{endpoint_id}/secret or the portal shows it. Each endpoint has its own secret, and after a rotation the previous one keeps signing for 24 hours beside the new one. For an ed25519 endpoint (v1a signatures), pass its public key (whpk_...) instead. If you are sure of the secret, the body was changed in a way this tool cannot undo: verify the raw bytes.",
  };
}

function readHeader(headers: WebhookHeaders, name: string): string | undefined {
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return typeof value === 'string' ? value : value?.join(' ');
}
