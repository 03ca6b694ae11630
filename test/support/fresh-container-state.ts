/**
 * Vitest setup file: every test starts with a fresh container's view of workspace health, as a new Lambda
 * environment would, so one test's failing workspace never defers another test's calls.
 */
import { beforeEach } from 'vitest';
import { workspaceHealth } from '../../shared/databricks/workspace-health.js';

beforeEach(() => workspaceHealth.reset());
