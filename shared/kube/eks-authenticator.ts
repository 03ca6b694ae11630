/**
 * A client-node `Authenticator` that puts a fresh EKS token on every request. client-node consults custom
 * authenticators (after its built-in ones) each time it applies credentials, both for generated API clients and
 * for watch/exec, so this is the one hook that covers every call. Tokens are reused until they expire (14 min
 * after signing) and one signing is in flight at a time.
 */
import type { KubeConfig, User } from '@kubernetes/client-node';
import { ConnectorError } from '../errors.js';
import { createEksToken, type EksToken, type EksTokenOptions } from './eks-token.js';

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];
type RequestOptions = Parameters<Authenticator['applyAuthentication']>[1];

/** The kubeconfig `auth-provider` name that selects this authenticator; no built-in one claims it. */
export const EKS_AUTH_PROVIDER = 'flyte-eks-token';

export class EksTokenAuthenticator implements Authenticator {
  private current: EksToken | undefined;
  private pending: Promise<EksToken> | undefined;

  constructor(private readonly options: EksTokenOptions) {}

  isAuthProvider(user: User): boolean {
    return user.authProvider?.name === EKS_AUTH_PROVIDER;
  }

  async applyAuthentication(_user: User, opts: RequestOptions): Promise<void> {
    const token = await this.token();
    opts.headers = { ...opts.headers, Authorization: `Bearer ${token}` };
  }

  /** The current token, signing a new one when the last has expired. */
  async token(): Promise<string> {
    const now = this.now();
    if (this.current && this.current.expiresAt.getTime() > now.getTime()) return this.current.token;
    this.pending ??= this.refresh();
    return (await this.pending).token;
  }

  private async refresh(): Promise<EksToken> {
    try {
      this.current = await createEksToken({ ...this.options, now: () => this.now() });
      return this.current;
    } catch (error) {
      // Credentials come from the role's provider chain; a failure there is usually passing (IMDS, throttling).
      // The SDK's credential errors say which providers were tried and never carry a key.
      const reason = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : String(error);
      throw new ConnectorError(
        `Could not sign an EKS token for cluster '${this.options.clusterName}' in ${this.options.region} (${reason})`,
        { permanent: false, cause: error },
      );
    } finally {
      this.pending = undefined;
    }
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }
}
