#!/usr/bin/env node
// Entry point for `npx chartvault`: loads the TypeScript sources through tsx so a checkout runs without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
