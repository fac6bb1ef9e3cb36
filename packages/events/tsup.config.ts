import { dualLibraryConfig } from '@runstream/tsup-config';

export default dualLibraryConfig(['src/index.ts']);
