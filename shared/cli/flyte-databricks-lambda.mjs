#!/usr/bin/env node
/**
 * The `flyte-databricks-lambda` command (package.json "bin"). The package has no build step, so this launcher
 * registers tsx's module loader (a devDependency, present wherever the repository is installed with `npm ci`)
 * and runs the TypeScript entry in this very process: exit codes, signals and the terminal stay the CLI's own.
 */
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
