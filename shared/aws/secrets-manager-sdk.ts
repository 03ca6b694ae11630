/**
 * What the functions use of @aws-sdk/client-secrets-manager, in a module of their own: it is imported dynamically
 * (only some auth modes read Secrets Manager), and a dynamic import of the package itself would bundle every
 * Secrets Manager command into the lazy chunk.
 */
export {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
