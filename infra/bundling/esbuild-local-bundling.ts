/**
 * CDK's local bundling hook for a function asset: builds the function's bundle (function-bundle.ts) in-process, so
 * `cdk synth` needs no Docker and the stack deploys exactly the files the benchmark measures.
 */
import type { ILocalBundling } from 'aws-cdk-lib';
import { bundleFunctionSync } from './function-bundle.js';

export class EsbuildLocalBundling implements ILocalBundling {
  /**
   * @param entry the handler file relative to the repository root. A public field on purpose: CDK keys its asset
   * cache on the bundling options as JSON, so without it every function would share the first function's bundle.
   */
  constructor(readonly entry: string) {}

  tryBundle(outputDir: string): boolean {
    bundleFunctionSync(this.entry, outputDir);
    return true;
  }
}
