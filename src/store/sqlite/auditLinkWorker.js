// Worker threads start without the TypeScript loader that the main thread registered; load it here.
import { register } from 'tsx/esm/api';

register();
await import('./auditLinkThread.ts');
