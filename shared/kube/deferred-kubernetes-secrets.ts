/**
 * Kubernetes Secrets as a namespace secret source, without loading @kubernetes/client-node until a secret is
 * actually read: the handlers build their ports eagerly, the Kubernetes client only on first use.
 */
import { kubernetesNotConfigured } from '../auth/kubernetes-access.js';
import type { NamespaceSecrets, SecretValues } from '../auth/namespace-secrets.js';

export class DeferredKubernetesSecrets implements NamespaceSecrets {
  readonly kind = 'Kubernetes';
  private loaded: NamespaceSecrets | undefined;

  constructor(private readonly load: () => Promise<{ secrets: NamespaceSecrets } | undefined>) {}

  locate(namespace: string, name: string): string {
    return `Kubernetes Secret '${namespace}/${name}'`;
  }

  async read(namespace: string, name: string): Promise<SecretValues | undefined> {
    this.loaded ??= (await this.load())?.secrets;
    if (!this.loaded) throw kubernetesNotConfigured('NAMESPACE_SECRET_SOURCE=kubernetes');
    return this.loaded.read(namespace, name);
  }

  invalidate(namespace: string, name: string): void {
    // Nothing was cached if the source was never loaded.
    this.loaded?.invalidate(namespace, name);
  }
}
