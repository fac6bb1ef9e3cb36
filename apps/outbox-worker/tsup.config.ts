import { appConfig } from '@runstream/tsup-config';
import type { Options } from 'tsup';

// The worker, and the operator's command line (bin runstream-outbox).
const config: Options = { ...(appConfig() as Options), entry: ['src/main.ts', 'src/cli.ts'] };
export default config;
