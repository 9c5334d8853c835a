export {
  SECRET_PREFIX,
  MIN_SECRET_BYTES,
  MAX_SECRET_BYTES,
  InvalidSecretError,
  formatSecret,
  generateSecret,
  parseSecret,
  validateSecret,
} from './secret.js';
export { sign, signatureHeader, computeSignatureDigest, type SigningKey } from './signature.js';
export {
  DEFAULT_TOLERANCE_SECONDS,
  validateVerificationKey,
  verify,
  type VerifyFailure,
  type VerifyOptions,
  type VerifyResult,
  type WebhookHeaders,
} from './verify.js';
export {
  ASYMMETRIC_SECRET_PREFIX,
  PUBLIC_KEY_PREFIX,
  InvalidAsymmetricSecretError,
  generateAsymmetricSecret,
  isAsymmetricKey,
  isAsymmetricSecret,
  publicKeyOf,
  signAsymmetric,
  validateAsymmetricSecret,
  verifyAsymmetric,
} from './asymmetric.js';
