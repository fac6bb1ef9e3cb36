import { runstreamVitestConfig } from '@runstream/vitest-config';

export default runstreamVitestConfig();
